"""Small widgets the window shows above its content: the notice bar and the ingest progress panel."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.tasks import IngestProgress
from app.ui.progress import EncodeStatus


class NoticeBar(QFrame):
    """A message in the window (never a modal box): errors in red, information in blue; closable."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, objectName="Notice")
        self.label = QLabel(wordWrap=True, textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton(text="✕", autoRaise=True, toolTip="Dismiss")
        close.clicked.connect(self.hide)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 8, 8, 8)
        row.addWidget(self.label, 1)
        row.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_message(self, text: str, kind: str = "error") -> None:
        self.setProperty("kind", kind)
        self.style().unpolish(self)
        self.style().polish(self)
        self.label.setText(text)
        self.show()


class ProgressPanel(QFrame):
    """What a refresh is doing: a title, a bar with counts and rates (files/s while reading, tokens/s while
    encoding) and time left, and Cancel."""

    cancelRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, objectName="Card")
        self.read_title = self.encode_title = ""
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: 600")
        self.detail = QLabel(objectName="Muted")
        self.bar = QProgressBar(textVisible=False, maximumHeight=8)
        self.cancel_button = QPushButton("Cancel", objectName="Secondary")
        self.cancel_button.clicked.connect(self._cancel)
        row = QHBoxLayout(self)
        row.setContentsMargins(14, 10, 14, 10)
        texts = QHBoxLayout()
        texts.addWidget(self.title)
        texts.addWidget(self.detail, 1)
        column = QWidget()
        inner = QVBoxLayout(column)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addLayout(texts)
        inner.addWidget(self.bar)
        row.addWidget(column, 1)
        row.addWidget(self.cancel_button)
        self.hide()

    def start(self, title: str, encode_title: str = "") -> None:
        self.read_title, self.encode_title = title, encode_title or title
        self.title.setText(title)
        self.detail.setText("Scanning…")
        self.bar.setRange(0, 0)  # busy until the scan has counted the files
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")
        self.show()

    def update_progress(self, progress: IngestProgress | EncodeStatus) -> None:
        self.title.setText(self.encode_title if isinstance(progress, EncodeStatus) else self.read_title)
        if progress.total:
            self.bar.setRange(0, progress.total)
            self.bar.setValue(progress.done)
        self.detail.setText(progress.text)
        self.detail.setToolTip(progress.path)

    def _cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Stopping…")
        self.cancelRequested.emit()
