"""Which cited passages to quote under an answer, and which of their lines: plain text work, no Qt.

The embedded model often cites the passage that answers a question while wording the answer poorly, so the
app quotes a few cited passages under the answer (app/ui/excerpts.py), as a search engine shows snippets.
A cited span is whole chunks of 64 tokens, often longer than the few lines shown: the lines shown are those
of the span that share the most words with the question and the answer, rarer words counting more
("invoice" over "client" in a contract), or the span's first lines when none do. The passages quoted are
the citations whose shown lines hold the most of those words, the higher-scored first among equals: the
chips keep the model's order (its retrieval weight), the quotes pick among them what the question names.
"""

from __future__ import annotations

import re
import textwrap
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from app.core.answer import GAP
from ingest.languages import CODE_EXTENSIONS, FILENAMES, detect_language

MAX_QUOTED = 3  # passages quoted under an answer; the chips list every citation
QUOTED_LINES = 4
LINE_CHARS = 200  # a line is cut here (the widget elides it to its width too)
ELLIPSIS = "…"  # the passage goes on above or below the lines shown
_CODE_LANGUAGES = frozenset(CODE_EXTENSIONS.values()) | frozenset(FILENAMES.values())
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")
_COMMON = frozenset(
    "the and for are was were what does did which with this that from have has how who whom when where why "
    "can may must shall will its any all not but about into out than then there their they you your".split())


def query_words(*texts: str) -> frozenset[str]:
    """The words of a question and its answer that can pick a passage's lines (lower case, 3+ letters, common
    words aside)."""
    return frozenset(w.lower() for text in texts for w in _WORD.findall(text)) - _COMMON


def _line_words(line: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(line)}


def word_weights(words: Collection[str], texts: Sequence[str]) -> dict[str, float]:
    """Each of `words` that the texts hold, weighted by 1 / the number of their lines holding it."""
    lines = Counter(w for text in texts for line in text.splitlines() for w in _line_words(line) & set(words))
    return {w: 1.0 / n for w, n in lines.items()}


def _best_window(lines: list[str], limit: int, weights: Mapping[str, float]) -> tuple[int, float]:
    """(first line, weight held) of the `limit` lines holding the most weight of words (each word once),
    starting at a line that holds one (the earliest such; (0, 0.0) when no line does)."""
    if not weights:
        return 0, 0.0
    held = [_line_words(line) & weights.keys() for line in lines]
    best, best_score = 0, 0.0
    for start in range(len(lines) if len(lines) > limit else 1):
        if len(lines) > limit and not held[start]:
            continue
        score = sum(weights[w] for w in set().union(*held[start:start + limit]))
        if score > best_score:
            best, best_score = start, score
    return best, best_score


def _shown(text: str, code: bool) -> list[str]:
    """The passage's lines as quoted: blank runs kept to one line (none in prose), none at either end."""
    lines = text.expandtabs(4).splitlines()
    if not code:  # a blank line between paragraphs says nothing in four lines of prose
        lines = [line for line in lines if line.strip()]
    lines = [line for i, line in enumerate(lines) if line.strip() or (i and lines[i - 1].strip())]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _quote(index: int, lines: list[str], start: int, code: bool) -> Quote:
    """The QUOTED_LINES lines from `start` (blank or "…" lines at their ends dropped: the "…" marks above and
    below say it; common indentation removed, long lines cut)."""
    end = min(start + QUOTED_LINES, len(lines))
    while end > start and lines[end - 1].strip() in ("", GAP):
        end -= 1
    while start < end and lines[start].strip() == GAP:
        start += 1
    above, below = start > 0, any(line.strip() for line in lines[end:])
    shown = textwrap.dedent("\n".join(lines[start:end])).splitlines()
    shown = [line.rstrip() if len(line) <= LINE_CHARS else line[:LINE_CHARS] + ELLIPSIS for line in shown]
    return Quote(index, shown, above, below, code)


def is_code(citation) -> bool:
    """Source code is quoted as it is laid out (fixed-width, blank lines kept); PDF pages, Markdown and other
    prose are not."""
    return citation.page is None and detect_language(citation.path, "") in _CODE_LANGUAGES


@dataclass(frozen=True)
class Quote:
    """A passage quoted under an answer: which citation (its place among the chips, from 0), the lines shown,
    and whether the cited span goes on above and below them."""
    index: int
    lines: list[str]
    above: bool
    below: bool
    code: bool


def quotes(citations: Sequence, question: str, answer: str, limit: int = MAX_QUOTED) -> list[Quote]:
    """The passages the app quotes under an answer (citations: app.core.answer.Citation, in chip order): of
    those with text, the `limit` whose best lines hold the most weight of words, the earlier
    (higher-scored) first among equals, in chip order; each shows those lines, or its first when none hold
    a word."""
    texts = [citation.text for citation in citations]
    weights = word_weights(query_words(question, answer), texts)
    windows = {}  # citation -> (code?, its lines as quoted, its best window's first line, the weight held)
    for i, citation in enumerate(citations):
        if citation.text.strip():
            code = is_code(citation)
            lines = _shown(citation.text, code)
            windows[i] = (code, lines, *_best_window(lines, QUOTED_LINES, weights))
    chosen = sorted(sorted(windows, key=lambda i: (-windows[i][3], i))[:limit])
    return [_quote(i, windows[i][1], windows[i][2], windows[i][0]) for i in chosen]
