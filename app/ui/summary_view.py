"""The summary of one document: outline, key passages by topic with citation chips, a code file's definitions,
and a summary a GGUF model writes (streamed). It holds views only; clicking a chip or an outline entry
emits `citation_clicked(Citation)` and the window opens the viewer there."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHeaderView,
    QLabel,
    QScrollArea,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.answer import Citation
from app.core.summarize import Summary
from app.ui.chat import CitationChip
from app.ui.flow_layout import FlowLayout
from app.ui.project_panel import section

QUOTE_CHARS = 420
OUTLINE_ROWS_SHOWN = 14  # the outline tree's height in rows before it scrolls


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= QUOTE_CHARS else flat[:QUOTE_CHARS].rsplit(" ", 1)[0] + " \u2026"


def outline_citation(summary: Summary, title: str, page: int | None, line: int | None) -> Citation:
    """Where an outline entry points, as a citation the viewer can open (a page, or a line)."""
    return Citation(summary.path, line, line, page, None, 0.0, title, summary.abspath)


class SummaryView(QWidget):
    citation_clicked = Signal(object)  # Citation

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.summary: Summary | None = None
        self.chips: list[CitationChip] = []
        self.title = QLabel(objectName="Heading")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status = QLabel(objectName="Muted")
        self.status.setWordWrap(True)
        self.outline = QTreeWidget()
        self.outline.setHeaderLabels(["Section", "Where"])
        self.outline.header().setStretchLastSection(False)
        self.outline.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.outline.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.outline.setRootIsDecorated(True)
        self.outline.itemActivated.connect(self._outline_activated)
        self.outline.itemClicked.connect(self._outline_activated)
        self.written = QLabel()
        self.written.setWordWrap(True)
        self.written.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.written_sources = QWidget()
        FlowLayout(self.written_sources)
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea(widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(self.title)
        layout.addWidget(self.status)
        self.written_header = section("Summary")
        layout.addLayout(self.written_header)
        layout.addWidget(self.written)
        layout.addWidget(self.written_sources)
        layout.addLayout(section("Outline"))
        layout.addWidget(self.outline)
        layout.addWidget(self.body)
        layout.addStretch(1)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.clear()

    # ---- filling it --------------------------------------------------------------------------------
    def clear(self) -> None:
        self.summary = None
        self.title.setText("No summary yet")
        self.status.setText("Choose a document and Summarize: its outline and key passages appear here.")
        self.outline.clear()
        self.outline.setVisible(False)
        self._clear_body()
        self.set_written("", [])

    def _clear_body(self) -> None:
        self.chips = []
        while self.body_layout.count():
            item = self.body_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
            elif item.layout() is not None:
                while item.layout().count():
                    inner = item.layout().takeAt(0)
                    if inner.widget() is not None:
                        inner.widget().deleteLater()

    def show_summary(self, summary: Summary) -> None:
        self.summary = summary
        pages = f"{summary.pages} pages · " if summary.pages else ""
        self.title.setText(summary.path)
        found = sum(t.found for t in summary.topics)
        detail = f"{found} of {len(summary.topics)} topics found" if summary.topics else ""
        if summary.definitions is not None:
            detail = f"{len(summary.definitions)} definitions"
        stopped = " · stopped before the end" if summary.stopped else ""
        self.status.setText(f"{pages}{summary.kind}{' · ' + detail if detail else ''}{stopped}")
        self._fill_outline(summary)
        self._clear_body()
        if summary.topics:
            self.body_layout.addLayout(section("Key passages"))
            for topic in summary.topics:
                self._add_topic(topic)
        if summary.definitions is not None:
            self.body_layout.addLayout(section("Definitions"))
            for definition in summary.definitions:
                self._add_definition(definition)
        self.set_written(summary.text, summary.text_citations)

    def _fill_outline(self, summary: Summary) -> None:
        self.outline.clear()
        parents: list[QTreeWidgetItem] = []
        for entry in summary.outline:
            item = QTreeWidgetItem([entry.title, entry.where])
            item.setData(0, Qt.ItemDataRole.UserRole, (entry.title, entry.page, entry.line))
            del parents[max(entry.level - 1, 0):]
            if parents:
                parents[-1].addChild(item)
            else:
                self.outline.addTopLevelItem(item)
            parents.append(item)
        self.outline.expandAll()
        self.outline.setVisible(bool(summary.outline))
        rows = min(len(summary.outline), OUTLINE_ROWS_SHOWN) + 1
        self.outline.setFixedHeight(rows * (self.outline.fontMetrics().height() + 6))

    def _chip_row(self, citations: Sequence[Citation], first_number: int = 1) -> QWidget:
        row = QWidget()
        flow = FlowLayout(row)
        for number, citation in enumerate(citations, start=first_number):
            chip = CitationChip(number, citation)
            chip.clicked.connect(lambda _checked=False, c=citation: self.citation_clicked.emit(c))
            flow.addWidget(chip)
            self.chips.append(chip)
        return row

    def _add_topic(self, topic) -> None:
        name = QLabel(f"<b>{escape(topic.topic.capitalize())}</b>"
                      + ("" if topic.found else " <span>\u2014 not found in the document</span>"))
        name.setObjectName("TopicName" if topic.found else "Muted")
        self.body_layout.addWidget(name)
        if not topic.found:
            return
        self.body_layout.addWidget(self._chip_row(topic.citations))
        quote = QLabel(f"\u201c{_quote(topic.citations[0].text)}\u201d", objectName="Muted")
        quote.setTextFormat(Qt.TextFormat.PlainText)  # contract text is not markup: quotes stay quotes
        quote.setWordWrap(True)
        quote.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body_layout.addWidget(quote)

    def _add_definition(self, definition) -> None:
        about = f" \u2014 {escape(definition.summary)}" if definition.summary else ""
        label = QLabel(f"<b>{escape(definition.kind)} {escape(definition.qualified_name)}</b>{about}")
        label.setWordWrap(True)
        self.body_layout.addWidget(label)
        self.body_layout.addWidget(self._chip_row([definition.citation]))

    # ---- a summary written by a GGUF model ------------------------------------------------------------
    def append_text(self, piece: str) -> None:
        """One streamed piece of the written summary."""
        self.written.setVisible(True)
        self.written.setText(self.written.text() + piece)

    def set_written(self, text: str, citations: Sequence[Citation]) -> None:
        self.written.setText(text)
        self.written.setVisible(bool(text))
        for i in range(self.written_header.count()):
            widget = self.written_header.itemAt(i).widget()
            if widget is not None:
                widget.setVisible(bool(text))
        layout = self.written_sources.layout()
        while layout.count():
            item = layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        for number, citation in enumerate(citations, start=1):
            chip = CitationChip(number, citation)
            chip.clicked.connect(lambda _checked=False, c=citation: self.citation_clicked.emit(c))
            layout.addWidget(chip)
        self.written_sources.setVisible(bool(text and citations))

    # ---- clicks --------------------------------------------------------------------------------
    def _outline_activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        if self.summary is None:
            return
        title, page, line = item.data(0, Qt.ItemDataRole.UserRole)
        if page is None and line is None:
            return
        self.citation_clicked.emit(outline_citation(self.summary, title, page, line))
