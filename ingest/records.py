"""Small records that parsers return and the store keeps.

A *document* is the text the model reads for one file plus a span map that takes any
character offset of that text back to where it came from: a line of a text file, or a
rectangle on a PDF page. Offsets are Python string indices (code points), end-exclusive.
Lines and pages are 1-based.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1 in PDF points, origin top-left


@dataclass(frozen=True)
class Definition:
    """A function, method, class (or the language's equivalent) found by tree-sitter."""

    name: str
    kind: str  # "function" | "method" | "class" | "interface" | "struct" | "enum" | "trait" | "module" | ...
    qualified_name: str  # e.g. "pkg.mod.Class.method" for Python; the name itself where a language has none
    start_line: int  # 1-based, inclusive, in the source file
    end_line: int  # 1-based, inclusive


@dataclass(frozen=True)
class Heading:
    """A Markdown/reST heading, or a PDF outline entry / detected heading."""

    title: str
    level: int  # 1 = top level
    line: int | None = None  # source line for text documents
    page: int | None = None  # 1-based page for PDFs


@dataclass(frozen=True)
class Span:
    """Characters [start, end) of the document text came from one source line or one PDF line box."""

    start: int
    end: int
    line: int | None = None  # 1-based source line (text and code)
    page: int | None = None  # 1-based page (PDF)
    rect: Rect | None = None  # line bounding box on that page (PDF)


@dataclass
class ParsedDocument:
    """What a parser returns for one file."""

    path: str  # relative POSIX path inside the project root (or the file name for a dropped file)
    kind: str  # "code" | "text" | "pdf"
    language: str | None  # "python", "markdown", ... ; None for PDFs and plain text
    text: str  # what the model reads; for code and text it starts with a header line naming the path
    spans: list[Span]  # sorted by start, non-overlapping, covering every source line / PDF text line
    definitions: list[Definition] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)
    pages: int = 0  # PDF pages (0 for text)
    warnings: list[str] = field(default_factory=list)  # e.g. "repaired by MuPDF: text may be missing"


class ParseError(Exception):
    """A file could not be turned into a document; the message is shown to the user as the reason."""

    def __init__(self, reason: str, status: str = "failed"):
        super().__init__(reason)
        self.reason = reason
        self.status = status  # "failed" or "skipped"
