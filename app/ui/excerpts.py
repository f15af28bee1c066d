"""The cited passages under an answer: a few lines of each top citation as small quoted excerpts.

The embedded model often cites the passage that answers a question while wording the answer poorly, so the
passages themselves are shown, not only their chips. A cited span is whole chunks of 64 tokens, often
longer than the few lines shown: the lines shown are those of the span that share the most words with the
question and the answer, rarer words counting more ("invoice" over "client" in a contract), or the span's
first lines when none do, as a search engine picks a snippet. Clicking an excerpt opens the whole span in
the viewer, as its chip does.
"""

from __future__ import annotations

import re
import textwrap
from collections import Counter
from collections.abc import Collection, Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent, QMouseEvent, QResizeEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.ui.theme import monospace_font
from ingest.languages import CODE_EXTENSIONS, FILENAMES, detect_language

MAX_EXCERPTS = 3  # the highest-scoring citations; the chips list all of them
EXCERPT_LINES = 4
EXCERPT_CHARS = 200  # a line is cut here even before it is elided to the width
ELLIPSIS = "…"
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


def _best_start(lines: list[str], limit: int, weights: Mapping[str, float]) -> int:
    """First line of the `limit` lines holding the most weight of words (each word once), starting at a line
    that holds one (the earliest such; 0 when no line does)."""
    if not weights or len(lines) <= limit:
        return 0
    held = [_line_words(line) & weights.keys() for line in lines]
    best, best_score = 0, 0.0
    for start in range(len(lines)):
        if not held[start]:
            continue
        score = sum(weights[w] for w in set().union(*held[start:start + limit]))
        if score > best_score:
            best, best_score = start, score
    return best


def excerpt_lines(text: str, code: bool = True, limit: int = EXCERPT_LINES,
                  weights: Mapping[str, float] | None = None) -> tuple[list[str], bool, bool]:
    """The `limit` lines worth showing (those holding the most weight of words, else the first; blank runs
    kept to one line, common indentation removed) and whether the passage goes on above and below them."""
    lines = text.expandtabs(4).splitlines()
    if not code:  # a blank line between paragraphs says nothing in four lines of prose
        lines = [line for line in lines if line.strip()]
    lines = [line for i, line in enumerate(lines) if line.strip() or (i and lines[i - 1].strip())]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    start = _best_start(lines, limit, weights or {})
    shown = lines[start:start + limit]
    while shown and not shown[-1].strip():
        shown.pop()
    above, below = start > 0, any(line.strip() for line in lines[start + len(shown):])
    shown = textwrap.dedent("\n".join(shown)).splitlines()
    shown = [line.rstrip() if len(line) <= EXCERPT_CHARS else line[:EXCERPT_CHARS] + ELLIPSIS
             for line in shown]
    return shown, above, below


def is_code(citation) -> bool:
    """Source code is shown in a fixed-width font; PDF pages, Markdown and other prose are not."""
    return citation.page is None and detect_language(citation.path, "") in _CODE_LANGUAGES


class ElidedLabel(QLabel):
    """Lines of plain text that never widen their parent: each line too long for the width ends in "…"."""

    def __init__(self, text: str, object_name: str):
        super().__init__(objectName=object_name)
        self.full_text = text
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setText(text)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        width = self.contentsRect().width()
        if width > 0:
            metrics = self.fontMetrics()
            self.setText("\n".join(metrics.elidedText(line, Qt.TextElideMode.ElideRight, width)
                                   for line in self.full_text.split("\n")))


class CitationExcerpt(QFrame):
    """One cited passage: its number and label, then its first lines; a click opens it in the viewer."""

    clicked = Signal()

    def __init__(self, number: int, citation, weights: Mapping[str, float] | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent, objectName="Excerpt")
        self.number = number
        self.citation = citation
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Open in the viewer")
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # Enter or Space opens it, like a button
        self.setAttribute(Qt.WidgetAttribute.WA_Hover)  # the stylesheet marks the excerpt under the pointer
        self.number_label = QLabel(str(number), objectName="ExcerptNumber")
        self.header = ElidedLabel(citation.label, "ExcerptHeader")
        code = is_code(citation)
        lines, above, below = excerpt_lines(citation.text, code, weights=weights)
        self.lines = lines
        self.body = ElidedLabel("\n".join([ELLIPSIS] * above + lines + [ELLIPSIS] * below), "ExcerptText")
        if code:
            self.body.setFont(monospace_font(9.0))
        else:
            prose = QFont(self.font())
            prose.setPointSizeF(max(8.0, prose.pointSizeF() - 1))
            self.body.setFont(prose)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.setSpacing(6)
        top.addWidget(self.number_label)
        top.addWidget(self.header, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 5, 10, 6)
        layout.setSpacing(3)
        layout.addLayout(top)
        layout.addWidget(self.body)
        self.body.setVisible(bool(lines))

    def text(self) -> str:
        """What the excerpt shows, header then passage (for tests and accessibility)."""
        return f"{self.number_label.text()}  {self.header.text()}\n{self.body.text()}"

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.clicked.emit()
        else:
            super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.clicked.emit()
        else:
            super().keyPressEvent(event)


class ExcerptList(QWidget):
    """The excerpts of an answer's first citations (in score order); hidden, taking no space, when none."""

    citationActivated = Signal(object)  # the Citation of a clicked excerpt

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.excerpts: list[CitationExcerpt] = []
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 2, 0, 2)
        self._layout.setSpacing(6)
        self.hide()

    def set_citations(self, citations: Sequence, words: Collection[str] = ()) -> None:
        """Excerpts of the first citations; `words` (query_words of the question and answer), weighted by how
        rare they are among all the citations' lines, pick the lines shown."""
        weights = word_weights(words, [citation.text for citation in citations])
        for excerpt in self.excerpts:
            self._layout.removeWidget(excerpt)
            excerpt.deleteLater()
        self.excerpts = []
        for number, citation in enumerate(citations[:MAX_EXCERPTS], start=1):
            if not citation.text.strip():
                continue  # a chat saved without the cited text: its chip still opens it
            excerpt = CitationExcerpt(number, citation, weights)
            excerpt.clicked.connect(lambda c=citation: self.citationActivated.emit(c))
            self._layout.addWidget(excerpt)
            self.excerpts.append(excerpt)
        self.setVisible(bool(self.excerpts))
