"""Look and feel: the Fusion style with a light or dark palette, the app icon and the file-state icons."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QApplication

from app.core.tasks import RESOURCES

APP_ICON = RESOURCES / "icons" / "folio.svg"

STATUS_COLORS = {"encoded": "#2f6fd0", "parsed": "#2e9d57", "skipped": "#c99a16", "failed": "#d64545"}
STATUS_LABELS = {"encoded": "Encoded", "parsed": "Parsed", "skipped": "Skipped", "failed": "Failed"}
READABLE = ("parsed", "encoded")  # a file whose text is in the project (encoded: in the model's memory too)
ACCENT = "#2f6fd0"
MARK_LIGHT, MARK_DARK = "#fff3b0", "#5a4a12"  # marked source lines
HIGHLIGHT = QColor(255, 200, 0, 90)  # PDF highlight rectangles

_LIGHT = {
    QPalette.ColorRole.Window: "#f4f5f7", QPalette.ColorRole.WindowText: "#1f2328",
    QPalette.ColorRole.Base: "#ffffff", QPalette.ColorRole.AlternateBase: "#f6f8fa",
    QPalette.ColorRole.Text: "#1f2328", QPalette.ColorRole.Button: "#ffffff",
    QPalette.ColorRole.ButtonText: "#1f2328", QPalette.ColorRole.Highlight: ACCENT,
    QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#ffffff",
    QPalette.ColorRole.ToolTipText: "#1f2328", QPalette.ColorRole.PlaceholderText: "#8c959f",
    QPalette.ColorRole.Mid: "#d0d7de", QPalette.ColorRole.Midlight: "#e6e9ed",
    QPalette.ColorRole.Link: ACCENT,
}
_DARK = {
    QPalette.ColorRole.Window: "#1e2227", QPalette.ColorRole.WindowText: "#e6edf3",
    QPalette.ColorRole.Base: "#15181c", QPalette.ColorRole.AlternateBase: "#1b1f24",
    QPalette.ColorRole.Text: "#e6edf3", QPalette.ColorRole.Button: "#2a2f36",
    QPalette.ColorRole.ButtonText: "#e6edf3", QPalette.ColorRole.Highlight: "#3d7bd9",
    QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#2a2f36",
    QPalette.ColorRole.ToolTipText: "#e6edf3", QPalette.ColorRole.PlaceholderText: "#7d8590",
    QPalette.ColorRole.Mid: "#3b424b", QPalette.ColorRole.Midlight: "#30363d",
    QPalette.ColorRole.Link: "#6ea8fe",
}

STYLESHEET = """
QToolTip { padding: 4px 6px; }
QLabel#Heading { font-size: 15pt; font-weight: 600; }
QLabel#Title { font-size: 26pt; font-weight: 600; }
QLabel#Muted, QLabel#SectionLabel { color: palette(placeholder-text); }
QLabel#SectionLabel { font-size: 8.5pt; font-weight: 600; letter-spacing: 1px; }
QFrame#Notice { background: #fdecea; border: 1px solid #f3b8b3; border-radius: 6px; }
QFrame#Notice QLabel, QFrame#Notice QToolButton { color: #7a1f1a; }
QFrame#Notice[kind="info"] { background: #e8f1fd; border-color: #b6d0f5; }
QFrame#Notice[kind="info"] QLabel, QFrame#Notice[kind="info"] QToolButton { color: #1b3f73; }
QFrame#Card { background: palette(base); border: 1px solid palette(mid); border-radius: 10px; }
QPushButton#Primary { background: #2f6fd0; color: white; border: none; border-radius: 6px;
                      padding: 9px 18px; font-weight: 600; }
QPushButton#Primary:hover { background: #2a63bb; }
QPushButton#Secondary { border: 1px solid palette(mid); border-radius: 6px; padding: 8px 16px; }
QTreeView, QListView, QPlainTextEdit, QGraphicsView { border: 1px solid palette(mid); border-radius: 4px; }
QTreeView::item, QListView::item { padding: 3px 0; }
QScrollArea#ChatScroll { border: 1px solid palette(mid); border-radius: 4px; background: palette(base); }
QWidget#Transcript { background: palette(base); }
QLabel#Question { background: palette(alternate-base); border: 1px solid palette(midlight);
                  border-radius: 8px; padding: 7px 10px; font-weight: 600; }
QPushButton#Chip { border: 1px solid palette(mid); border-radius: 11px; padding: 3px 10px;
                   background: palette(alternate-base); font-size: 9pt; }
QPushButton#Chip:hover { border-color: #2f6fd0; color: #2f6fd0; }
QFrame#Excerpt { background: palette(alternate-base); border: 1px solid palette(midlight);
                 border-left: 3px solid palette(mid); border-radius: 6px; }
QFrame#Excerpt:hover, QFrame#Excerpt:focus { border-left-color: palette(link); }
QLabel#ExcerptNumber { color: palette(link); font-size: 8.5pt; font-weight: 600; }
QLabel#ExcerptHeader { color: palette(placeholder-text); font-size: 8.5pt; }
QPushButton#Primary:disabled { background: palette(mid); color: palette(placeholder-text); }
"""


def system_is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def apply_theme(app: QApplication, theme: str) -> bool:
    """Apply "system", "light" or "dark"; returns whether the result is dark."""
    dark = theme == "dark" or (theme == "system" and system_is_dark())
    app.setStyle("Fusion")
    palette = QPalette()
    for role, color in (_DARK if dark else _LIGHT).items():
        palette.setColor(role, QColor(color))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#8c959f"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#8c959f"))
    app.setPalette(palette)
    app.setStyleSheet(STYLESHEET)
    font = app.font()
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
        app.setFont(font)
    return dark


def monospace_font(size: float = 10.0) -> QFont:
    font = QFont("DejaVu Sans Mono")
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setFixedPitch(True)
    font.setPointSizeF(size)
    return font


@cache
def status_icon(status: str) -> QIcon:
    """A small filled dot in the state's colour (grey for an unknown state)."""
    pixmap = QPixmap(32, 32)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(STATUS_COLORS.get(status, "#8c959f")))
    painter.drawEllipse(QRectF(8, 8, 16, 16))
    painter.end()
    return QIcon(pixmap)


def app_icon() -> QIcon:
    return QIcon(str(APP_ICON))
