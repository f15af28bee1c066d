"""PDF ingest: text, line boxes, outline and headings of generated PDFs; bad PDFs; the worker process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pdf_fixtures as fx
import pymupdf
import pytest

from ingest.pdf import (
    BLANK,
    DAMAGED,
    EMPTY_FILE,
    ENCRYPTED,
    NO_PAGES,
    NO_TEXT_LAYER,
    NOT_A_PDF,
    REPAIRED,
    UNDECODED,
    UNREADABLE,
    parse_pdf,
)
from ingest.pdf_headings import PdfLine, detect_headings
from ingest.pdf_layout import reading_order
from ingest.pdf_worker import PdfWorker
from ingest.records import Heading, ParseError


def contains(rect: tuple[float, float, float, float], x: float, y: float) -> bool:
    return rect[0] <= x <= rect[2] and rect[1] <= y <= rect[3]


def ink_box(data: bytes, page: int, around: tuple[float, float, float, float],
            margin: float = 4.0) -> tuple[float, float, float, float]:
    """Where the page, rendered as a user sees it (1 pixel = 1 point), has dark pixels near `around`."""
    with pymupdf.open(stream=data, filetype="pdf") as doc:
        clip = pymupdf.Rect(around) + (-margin, -margin, margin, margin)
        pixmap = doc[page - 1].get_pixmap(dpi=72, clip=clip, colorspace=pymupdf.csGRAY)
    dark = [(index % pixmap.stride, index // pixmap.stride) for index, value in enumerate(pixmap.samples)
            if value < 128]
    assert dark, "nothing is drawn there"
    xs, ys = [x for x, _ in dark], [y for _, y in dark]
    return pixmap.x + min(xs), pixmap.y + min(ys), pixmap.x + max(xs) + 1, pixmap.y + max(ys) + 1


def encloses(rect: tuple[float, float, float, float], inner: tuple[float, float, float, float]) -> bool:
    """rect holds inner, give or take the pixel that rasterising a fractional edge costs."""
    return (rect[0] - 1 <= inner[0] and rect[1] - 1 <= inner[1]
            and inner[2] <= rect[2] + 1 and inner[3] <= rect[3] + 1)


# --- text and boxes ---

def test_known_lines_have_their_page_box_and_exact_character_range() -> None:
    data = fx.make_known_pdf()
    doc = parse_pdf(data, "contracts/msa.pdf")
    assert (doc.path, doc.kind, doc.language, doc.pages) == ("contracts/msa.pdf", "pdf", None, 3)
    assert doc.warnings == [] and doc.definitions == []
    for page, y, size, text in fx.KNOWN_LINES:
        [span] = [s for s in doc.spans if doc.text[s.start:s.end] == text]
        assert span.page == page and span.line is None
        assert contains(span.rect, fx.KNOWN_X, y), (text, span.rect)
        assert span.rect[0] == pytest.approx(fx.KNOWN_X)
        assert size <= span.rect[3] - span.rect[1] <= 1.5 * size  # a line box, not a page or word box
        assert encloses(span.rect, ink_box(data, page, span.rect))  # a highlight covers all of the line


def test_boxes_on_a_rotated_page_are_where_the_viewer_shows_the_text() -> None:
    data = fx.make_rotated_page_pdf()
    doc = parse_pdf(data, "landscape.pdf")
    [span] = doc.spans
    assert doc.text[span.start:span.end] == fx.ROTATED_TEXT
    assert span.rect[2] - span.rect[0] > 10 * (span.rect[3] - span.rect[1])  # reads across the shown page
    assert contains(span.rect, 92, 100)  # (100, 700) of the unrotated page, turned by 90 degrees
    assert encloses(span.rect, ink_box(data, 1, span.rect))


def test_document_text_is_a_header_then_one_line_per_pdf_line_and_a_blank_line_between_pages() -> None:
    doc = parse_pdf(fx.make_known_pdf(), "msa.pdf")
    pages = ["\n".join(text for page, _, _, text in fx.KNOWN_LINES if page == number) for number in (1, 2, 3)]
    assert doc.text == "msa.pdf\n" + "\n\n".join(pages)
    assert len(doc.spans) == len(fx.KNOWN_LINES)
    ends = [0] + [offset for span in doc.spans for offset in (span.start, span.end)]
    assert ends == sorted(ends)  # sorted and non-overlapping
    assert [span.page for span in doc.spans] == [page for page, _, _, _ in fx.KNOWN_LINES]


def test_boxes_on_a_cropped_page_are_measured_from_the_shown_corner() -> None:
    data = fx.make_cropped_pdf()
    [span] = parse_pdf(data, "cropped.pdf").spans
    assert contains(span.rect, 150 - 100, 300 - 200)
    assert encloses(span.rect, ink_box(data, 1, span.rect))


def test_columns_are_read_one_after_the_other_whatever_order_the_pdf_draws_them_in() -> None:
    doc = parse_pdf(fx.make_two_column_pdf(), "report.pdf")
    assert doc.text.splitlines() == ["report.pdf", fx.TWO_COLUMN_TITLE, *fx.TWO_COLUMN_LEFT,
                                     *fx.TWO_COLUMN_RIGHT, fx.TWO_COLUMN_FOOTER, fx.STAMP]
    [stamp] = [s for s in doc.spans if doc.text[s.start:s.end] == fx.STAMP]
    assert stamp.rect[3] - stamp.rect[1] > stamp.rect[2] - stamp.rect[0]  # the rotated line has a tall box


def line(text: str, x0: float, y0: float, x1: float, size: float = 10.0, **fields) -> PdfLine:
    return PdfLine(text=text, rect=(x0, y0, x1, y0 + size * 1.2), page=fields.pop("page", 1), size=size,
                   bold=fields.pop("bold", False), lead=fields.pop("lead", ""), block=fields.pop("block", 0),
                   alone=fields.pop("alone", False), **fields)


def order(lines: list[PdfLine]) -> list[str]:
    return [item.text for item in reading_order(lines, rect_of=lambda item: item.rect)]


def test_hanging_list_numbers_are_read_with_their_rows_not_as_a_column() -> None:
    lines = [line(f"{n}.", 72, 100 + 14 * n, 80) for n in range(1, 4)]
    lines += [line(f"item {n} runs across the page", 90, 100 + 14 * n, 540) for n in range(1, 4)]
    assert order(lines) == [text for n in range(1, 4) for text in (f"{n}.", f"item {n} runs across the page")]


def test_a_right_aligned_page_number_stays_on_its_row() -> None:
    lines = [line("Page 7", 500, 40, 540), line("Supply Agreement", 72, 40, 200),
             line("Body text that fills the whole width of the page", 72, 80, 540)]
    assert order(lines) == ["Supply Agreement", "Page 7", "Body text that fills the whole width of the page"]


def test_three_uneven_columns_under_a_full_width_title_are_read_left_to_right() -> None:
    columns = [(72, 220, 9), (236, 384, 5), (400, 540, 7)]  # x0, x1, lines
    body = [line(f"column {c} line {n}", x0, 120 + 14 * n, x1)
            for c, (x0, x1, count) in enumerate(columns) for n in range(count)]
    title = line("Newsletter of the purchasing department", 72, 80, 540, size=16)
    footnote = line("Footnote spanning the whole page width", 72, 400, 540)
    expected = [title.text, *(item.text for item in body), footnote.text]
    assert order([*reversed(body), title, footnote]) == expected


def test_a_table_drawn_row_by_row_is_read_row_by_row() -> None:
    doc = parse_pdf(fx.make_table_pdf(), "definitions.pdf")
    rows = [[term, *definition] for term, definition in fx.TABLE_ROWS]
    assert doc.text.splitlines()[1:] == [text for row in rows for text in row]


@pytest.mark.parametrize(("drawn", "read"), [
    ("column by column", ["For the Supplier", "Name: Jane Roe", "For the Customer", "Name: John Doe"]),
    ("row by row", ["For the Supplier", "For the Customer", "Name: Jane Roe", "Name: John Doe"]),
])
def test_side_by_side_blocks_follow_the_order_the_page_draws_them_in(drawn: str, read: list[str]) -> None:
    supplier = [line("For the Supplier", 72, 600, 250), line("Name: Jane Roe", 72, 620, 200)]
    customer = [line("For the Customer", 330, 600, 520), line("Name: John Doe", 330, 620, 470)]
    stream = [*customer, *supplier] if drawn == "column by column" else [
        supplier[0], customer[0], supplier[1], customer[1]]
    assert order(stream) == read


# --- outline and headings ---

def test_outline_gives_the_headings_with_levels_and_pages() -> None:
    doc = parse_pdf(fx.make_toc_pdf(), "toc.pdf")
    assert doc.headings == [Heading(title, level, page=page) for level, title, page in fx.TOC]


def test_headings_are_detected_from_size_emphasis_and_numbering_when_there_is_no_outline() -> None:
    data, expected = fx.make_headings_pdf()
    doc = parse_pdf(data, "msa.pdf")
    assert [(h.title, h.level, h.page) for h in doc.headings] == expected
    assert all(h.line is None for h in doc.headings)


@pytest.mark.parametrize(("text", "bold", "alone", "heading"), [
    ("ARTICLE IV", False, False, "ARTICLE IV"),
    ("Article 5 Confidentiality", False, True, "Article 5 Confidentiality"),
    ("§ 4 Haftung", True, False, "§ 4 Haftung"),
    ("Section 3: Payment Terms", False, True, "Section 3: Payment Terms"),
    ("7. Governing Law.", False, True, "7. Governing Law"),
    ("5.1 Each Party warrants that it has full power and authority to", True, False,
     "5.1 Each Party warrants that it has full power and authority to"),
    ("5.1 Each Party warrants that it has full power and authority to", False, True, None),  # a paragraph
    ("Section 3 of this Agreement shall survive", True, True, None),  # prose that starts with "Section 3"
    ("12 months after the Effective Date", True, True, None),
    ("3. The Supplier shall deliver the goods to the buyer in full.", True, True, None),  # a sentence
    ("2021 Annual Report", True, True, None),  # a year, not a clause number
])
def test_numbered_heading_patterns(text: str, bold: bool, alone: bool, heading: str | None) -> None:
    body = [line("Body text of the agreement " * 3, 72, 100 + 14 * n, 540, block=1) for n in range(20)]
    candidate = line(text, 72, 60, 300, bold=bold, alone=alone, block=0)
    found = detect_headings([candidate, *body])
    assert [h.title for h in found] == ([heading] if heading else [])


@pytest.mark.parametrize(("lead", "rest", "heading"), [
    ("Section 3.1 Payment.", "The Buyer shall pay within 30 days.", "Section 3.1 Payment"),
    ("Article 5", "Confidentiality obligations survive.", "Article 5"),
    ("Article 5", "of the Treaty applies to this Agreement.", None),  # a bold cross-reference
])
def test_bold_run_in_headings(lead: str, rest: str, heading: str | None) -> None:
    body = [line("Body text of the agreement " * 3, 72, 100 + 14 * n, 540, block=1) for n in range(20)]
    run_in = line(f"{lead} {rest}", 72, 60, 540, lead=lead, block=0)
    assert [h.title for h in detect_headings([run_in, *body])] == ([heading] if heading else [])


def test_single_letters_of_an_index_are_not_headings() -> None:
    body = [line("Body text of the agreement " * 3, 72, 100 + 14 * n, 540, block=1) for n in range(20)]
    letters = [line(letter, 72, 400 + 30 * n, 85, size=16, block=2 + n) for n, letter in enumerate("ABC")]
    assert detect_headings([*body, *letters, line("Index of Terms", 72, 60, 300, size=16, block=9)]) == [
        Heading("Index of Terms", 1, page=1)]


def test_a_title_wrapped_over_two_lines_is_one_heading() -> None:
    body = [line("Body text of the agreement " * 3, 72, 200 + 14 * n, 540, block=2) for n in range(20)]
    title = [line("Master Framework Agreement for", 72, 60, 400, size=20, block=0),
             line("Software Licences", 72, 85, 300, size=20, block=0)]
    assert detect_headings([*title, *body]) == [Heading("Master Framework Agreement for Software Licences", 1,
                                                        page=1)]


# --- bad PDFs ---

@pytest.mark.parametrize(("make", "reason", "status"), [
    (lambda: fx.make_encrypted_pdf(), ENCRYPTED, "skipped"),
    (lambda: b"", EMPTY_FILE, "skipped"),
    (lambda: fx.GARBAGE, NOT_A_PDF, "failed"),
    (lambda: fx.make_truncated_pdf(0.4), UNREADABLE, "failed"),  # cut so short MuPDF cannot even open it
    (lambda: fx.make_truncated_pdf(0.3), DAMAGED, "failed"),  # opens after repair, but no text survives
    (lambda: fx.make_image_only_pdf(), NO_TEXT_LAYER, "skipped"),
    (lambda: fx.make_blank_pdf(), BLANK, "skipped"),
    (lambda: fx.make_zero_page_pdf(), NO_PAGES, "skipped"),
], ids=["encrypted", "empty", "garbage", "truncated-unopenable", "truncated-textless", "image-only", "blank",
        "zero-pages"])
def test_bad_pdfs_fail_with_a_reason_a_user_can_act_on(make, reason: str, status: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_pdf(make(), "bad.pdf")
    assert (caught.value.reason, caught.value.status, str(caught.value)) == (reason, status, reason)


def test_repaired_pdf_that_still_has_text_is_parsed_with_a_warning() -> None:
    doc = parse_pdf(fx.make_truncated_pdf(0.5), "damaged.pdf")
    assert doc.text == "damaged.pdf\nDamaged file, page 1, still readable here.\n\n\n\n"
    assert doc.warnings == [REPAIRED, "no text recovered on page(s) 2-3"]
    assert doc.pages == 3


def test_only_the_pages_that_survive_a_truncation_are_read() -> None:
    doc = parse_pdf(fx.make_truncated_pdf(0.7), "damaged.pdf")
    assert [doc.text[s.start:s.end] for s in doc.spans] == [
        "Damaged file, page 1, still readable here.", "Damaged file, page 2, still readable here."]
    assert doc.warnings == [REPAIRED, "no text recovered on page(s) 3"]


def test_pdf_with_only_an_owner_password_opens_without_one() -> None:
    doc = parse_pdf(fx.make_encrypted_pdf(user_password=None), "locked.pdf")
    assert doc.text == "locked.pdf\nSecret terms of the deal."


def test_text_in_fonts_without_a_unicode_map_is_flagged_as_unreliable() -> None:
    doc = parse_pdf(fx.make_undecodable_font_pdf(), "subset-fonts.pdf")
    assert doc.warnings == [UNDECODED]
    assert doc.text == "subset-fonts.pdf\n" + "\ufffd" * 9 + " " + "\ufffd" * 3


def test_scanned_pages_in_a_text_pdf_are_named_in_a_warning() -> None:
    doc = parse_pdf(fx.make_partly_scanned_pdf(), "letter.pdf")
    assert doc.text == "letter.pdf\nCover letter with real text.\n\n\n\n"
    assert doc.warnings == ["no text layer on page(s) 2-3 (scanned?): not read"]


# --- the worker process ---

def test_worker_returns_what_parse_pdf_returns_and_passes_parse_errors_through() -> None:
    data = fx.make_known_pdf()
    with PdfWorker() as worker:
        assert worker.parse(data, "msa.pdf") == parse_pdf(data, "msa.pdf")
        with pytest.raises(ParseError) as caught:
            worker.parse(fx.make_encrypted_pdf(), "locked.pdf")
        assert (caught.value.reason, caught.value.status) == (ENCRYPTED, "skipped")
        assert worker.parse(fx.make_toc_pdf(), "toc.pdf").pages == 3  # the same child keeps serving


def test_a_segfault_in_the_child_fails_that_file_and_the_next_file_parses() -> None:
    with PdfWorker(parser=fx.segfaulting_parser) as worker:
        first_pid = worker.pid
        with pytest.raises(ParseError, match=r"^PDF parser crashed on this file \(killed by SIGSEGV\)$"):
            worker.parse(fx.CRASH, "evil.pdf")
        assert worker.parse(fx.make_toc_pdf(), "toc.pdf").pages == 3
        assert worker.pid not in (None, first_pid)


def test_a_child_killed_mid_call_fails_that_file_and_the_next_file_parses() -> None:
    with PdfWorker(parser=fx.hanging_parser) as worker:
        pid = worker.pid
        errors: list[ParseError] = []

        def call() -> None:
            try:
                worker.parse(fx.HANG, "slow.pdf")
            except ParseError as exc:
                errors.append(exc)

        caller = threading.Thread(target=call)
        caller.start()
        time.sleep(0.5)
        os.kill(pid, signal.SIGKILL)
        caller.join(timeout=10)
        assert [e.reason for e in errors] == ["PDF parser crashed on this file (killed by SIGKILL)"]
        assert errors[0].status == "failed"
        assert worker.parse(fx.make_toc_pdf(), "toc.pdf").pages == 3


def test_a_file_that_takes_too_long_times_out_and_the_next_file_parses() -> None:
    with PdfWorker(timeout_s=1.0, parser=fx.hanging_parser) as worker:
        started = time.monotonic()
        with pytest.raises(ParseError, match=r"^PDF parser timed out on this file \(after 1 s\)$"):
            worker.parse(fx.HANG, "slow.pdf")
        assert time.monotonic() - started < 5
        assert worker.parse(fx.make_toc_pdf(), "toc.pdf").pages == 3


def test_a_child_that_died_while_idle_is_replaced_without_failing_a_file() -> None:
    with PdfWorker() as worker:
        os.kill(worker.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while worker.pid is not None and time.monotonic() < deadline:  # until the kill has landed
            time.sleep(0.05)
        assert worker.parse(fx.make_toc_pdf(), "toc.pdf").pages == 3


def test_a_bug_in_the_parser_fails_the_file_but_not_the_worker() -> None:
    with PdfWorker(parser=fx.raising_parser) as worker:
        pid = worker.pid
        with pytest.raises(ParseError, match=r"^PDF parser failed on this file \(KeyError: 'a bug in the"):
            worker.parse(b"%PDF-", "any.pdf")
        assert worker.pid == pid


def test_calls_from_several_threads_each_get_their_own_document() -> None:
    inputs = {f"doc{n}.pdf": fx.make_known_pdf() if n % 2 else fx.make_toc_pdf() for n in range(6)}
    results: dict[str, str] = {}
    with PdfWorker() as worker:
        def call(path: str) -> None:
            results[path] = worker.parse(inputs[path], path).text

        threads = [threading.Thread(target=call, args=(path,)) for path in inputs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert results == {path: parse_pdf(data, path).text for path, data in inputs.items()}


def test_close_stops_the_child_and_later_calls_are_refused() -> None:
    worker = PdfWorker()
    worker.parse(fx.make_toc_pdf(), "toc.pdf")
    pid = worker.pid
    worker.close()
    assert worker.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(RuntimeError, match="closed"):
        worker.parse(fx.make_toc_pdf(), "toc.pdf")


def test_the_parent_process_never_loads_pymupdf() -> None:
    probe = "import sys, ingest.pdf_worker; sys.exit('pymupdf' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], timeout=60).returncode == 0
