"""An answer's text: Markdown rendered by Qt, code blocks on a tinted background, as tall as its content.

The view never scrolls by itself (the chat transcript around it does): its height follows the document's
height at the current width, so a streamed answer grows line by line.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QUrl
from PySide6.QtGui import QColor, QDesktopServices, QResizeEvent, QTextBlockFormat, QTextCursor, QTextFormat
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextBrowser, QWidget

from app.ui.theme import monospace_font

CODE_LIGHT, CODE_DARK = "#f1f3f6", "#262b33"


def is_code_block(block_format: QTextBlockFormat, fixed_pitch: bool) -> bool:
    """Qt's Markdown reader marks fenced blocks with BlockCodeFence; indented ones only by their font."""
    return block_format.hasProperty(QTextFormat.Property.BlockCodeFence) or fixed_pitch


class MarkdownView(QTextBrowser):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setOpenLinks(False)  # a link in an answer opens in the browser, never inside this view
        self.anchorClicked.connect(self._open_link)
        self.viewport().setAutoFillBackground(False)
        self.setStyleSheet("QTextBrowser { background: transparent; }")
        self.document().setDocumentMargin(2)
        self.dark = False
        self.markdown = ""
        self.document().contentsChanged.connect(self._fit_height)

    def set_markdown(self, text: str) -> None:
        self.markdown = text
        self.setMarkdown(text)
        self._style_code_blocks()
        self._fit_height()

    def set_dark(self, dark: bool) -> None:
        self.dark = dark
        self.set_markdown(self.markdown)

    def code_blocks(self) -> list[str]:
        """The text of each code block line as rendered (for tests and copy)."""
        lines = []
        block = self.document().begin()
        while block.isValid():
            if is_code_block(block.blockFormat(), block.charFormat().fontFixedPitch()):
                lines.append(block.text())
            block = block.next()
        return lines

    def _style_code_blocks(self) -> None:
        background = QColor(CODE_DARK if self.dark else CODE_LIGHT)
        font = monospace_font(9.5)
        block = self.document().begin()
        while block.isValid():
            if is_code_block(block.blockFormat(), block.charFormat().fontFixedPitch()):
                cursor = QTextCursor(block)
                shaded = QTextBlockFormat()
                shaded.setBackground(background)
                shaded.setLeftMargin(4)
                cursor.mergeBlockFormat(shaded)
                cursor.select(QTextCursor.SelectionType.BlockUnderCursor)
                char = cursor.charFormat()
                char.setFont(font)
                cursor.mergeCharFormat(char)
            block = block.next()

    def _fit_height(self) -> None:
        self.document().setTextWidth(max(1, self.viewport().width()))
        height = round(self.document().size().height()) + 2 * self.frameWidth()
        if height != self.height():
            self.setFixedHeight(height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self._fit_height()

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self.height())

    @staticmethod
    def _open_link(url: QUrl) -> None:
        if url.scheme() in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)
