"""Answers and their citations: the chunks the answer tokens retrieved, mapped back to source spans.

The HSA layers choose chunks for every answer token with softmax weights. Summed per chunk over the answer
those weights rank the chunks the answer drew on (DESIGN.md section 2, step 7). A chunk is 64 tokens of one
document; the tokenizer's character offsets give its characters and the ingest span map gives lines (code,
text) or PDF pages and line rectangles. Adjacent chunks of one document merge into one span, spans are
widened to whole lines, and a PDF span is cut at page boundaries (a citation shows one page); the spans the
answer read on one page are one citation, a "…" line in its text where unread lines lie between them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ingest.store import StoredDocument
from model.chunk_runs import runs_by_document

MAX_CITATIONS = 6
MIN_SHARE = 0.03  # a span with less of the answer's retrieval weight is not worth a chip


@dataclass(frozen=True)
class Citation:
    path: str  # relative to the project root, as stored
    start_line: int | None  # 1-based, inclusive (code and text)
    end_line: int | None
    page: int | None  # 1-based (PDF)
    rects: list[list[float]] | None  # [x0, y0, x1, y1] in points, on `page`
    score: float  # share of the answer's retrieval weight
    text: str  # the cited text, whole lines
    abspath: str  # the file on disk

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "page": self.page,
            "rects": self.rects,
            "score": round(self.score, 4),
            "text": self.text,
        }

    @property
    def label(self) -> str:
        """How a user sees it: `pkg/mod.py:10-42` or `contract.pdf p.7`."""
        if self.page is not None:
            return f"{self.path} p.{self.page}"
        if self.start_line is None:
            return self.path
        if self.end_line is None or self.start_line == self.end_line:
            return f"{self.path}:{self.start_line}"
        return f"{self.path}:{self.start_line}-{self.end_line}"


@dataclass
class Answer:
    answer: str
    citations: list[Citation]
    timing: dict = field(default_factory=dict)  # ttft_ms, total_ms
    memory: dict = field(default_factory=dict)  # documents, tokens, chunks, reused
    stopped: bool = False  # the user stopped it before the model finished
    notices: list[str] = field(default_factory=list)  # e.g. "memory rebuilt: it was made by another model"

    def to_json(self) -> dict:
        return {
            "answer": self.answer,
            "citations": [c.to_json() for c in self.citations],
            "timing": self.timing,
            "memory": self.memory,
        }


@dataclass(frozen=True)
class CitedDocument:
    """What mapping needs about one document: the stored text and spans, and each token's characters."""

    document: StoredDocument
    abspath: str
    # (start, end) per token of the encoded document (model.tokenizer.Tokenizer.document): pairs or (n, 2)
    offsets: Sequence[tuple[int, int]] | np.ndarray


def chunk_chars(
    offsets: Sequence[tuple[int, int]] | np.ndarray, first: int, last: int, chunk_size: int
) -> tuple[int, int]:
    """Characters [start, end) covered by chunks first..last (inclusive) of a document's tokens."""
    # the last chunk's padding has no token
    tokens = np.asarray(offsets[first * chunk_size : (last + 1) * chunk_size]).reshape(-1, 2)  # (k, 2)
    real = tokens[tokens[:, 1] > tokens[:, 0]]  # special tokens have empty ranges
    if len(real) == 0:
        return 0, 0
    return int(real[:, 0].min()), int(real[:, 1].max())


GAP = "…"  # a line of a PDF citation's text standing for lines of the page the answer did not read


def _touched(index: np.ndarray, start: int, end: int) -> list[int]:
    """Spans (source lines, or PDF text lines) that characters [start, end) touch."""
    if end <= start or len(index) == 0:
        return []
    return np.flatnonzero((index[:, 1] > start) & (index[:, 0] < end)).tolist()


def _page_rows(stored: StoredDocument, start: int, end: int) -> list[tuple[int, list[int], float]]:
    """(page, its touched PDF lines, its share of their characters) for characters [start, end)."""
    index = stored.span_index
    by_page: dict[int, list[int]] = {}
    for i in _touched(index, start, end):
        if index[i, 3] > 0:
            by_page.setdefault(int(index[i, 3]), []).append(i)
    total = sum(int(index[i, 1] - index[i, 0]) for rows in by_page.values() for i in rows) or 1
    return [(page, rows, sum(int(index[i, 1] - index[i, 0]) for i in rows) / total)
            for page, rows in sorted(by_page.items())]


def _page_citation(doc: CitedDocument, page: int, rows: Sequence[int], score: float) -> Citation:
    """A PDF page's citation: the rectangles and text of its cited lines, with a GAP line where lines the
    answer did not read lie between them (two runs of chunks on one page)."""
    stored = doc.document
    index = stored.span_index
    rows = sorted(set(rows))
    rects = (
        [[round(float(v), 2) for v in stored.span_rects[i]] for i in rows]
        if stored.span_rects is not None
        else None
    )
    lines: list[str] = []
    for n, i in enumerate(rows):
        if n and i != rows[n - 1] + 1:
            lines.append(GAP)
        lines.append(stored.text[int(index[i, 0]) : int(index[i, 1])])
    return Citation(stored.path, None, None, page, rects, score, "\n".join(lines), doc.abspath)


def spans_for(doc: CitedDocument, start: int, end: int, score: float) -> list[Citation]:
    """Citations for characters [start, end) of a document: one for text/code (whole lines), one per page
    for a PDF. The score is shared between pages by their share of the characters."""
    stored = doc.document
    if stored.kind == "pdf":
        return [_page_citation(doc, page, rows, score * share)
                for page, rows, share in _page_rows(stored, start, end)]
    index = stored.span_index
    lines = [int(index[i, 2]) for i in _touched(index, start, end) if index[i, 2] > 0]
    if not lines:
        return []
    first, last = min(lines), max(lines)
    rows = np.flatnonzero((index[:, 2] >= first) & (index[:, 2] <= last))
    text = stored.rows_text(int(rows[0]), int(rows[-1]))
    return [Citation(stored.path, first, last, None, None, score, text, doc.abspath)]


def build_citations(
    weights: Mapping[tuple[str, int], float],
    resolve: Callable[[str], CitedDocument | None],
    chunk_size: int,
    *,
    limit: int = MAX_CITATIONS,
    min_share: float = MIN_SHARE,
) -> list[Citation]:
    """Citations from summed retrieval weights per (document key, chunk index), highest score first.

    resolve(doc_key) gives the document as it was encoded, or None when it is gone (deleted, or changed
    since the answer read it): its chunks are not cited. Scores are shares of all the weight. A PDF page is
    one citation, whatever number of runs of chunks the answer read on it.
    """
    total = sum(weights.values())
    if total <= 0:
        return []
    citations: list[Citation] = []
    for key, runs in runs_by_document(weights).items():
        doc = resolve(key)
        if doc is None:
            continue
        pages: dict[int, tuple[set[int], float]] = {}
        for first, last, weight in runs:
            start, end = chunk_chars(doc.offsets, first, last, chunk_size)
            if doc.document.kind != "pdf":
                citations.extend(spans_for(doc, start, end, weight / total))
                continue
            for page, rows, share in _page_rows(doc.document, start, end):
                seen, score = pages.get(page, (set(), 0.0))
                pages[page] = (seen | set(rows), score + share * weight / total)
        citations.extend(_page_citation(doc, page, rows, score) for page, (rows, score) in pages.items())
    citations = _merge_same_lines(citations)
    citations.sort(key=lambda c: (-c.score, c.path, c.page or 0, c.start_line or 0))
    return [c for c in citations if c.score >= min_share][:limit]


def _merge_same_lines(citations: list[Citation]) -> list[Citation]:
    """Widening to whole lines can make two runs of a source file touch or overlap: join those (a PDF page
    is one citation already)."""
    out: list[Citation] = []
    for c in sorted(citations, key=lambda c: (c.path, c.page or 0, c.start_line or 0)):
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.path == c.path
            and c.page is None
            and prev.page is None
            and c.start_line <= prev.end_line + 1
        ):
            if c.end_line > prev.end_line:
                extra = c.text.split("\n")[prev.end_line - c.start_line + 1 :]
                text = "\n".join([prev.text, *extra]) if extra else prev.text
            else:
                text = prev.text
            out[-1] = Citation(
                prev.path,
                prev.start_line,
                max(prev.end_line, c.end_line),
                None,
                None,
                prev.score + c.score,
                text,
                prev.abspath,
            )
        else:
            out.append(c)
    return out
