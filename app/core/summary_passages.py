"""Where passages and headings sit in a stored document, counted in spans (PDF lines or source lines).

A summary needs two things the store does not keep directly: which section a cited passage lies in
(to check the passage against a topic's heading patterns) and, for the lexical check, the passages of a
document that name a topic. Both work on span indices of the `StoredDocument`: spans are in reading order,
one per PDF line or source line, so "the heading above" is simply the last heading span before a passage.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from app.core.summary_topics import Topic
from ingest.records import Heading
from ingest.store import StoredDocument

PASSAGE_CHARS = 600  # a cited section passage: its heading and the lines after it, up to about this long
CONTEXT_CHARS = 400  # around a text match, other matches within this distance make the passage denser
RUNNING_MIN_PAGES = 3  # a PDF line (digits aside) on this many pages, and on
RUNNING_SHARE = 0.5  # ... this share of them, is a running header or footer
_DIGITS = re.compile(r"\d+")
SENTENCE_LINES = 4  # a text match is widened to its sentence, at most this many lines each way
_ENDS = (".", ":", ";")


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class Located:
    """A run of whole spans [first, last] of a document (inclusive)."""

    first: int
    last: int


class DocumentMap:
    """Headings placed on the document's spans, and the spans a citation covers."""

    def __init__(self, doc: StoredDocument, headings: Sequence[Heading]):
        self.doc = doc
        index = doc.span_index  # (n, 4): start, end, line, page
        self.starts = index[:, 0]
        self.lines = index[:, 2]
        self.pages = index[:, 3]
        placed = [(position, heading) for heading in headings
                  if (position := self._place(heading)) is not None]
        placed.sort(key=lambda item: item[0])
        self.running = self._running_lines()
        self.heading_spans = [position for position, _ in placed]
        self.headings = [heading for _, heading in placed]

    def _running_lines(self) -> set[int]:
        """PDF lines repeated on many pages (running headers and footers, page numbers): not passage text."""
        pages_of: dict[str, set[int]] = {}
        for index in range(len(self.starts)) if self.doc.kind == "pdf" else ():
            key = _DIGITS.sub("#", _norm(self.span_text(index)))
            pages_of.setdefault(key, set()).add(int(self.pages[index]))
        page_count = len(set(self.pages.tolist()))
        repeated = {key for key, pages in pages_of.items()
                    if len(pages) >= max(RUNNING_MIN_PAGES, RUNNING_SHARE * page_count)}
        return {index for index in range(len(self.starts)) if self.doc.kind == "pdf"
                and _DIGITS.sub("#", _norm(self.span_text(index))) in repeated}

    def __len__(self) -> int:
        return len(self.starts)

    def span_text(self, index: int) -> str:
        start, end = self.doc.span_index[index, :2]
        return self.doc.text[int(start):int(end)]

    def _page_range(self, page: int) -> tuple[int, int]:
        hits = np.flatnonzero(self.pages == page)
        return (int(hits[0]), int(hits[-1])) if len(hits) else (-1, -1)

    def _place(self, heading: Heading) -> int | None:
        """The span index of the heading's line (its page's first line when the title is not printed)."""
        if heading.line is not None:
            hits = np.flatnonzero(self.lines == heading.line)
            return int(hits[0]) if len(hits) else None
        if heading.page is None:
            return None
        first, last = self._page_range(heading.page)
        if first < 0:
            return None
        title = _norm(heading.title)
        for index in range(first, last + 1):
            line = _norm(self.span_text(index))
            if len(line) >= 3 and (line.startswith(title[:40]) or title.startswith(line)):
                return index
        return first

    def locate_citation(self, page: int | None, rects: Sequence[Sequence[float]] | None,
                        start_line: int | None, end_line: int | None) -> Located | None:
        """The spans a citation covers, from its page and rectangles (PDF) or its lines (text and code)."""
        if start_line is not None:
            hits = np.flatnonzero((self.lines >= start_line) & (self.lines <= (end_line or start_line)))
            return Located(int(hits[0]), int(hits[-1])) if len(hits) else None
        if page is None:
            return None
        first, last = self._page_range(page)
        if first < 0:
            return None
        if not rects or self.doc.span_rects is None:
            return Located(first, last)
        boxes = self.doc.span_rects[first:last + 1]

        def nearest(rect: Sequence[float]) -> int:
            distance = np.abs(boxes[:, 1] - rect[1]) + np.abs(boxes[:, 0] - rect[0])
            return first + int(np.argmin(distance))

        a, b = nearest(rects[0]), nearest(rects[-1])
        return Located(min(a, b), max(a, b))

    def section_headings(self, located: Located) -> list[str]:
        """Titles of the heading above the passage and of every heading inside it."""
        above = bisect.bisect_right(self.heading_spans, located.first) - 1
        inside = bisect.bisect_right(self.heading_spans, located.last)
        return [self.headings[i].title for i in range(max(above, 0), inside)]

    def text_of(self, located: Located) -> str:
        return self.doc.rows_text(located.first, located.last)

    # the lexical check's own passages ----------------------------------------------------------------

    def section_passages(self, topic: Topic) -> Iterator[Located]:
        """For each section whose heading names the topic: its heading and first lines (on one page; a
        heading stranded at the foot of a page gives the first lines of the next page instead)."""
        ends = [*self.heading_spans[1:], len(self)]
        for position, heading, end in zip(self.heading_spans, self.headings, ends, strict=True):
            if not topic.names_heading(heading.title):
                continue
            limit = end - 1
            body = next((i for i in range(position + 1, limit + 1) if i not in self.running), None)
            # a heading placed on a running line (its title is not printed) or alone at the foot of its page
            page = self.pages[position]
            moved = body is not None and (position in self.running or self.pages[body] != page)
            first = body if moved else position
            yield self._grow(first, max(limit, first))

    def _grow(self, first: int, limit: int) -> Located:
        """Spans from `first` on, up to `limit`, on one page, without running lines, about PASSAGE_CHARS."""
        last, size = first, len(self.span_text(first))
        while last < limit:
            following = last + 1
            if following in self.running or self.pages[following] != self.pages[first]:
                break
            size += len(self.span_text(following)) + 1
            if size > PASSAGE_CHARS and last > first:
                break
            last = following
        return Located(first, last)

    def text_passage(self, topic: Topic) -> Located | None:
        """The densest place where the topic's text patterns occur, as whole spans; None if none occur."""
        text = self.doc.text
        matches = sorted((m.start(), m.end()) for pattern in topic.text for m in pattern.finditer(text))
        if not matches:
            return None
        starts = [start for start, _ in matches]

        def density(match: tuple[int, int]) -> int:
            return (bisect.bisect_right(starts, match[0] + CONTEXT_CHARS)
                    - bisect.bisect_left(starts, match[0] - CONTEXT_CHARS))

        start, end = max(matches, key=lambda m: (density(m), -m[0]))
        first = max(int(np.searchsorted(self.starts, start, side="right")) - 1, 0)
        last = max(int(np.searchsorted(self.starts, end, side="left")) - 1, first)
        return self._sentence(first, last)

    def _joins(self, a: int, b: int) -> bool:
        """Lines a and b = a + 1 read on as one text (same page, neither a running line)."""
        return (0 <= a and b < len(self) and self.pages[a] == self.pages[b]
                and a not in self.running and b not in self.running)

    def _sentence(self, first: int, last: int) -> Located:
        """Widen lines [first, last] to the sentence(s) they are part of, a few lines each way at most."""
        for _ in range(SENTENCE_LINES):
            if not self._joins(first - 1, first) or self.span_text(first - 1).rstrip().endswith(_ENDS):
                break
            first -= 1
        for _ in range(SENTENCE_LINES):
            if self.span_text(last).rstrip().endswith(_ENDS) or not self._joins(last, last + 1):
                break
            last += 1
        return Located(first, last)
