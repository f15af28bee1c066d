"""Turn one file's bytes into a document: code through tree-sitter, anything else as text.

`parse_file` is a pure function of (bytes, relative path), safe to call from any thread.
The document text is a header line naming the path, then the file's text with "\\n" line
ends; every source line has one span, so line N of the file is line N in every record.
PDFs go through ingest/pdf.py instead (`is_pdf` tells them apart).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import PurePosixPath

from ingest.code import extract_definitions, python_module
from ingest.languages import CODE_LANGUAGES, LANGUAGES, detect_language
from ingest.records import ParsedDocument
from ingest.scopes import python_scope_comments
from ingest.text import decode, line_spans, markdown_headings, rst_headings, split_lines

__all__ = ["LANGUAGES", "is_pdf", "parse_file"]

_HEADING_PARSERS = {"markdown": markdown_headings, "rst": rst_headings}


def is_pdf(relpath: str, data: bytes) -> bool:
    """A PDF by its extension or by the `%PDF-` signature it starts with."""
    return PurePosixPath(relpath).suffix.lower() == ".pdf" or data.startswith(b"%PDF-")


def parse_file(data: bytes, relpath: str) -> ParsedDocument:
    """The document for a code or text file.

    Raises ParseError with status "skipped" for an empty file (zero bytes, or only a byte
    order mark) and for binary content (a NUL byte, or mostly undecodable bytes). Invalid
    UTF-8 is read with U+FFFD in place of the bad bytes and a warning naming the first one.
    """
    with _gc_paused():
        return _parse(data, relpath)


def _parse(data: bytes, relpath: str) -> ParsedDocument:
    text, warnings = decode(data)
    language = detect_language(relpath, text)
    header = f"{relpath}\n"
    lines = split_lines(text)
    outline = None
    if language in CODE_LANGUAGES:
        outline = extract_definitions(text.encode("utf-8"), language, relpath)
    read = lines  # the lines as the model reads them
    if outline is not None and language == "python":
        read = python_scope_comments(lines, outline.definitions, python_module(relpath))
        text = "\n".join(read) + ("\n" if text.endswith("\n") else "")
    document = ParsedDocument(
        path=relpath,
        kind="code" if language in CODE_LANGUAGES else "text",
        language=language,
        text=header + text,
        spans=line_spans(lines, len(header), read),
        warnings=warnings,
    )
    if outline is not None:
        document.definitions = outline.definitions
        if outline.error_line is not None:
            document.warnings.append(
                f"syntax error at line {outline.error_line}: definitions near it may be missing"
            )
    elif language in _HEADING_PARSERS:
        document.headings = _HEADING_PARSERS[language](lines)
    return document


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Hold off the cyclic garbage collector while one file is parsed.

    A large file makes a million small objects (a span per line, a match per definition)
    and none of them form reference cycles, yet each allocation burst triggers collections
    that rescan them all: half the time of building spans, 40% of reading a minified
    bundle's matches. Threads and nesting are safe: only the call that turned collection
    off turns it back on, and other threads merely see collection deferred for that long.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
