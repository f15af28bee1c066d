"""Live updates: ingest's watcher runs on its own thread; each change it applies becomes a queued signal."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from ingest.watch import Watcher

log = logging.getLogger(__name__)


class LiveWatch(QObject):
    """Watches one project's roots; `changed` carries each `WatchEvent` to the GUI thread."""

    changed = Signal(object)  # ingest.watch.WatchEvent

    def __init__(self, paths: Sequence[str], db_path: Path, parent: QObject | None = None):
        super().__init__(parent)
        self.paths = list(paths)
        self.watcher = Watcher(self.paths, db_path=db_path)  # raises ScanError when a root is gone
        self.watcher.subscribe(self.changed.emit)  # called on the watcher's thread: the signal is queued

    def start(self) -> None:
        self.watcher.start()

    def stop(self, wait: bool = True) -> None:
        """Stop watching. Without `wait` the watcher finishes its current change on a background thread, so
        switching projects never blocks the window."""
        if wait:
            self.watcher.stop()
        else:
            threading.Thread(target=self.watcher.stop, name="folio-watch-stop", daemon=True).start()
