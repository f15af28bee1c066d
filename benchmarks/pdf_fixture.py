"""A generated long PDF for the ingest benchmark: `make_long_pdf(path, pages=500)`.

Every page looks like a page of a contract: a running header, a numbered clause heading
every few pages, ~45 lines of 10.5 pt body text set in one column (every tenth page in two
columns), and a page number in the footer. The outline (TOC) lists the clause headings, so
the file exercises the same code paths as a real 300-page contract. The text is
deterministic, so two runs measure the same work.

Run it directly to write a file: `python benchmarks/pdf_fixture.py out.pdf [pages]`.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pymupdf

PAGE_WIDTH, PAGE_HEIGHT = 612.0, 792.0  # US Letter, points
MARGIN = 72.0
BODY_SIZE = 10.5
LEADING = 13.0
HEADING_SIZE = 14.0
PAGES_PER_CLAUSE = 4

_WORDS = (
    "agreement party supplier customer shall deliver goods services payment invoice within days "
    "notice written term termination breach remedy liability damages indemnify confidential "
    "information disclose obligations warranty represents accordance applicable law governing "
    "jurisdiction dispute arbitration force majeure event assignment consent subcontract insurance "
    "records audit price schedule acceptance delivery date the of and to in any such under this "
    "that by or for with as on be is are"
).split()


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 20))]
    return " ".join(words).capitalize() + "."


def _lines(rng: random.Random, width_chars: int, count: int) -> list[str]:
    """`count` lines of running prose, each at most `width_chars` characters."""
    lines: list[str] = []
    current = ""
    while len(lines) < count:
        for word in _sentence(rng).split():
            if current and len(current) + 1 + len(word) > width_chars:
                lines.append(current)
                current = word
            else:
                current = f"{current} {word}" if current else word
    return lines[:count]


def make_long_pdf(path: str | Path, pages: int = 500, seed: int = 0) -> Path:
    """Write a `pages`-page contract-like PDF with an outline to `path` and return the path."""
    rng = random.Random(seed)
    doc = pymupdf.open()
    toc: list[list] = []
    for index in range(pages):
        page = doc.new_page(width=PAGE_WIDTH, height=PAGE_HEIGHT)
        shape = page.new_shape()  # one content stream per page: much faster than page.insert_text per line
        shape.insert_text((MARGIN, 40), "MASTER SUPPLY AGREEMENT - CONFIDENTIAL", fontsize=8)
        y = MARGIN + 10
        if index % PAGES_PER_CLAUSE == 0:
            clause = index // PAGES_PER_CLAUSE + 1
            title = f"{clause}. Clause {clause}: {_sentence(rng)[:40].rstrip('.').title()}"
            shape.insert_text((MARGIN, y), title, fontsize=HEADING_SIZE, fontname="hebo")
            toc.append([1, title, index + 1])
            y += 2 * LEADING
        rows = int((PAGE_HEIGHT - MARGIN - y) // LEADING)
        if index % 10 == 9:  # a two-column page
            column_width = (PAGE_WIDTH - 2 * MARGIN - 24) / 2
            columns = [MARGIN, MARGIN + column_width + 24]
        else:
            columns = [MARGIN]
        for x in columns:
            lines = _lines(rng, 92 // len(columns) - 6 * (len(columns) - 1), rows)
            shape.insert_text((x, y), lines, fontsize=BODY_SIZE, lineheight=LEADING / BODY_SIZE)
        shape.insert_text((PAGE_WIDTH / 2 - 10, PAGE_HEIGHT - 36), f"{index + 1}", fontsize=8)
        shape.commit()
    doc.set_toc(toc)
    path = Path(path)
    doc.save(path, garbage=3, deflate=True)
    doc.close()
    return path


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: python benchmarks/pdf_fixture.py OUT.pdf [PAGES]")
    out = make_long_pdf(sys.argv[1], int(sys.argv[2]) if len(sys.argv) == 3 else 500)
    print(out)
