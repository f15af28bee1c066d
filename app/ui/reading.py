"""Reading a project from the window: ingest then encode on the model worker with progress and Cancel, and
live updates (the watcher re-parses changed files; a quiet refresh then encodes them). A mixin of MainWindow.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QTimer

from app.core.tasks import read_project
from app.ui.model_tasks import RefreshResult, encode_task, refresh_task
from app.ui.progress import RefreshMeter
from app.ui.runner import TaskRunner
from app.ui.watching import LiveWatch
from ingest.scan import ScanError
from ingest.watch import Watcher, WatchError

log = logging.getLogger(__name__)

WATCH_REFRESH_DELAY_MS = 150
WATCH_ENCODE_DELAY_MS = 1500  # encode after the edits have settled, not on every save


class Reading:
    """Mixed into MainWindow: uses `self.model`, `self.progress`, `self.notice`, `self.project`, ..."""

    def init_reading(self) -> None:
        self.runner: TaskRunner | None = None  # the reading shown in the progress panel
        self.ingest_target: tuple[list[str], Path] | None = None  # paths and database of that reading
        self.queued: list[str] = []  # paths dropped while a reading was running
        self.live: LiveWatch | None = None
        self.quiet: TaskRunner | None = None  # encoding what the watcher changed
        self._watch_timer = QTimer(self, singleShot=True, interval=WATCH_REFRESH_DELAY_MS,
                                   timeout=self.refresh_project)
        self._encode_timer = QTimer(self, singleShot=True, interval=WATCH_ENCODE_DELAY_MS,
                                    timeout=self._encode_changes)
        self._watch_after_chats = False
        self.chat_controller.chatsRead.connect(self._chats_read)

    @property
    def reading(self) -> bool:
        return self.runner is not None and self.runner.running

    def ingest(self, paths: list[str], db_path: Path, exact: bool = False) -> None:
        """Read (and, with a model, encode) the project of `paths` in the background."""
        stopping = self.stop_watch()
        self.notice.hide()
        self.ingest_target = (paths, db_path)
        if self.runner is not None:
            self.runner.deleteLater()  # the previous run has finished (only one runs at a time)
        meter = RefreshMeter()
        self.runner = self.model.task("Reading the project", refresh_task, self.model, paths, db_path, exact,
                                      stopping, convert_progress=meter.update, parent=self)
        self.runner.progress.connect(self.progress.update_progress)
        self.runner.done.connect(self._ingest_done)
        self.runner.failed.connect(self._ingest_failed)
        self.model.run(self.runner)
        name = Path(paths[0]).name
        self.progress.start(f"Reading {name}", f"Encoding {name}")
        existing = read_project(db_path)
        if existing is not None and not existing.error:
            self.show_project(existing)
        self._refresh_timer.start()
        self.update_actions()

    def cancel_ingest(self) -> None:
        if self.reading:
            self.runner.cancel()

    def stop_reading(self) -> None:
        """For shutdown: cancel what reads and stop watching."""
        for runner in (self.runner, self.quiet):
            if runner is not None and runner.running:
                runner.cancel()
        if self.live is not None:
            self.live.stop(wait=True)
            self.live = None

    def _ingest_done(self, result: RefreshResult) -> None:
        self._ingest_ended()
        report, encoded = result.ingest, result.encode
        project = read_project(Path(report.db_path))
        if project is not None:
            self.show_project(project)
            self._remember(project.root)
            self.start_watch()
        problems = [p for p in report.problems if p["status"] == "failed"]
        if report.cancelled or (encoded is not None and encoded.cancelled):
            self.notice.show_message(f"Stopped. What was read and encoded in this run is kept "
                                     f"({report.parsed} file(s) read); open the project again (or press F5) "
                                     "to continue.", "info")
        elif problems:
            listed = "; ".join(f"{p['path']}: {p['reason']}" for p in problems[:3])
            more = f" (and {len(problems) - 3} more: see the tree)" if len(problems) > 3 else ""
            self.notice.show_message(f"{len(problems)} item(s) could not be read — {listed}{more}. "
                                     "Everything else was read.")
        elif encoded is not None and encoded.notices:
            self.notice.show_message("; ".join(encoded.notices).capitalize() + ".", "info")
        self.refreshFinished.emit(result)
        self.ingestFinished.emit(report)
        self._next_queued()

    def _ingest_failed(self, message: str) -> None:
        self._ingest_ended()
        self.notice.show_message(message)
        if self.project is None:
            self.show_welcome()
        else:
            self.start_watch()
        self.refreshFinished.emit(None)
        self.ingestFinished.emit(None)
        self._next_queued()

    def _ingest_ended(self) -> None:
        self._refresh_timer.stop()
        self.progress.hide()
        self.update_actions()

    def _next_queued(self) -> None:
        if self.queued:
            paths, self.queued = self.queued, []
            self.add_paths(paths)

    # live updates -------------------------------------------------------------------------------------

    def start_watch(self) -> None:
        self.stop_watch()
        if self.project is None:
            return
        if self.chat_controller.reads:
            # the first read of a project's chats creates their table: a write that the watcher's first
            # transaction would collide with ("database is locked"), so the watcher starts after it
            self._watch_after_chats = True
            return
        try:
            self.live = LiveWatch(self.project.paths, self.project.db_path, parent=self)
        except ScanError as exc:
            self.notice.show_message(f"Cannot watch this project: {exc}. Remove the folder or restore it.")
            return
        self.live.changed.connect(self._watch_event)
        try:
            self.live.start()
        except WatchError as exc:
            self.live.deleteLater()
            self.live = None
            self.notice.show_message(f"Live updates are off: {exc}. Folio answers from what it has read; "
                                     "Refresh reads the changes.")

    def _chats_read(self) -> None:
        if self._watch_after_chats and not self.chat_controller.reads:
            self._watch_after_chats = False
            if not self.reading:
                self.start_watch()

    def stop_watch(self) -> Watcher | None:
        """Stop watching without waiting; returns the watcher, which may still finish a change it applies
        (a reading waits for that on the worker: two writers at once would collide in the database)."""
        self._watch_after_chats = False
        if self.live is None:
            return None
        live, self.live = self.live, None
        live.changed.disconnect(self._watch_event)
        live.stop(wait=False)
        return live.watcher

    def _watch_event(self, event) -> None:
        self._watch_timer.start()  # many events in a burst cost one refresh
        if self.model.info is not None:
            self._encode_timer.start()
        if event.path == self.viewer.shown_path and event.action == "changed" and self.viewer.kind == "code":
            row = self.sidebar.rows.get(event.path)
            if row is not None:
                self.viewer.path = None  # force a re-read from disk
                self.open_lines(row, *(self.viewer.code.marked or (0, 0)))

    def _encode_changes(self) -> None:
        """Encode what the watcher changed, quietly (no progress panel), so answers read the new text."""
        if self.project is None or self.reading or (self.quiet is not None and self.quiet.running):
            self._encode_timer.start()  # try again once the running reading has finished
            return
        if self.quiet is not None:
            self.quiet.deleteLater()
        self.quiet = self.model.task("Encoding changes", encode_task, self.model, self.project.db_path,
                                     parent=self)
        self.quiet.done.connect(lambda _result: self.refresh_project())
        self.quiet.failed.connect(lambda message: log.warning("%s", message))
        self.model.run(self.quiet)
