"""PDF -> document: text in reading order, a (page, rectangle) for every line, outline and headings.

`parse_pdf` is a pure function of the file's bytes. PyMuPDF is not thread-safe and a broken
file can crash MuPDF, so the application calls it through `ingest.pdf_worker.PdfWorker`,
which runs it in a child process.

Document text: a header line naming the path, then each page's lines in reading order
(`ingest.pdf_layout`), one text line per PDF line, pages separated by a blank line. Every
line gets one Span with its page (1-based) and its box in PDF points (origin top-left).

Files that cannot become documents raise ParseError with a reason the user can act on:
encrypted, not a PDF, empty, no pages, damaged beyond repair, or no text layer (scanned).
A file MuPDF had to repair, but that still has text, is parsed with a warning.
"""

from __future__ import annotations

import logging

import pymupdf

from ingest.pdf_headings import PdfLine, detect_headings
from ingest.pdf_layout import reading_order
from ingest.records import Heading, ParsedDocument, ParseError, Span

log = logging.getLogger(__name__)

# Only clip to the page: ligatures are expanded ("ﬁ" -> "fi") and odd whitespace becomes spaces, so the
# text reads (and tokenizes) like typed text; images are not collected (they are not read, and cost time).
TEXT_FLAGS = pymupdf.TEXT_MEDIABOX_CLIP
BOLD_FLAG = pymupdf.TEXT_FONT_BOLD

ENCRYPTED = "encrypted PDF: needs a password"
NOT_A_PDF = "not a valid PDF (no PDF header: is it another format?)"
UNREADABLE = "damaged PDF: MuPDF cannot open it"
EMPTY_FILE = "empty file"
NO_PAGES = "PDF has no pages"
DAMAGED = "damaged PDF: no text could be recovered"
NO_TEXT_LAYER = "no text layer (scanned/image-only PDF; OCR is not supported)"
BLANK = "PDF has no text: every page is blank"
REPAIRED = "repaired by MuPDF: text may be missing"
UNDECODED = "most characters could not be decoded (fonts without a Unicode map): the text is unreliable"
UNDECODED_SHARE = 0.3  # warn when this share of the characters comes out as U+FFFD

_CONTROL_TO_SPACE = {code: " " for code in [*range(0x20), 0x7F]}
_PAGE_ERRORS = (RuntimeError, ValueError, pymupdf.mupdf.FzErrorBase)


def parse_pdf(data: bytes, relpath: str) -> ParsedDocument:
    """Parse a PDF's bytes into a document; raise ParseError(reason, status) when it cannot be one."""
    if not data:
        raise ParseError(EMPTY_FILE, "skipped")
    pymupdf.TOOLS.mupdf_warnings(reset=True)  # damage shows only here: MuPDF repairs files silently
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except pymupdf.EmptyFileError:
        raise ParseError(EMPTY_FILE, "skipped") from None
    except (pymupdf.FileDataError, *_PAGE_ERRORS) as exc:
        log.debug("MuPDF cannot open %s: %s", relpath, exc)
        raise ParseError(UNREADABLE if b"%PDF-" in data[:1024] else NOT_A_PDF) from None
    with doc:
        if doc.needs_pass:
            raise ParseError(ENCRYPTED, "skipped")
        if doc.page_count == 0:
            if doc.is_repaired:
                raise ParseError(f"{NO_PAGES} (the file is damaged)")
            raise ParseError(NO_PAGES, "skipped")
        return _parse_document(doc, relpath)


def _parse_document(doc: pymupdf.Document, relpath: str) -> ParsedDocument:
    warnings: list[str] = []
    lines_by_page: list[list[PdfLine]] = []
    unreadable: list[int] = []
    for index in range(doc.page_count):
        try:
            lines_by_page.append(_page_lines(doc[index], index + 1))
        except _PAGE_ERRORS as exc:
            log.debug("MuPDF cannot read page %d of %s: %s", index + 1, relpath, exc)
            unreadable.append(index + 1)
            lines_by_page.append([])
    repaired = bool(doc.is_repaired)
    mupdf_messages = pymupdf.TOOLS.mupdf_warnings(reset=True)
    if mupdf_messages:
        log.debug("MuPDF warnings for %s:\n%s", relpath, mupdf_messages)

    empty = [number for number, lines in enumerate(lines_by_page, 1)
             if not lines and number not in unreadable]
    pictured = {number for number in empty if _has_visual_content(doc, number)}  # scanned pages, probably
    if len(empty) + len(unreadable) == doc.page_count:
        if repaired or unreadable:
            raise ParseError(DAMAGED)
        raise ParseError(NO_TEXT_LAYER if pictured else BLANK, "skipped")
    if repaired:
        warnings.append(REPAIRED)
        if lost := [number for number in empty if number not in pictured]:
            warnings.append(f"no text recovered on page(s) {_page_list(lost)}")
    if unreadable:
        warnings.append(f"MuPDF could not read page(s) {_page_list(unreadable)}: their text is missing")
    if pictured:
        warnings.append(f"no text layer on page(s) {_page_list(sorted(pictured))} (scanned?): not read")

    text, spans = _assemble(relpath, lines_by_page)
    characters = sum(span.end - span.start for span in spans)
    if text.count("\ufffd") > UNDECODED_SHARE * characters:
        warnings.append(UNDECODED)
    toc = _outline(doc)
    headings = toc if toc else detect_headings([line for lines in lines_by_page for line in lines])
    return ParsedDocument(path=relpath, kind="pdf", language=None, text=text, spans=spans,
                          headings=headings, pages=doc.page_count, warnings=warnings)


def _page_lines(page: pymupdf.Page, number: int) -> list[PdfLine]:
    """The page's non-empty text lines in reading order, boxed in the coordinates of the page as shown.

    MuPDF reports text on the unrotated page; a page with /Rotate is shown turned, so its boxes
    and writing directions are turned the same way (a viewer highlights what the user sees).
    """
    turn = page.rotation_matrix if page.rotation % 360 else None
    lines: list[PdfLine] = []
    for block_index, block in enumerate(page.get_text("dict", flags=TEXT_FLAGS)["blocks"]):
        if block["type"] != 0:
            continue
        block_lines = block["lines"]
        for line in block_lines:
            spans = line["spans"]
            text = "".join(span["text"] for span in spans).translate(_CONTROL_TO_SPACE).strip()
            if not text:
                continue
            x0, y0, x1, y1 = line["bbox"]
            dx, dy = line["dir"]
            if turn is not None:
                x0, y0, x1, y1 = pymupdf.Rect(x0, y0, x1, y1) * turn
                dx, dy = dx * turn.a + dy * turn.c, dx * turn.b + dy * turn.d
            if len(spans) == 1:  # most lines: one font, one size
                size, bold, lead = spans[0]["size"], _is_bold(spans[0]), ""
            else:
                size = max(spans, key=lambda span: len(span["text"].strip()))["size"]
                bold = all(_is_bold(span) for span in spans if span["text"].strip())
                lead = _bold_lead(spans)
            lines.append(PdfLine(
                text=text, rect=(round(x0, 2), round(y0, 2), round(x1, 2), round(y1, 2)), page=number,
                size=size, bold=bold, lead=lead, block=block_index, alone=len(block_lines) == 1,
                horizontal=abs(dy) < 1e-3 and dx > 0))
    return reading_order(lines, rect_of=lambda line: line.rect, horizontal=lambda line: line.horizontal)


def _is_bold(span: dict) -> bool:
    return bool(span["flags"] & BOLD_FLAG) or "bold" in span["font"].lower()


def _bold_lead(spans: list[dict]) -> str:
    """The text of a line's leading bold spans when the rest of the line is not bold (a run-in heading)."""
    if not _is_bold(spans[0]):
        return ""
    for index, span in enumerate(spans):
        if span["text"].strip() and not _is_bold(span):
            return "".join(s["text"] for s in spans[:index]).translate(_CONTROL_TO_SPACE).strip()
    return ""


def _assemble(relpath: str, lines_by_page: list[list[PdfLine]]) -> tuple[str, list[Span]]:
    """Document text (header line, then pages joined by a blank line) and one Span per PDF line."""
    parts = [f"{relpath}\n"]
    offset = len(parts[0])
    spans: list[Span] = []
    for index, lines in enumerate(lines_by_page):
        if index:
            parts.append("\n\n")
            offset += 2
        for position, line in enumerate(lines):
            if position:
                parts.append("\n")
                offset += 1
            parts.append(line.text)
            spans.append(Span(start=offset, end=offset + len(line.text), page=line.page, rect=line.rect))
            offset += len(line.text)
    return "".join(parts), spans


def _outline(doc: pymupdf.Document) -> list[Heading]:
    """The PDF's outline (bookmarks) as headings; entries that point nowhere have no page."""
    try:
        toc = doc.get_toc(simple=True)
    except _PAGE_ERRORS as exc:  # a broken outline must not cost the document
        log.debug("cannot read the outline: %s", exc)
        return []
    headings = []
    for level, title, page in toc:
        title = " ".join(str(title).split())
        if title:
            headings.append(Heading(title=title, level=int(level), page=page if page >= 1 else None))
    return headings


def _has_visual_content(doc: pymupdf.Document, number: int) -> bool:
    """Whether a page without text shows something (images or vector drawings, e.g. a scan)."""
    try:
        page = doc[number - 1]
        return bool(page.get_images(full=False)) or bool(page.get_drawings())
    except _PAGE_ERRORS:
        return False


def _page_list(numbers: list[int]) -> str:
    """'1-3, 7' for [1, 2, 3, 7]."""
    ranges: list[list[int]] = []
    for number in numbers:
        if ranges and number == ranges[-1][1] + 1:
            ranges[-1][1] = number
        else:
            ranges.append([number, number])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)
