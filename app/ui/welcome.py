"""The welcome screen: what Folio does and the three ways to start."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.ui.theme import app_icon


class WelcomePage(QWidget):
    openFolder = Signal()
    addFiles = Signal()
    openSample = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        icon = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        icon.setPixmap(app_icon().pixmap(QSize(88, 88)))
        title = QLabel("Welcome to Folio", objectName="Title", alignment=Qt.AlignmentFlag.AlignCenter)
        blurb = QLabel("Folio reads a whole repository or document set on your machine: it parses\n"
                       "code, text and PDFs, keeps them fresh as files change, and opens any passage\n"
                       "at its source.", objectName="Muted", alignment=Qt.AlignmentFlag.AlignCenter)
        card = QFrame(objectName="Card")
        card.setMaximumWidth(680)
        buttons = QVBoxLayout(card)
        buttons.setContentsMargins(28, 24, 28, 24)
        buttons.setSpacing(14)
        for text, hint, signal, name in (
            ("Open folder…", "Watch a folder and everything in it (Ctrl+O)", self.openFolder, "Primary"),
            ("Add files…", "Pick single files, e.g. a few PDFs", self.addFiles, "Secondary"),
            ("Open the sample project", "A small Python library and a contract PDF",
             self.openSample, "Secondary"),
        ):
            row = QHBoxLayout()
            button = QPushButton(text, objectName=name)
            button.setMinimumWidth(230)
            button.clicked.connect(signal)
            row.addWidget(button)
            row.addSpacing(12)
            row.addWidget(QLabel(hint, objectName="Muted"), 1)
            buttons.addLayout(row)
        drop = QLabel("…or drop folders and files anywhere on this window.", objectName="Muted",
                      alignment=Qt.AlignmentFlag.AlignCenter)

        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(icon)
        layout.addSpacing(8)
        layout.addWidget(title)
        layout.addSpacing(6)
        layout.addWidget(blurb)
        layout.addSpacing(26)
        layout.addWidget(card, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(16)
        layout.addWidget(drop)
        layout.addStretch(3)
