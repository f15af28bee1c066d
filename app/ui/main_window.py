"""Folio's main window: projects and file states (left), the source viewer (centre), details (right).

The window holds views; project state comes from the project database
(app.core.tasks), ingest runs through one `TaskRunner`, and live changes arrive from `LiveWatch`.
"""

from __future__ import annotations

import logging
import time
from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.settings import Settings, load_settings, save_settings
from app.core.tasks import (
    FileRow,
    IngestProgress,
    ProgressMeter,
    ProjectInfo,
    document_details,
    find_on_page,
    find_projects,
    ingest_task,
    project_files,
    read_project,
    sample_project_paths,
    search_document,
)
from app.ui.chrome import (
    StatusLine,
    build_menus,
    choose_files,
    choose_folder,
    choose_folder_to_add,
    restore_geometry,
    save_geometry,
    update_recent_menu,
)
from app.ui.details import DetailsPane
from app.ui.project_panel import ProjectPanel
from app.ui.runner import TaskRunner
from app.ui.theme import app_icon, apply_theme
from app.ui.viewer import SourceViewer, ViewerError
from app.ui.watching import LiveWatch
from app.ui.welcome import WelcomePage
from app.ui.widgets import NoticeBar, ProgressPanel
from ingest.paths import project_db_path
from ingest.scan import ScanError

log = logging.getLogger(__name__)

REFRESH_DURING_INGEST_MS = 1000
WATCH_REFRESH_DELAY_MS = 150


class MainWindow(QMainWindow):
    ingestFinished = Signal(object)  # IngestReport, or None when the run failed
    projectShown = Signal(str)  # primary root

    def __init__(self, settings: Settings | None = None):
        super().__init__()
        self.settings = settings or load_settings()
        self.project: ProjectInfo | None = None
        self.runner: TaskRunner | None = None
        self.ingest_target: tuple[list[str], Path] | None = None  # paths and database of the running ingest
        self.queued: list[str] = []  # paths dropped while an ingest was running
        self.live: LiveWatch | None = None
        self.setWindowTitle("Folio")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.resize(1400, 900)

        self.welcome = WelcomePage()
        self.welcome.openFolder.connect(lambda: choose_folder(self))
        self.welcome.addFiles.connect(lambda: choose_files(self))
        self.welcome.openSample.connect(self.open_sample)
        self.sidebar = ProjectPanel()
        self.sidebar.projectChosen.connect(self.open_project)
        self.sidebar.addFolderRequested.connect(lambda: choose_folder_to_add(self))
        self.sidebar.removeFolderRequested.connect(self.remove_folder)
        self.sidebar.fileSelected.connect(self.show_details)
        self.sidebar.fileActivated.connect(self.open_file)
        self.viewer = SourceViewer()
        self.details = DetailsPane()
        self.details.openLines.connect(self.open_lines)
        self.details.openPage.connect(self.open_page)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, childrenCollapsible=False)
        for widget in (self.sidebar, self.viewer, self.details):
            self.splitter.addWidget(widget)
            widget.setMinimumWidth(220)
        self.splitter.setSizes([330, 760, 310])
        self.splitter.setStretchFactor(1, 1)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.welcome)
        self.pages.addWidget(self.splitter)

        self.notice = NoticeBar()
        self.progress = ProgressPanel()
        self.progress.cancelRequested.connect(self.cancel_ingest)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 8, 8, 0)
        layout.addWidget(self.notice)
        layout.addWidget(self.progress)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)

        self.menu_actions = build_menus(self)
        self.status = StatusLine(self)
        self._refresh_timer = QTimer(self, interval=REFRESH_DURING_INGEST_MS, timeout=self.refresh_project)
        self._watch_timer = QTimer(self, singleShot=True, interval=WATCH_REFRESH_DELAY_MS,
                                   timeout=self.refresh_project)
        restore_geometry(self)
        self._update_actions()
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._system_scheme_changed)

    def _system_scheme_changed(self) -> None:
        if self.settings.theme == "system":  # follow the desktop switching between light and dark
            self.viewer.code.set_dark(apply_theme(QApplication.instance(), "system"))

    # opening projects ---------------------------------------------------------------------------------

    def start(self, paths: list[str] | None = None) -> None:
        """What the window shows first: `paths` as a project, else the last project, else the welcome."""
        if paths:
            self.open_paths(paths)
        elif self.settings.last_project and read_project(project_db_path(self.settings.last_project)):
            self.open_project(self.settings.last_project)
        else:
            self.show_welcome()

    def show_welcome(self) -> None:
        self.pages.setCurrentWidget(self.welcome)
        self.sidebar.set_projects(self.known_projects(), None)
        self._update_status()

    def known_projects(self) -> list[ProjectInfo]:
        return find_projects()

    def open_project(self, root: str) -> None:
        """Show a stored project and watch it (the watcher first catches up with changes since last time)."""
        project = read_project(project_db_path(root))
        if project is None:
            self.notice.show_message(f"There is no project for {root} yet: open the folder to create it.")
            return
        if project.error:
            self.notice.show_message(project.error)
            return
        self._show(project)
        self._remember(project.root)
        self._start_watch()

    def open_paths(self, paths: list[str]) -> None:
        """Open the project named by `paths[0]`, adding the other paths to it, and bring it up to date."""
        resolved = [str(Path(p).expanduser().resolve()) for p in paths]
        existing = read_project(project_db_path(resolved[0]))
        roots = existing.paths if existing is not None and not existing.error else []
        self._ingest([*roots, *[p for p in resolved if p not in roots]], project_db_path(resolved[0]))

    def add_paths(self, paths: list[str]) -> None:
        """Dropped or picked paths join the current project (or start one when none is open)."""
        if self.runner is not None and self.runner.running:
            self.queued.extend(p for p in paths if p not in self.queued)
            self.notice.show_message(f"{len(self.queued)} dropped item(s) will be added when the current "
                                     "ingest finishes.", "info")
            return
        if self.project is None or self.pages.currentWidget() is self.welcome:
            self.open_paths(paths)
            return
        resolved = [str(Path(p).expanduser().resolve()) for p in paths]
        roots = self.project.paths
        inside = [p for p in resolved if any(p.startswith(r.rstrip("/") + "/") for r in roots)]
        new = [p for p in resolved if p not in roots and p not in inside]
        if not new:
            self.notice.show_message("Everything dropped is already part of this project.", "info")
            self.refresh_ingest()
            return
        self._ingest([*roots, *new], self.project.db_path)

    def remove_folder(self, path: str) -> None:
        if self.project is None or self.runner is not None and self.runner.running:
            return
        roots = [p for p in self.project.paths if p != path]
        if roots and roots[0] == self.project.root:
            self._ingest(roots, self.project.db_path)

    def refresh_ingest(self) -> None:
        if self.project is not None and not (self.runner and self.runner.running):
            self._ingest(self.project.paths, self.project.db_path)

    def open_sample(self) -> None:
        self.open_paths(sample_project_paths())

    # ingest -------------------------------------------------------------------------------------------

    def _ingest(self, paths: list[str], db_path: Path) -> None:
        self._stop_watch()
        self.notice.hide()
        self.ingest_target = (paths, db_path)
        if self.runner is not None:
            self.runner.deleteLater()  # the previous run has finished (only one runs at a time)
        meter = ProgressMeter()
        self.runner = TaskRunner("Reading the project", ingest_task, paths, db_path,
                                 convert_progress=meter.update, parent=self)
        self.runner.progress.connect(self._ingest_progress)
        self.runner.done.connect(self._ingest_done)
        self.runner.failed.connect(self._ingest_failed)
        self.progress.start(f"Reading {Path(paths[0]).name}")
        existing = read_project(db_path)
        if existing is not None and not existing.error:
            self._show(existing)
        self.runner.start()
        self._refresh_timer.start()
        self._update_actions()

    def cancel_ingest(self) -> None:
        if self.runner is not None and self.runner.running:
            self.runner.cancel()

    def _ingest_progress(self, progress: IngestProgress) -> None:
        self.progress.update_progress(progress)

    def _ingest_done(self, report) -> None:
        self._ingest_ended()
        project = read_project(Path(report.db_path))
        if project is not None:
            self._show(project)
            self._remember(project.root)
            self._start_watch()
        problems = [p for p in report.problems if p["status"] == "failed"]
        if report.cancelled:
            self.notice.show_message(f"Stopped. {report.parsed} file(s) read in this run are kept; open the "
                                     "project again (or press F5) to continue.", "info")
        elif problems:
            listed = "; ".join(f"{p['path']}: {p['reason']}" for p in problems[:3])
            more = f" (and {len(problems) - 3} more: see the tree)" if len(problems) > 3 else ""
            self.notice.show_message(f"{len(problems)} item(s) could not be read — {listed}{more}. "
                                     "Everything else was read.")
        self.ingestFinished.emit(report)
        self._next_queued()

    def _ingest_failed(self, message: str) -> None:
        self._ingest_ended()
        self.notice.show_message(message)
        if self.project is None:
            self.show_welcome()
        else:
            self._start_watch()
        self.ingestFinished.emit(None)
        self._next_queued()

    def _ingest_ended(self) -> None:
        self._refresh_timer.stop()
        self.progress.hide()
        self._update_actions()

    def _next_queued(self) -> None:
        if self.queued:
            paths, self.queued = self.queued, []
            self.add_paths(paths)

    # showing a project --------------------------------------------------------------------------------

    def _show(self, project: ProjectInfo) -> None:
        if self.project is None or project.root != self.project.root:
            self.viewer.clear()
            self.details.show_file(None, None)
        self.project = project
        self.pages.setCurrentWidget(self.splitter)
        self.sidebar.set_projects(self.known_projects(), project.root)
        self.sidebar.show_project(project, project_files(project.db_path))
        self.setWindowTitle(f"{project.name} — Folio")
        self._update_status()
        self._update_actions()
        self.projectShown.emit(project.root)

    def refresh_project(self) -> None:
        """Re-read the shown project from its database (during ingest, and after live changes)."""
        started = time.perf_counter()
        db_path = self.ingest_target[1] if self.runner is not None and self.runner.running else (
            self.project.db_path if self.project is not None else None)
        project = read_project(db_path) if db_path is not None else None
        if project is not None and not project.error:
            self._show(project)
        # a huge project costs more to re-read: space the refreshes out so the GUI stays mostly idle
        spent_ms = (time.perf_counter() - started) * 1000
        self._refresh_timer.setInterval(max(REFRESH_DURING_INGEST_MS, round(10 * spent_ms)))

    def _remember(self, root: str) -> None:
        self.settings.remember_project(root)
        self._save_settings()
        update_recent_menu(self)

    def _start_watch(self) -> None:
        self._stop_watch()
        if self.project is None:
            return
        try:
            self.live = LiveWatch(self.project.paths, self.project.db_path, parent=self)
        except ScanError as exc:
            self.notice.show_message(f"Cannot watch this project: {exc}. Remove the folder or restore it.")
            return
        self.live.changed.connect(self._watch_event)
        self.live.start()

    def _stop_watch(self) -> None:
        if self.live is not None:
            self.live.changed.disconnect(self._watch_event)
            self.live.stop(wait=False)
            self.live = None

    def _watch_event(self, event) -> None:
        self._watch_timer.start()  # many events in a burst cost one refresh
        if event.path == self.viewer.shown_path and event.action == "changed" and self.viewer.kind == "code":
            row = self.sidebar.rows.get(event.path)
            if row is not None:
                self.viewer.path = None  # force a re-read from disk
                self.open_lines(row, *(self.viewer.code.marked or (0, 0)))

    # files and the viewer ---------------------------------------------------------------------------

    def show_details(self, row: FileRow | None) -> None:
        details = None
        if row is not None and row.status == "parsed" and self.project is not None:
            details = document_details(self.project.db_path, row.path)
        self.details.show_file(row, details)

    def open_file(self, row: FileRow) -> None:
        self.show_details(row)
        if row.status != "parsed" and row.kind is None:
            self.notice.show_message(f"{row.path} was not read ({row.status}): {row.reason}", "info")
            return
        if row.kind == "pdf":
            self.open_page(row, 1, "")
        else:
            self.open_lines(row, 0, 0)

    def open_lines(self, row: FileRow, start: int, end: int) -> None:
        """Open a code or text file; lines start..end (1-based) are marked unless start is 0."""
        try:
            self.viewer.open_code(row.abspath, row.path, row.language, (start, end) if start > 0 else None)
        except ViewerError as exc:
            self.notice.show_message(str(exc))

    def open_page(self, row: FileRow, page: int, needle: str) -> None:
        """Open a PDF at `page`; when `needle` is given, its line boxes on that page are highlighted."""
        details = document_details(self.project.db_path, row.path) if self.project is not None else None
        rects = []
        if needle and details is not None:
            found = find_on_page(details.document, needle, page)
            rects = [rect for on_page, rect in found.rects if on_page == page] if found is not None else []
        try:
            self.viewer.open_pdf(row.abspath, row.path, page, rects)
        except ViewerError as exc:
            self.notice.show_message(str(exc))
            return
        if details is not None:  # find (Ctrl+F) through the parsed text: a wrapped phrase is one match
            self.viewer.pdf.search = partial(search_document, details.document)

    # status, settings, window ---------------------------------------------------------------------------

    def _update_status(self) -> None:
        self.status.show_project(self.project if self.pages.currentWidget() is self.splitter else None)

    def _update_actions(self) -> None:
        busy = self.runner is not None and self.runner.running
        has_project = self.project is not None
        self.menu_actions["add_folder"].setEnabled(has_project and not busy)
        self.menu_actions["refresh"].setEnabled(has_project and not busy)
        self.menu_actions["cancel"].setEnabled(busy)

    def apply_settings(self, settings: Settings) -> None:
        device_changed = settings.device != self.settings.device
        self.settings = settings
        self._save_settings()
        self.viewer.code.set_dark(apply_theme(QApplication.instance(), settings.theme))
        if device_changed:
            self.status.probe_device(settings.device)

    def _save_settings(self) -> None:
        try:
            save_settings(self.settings)
        except OSError as exc:
            self.notice.show_message(f"Cannot save settings: {exc}")

    def closeEvent(self, event: QCloseEvent) -> None:
        save_geometry(self)
        if self.runner is not None and self.runner.running:
            self.runner.cancel()
            self.runner.wait(5.0)  # the pipeline stops between files and commits what it has
        if self.live is not None:
            self.live.stop(wait=True)
            self.live = None
        self.status.stop_probe()
        super().closeEvent(event)

    # drag and drop ------------------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.add_paths(paths)

