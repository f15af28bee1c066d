"""The details pane: the selected file's state and reason, what was found in it, and its definitions or
outline; double-clicking one opens the viewer at its lines (or its PDF page)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.tasks import DocumentDetails, FileRow
from app.ui.project_panel import section
from app.ui.theme import READABLE, STATUS_COLORS, STATUS_LABELS
from ingest.scan import format_size

TARGET_ROLE = Qt.ItemDataRole.UserRole


class DetailsPane(QWidget):
    openLines = Signal(object, int, int)  # FileRow, first line, last line (1-based, inclusive)
    openPage = Signal(object, int, str)  # FileRow, page (1-based), text to highlight on it ("" = none)
    summarizeRequested = Signal(object)  # FileRow

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.row: FileRow | None = None
        self.title = QLabel(objectName="Heading", wordWrap=True)
        self.state = QLabel(textFormat=Qt.TextFormat.RichText)
        self.reason = QLabel(wordWrap=True)
        self.reason.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.facts = QLabel(objectName="Muted", wordWrap=True)
        self.warnings = QLabel(wordWrap=True)
        self.open_button = QPushButton("Open in viewer", objectName="Secondary")
        self.open_button.clicked.connect(self._open_whole)
        self.summarize_button = QPushButton("Summarize", objectName="Secondary",
                                            toolTip="Outline and cited key passages of this document")
        self.summarize_button.clicked.connect(self._summarize)
        self.buttons = QWidget()
        button_row = QHBoxLayout(self.buttons)
        button_row.setContentsMargins(0, 0, 0, 0)
        button_row.addWidget(self.open_button, 1)
        button_row.addWidget(self.summarize_button, 1)
        self.outline_label = QLabel()
        self.outline = QTreeWidget()
        self.outline.setRootIsDecorated(False)
        self.outline.setUniformRowHeights(True)
        self.outline.header().setStretchLastSection(False)
        self.outline.itemActivated.connect(self._item_activated)
        self.empty = QLabel("Select a file in the tree to see its state, what was found in it, "
                            "and why a file was skipped.", objectName="Muted", wordWrap=True,
                            alignment=Qt.AlignmentFlag.AlignCenter)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 10, 8)
        header = section("Details")
        layout.addLayout(header)
        layout.addWidget(self.empty, 1)
        self.body = QWidget()
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(6)
        for widget in (self.title, self.state, self.reason, self.facts, self.warnings, self.buttons):
            body.addWidget(widget)
        body.addSpacing(6)
        self.outline_header = section("Outline")
        self.outline_label = self.outline_header.itemAt(0).widget()
        body.addLayout(self.outline_header)
        body.addWidget(self.outline, 1)
        layout.addWidget(self.body, 1)
        self.show_file(None, None)

    def show_file(self, row: FileRow | None, details: DocumentDetails | None) -> None:
        self.row = row
        self.empty.setVisible(row is None)
        self.body.setVisible(row is not None)
        if row is None:
            return
        self.title.setText(row.path)
        color = STATUS_COLORS.get(row.status, "#8c959f")
        self.state.setText(f"<span style='color:{color}; font-size:13pt'>●</span>&nbsp; "
                           f"<b>{STATUS_LABELS.get(row.status, row.status)}</b>")
        self.reason.setText(row.reason or "")
        self.reason.setVisible(bool(row.reason))
        facts = [row.abspath, format_size(row.size)]
        if row.status in READABLE:
            facts.append(row.language or row.kind or "text")
            if row.pages:
                facts.append(f"{row.pages} pages")
        self.facts.setText(" · ".join(facts))
        warnings = details.document.warnings if details is not None else []
        self.warnings.setText("\n".join(f"⚠ {w}" for w in warnings))
        self.warnings.setVisible(bool(warnings))
        self.buttons.setVisible(row.status in READABLE)
        self._fill_outline(row, details)

    def _fill_outline(self, row: FileRow, details: DocumentDetails | None) -> None:
        self.outline.clear()
        items: list[QTreeWidgetItem] = []
        if details is not None and details.definitions:
            self.outline_label.setText(f"DEFINITIONS ({len(details.definitions)})")
            self.outline.setColumnCount(3)
            self.outline.setHeaderLabels(["Name", "Kind", "Lines"])
            for definition in details.definitions:
                item = QTreeWidgetItem([definition.name, definition.kind,
                                        f"{definition.start_line}–{definition.end_line}"])
                item.setToolTip(0, definition.qualified_name)
                item.setData(0, TARGET_ROLE, ("lines", definition.start_line, definition.end_line))
                items.append(item)
            self._indent(items, details)
        elif details is not None and details.headings:
            self.outline_label.setText(f"OUTLINE ({len(details.headings)})")
            is_pdf = details.document.kind == "pdf"
            self.outline.setColumnCount(2)
            self.outline.setHeaderLabels(["Heading", "Page" if is_pdf else "Line"])
            for heading in details.headings:
                where = heading.page if is_pdf else heading.line
                item = QTreeWidgetItem(["    " * (heading.level - 1) + heading.title, str(where or "")])
                item.setToolTip(0, heading.title)
                target = ("page", heading.page or 1, heading.title) if is_pdf else (
                    "lines", heading.line or 1, heading.line or 1)
                item.setData(0, TARGET_ROLE, target)
                items.append(item)
        self.outline.addTopLevelItems(items)
        header = self.outline.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # long names elide; numbers stay
        for column in range(1, self.outline.columnCount()):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.outline.setVisible(bool(items))
        self.outline_label.setVisible(bool(items))

    @staticmethod
    def _indent(items: list[QTreeWidgetItem], details: DocumentDetails) -> None:
        """Methods under their class: indent by how many definitions enclose each one."""
        spans = [(d.start_line, d.end_line) for d in details.definitions]
        for index, item in enumerate(items):
            start, end = spans[index]
            depth = sum(1 for i, (s, e) in enumerate(spans) if i != index and s <= start and end <= e
                        and (s, e) != (start, end))
            item.setText(0, "    " * depth + item.text(0))

    def _item_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        target = item.data(0, TARGET_ROLE)
        if self.row is None or target is None:
            return
        if target[0] == "lines":
            self.openLines.emit(self.row, target[1], target[2])
        else:
            self.openPage.emit(self.row, target[1], target[2])

    def _summarize(self) -> None:
        if self.row is not None:
            self.summarizeRequested.emit(self.row)

    def _open_whole(self) -> None:
        if self.row is None:
            return
        if self.row.kind == "pdf":
            self.openPage.emit(self.row, 1, "")
        else:
            self.openLines.emit(self.row, 0, 0)
