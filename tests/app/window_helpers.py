"""Helpers for window tests: a simulated drag-and-drop and waiting for an ingest run."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget

INGEST_TIMEOUT_MS = 90_000  # the machine may be busy; a stuck ingest still fails the test


def drop(target: QWidget, paths: list[Path]) -> bool:
    """Drag file URLs over `target` and drop them, as a file manager would; True if the drop was taken."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    position = QPointF(target.width() / 2, target.height() / 2)
    enter = QDragEnterEvent(position.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    if not enter.isAccepted():
        return False
    event = QDropEvent(position, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, event)
    return event.isAccepted()


def ingest_and_wait(qtbot, win, action) -> object:
    """Run `action` (which starts an ingest) and return the report the window finished with."""
    with qtbot.waitSignal(win.ingestFinished, timeout=INGEST_TIMEOUT_MS) as blocker:
        action()
    return blocker.args[0]
