"""Read-only code and text view: Pygments highlighting, line numbers, and a marked line range."""

from __future__ import annotations

import logging
from functools import cache

from pygments import lex
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_by_name, get_lexer_for_filename
from pygments.styles import get_style_by_name
from pygments.util import ClassNotFound
from PySide6.QtCore import QRect, QSize, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QFont,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QWidget

from app.ui.theme import MARK_DARK, MARK_LIGHT, monospace_font

log = logging.getLogger(__name__)

HIGHLIGHT_LIMIT = 2_000_000  # characters; longer files are shown plain (lexing them would take seconds)
CONTEXT_LINES = 4  # lines shown above a marked range


def lexer_for(path: str, language: str | None) -> Lexer:
    """Pygments lexer by file name, then by the parser's language name, else plain text."""
    options = {"stripnl": False, "ensurenl": False}  # keep line numbering identical to the file's
    try:
        return get_lexer_for_filename(path, **options)
    except ClassNotFound:
        pass
    if language:
        try:
            return get_lexer_by_name(language, **options)
        except ClassNotFound:
            pass
    return TextLexer(**options)


@cache
def _token_format(style_name: str, token: object) -> QTextCharFormat:
    style = get_style_by_name(style_name).style_for_token(token)
    fmt = QTextCharFormat()
    if style["color"]:
        fmt.setForeground(QColor(f"#{style['color']}"))
    if style["bold"]:
        fmt.setFontWeight(QFont.Weight.Bold)
    if style["italic"]:
        fmt.setFontItalic(True)
    return fmt


class PygmentsHighlighter(QSyntaxHighlighter):
    """Lexes the whole text once (so multi-line strings are right), then paints each block from that."""

    def __init__(self, document: QTextDocument):
        super().__init__(document)
        self.style_name = "friendly"
        self._formats: dict[int, list[tuple[int, int, QTextCharFormat]]] = {}

    def set_source(self, text: str, lexer: Lexer, dark: bool) -> None:
        self.style_name = "monokai" if dark else "friendly"
        self._formats = {}
        if len(text) <= HIGHLIGHT_LIMIT and not isinstance(lexer, TextLexer):
            line, column = 0, 0
            for token, value in lex(text, lexer):
                fmt = _token_format(self.style_name, token)
                for index, piece in enumerate(value.split("\n")):
                    if index:
                        line, column = line + 1, 0
                    styled = fmt.foreground().style() != Qt.BrushStyle.NoBrush or fmt.fontWeight() > 400
                    if piece and styled:
                        self._formats.setdefault(line, []).append((column, len(piece), fmt))
                    column += len(piece)
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        for start, length, fmt in self._formats.get(self.currentBlock().blockNumber(), ()):
            self.setFormat(start, length, fmt)


class _LineNumbers(QWidget):
    def __init__(self, view: CodeView):
        super().__init__(view)
        self.view = view

    def sizeHint(self) -> QSize:
        return QSize(self.view.gutter_width(), 0)

    def paintEvent(self, event: QPaintEvent) -> None:
        self.view.paint_gutter(event)


class CodeView(QPlainTextEdit):
    """Shows one file; `mark_lines(start, end)` marks 1-based inclusive lines and scrolls them into view."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(monospace_font(10.5))
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                     | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.highlighter = PygmentsHighlighter(self.document())
        self.marked: tuple[int, int] | None = None
        self.dark = False
        self._lexer: Lexer | None = None
        self._gutter = _LineNumbers(self)
        self.blockCountChanged.connect(self._update_gutter_width)
        self.updateRequest.connect(self._update_gutter)
        self._update_gutter_width()

    # content --------------------------------------------------------------------------------------------

    def show_source(self, text: str, path: str, language: str | None) -> None:
        self.marked = None
        self.setExtraSelections([])
        self.setPlainText(text)
        self._lexer = lexer_for(path, language)
        self.highlighter.set_source(text, self._lexer, self.dark)
        self.moveCursor(QTextCursor.MoveOperation.Start)

    def set_dark(self, dark: bool) -> None:
        """Switch highlighting and line marks to the dark (or light) colours, keeping the view."""
        self.dark = dark
        if self._lexer is not None:
            first = self.first_visible_line()
            self.highlighter.set_source(self.toPlainText(), self._lexer, dark)
            if self.marked is not None:
                self.mark_lines(*self.marked)
            self.scroll_to_line(first)

    def mark_lines(self, start: int, end: int) -> None:
        """Mark lines start..end (1-based, inclusive; clamped to the file), put the cursor on the first and
        scroll so the range starts a few lines below the top."""
        count = self.blockCount()
        start = min(max(start, 1), count)
        end = min(max(end, start), count)
        self.marked = (start, end)
        color = QColor(MARK_DARK if self.dark else MARK_LIGHT)
        selections = []
        for number in range(start, end + 1):
            selection = QTextEdit.ExtraSelection()
            selection.format.setBackground(color)
            selection.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            selection.cursor = QTextCursor(self.document().findBlockByNumber(number - 1))
            selections.append(selection)
        self.setExtraSelections(selections)
        self.setTextCursor(QTextCursor(self.document().findBlockByNumber(start - 1)))
        self.scroll_to_line(max(1, start - CONTEXT_LINES))

    def scroll_to_line(self, line: int) -> None:
        """Make `line` the first visible line (as far as the scroll range allows). The document is laid out
        lazily, so the range may not be final yet: apply it now and again once the event loop has run."""
        self.verticalScrollBar().setValue(line - 1)
        QTimer.singleShot(0, lambda: self.verticalScrollBar().setValue(line - 1))

    def first_visible_line(self) -> int:
        return self.firstVisibleBlock().blockNumber() + 1

    def find_text(self, needle: str, backward: bool = False) -> bool:
        """Select the next match (wrapping around); False when there is none."""
        if not needle:
            return False
        flags = QTextDocument.FindFlag.FindBackward if backward else QTextDocument.FindFlag(0)
        if self.find(needle, flags):
            return True
        cursor = self.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End if backward else QTextCursor.MoveOperation.Start)
        self.setTextCursor(cursor)
        return self.find(needle, flags)

    # the line-number gutter -------------------------------------------------------------------------------

    def gutter_width(self) -> int:
        digits = max(3, len(str(self.blockCount())))
        return 16 + self.fontMetrics().horizontalAdvance("9") * digits

    def _update_gutter_width(self, _count: int = 0) -> None:
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)

    def _update_gutter(self, rect: QRect, dy: int) -> None:
        if dy:
            self._gutter.scroll(0, dy)
        else:
            self._gutter.update(0, rect.y(), self._gutter.width(), rect.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        area = self.contentsRect()
        self._gutter.setGeometry(QRect(area.left(), area.top(), self.gutter_width(), area.height()))

    def paint_gutter(self, event: QPaintEvent) -> None:
        painter = QPainter(self._gutter)
        palette = self.palette()
        painter.fillRect(event.rect(), palette.alternateBase())
        block = self.firstVisibleBlock()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        width = self._gutter.width() - 8
        height = self.fontMetrics().height()
        muted, strong = palette.placeholderText().color(), palette.text().color()
        while block.isValid() and top <= event.rect().bottom():
            bottom = top + round(self.blockBoundingRect(block).height())
            if block.isVisible() and bottom >= event.rect().top():
                number = block.blockNumber() + 1
                inside = self.marked is not None and self.marked[0] <= number <= self.marked[1]
                painter.setPen(strong if inside else muted)
                painter.drawText(0, top, width, height, Qt.AlignmentFlag.AlignRight, str(number))
            block = block.next()
            top = bottom
        painter.end()
