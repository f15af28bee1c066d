"""The source viewer: a code/text view or a PDF page view, with a header, a find bar and "Open in editor"."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QKeyCombination, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.code_view import CodeView
from app.ui.pdf_view import PdfOpenError, PdfView, Rect


class ViewerError(Exception):
    """A file could not be shown; the message is for the user."""


class FindBar(QWidget):
    """Ctrl+F: type to search the open file; Enter / Shift+Enter step through the matches; Esc closes."""

    search = Signal(str, bool)  # needle, backward

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.field = QLineEdit(placeholderText="Find in file")
        self.field.setClearButtonEnabled(True)
        self.field.returnPressed.connect(lambda: self.search.emit(self.field.text(), False))
        self.status = QLabel(objectName="Muted")
        previous = QToolButton(text="▲", toolTip="Previous match (Shift+Enter)", autoRaise=True)
        following = QToolButton(text="▼", toolTip="Next match (Enter)", autoRaise=True)
        close = QToolButton(text="✕", toolTip="Close (Esc)", autoRaise=True)
        previous.clicked.connect(lambda: self.search.emit(self.field.text(), True))
        following.clicked.connect(lambda: self.search.emit(self.field.text(), False))
        close.clicked.connect(self.hide)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.field, self.status, previous, following, close):
            row.addWidget(widget)
        row.setStretch(0, 1)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        combination = event.keyCombination()
        if combination == QKeyCombination(Qt.KeyboardModifier.ShiftModifier, Qt.Key.Key_Return):
            self.search.emit(self.field.text(), True)
        elif event.key() == Qt.Key.Key_Escape:
            self.hide()
        else:
            super().keyPressEvent(event)

    def open(self) -> None:
        self.show()
        self.field.setFocus()
        self.field.selectAll()


class SourceViewer(QWidget):
    summarizeRequested = Signal()  # for the file shown

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.path: str | None = None  # the file on disk
        self.shown_path = ""  # the document path a user sees
        self.kind = ""  # "code" | "pdf" | "" (nothing open)
        self.line_count = 0  # of the code or text file shown
        self.title = QLabel(objectName="Heading")
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # long paths clip
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.location = QLabel(objectName="Muted")
        self.editor_button = QPushButton("Open in editor", objectName="Secondary",
                                         toolTip="Open the file in the system's default application")
        self.editor_button.clicked.connect(self.open_in_editor)
        self.summarize_button = QPushButton("Summarize", objectName="Secondary",
                                            toolTip="Outline and cited key passages of this document")
        self.summarize_button.clicked.connect(self.summarizeRequested)
        self.code = CodeView()
        self.pdf = PdfView()
        self.find_bar = FindBar()
        self.find_bar.hide()
        self.find_bar.search.connect(self.find)
        self.empty = QLabel("Double-click a file in the project tree, or a definition or heading in the\n"
                            "details pane, to read it here.", objectName="Muted",
                            alignment=Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        for widget in (self.empty, self.code, self.pdf):
            self.stack.addWidget(widget)

        header = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(self.title)
        titles.addWidget(self.location)
        header.addLayout(titles, 1)
        header.addWidget(self.summarize_button, 0, Qt.AlignmentFlag.AlignTop)
        header.addWidget(self.editor_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.addLayout(header)
        layout.addWidget(self._pdf_controls())  # a row of its own: the viewer may be narrow
        layout.addWidget(self.find_bar)
        layout.addWidget(self.stack, 1)
        self.pdf.pageChanged.connect(self._page_changed)
        self.pdf.zoomChanged.connect(lambda zoom: self.zoom_label.setText(f"{zoom * 100:.0f}%"))
        self._set_kind("")

    def _pdf_controls(self) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        previous = QToolButton(text="◀", toolTip="Previous page (Page Up)", autoRaise=True)
        following = QToolButton(text="▶", toolTip="Next page (Page Down)", autoRaise=True)
        previous.clicked.connect(self.pdf.previous_page)
        following.clicked.connect(self.pdf.next_page)
        self.page_box = QSpinBox(minimum=1, maximum=1, keyboardTracking=False, toolTip="Page")
        self.page_box.valueChanged.connect(lambda page: page != self.pdf.page and self.pdf.show_page(page))
        self.page_count = QLabel("of 1", objectName="Muted")
        zoom_out = QToolButton(text="−", toolTip="Zoom out (Ctrl+-)", autoRaise=True)
        zoom_in = QToolButton(text="+", toolTip="Zoom in (Ctrl++)", autoRaise=True)
        fit = QToolButton(text="Fit", toolTip="Fit the page width", autoRaise=True)
        zoom_out.clicked.connect(self.pdf.zoom_out)
        zoom_in.clicked.connect(self.pdf.zoom_in)
        fit.clicked.connect(self.pdf.zoom_to_width)
        self.zoom_label = QLabel("100%", objectName="Muted")
        for widget in (previous, self.page_box, self.page_count, following):
            row.addWidget(widget)
        row.addSpacing(18)
        for widget in (zoom_out, self.zoom_label, zoom_in, fit):
            row.addWidget(widget)
        row.addStretch(1)
        for keys, slot in ((QKeySequence.StandardKey.ZoomIn, self.pdf.zoom_in),
                           (QKeySequence.StandardKey.ZoomOut, self.pdf.zoom_out),
                           (QKeySequence(Qt.Key.Key_PageDown), self.pdf.next_page),
                           (QKeySequence(Qt.Key.Key_PageUp), self.pdf.previous_page)):
            QShortcut(keys, self.pdf, slot, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.pdf_controls = box
        return box

    def _set_kind(self, kind: str) -> None:
        self.kind = kind
        self.stack.setCurrentWidget({"code": self.code, "pdf": self.pdf}.get(kind, self.empty))
        self.pdf_controls.setVisible(kind == "pdf")
        self.editor_button.setVisible(bool(kind))
        self.summarize_button.setVisible(bool(kind))
        if not kind:
            self.title.setText("Source viewer")
            self.location.setText("")

    def _page_changed(self, page: int, count: int) -> None:
        self.page_box.blockSignals(True)
        self.page_box.setMaximum(count)
        self.page_box.setValue(page)
        self.page_box.blockSignals(False)
        self.page_count.setText(f"of {count}")
        self.location.setText(f"Page {page} of {count}")

    # opening ------------------------------------------------------------------------------------------

    def open_code(self, path: str, shown_path: str, language: str | None,
                  lines: tuple[int, int] | None = None) -> None:
        """Show a code or text file from disk, with `lines` (1-based, inclusive) marked and in view."""
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise ViewerError(f"cannot open {shown_path}: {exc.strerror or exc}") from exc
        if path != self.path or self.kind != "code":
            self.code.show_source(text.replace("\r\n", "\n"), path, language)
            self.line_count = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        self.path, self.shown_path = path, shown_path
        self._set_kind("code")
        self.title.setText(shown_path)
        self.title.setToolTip(path)
        where = f"Lines {lines[0]}–{lines[1]}" if lines and lines[0] != lines[1] else (
            f"Line {lines[0]}" if lines else "")
        self.location.setText(" · ".join(filter(None, [where, language or "plain text",
                                                       f"{self.line_count:,} lines"])))
        if lines:
            self.code.mark_lines(*lines)
        else:
            self.code.setExtraSelections([])
            self.code.marked = None

    def open_pdf(self, path: str, shown_path: str, page: int = 1,
                 highlights: list[Rect] | None = None) -> None:
        """Show a PDF at `page` (1-based) with `highlights` (rectangles in PDF points) drawn and in view."""
        if path != self.path or self.kind != "pdf":
            try:
                self.pdf.open(path)
            except PdfOpenError as exc:
                raise ViewerError(str(exc)) from exc
        self.path, self.shown_path = path, shown_path
        self._set_kind("pdf")
        self.title.setText(shown_path)
        self.title.setToolTip(path)
        self.pdf.show_page(page, highlights)

    def clear(self) -> None:
        self.pdf.close_document()
        self.code.clear()
        self.path, self.shown_path = None, ""
        self._set_kind("")

    def find(self, needle: str, backward: bool = False) -> bool:
        if self.kind == "code":
            found = self.code.find_text(needle, backward)
            self.find_bar.status.setText("" if found or not needle else "No matches")
        elif self.kind == "pdf":
            found = self.pdf.find_text(needle, backward)
            index, total = self.pdf.found
            self.find_bar.status.setText(f"{index} of {total}" if found else ("No matches" if needle else ""))
        else:
            found = False
        return found

    def open_in_editor(self) -> bool:
        """Hand the file to the system's default application."""
        return bool(self.path) and QDesktopServices.openUrl(QUrl.fromLocalFile(self.path))
