"""Helpers for window tests: open and close the window, a simulated drag-and-drop, waiting for an ingest."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget

from app.core.settings import Settings
from app.ui.main_window import MainWindow

INGEST_TIMEOUT_MS = 90_000  # the machine may be busy; a stuck ingest still fails the test
ANSWER_TIMEOUT_MS = 120_000


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


def open_window(qtbot, settings: Settings) -> MainWindow:
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    return win


def close_window(win: MainWindow) -> None:
    win.close()  # cancels what runs and waits for the model worker
    win.model.wait_idle(30)


def refresh_and_wait(qtbot, win, action) -> object:
    """Run `action` (which starts reading and encoding) and return the RefreshResult it finished with."""
    with qtbot.waitSignal(win.refreshFinished, timeout=INGEST_TIMEOUT_MS) as blocker:
        action()
    assert blocker.args[0] is not None, win.notice.label.text()
    return blocker.args[0]


def wait_watching(qtbot, win) -> None:
    """Wait until the window watches its project and the watcher has caught up with the files on disk."""
    qtbot.waitUntil(lambda: win.live is not None and win.live.watcher.ready.is_set(),
                    timeout=INGEST_TIMEOUT_MS)
