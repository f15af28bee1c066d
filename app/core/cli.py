"""The command line (DESIGN.md section 6): `ingest`, `watch`, `projects`. Never imports Qt.

`main.py` handles `open` (and no command at all) by starting the window before it gets here.

Errors reach the user as one line on stderr (`folio: error: ...`) and a non-zero exit status.
Ctrl-C during `ingest` finishes the file at hand, keeps every committed file and exits with 130.
"""

from __future__ import annotations

import argparse
import json
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence

from app.core.project import list_projects, project_paths
from ingest.pipeline import IngestReport, Progress, ingest
from ingest.scan import DEFAULT_SIZE_LIMIT, ScanError
from ingest.watch import Watcher, WatchEvent

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
MODEL_NOTE = "model encoding: not available yet (tokens, chunks and memory stay 0 until the model lands)"


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

    watch_cmd = commands.add_parser("watch", help="keep a project fresh without the GUI (Ctrl-C stops)")
    watch_cmd.add_argument("paths", nargs="+", metavar="PATH", help="folders or files")
    add_size_limit(watch_cmd)

    open_cmd = commands.add_parser(
        "open", help="open the window on these folders/files as a project (no PATH: the last project)"
    )
    open_cmd.add_argument("paths", nargs="*", metavar="PATH", help="folders or files")

    projects_cmd = commands.add_parser("projects", help="list projects with token counts and cache sizes")
    projects_cmd.add_argument("--json", action="store_true", help="print a JSON list")
    return parser


def _size_limit(args: argparse.Namespace) -> int:
    if args.size_limit_mb <= 0:
        raise CliError("--size-limit-mb must be positive")
    return int(args.size_limit_mb * (1 << 20))


def _print_report(report: IngestReport) -> None:
    noun = "interrupted" if report.cancelled else "project"
    print(f"{noun}: {report.project}")
    print(
        f"files: {report.parsed} parsed, {report.unchanged} unchanged, {report.skipped} skipped, "
        f"{report.failed} failed"
    )
    print(f"documents: {report.documents}  definitions: {report.definitions}  PDF pages: {report.pdf_pages}")
    if report.problems:
        print("skipped or failed:")
        for problem in report.problems:
            print(f"  {problem['status']:<8} {problem['path']}: {problem['reason']}")
    print(MODEL_NOTE)
    print(f"elapsed: {report.elapsed_s:.2f} s   database: {report.db_path}")


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


def _progress_printer() -> Callable[[Progress], None]:
    interactive = sys.stderr.isatty()

    def show(progress: Progress) -> None:
        if interactive and (progress.done % 50 == 0 or progress.done == progress.total):
            print(f"\r{progress.done}/{progress.total} files", end="", file=sys.stderr, flush=True)
            if progress.done == progress.total:
                print(file=sys.stderr)

    return show


def run_ingest(args: argparse.Namespace) -> int:
    size_limit = _size_limit(args)
    with _StopOnInterrupt() as stop:
        report = ingest(
            project_paths(args.paths),
            size_limit=size_limit,
            progress=_progress_printer(),
            should_stop=lambda: stop.requested,
        )
    if report.cancelled:
        print(
            f"folio: interrupted; {report.parsed} files parsed in this run are saved, run the command again "
            "to continue",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        _print_report(report)
    return 0


def run_watch(args: argparse.Namespace) -> int:
    size_limit = _size_limit(args)
    watcher = Watcher(project_paths(args.paths), size_limit=size_limit)

    def show(event: WatchEvent) -> None:
        reason = f": {event.reason}" if event.reason else ""
        print(f"{event.action:<8} {event.path}{reason}", flush=True)

    watcher.subscribe(show)
    watcher.start()
    try:
        watcher.ready.wait()  # the catch-up with changes made since the last run
        if watcher.error is not None:
            raise watcher.error
        documents = watcher.counts()["documents"]
        print(f"watching {watcher.roots[0].path}: {documents} documents (Ctrl-C to stop)", flush=True)
        while True:
            time.sleep(3600)
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
        print(f"{p.root}  documents: {p.documents}  tokens: {p.tokens}  updated: {p.updated or '-'}")
    print(MODEL_NOTE)
    return 0


COMMANDS = {"ingest": run_ingest, "watch": run_watch, "projects": run_projects}


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
    except (CliError, ScanError) as exc:
        print(f"folio: error: {exc}", file=sys.stderr)
    except sqlite3.Error as exc:
        print(f"folio: error: project database: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"folio: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
    except KeyboardInterrupt:
        print("folio: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_ERROR
