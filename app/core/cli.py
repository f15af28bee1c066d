"""The command line (DESIGN.md section 6): `ingest`, `ask`, `watch`, `projects`. Never imports Qt.

`main.py` handles `open` (and no command at all) by starting the window before it gets here.

Errors reach the user as one line on stderr (`folio: error: ...`) and a non-zero exit status.
Ctrl-C during `ingest` finishes the file (or encode batch) at hand, keeps everything committed and exits
with 130; the next run goes on from there.
"""

from __future__ import annotations

import argparse
import json
import signal
import sqlite3
import sys
import threading
from collections.abc import Sequence

from app.core.cli_progress import TerminalProgress
from app.core.cli_summarize import add_answer_model_flag, add_summarize_parser, run_summarize
from app.core.engine import AskError, Engine, ModelError, ProjectReport
from app.core.gguf_answer import GgufError, ask_with_answer_model, load_answer_model
from app.core.lock import ProjectBusy
from app.core.project import list_projects, project_paths
from app.core.summarize import SummarizeError
from ingest.scan import DEFAULT_SIZE_LIMIT, ScanError, format_size
from ingest.watch import Watcher, WatchError, WatchEvent
from model.memory import MemoryChanged, MemoryCorrupt

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
ASK_TOKENS = 96


class CliError(Exception):
    """A failure the user can act on; printed as one line."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="folio", description="Folio reads a whole repository or document set with a local model."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add_size_limit(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--size-limit-mb",
            type=float,
            default=DEFAULT_SIZE_LIMIT / (1 << 20),
            metavar="MB",
            help="skip files larger than this (default: %(default)g)",
        )

    ingest_cmd = commands.add_parser(
        "ingest",
        help="create or refresh the project for PATH(s), print a summary",
        description="Scan, parse and store every file of the project. The first "
        "PATH names the project; the others are added to it.",
    )
    ingest_cmd.add_argument("paths", nargs="+", metavar="PATH", help="folders or files")
    ingest_cmd.add_argument("--json", action="store_true", help="print one JSON object")
    add_size_limit(ingest_cmd)
    add_model_flags(ingest_cmd)

    ask_cmd = commands.add_parser(
        "ask",
        help="answer a question from the whole project, with citations",
        description="Answer QUESTION from every document of the project named by PATH (ingested first if "
        "it never was), citing the spans the answer drew on.",
    )
    ask_cmd.add_argument("path", metavar="PATH", help="the project's folder (or a file)")
    ask_cmd.add_argument("question", metavar="QUESTION")
    ask_cmd.add_argument("--json", action="store_true", help="print one JSON object")
    ask_cmd.add_argument("--session", metavar="NAME", help="continue (or start) this chat session")
    ask_cmd.add_argument("--max-new-tokens", type=int, default=ASK_TOKENS, metavar="N",
                         help="answer length limit (default: %(default)s; 512 with --answer-model)")
    ask_cmd.add_argument("--top-k", type=int, default=None, metavar="K", help="chunks each token reads")
    add_answer_model_flag(ask_cmd)
    add_model_flags(ask_cmd)

    add_summarize_parser(commands)

    watch_cmd = commands.add_parser("watch", help="keep a project fresh without the GUI (Ctrl-C stops)")
    watch_cmd.add_argument("paths", nargs="+", metavar="PATH", help="folders or files")
    add_size_limit(watch_cmd)
    add_model_flags(watch_cmd)

    open_cmd = commands.add_parser(
        "open", help="open the window on these folders/files as a project (no PATH: the last project)"
    )
    open_cmd.add_argument("paths", nargs="*", metavar="PATH", help="folders or files")

    projects_cmd = commands.add_parser("projects", help="list projects with token counts and cache sizes")
    projects_cmd.add_argument("--json", action="store_true", help="print a JSON list")
    return parser


def add_model_flags(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="where the model runs (auto: CUDA when there is one)",
    )
    sub.add_argument(
        "--model", metavar="DIR", default=None, help="model folder (default: the embedded model)"
    )


def _engine(args: argparse.Namespace) -> Engine:
    return Engine(args.model, device=args.device)


def _size_limit(args: argparse.Namespace) -> int:
    if args.size_limit_mb <= 0:
        raise CliError("--size-limit-mb must be positive")
    return int(args.size_limit_mb * (1 << 20))


def _print_report(result: ProjectReport) -> None:
    report, encoded = result.ingest, result.encode
    print(f"project: {report.project}")
    print(
        f"files: {report.parsed} parsed, {report.unchanged} unchanged, {report.skipped} skipped, "
        f"{report.failed} failed"
    )
    print(f"documents: {report.documents}  definitions: {report.definitions}  PDF pages: {report.pdf_pages}")
    if report.problems:
        print("skipped or failed:")
        for problem in report.problems:
            print(f"  {problem['status']:<8} {problem['path']}: {problem['reason']}")
    rate = f" ({encoded.encoded_tokens / encoded.elapsed_s:,.0f} tokens/s)" if encoded.encoded_tokens else ""
    print(f"encoded: {encoded.encoded_documents} documents, {encoded.encoded_tokens:,} tokens{rate}")
    print(
        f"memory: {encoded.tokens:,} tokens in {encoded.chunks:,} chunks, {format_size(encoded.memory_bytes)}"
    )
    print(f"elapsed: {report.elapsed_s + encoded.elapsed_s:.2f} s   database: {report.db_path}")


class _StopOnInterrupt:
    """The first Ctrl-C asks the pipeline to stop after the current file; a second one interrupts at once."""

    def __init__(self) -> None:
        self.requested = False

    def __enter__(self) -> _StopOnInterrupt:
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def __exit__(self, *exc_info: object) -> None:
        signal.signal(signal.SIGINT, self._previous)


def run_ingest(args: argparse.Namespace) -> int:
    size_limit = _size_limit(args)
    engine = _engine(args)
    show = TerminalProgress()
    with _StopOnInterrupt() as stop:
        result = engine.refresh(
            args.paths,
            progress=show.files,
            encode_progress=show.tokens,
            should_stop=lambda: stop.requested,
            size_limit=size_limit,
            waiting=show.message,
        )
    for notice in result.encode.notices:
        show.message(notice)
    if result.ingest.cancelled or result.encode.cancelled:
        print(
            f"folio: interrupted; {result.ingest.parsed} files parsed and {result.encode.encoded_documents} "
            "documents encoded in this run are saved, run the command again to continue",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        _print_report(result)
    return 0


def run_ask(args: argparse.Namespace) -> int:
    if args.max_new_tokens < 1:
        raise CliError("--max-new-tokens must be at least 1")
    if args.top_k is not None and args.top_k < 1:
        raise CliError("--top-k must be at least 1")
    answer_model = load_answer_model(args.answer_model) if args.answer_model else None  # fail before work
    engine = _engine(args)
    show = TerminalProgress()
    streaming = not args.json

    def on_token(piece: str) -> None:
        if streaming:
            sys.stdout.write(piece)
            sys.stdout.flush()

    with _StopOnInterrupt() as stop:
        if answer_model is not None:
            new_tokens = args.max_new_tokens if args.max_new_tokens != ASK_TOKENS else 512
            answer = ask_with_answer_model(engine, [args.path], args.question, answer_model,
                                           session=args.session, max_new_tokens=new_tokens, on_token=on_token,
                                           should_stop=lambda: stop.requested)
        else:
            answer = engine.ask([args.path], args.question, session=args.session,
                                max_new_tokens=args.max_new_tokens, top_k=args.top_k, on_token=on_token,
                                should_stop=lambda: stop.requested, progress=show.files,
                                encode_progress=show.tokens)
    for notice in answer.notices:
        show.message(notice)
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False))
        return 0
    print()
    if answer.stopped:
        print("(stopped)")
    if answer.citations:
        print("\nSources:")
        for number, citation in enumerate(answer.citations, 1):
            print(f"  [{number}] {citation.label}  ({citation.score:.0%})")
    else:
        print("\nSources: none (the answer drew on no document chunk)")
    return 0


def run_watch(args: argparse.Namespace) -> int:
    size_limit = _size_limit(args)
    engine = _engine(args)
    roots = project_paths(args.paths)
    changed = threading.Event()

    def show(event: WatchEvent) -> None:
        reason = f": {event.reason}" if event.reason else ""
        print(f"{event.action:<8} {event.path}{reason}", flush=True)
        changed.set()

    watcher = Watcher(roots, size_limit=size_limit)
    watcher.subscribe(show)
    watcher.start()
    try:
        watcher.ready.wait()  # the catch-up with changes made since the last run
        if watcher.error is not None:
            raise watcher.error
        report = engine.sync(roots)
        documents = watcher.counts()["documents"]
        print(
            f"watching {watcher.roots[0].path}: {documents} documents, {report.tokens:,} tokens in memory "
            "(Ctrl-C to stop)",
            flush=True,
        )
        while True:
            if changed.wait(3600):
                changed.clear()
                report = engine.sync(roots)  # re-encodes just the changed documents, drops deleted ones
                if report.encoded_documents or report.removed_documents:
                    print(
                        f"memory: {report.encoded_documents} encoded, {report.removed_documents} removed, "
                        f"{report.tokens:,} tokens",
                        flush=True,
                    )
    except KeyboardInterrupt:
        pass
    finally:
        watcher.stop()
    print("stopped watching", flush=True)
    return 0


def run_projects(args: argparse.Namespace) -> int:
    projects = list_projects()
    if args.json:
        print(json.dumps([p.to_json() for p in projects], ensure_ascii=False))
        return 0
    if not projects:
        print("no projects yet: run `python main.py ingest PATH`")
        return 0
    for p in projects:
        print(
            f"{p.root}  documents: {p.documents}  tokens: {p.tokens:,}  memory: {format_size(p.memory_bytes)}"
            f"  updated: {p.updated or '-'}"
        )
    return 0


COMMANDS = {"ingest": run_ingest, "ask": run_ask, "summarize": run_summarize, "watch": run_watch,
            "projects": run_projects}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "open":  # main.py opens the window itself; the command line never imports Qt
        print("folio: error: the window opens through main.py: python main.py open PATH...", file=sys.stderr)
        return EXIT_ERROR
    try:
        return COMMANDS[args.command](args)
    except (CliError, ScanError, ModelError, AskError, ProjectBusy, MemoryCorrupt, MemoryChanged, GgufError,
            SummarizeError, WatchError) as exc:
        print(f"folio: error: {exc}", file=sys.stderr)
    except sqlite3.Error as exc:
        print(f"folio: error: project database: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"folio: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
    except KeyboardInterrupt:
        print("folio: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_ERROR
