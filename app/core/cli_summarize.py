"""`python main.py summarize FILE [--json] [--answer-model FILE.gguf]` and the `--answer-model` flag of `ask`.

app/core/cli.py builds the parser and calls these; they import it lazily (it imports them).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap

from app.core.cli_progress import TerminalProgress
from app.core.gguf_answer import GgufError, load_answer_model, write_summary
from app.core.summarize import SummarizeError, Summary, SummaryProgress, summarize

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
QUOTE_CHARS = 360  # of each passage in the text output (--json has it whole)


def add_answer_model_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--answer-model", metavar="FILE.gguf", default=None,
        help="write the answer with this GGUF chat model (needs pip install \".[gguf]\"); the embedded model "
        "still reads the project and chooses the cited spans")


def add_summarize_parser(subparsers) -> argparse.ArgumentParser:
    from app.core.cli import add_model_flags

    cmd = subparsers.add_parser(
        "summarize",
        help="outline + key passages of one document, cited",
        description="The outline of one document (its table of contents, or detected headings) and its key "
        "passages by topic (for contracts: parties, term and termination, payment, liability, "
        "indemnification, confidentiality, intellectual property, governing law, assignment, notices), each "
        "found by asking the model's memory of the whole document and cited with its page; a code file gets "
        "its definitions. FILE is its own project.",
    )
    cmd.add_argument("file", metavar="FILE", help="a PDF, text, Markdown or code file")
    cmd.add_argument("--json", action="store_true", help="print one JSON object")
    cmd.add_argument("--model-only", action="store_true",
                     help="cite only passages the model's retrieval picked (no lexical search for sections)")
    cmd.add_argument("--max-new-tokens", type=int, default=512, metavar="N",
                     help="length limit of the summary written by --answer-model (default: %(default)s)")
    add_answer_model_flag(cmd)
    add_model_flags(cmd)
    return cmd


def run_summarize(args: argparse.Namespace) -> int:
    from app.core.cli import _engine, _StopOnInterrupt

    if args.max_new_tokens < 1:
        print("folio: error: --max-new-tokens must be at least 1", file=sys.stderr)
        return EXIT_ERROR
    try:
        answer_model = load_answer_model(args.answer_model) if args.answer_model else None  # fail fast
    except GgufError as error:
        print(f"folio: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    engine = _engine(args)
    show = TerminalProgress()

    def topic_progress(p: SummaryProgress) -> None:
        show.message(f"asking the memory about {p.label} ({p.step + 1}/{p.total})")

    try:
        with _StopOnInterrupt() as stop:
            summary = summarize(engine, args.file, lexical=not args.model_only,
                                should_stop=lambda: stop.requested,
                                progress=topic_progress if show.enabled else None,
                                file_progress=show.files, encode_progress=show.tokens)
            if not args.json:
                print_summary(summary)
            if answer_model is not None and not summary.stopped:
                streaming = not args.json
                if streaming:
                    print(f"\nSummary (written by {answer_model.info.path.name})\n")

                def on_token(piece: str) -> None:
                    if streaming:
                        sys.stdout.write(piece)
                        sys.stdout.flush()

                write_summary(answer_model, summary, max_new_tokens=args.max_new_tokens, on_token=on_token,
                              should_stop=lambda: stop.requested)
                if streaming:
                    print()
                    _print_sources(summary)
    except (SummarizeError, GgufError) as error:
        print(f"folio: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        if answer_model is not None:
            answer_model.close()
    if args.json:
        print(json.dumps(summary.to_json(), ensure_ascii=False))
    if summary.stopped:
        print("folio: interrupted; the summary above is incomplete", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) > QUOTE_CHARS:
        flat = flat[:QUOTE_CHARS].rsplit(" ", 1)[0] + " \u2026"
    indent = " " * 6
    return textwrap.fill(f"\u201c{flat}\u201d", width=100, initial_indent=indent, subsequent_indent=indent)


def print_summary(summary: Summary) -> None:
    pages = f"{summary.pages} pages, " if summary.pages else ""
    print(f"{summary.path}  ({pages}{summary.kind})")
    if summary.outline:
        print("\nOutline")
        for entry in summary.outline:
            where = entry.where
            print(f"  {'  ' * (entry.level - 1)}{entry.title}  {where}".rstrip())
    elif summary.kind != "code":
        print("\nOutline: none (no table of contents and no headings found)")
    if summary.topics:
        print("\nKey passages")
        for topic in summary.topics:
            if not topic.found:
                print(f"  {topic.topic}: not found in the document")
                continue
            print(f"  {topic.topic}:")
            for citation in topic.citations:
                picked = f"retrieval {citation.score:.0%}" if citation.score > 0 else "lexical search"
                print(f"    {citation.label}  ({picked})")
                print(_quote(citation.text))
    if summary.definitions is not None:
        print(f"\nDefinitions ({len(summary.definitions)})")
        for d in summary.definitions:
            about = f": {d.summary}" if d.summary else ""
            print(f"  {d.kind} {d.qualified_name}  lines {d.start_line}-{d.end_line}{about}")


def _print_sources(summary: Summary) -> None:
    if summary.text_citations:
        print("\nSources:")
        for number, citation in enumerate(summary.text_citations, 1):
            print(f"  [{number}] {citation.label}")
