"""Headings of a PDF that has no outline, found from font sizes, emphasis and numbering.

A line is a heading when it is short, title-like, and either set clearly larger than the
body text (the most common font size, counted by characters) or numbered the way contracts
and reports number their parts ("1.", "1.2", "Article 5", "Section 3", "ARTICLE IV", "§ 4")
and set apart (bold, larger, ALL CAPS, or short and a block of its own). A bold numbered
lead-in of a paragraph ("**Section 3.1 Payment.** The Buyer shall ...") is a run-in heading
when it ends a sentence or the paragraph goes on with a capital ("**Article 5** of the Treaty"
is a cross-reference). Text that repeats on several pages (running headers) is not a heading.

Levels come from the headings' sizes (larger is higher), then the kind of number (Part,
Chapter, Article, Section, plain numbers), then the numbering depth ("1.2.3" is deeper than
"1.2").
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from ingest.records import Heading, Rect

LARGER = 1.15  # a heading by size alone is at least this many times the body size ...
LARGER_MIN_POINTS = 1.0  # ... and at least this many points larger
MAX_TITLE_CHARS = 100
MAX_TITLE_WORDS = 16
MAX_PLAIN_TITLE_WORDS = 8  # a numbered line in plain body text is a heading only if this short and alone
RUNNING_HEADER_PAGES = 3  # the same text on this many pages is a running header, not a heading

_KEYWORD_RANK = {"part": 0, "chapter": 1, "article": 2, "schedule": 2, "appendix": 2, "annex": 2,
                 "exhibit": 2, "section": 3, "§": 3}
_NUMERIC_RANK = 4
_UNNUMBERED_RANK = 0

_KEYWORD = re.compile(
    r"^(?P<kind>(?i:part|chapter|article|section|schedule|appendix|annex|exhibit)|§)\s*"
    r"(?P<number>\d{1,3}(?:\.\d{1,3})*|[IVXLCDM]{1,7}|[A-Z])\b\.?"
    r"(?:\s*[:.\-\u2013\u2014]\s*|\s+|$)(?P<title>.*)$")
_NUMERIC = re.compile(r"^(?P<number>\d{1,3}(?:\.\d{1,3}){0,4})\.?\s+(?P<title>\S.*)$")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(slots=True)
class PdfLine:
    """One text line of a PDF page, with what heading detection needs to know about it."""

    text: str
    rect: Rect
    page: int  # 1-based
    size: float  # the font size most of the line's characters are set in
    bold: bool  # every span of the line is bold
    lead: str  # the line's leading bold text when the rest is not bold (a run-in heading), else ""
    block: int  # index of the line's block on its page
    alone: bool  # the line is the only line of its block
    horizontal: bool = True


def body_size(lines: list[PdfLine]) -> float:
    """The font size most characters are set in (to the half point)."""
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[round(line.size * 2) / 2] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def detect_headings(lines: list[PdfLine]) -> list[Heading]:
    """Headings of the lines (in reading order), with levels; see the module docstring for the rules."""
    body = body_size(lines)
    found: list[tuple[str, int, tuple[float, int, int]]] = []  # (title, page, level key)
    previous: PdfLine | None = None  # the line of the last heading, while the lines since are headings
    for line in lines:
        candidate = _heading(line, body)
        if candidate is None:
            previous = None
            continue
        title, key = candidate
        if (previous is not None and key[1] == _UNNUMBERED_RANK and previous.page == line.page
                and previous.block == line.block and abs(previous.size - line.size) < 0.5):
            # a title wrapped onto a second line
            found[-1] = (f"{found[-1][0]} {title}", found[-1][1], found[-1][2])
        else:
            found.append((title, line.page, key))
        previous = line
    found = _drop_running_headers(found)
    levels = {key: rank + 1 for rank, key in enumerate(sorted({key for _, _, key in found}))}
    return [Heading(title=title, level=levels[key], page=page) for title, page, key in found]


def _heading(line: PdfLine, body: float) -> tuple[str, tuple[float, int, int]] | None:
    """(title, level key) when the line is a heading, else None."""
    text = line.text.strip()
    larger = line.size >= body * LARGER and line.size >= body + LARGER_MIN_POINTS
    size_key = -round(line.size * 2) / 2 if larger else -body
    numbered = _numbering(text)
    if numbered is not None:
        rank, depth, title = numbered
        emphasised = larger or line.bold or title.isupper() or text.split()[0].isupper()
        # plain text: the first line of a numbered paragraph looks like this too, unless it is short and alone
        set_apart = line.alone and len(title.split()) <= MAX_PLAIN_TITLE_WORDS
        if (emphasised or set_apart) and _title_like(title, allow_empty=rank != _NUMERIC_RANK):
            return _clean(text), (size_key, rank, depth)
    if line.lead:
        lead = line.lead.strip()
        rest = text[len(lead):].lstrip() if text.startswith(lead) else ""
        numbered = _numbering(lead)
        if (numbered is not None and (lead[-1] in ".:" or rest[:1].isupper())
                and _title_like(numbered[2].rstrip(".:"), allow_empty=True)):
            return _clean(lead), (size_key, numbered[0], numbered[1])
    if larger and len(_LETTER.findall(text)) > 1 and _title_like(text, allow_empty=False, need_capital=False):
        return _clean(text), (size_key, _UNNUMBERED_RANK, 0)
    return None


def _numbering(text: str) -> tuple[int, int, str] | None:
    """(kind rank, depth, title after the number) for a numbered heading's text, else None."""
    match = _KEYWORD.match(text)
    if match:
        return _KEYWORD_RANK[match["kind"].lower()], match["number"].count(".") + 1, match["title"].strip()
    match = _NUMERIC.match(text)
    if match:
        return _NUMERIC_RANK, match["number"].count(".") + 1, match["title"].strip()
    return None


def _title_like(title: str, *, allow_empty: bool, need_capital: bool = True) -> bool:
    if not title:
        return allow_empty
    words = title.split()
    if len(title) > MAX_TITLE_CHARS or len(words) > MAX_TITLE_WORDS or not _LETTER.search(title):
        return False
    if need_capital and not (title[0].isupper() or title[0].isdigit() or title[0] in "\"'(\u201c"):
        return False
    if title[-1] in ",;" or (title[-1] == "." and len(words) > 6):
        return False  # the end of a sentence or a clause of running text
    return True


def _clean(title: str) -> str:
    return " ".join(title.split()).rstrip(" .:")


def _drop_running_headers(found: list[tuple[str, int, tuple[float, int, int]]]
                          ) -> list[tuple[str, int, tuple[float, int, int]]]:
    pages_of: defaultdict[str, set[int]] = defaultdict(set)
    for title, page, _ in found:
        pages_of[title.casefold()].add(page)
    return [entry for entry in found if len(pages_of[entry[0].casefold()]) < RUNNING_HEADER_PAGES]
