"""The cited passages under an answer: a few lines of the cited spans the question is about, as small quoted
excerpts (which spans and which lines: app/core/snippets.py). Clicking an excerpt opens the whole span in the
viewer, as its chip does; an excerpt carries its chip's number.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent, QMouseEvent, QResizeEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.core.snippets import ELLIPSIS, Quote, quotes
from app.ui.theme import monospace_font


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
    """One cited passage: its chip's number and label, then the lines the question is about; a click opens
    it in the viewer."""

    clicked = Signal()

    def __init__(self, citation, quote: Quote, parent: QWidget | None = None):
        super().__init__(parent, objectName="Excerpt")
        self.number = quote.index + 1  # its chip's
        self.citation = citation
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Open in the viewer")
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # Enter or Space opens it, like a button
        self.setAttribute(Qt.WidgetAttribute.WA_Hover)  # the stylesheet marks the excerpt under the pointer
        self.number_label = QLabel(str(self.number), objectName="ExcerptNumber")
        self.header = ElidedLabel(citation.label, "ExcerptHeader")
        self.lines = quote.lines
        self.body = ElidedLabel("\n".join([ELLIPSIS] * quote.above + quote.lines + [ELLIPSIS] * quote.below),
                                "ExcerptText")
        if quote.code:
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
        self.body.setVisible(bool(quote.lines))

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
    """The excerpts of an answer's citations (in chip order); hidden, taking no space, when none."""

    citationActivated = Signal(object)  # the Citation of a clicked excerpt

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.excerpts: list[CitationExcerpt] = []
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 2, 0, 2)
        self._layout.setSpacing(6)
        self.hide()

    def set_citations(self, citations: Sequence, question: str, answer: str) -> None:
        """Excerpts of the citations the question and answer are about (app/core/snippets.py)."""
        for excerpt in self.excerpts:
            self._layout.removeWidget(excerpt)
            excerpt.deleteLater()
        self.excerpts = []
        for quote in quotes(citations, question, answer):
            citation = citations[quote.index]
            excerpt = CitationExcerpt(citation, quote)
            excerpt.clicked.connect(lambda c=citation: self.citationActivated.emit(c))
            self._layout.addWidget(excerpt)
            self.excerpts.append(excerpt)
        self.setVisible(bool(self.excerpts))
