"""PDFs for the PDF ingest tests, generated with PyMuPDF so every string, position and page is known.

Also the stand-in parsers the worker tests run in the child process (they must live in an
importable module, not in a test file, because the child is spawned and imports them).
"""

from __future__ import annotations

import ctypes
import time

import pymupdf

from ingest.pdf import parse_pdf
from ingest.records import ParsedDocument

PAGE = (612, 792)  # US Letter, points

# (page, y of the baseline, font size, text): each inserted at x = 72 on a three-page document
KNOWN_LINES = [
    (1, 100.0, 12, "Master Supply Agreement between Acme GmbH and Globex Ltd"),
    (1, 140.0, 10, "The Supplier delivers the goods within 30 days of the order."),
    (1, 160.0, 10, "Zahlungsfrist: 30 Tage nach Erhalt der Rechnung (Überweisung)."),
    (2, 300.0, 11, "Liability is capped at the fees paid in the preceding twelve months."),
    (2, 700.0, 9, "Either party may terminate this Agreement with 90 days written notice."),
    (3, 72.0, 14, "Schedule A: Prices"),
]
KNOWN_X = 72.0

# The outline of make_toc_pdf: (level, title, page)
TOC = [(1, "1 Definitions", 1), (2, "1.1 Goods", 1), (1, "2 Delivery", 2), (2, "2.1 Late delivery", 3)]


def _save(doc: pymupdf.Document, **options) -> bytes:
    data = doc.tobytes(**options)
    doc.close()
    return data


def make_known_pdf() -> bytes:
    """Three pages with KNOWN_LINES at their known points, in their known sizes."""
    doc = pymupdf.open()
    for _ in range(3):
        doc.new_page(width=PAGE[0], height=PAGE[1])
    for page, y, size, text in KNOWN_LINES:
        doc[page - 1].insert_text((KNOWN_X, y), text, fontsize=size)
    return _save(doc)


def make_toc_pdf() -> bytes:
    """Three pages of text with the outline TOC (bookmarks)."""
    doc = pymupdf.open()
    for number in range(1, 4):
        page = doc.new_page(width=PAGE[0], height=PAGE[1])
        page.insert_text((72, 100), f"Text of page {number}.", fontsize=10)
    doc.set_toc([list(entry) for entry in TOC])
    return _save(doc)


def _body(page: pymupdf.Page, y: float, lines: int) -> float:
    """`lines` lines of 10 pt body text from baseline y, as one block; returns the next free y."""
    text = "\n".join(f"The parties agree as set out below in line {n} of this paragraph"
                     for n in range(1, lines + 1))
    page.insert_text((72, y), text, fontsize=10, lineheight=1.3)
    return y + 13 * lines + 14


def make_headings_pdf() -> tuple[bytes, list[tuple[str, int, int]]]:
    """A contract without an outline; returns its bytes and the headings to expect as (title, level, page).

    Headings are set the ways contracts set them: a large title, ARTICLE headings in 14 pt bold
    (one with a title, one without), numbered clauses in bold body size, a run-in bold
    "Section 2.2 Termination." lead, and a three-level number. Traps that are not headings:
    a bold "CONFIDENTIAL" running header on every page, a paragraph that starts with a
    number, a line that starts "Section 3 of ...", a line that starts with "12 months".
    """
    doc = pymupdf.open()
    for _ in range(3):
        doc.new_page(width=PAGE[0], height=PAGE[1])
    pages = list(doc)
    for page in pages:
        page.insert_text((72, 40), "CONFIDENTIAL", fontsize=12, fontname="hebo")
    first, second, third = pages
    first.insert_text((72, 90), "Master Services Agreement", fontsize=20, fontname="hebo")
    first.insert_text((72, 130), "ARTICLE I - DEFINITIONS", fontsize=14, fontname="hebo")
    y = _body(first, 160, 6)
    first.insert_text((72, y), "1.1 Services", fontsize=10, fontname="hebo")
    y = _body(first, y + 20, 5)
    numbered_paragraph = ("2. The Supplier shall deliver the goods on time and in full to the\n"
                          "place named in the order, at its own cost and risk")
    first.insert_text((72, y), numbered_paragraph, fontsize=10, lineheight=1.3)
    second.insert_text((72, 90), "ARTICLE II", fontsize=14, fontname="hebo")
    y = _body(second, 120, 4)
    second.insert_text((72, y), "Section 3 of this Agreement shall survive its termination\n"
                                "12 months after the Effective Date the prices may change", fontsize=10,
                       lineheight=1.3)
    y += 40
    lead = "Section 2.2 Termination."
    second.insert_text((72, y), lead, fontsize=10, fontname="hebo")
    lead_width = pymupdf.get_text_length(lead + " ", fontname="hebo", fontsize=10)
    second.insert_text((72 + lead_width, y), "Either party may end this Agreement by notice.", fontsize=10)
    _body(second, y + 30, 6)
    third.insert_text((72, 90), "2.3 Term", fontsize=10, fontname="hebo")
    y = _body(third, 120, 5)
    third.insert_text((72, y), "2.3.1 Renewal", fontsize=10, fontname="hebo")
    _body(third, y + 30, 5)
    expected = [
        ("Master Services Agreement", 1, 1),  # 20 pt
        ("ARTICLE I - DEFINITIONS", 2, 1),  # 14 pt, Article
        ("1.1 Services", 4, 1),  # body size, number of depth 2
        ("ARTICLE II", 2, 2),
        ("Section 2.2 Termination", 3, 2),  # body size, Section ranks above plain numbers
        ("2.3 Term", 4, 3),
        ("2.3.1 Renewal", 5, 3),  # depth 3
    ]
    return _save(doc), expected


# A page in two columns whose content stream draws the right column first, then the left one,
# then the full-width title, then a full-width footer: reading order must come from geometry.
TWO_COLUMN_TITLE = "Quarterly Report on Supplier Performance"
TWO_COLUMN_LEFT = [f"Left column line {index} about delivery times" for index in range(1, 9)]
TWO_COLUMN_RIGHT = [f"Right column line {index} about invoices" for index in range(1, 9)]
TWO_COLUMN_FOOTER = "Prepared by the purchasing department for the board of directors"
STAMP = "DRAFT - NOT FOR CIRCULATION"


def make_two_column_pdf() -> bytes:
    """One page: a title, two columns (right drawn first), a footer, and a rotated margin stamp."""
    doc = pymupdf.open()
    page = doc.new_page(width=PAGE[0], height=PAGE[1])
    for index, line in enumerate(TWO_COLUMN_RIGHT):
        page.insert_text((320, 140 + 14 * index), line, fontsize=10)
    page.insert_text((20, 600), STAMP, fontsize=9, rotate=90)
    for index, line in enumerate(TWO_COLUMN_LEFT):
        page.insert_text((72, 140 + 14 * index), line, fontsize=10)
    page.insert_text((72, 100), TWO_COLUMN_TITLE, fontsize=16)
    page.insert_text((72, 300), TWO_COLUMN_FOOTER, fontsize=10)
    return _save(doc)


# A definitions table drawn row by row, as word processors draw tables: term, then its definition.
TABLE_ROWS = [
    ("Affiliate", ["any entity that controls, is controlled by,", "or is under common control with a Party"]),
    ("Business Day", ["a day other than a Saturday, Sunday or", "public holiday in England"]),
    ("Deliverables", ["all reports and data delivered under", "a Statement of Work"]),
]


def make_table_pdf() -> bytes:
    """One page with TABLE_ROWS: terms at x = 72, their two-line definitions at x = 230."""
    doc = pymupdf.open()
    page = doc.new_page(width=PAGE[0], height=PAGE[1])
    y = 100.0
    for term, definition in TABLE_ROWS:
        page.insert_text((72, y), term, fontsize=10, fontname="hebo")
        page.insert_text((230, y), "\n".join(definition), fontsize=10, lineheight=1.3)
        y += 13 * len(definition) + 10
    return _save(doc)


ROTATED_TEXT = "Landscape table of delivery dates"


def make_rotated_page_pdf() -> bytes:
    """One portrait page shown turned by 90 degrees (/Rotate 90), with text drawn upright on the shown page.

    On the unrotated page the text runs upwards from (100, 700); turned, it reads left to right
    from (92, 100) of the 792 x 612 page a viewer shows.
    """
    doc = pymupdf.open()
    page = doc.new_page(width=PAGE[0], height=PAGE[1])
    page.insert_text((100, 700), ROTATED_TEXT, fontsize=12, rotate=90)
    page.set_rotation(90)
    return _save(doc)


CROPPED_TEXT = "Only this part of the page is shown"


def make_cropped_pdf() -> bytes:
    """A page whose CropBox starts at (100, 200): a viewer shows (and measures from) that corner."""
    doc = pymupdf.open()
    page = doc.new_page(width=PAGE[0], height=PAGE[1])
    page.insert_text((150, 300), CROPPED_TEXT, fontsize=12)
    page.set_cropbox(pymupdf.Rect(100, 200, 500, 700))
    return _save(doc)


def make_encrypted_pdf(user_password: str | None = "open sesame") -> bytes:
    """AES-256 encrypted; with user_password=None only an owner password is set (opens without one)."""
    doc = pymupdf.open()
    doc.new_page(width=PAGE[0], height=PAGE[1]).insert_text((72, 100), "Secret terms of the deal.")
    return _save(doc, encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="owner secret",
                 user_pw=user_password or "", permissions=int(pymupdf.PDF_PERM_PRINT))


def make_truncated_pdf(keep: float) -> bytes:
    """The first `keep` share of the bytes of a three-page PDF with uncompressed page streams."""
    doc = pymupdf.open()
    for number in range(1, 4):
        page = doc.new_page(width=PAGE[0], height=PAGE[1])
        page.insert_text((72, 100), f"Damaged file, page {number}, still readable here.", fontsize=10)
    data = _save(doc, deflate=False)
    return data[: int(len(data) * keep)]


def _image_page(doc: pymupdf.Document) -> None:
    pixmap = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 64, 64), False)
    pixmap.clear_with(180)
    doc.new_page(width=PAGE[0], height=PAGE[1]).insert_image(pymupdf.Rect(72, 72, 540, 720), pixmap=pixmap)


def make_image_only_pdf(pages: int = 2) -> bytes:
    """Pages that show only an image, like a scan without OCR."""
    doc = pymupdf.open()
    for _ in range(pages):
        _image_page(doc)
    return _save(doc)


def make_partly_scanned_pdf() -> bytes:
    """Page 1 has text, pages 2 and 3 only an image."""
    doc = pymupdf.open()
    doc.new_page(width=PAGE[0], height=PAGE[1]).insert_text((72, 100), "Cover letter with real text.")
    _image_page(doc)
    _image_page(doc)
    return _save(doc)


def make_blank_pdf(pages: int = 2) -> bytes:
    doc = pymupdf.open()
    for _ in range(pages):
        doc.new_page(width=PAGE[0], height=PAGE[1])
    return _save(doc)


def _raw_pdf(objects: list[bytes]) -> bytes:
    """A well-formed PDF (a correct xref: nothing for MuPDF to repair) of these objects; 1 is the catalog."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def make_zero_page_pdf() -> bytes:
    """A well-formed PDF whose page tree is empty."""
    return _raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


def make_undecodable_font_pdf() -> bytes:
    """Text drawn in a font whose encoding maps every code to a glyph name without a Unicode value.

    The page looks fine, but no program can tell which characters it shows (like PDFs made
    with subset fonts that lack a ToUnicode map).
    """
    content = b"BT /F1 12 Tf 72 700 Td (ABCABCABC CBA) Tj ET"
    return _raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica"
        b" /Encoding << /Type /Encoding /Differences [65 /g101 /g102 /g103] >> >>",
    ])


GARBAGE = bytes(range(256)) * 8  # not a PDF at all


# --- parsers for the worker tests (run in the spawned child) ---

CRASH = b"%PDF-crash-the-parser"
HANG = b"%PDF-hang-the-parser"


def segfaulting_parser(data: bytes, relpath: str) -> ParsedDocument:
    """parse_pdf, except that the CRASH bytes make the process segfault (as a MuPDF bug would)."""
    if data == CRASH:
        ctypes.string_at(0)  # reads address 0: SIGSEGV
    return parse_pdf(data, relpath)


def hanging_parser(data: bytes, relpath: str) -> ParsedDocument:
    """parse_pdf, except that the HANG bytes make it never return (as a pathological file would)."""
    if data == HANG:
        time.sleep(3600)
    return parse_pdf(data, relpath)


def raising_parser(data: bytes, relpath: str) -> ParsedDocument:
    """A parser with a bug: raises something other than ParseError."""
    raise KeyError("a bug in the parser")
