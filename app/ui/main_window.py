"""Folio's main window: projects and file states (left), the chat (centre), the source viewer over the
details pane (right).

The window holds views. Project state comes from the project database (app.core.tasks) and the model's
memory index (memory_state); reading and encoding a project and answering run on the model worker
(ModelHost), chats through ChatController, and live changes arrive from `LiveWatch`.
"""

from __future__ import annotations

import gc
import logging
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.settings import Settings, load_settings, save_settings
from app.core.tasks import ProjectInfo, find_projects, project_files, read_project, sample_project_paths
from app.ui.chat import EMBEDDED_CAVEAT, ChatPanel
from app.ui.chat_controller import ChatController
from app.ui.chrome import (
    StatusLine,
    build_menus,
    choose_files,
    choose_folder,
    choose_folder_to_add,
    open_settings,
    restore_geometry,
    save_geometry,
    update_recent_menu,
)
from app.ui.details import DetailsPane
from app.ui.memory_state import memory_state, with_encoded
from app.ui.model_host import ModelHost
from app.ui.project_panel import ProjectPanel
from app.ui.reading import Reading
from app.ui.source_actions import SourceActions
from app.ui.summary_controller import SummaryController
from app.ui.summary_view import SummaryView
from app.ui.theme import READABLE, app_icon, apply_theme
from app.ui.viewer import SourceViewer
from app.ui.welcome import WelcomePage
from app.ui.widgets import NoticeBar, ProgressPanel
from ingest.paths import project_db_path

log = logging.getLogger(__name__)

REFRESH_DURING_INGEST_MS = 1000


class MainWindow(QMainWindow, Reading, SourceActions):
    ingestFinished = Signal(object)  # IngestReport, or None when the run failed
    refreshFinished = Signal(object)  # RefreshResult (reading and encoding), or None when the run failed
    projectShown = Signal(str)  # primary root

    def __init__(self, settings: Settings | None = None):
        super().__init__()
        self.settings = settings or load_settings()
        self.project: ProjectInfo | None = None
        self.setWindowTitle("Folio")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.resize(1400, 900)
        self.model = ModelHost(self)
        self.model.loaded.connect(self._model_loaded)
        self.model.loadFailed.connect(self._model_failed)
        self.model.notice.connect(lambda text: self.notice.show_message(text, "info"))
        self._build()
        self.chat_controller = ChatController(self)
        self.summaries = SummaryController(self)
        self.menu_actions = build_menus(self)
        self.status = StatusLine(self)
        self.init_reading()
        self._refresh_timer = QTimer(self, interval=REFRESH_DURING_INGEST_MS, timeout=self.refresh_project)
        restore_geometry(self)
        self.update_actions()
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._system_scheme_changed)
        self.configure_model()

    def _build(self) -> None:
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
        self.sidebar.summarizeRequested.connect(self.summarize_row)
        self.chat = ChatPanel()
        self.chat.settingsRequested.connect(lambda: open_settings(self))
        self.summary_view = SummaryView()
        self.centre = QTabWidget(documentMode=True)
        self.centre.addTab(self.chat, "Chat")
        self.centre.addTab(self.summary_view, "Summary")
        self.viewer = SourceViewer()
        self.details = DetailsPane()
        self.details.openLines.connect(self.open_lines)
        self.details.openPage.connect(self.open_page)
        self.details.summarizeRequested.connect(self.summarize_row)
        self.viewer.summarizeRequested.connect(lambda: self.summaries.summarize(self.viewer.path or ""))
        self.right = QSplitter(Qt.Orientation.Vertical, childrenCollapsible=False)
        self.right.addWidget(self.viewer)
        self.right.addWidget(self.details)
        self.right.setStretchFactor(0, 1)
        self.right.setSizes([600, 240])
        self.splitter = QSplitter(Qt.Orientation.Horizontal, childrenCollapsible=False)
        for widget, minimum in ((self.sidebar, 220), (self.centre, 340), (self.right, 360)):
            self.splitter.addWidget(widget)
            widget.setMinimumWidth(minimum)
        self.splitter.setSizes([300, 500, 600])
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 1)
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

    def _system_scheme_changed(self) -> None:
        if self.settings.theme == "system":  # follow the desktop switching between light and dark
            self._set_dark(apply_theme(QApplication.instance(), "system"))

    def _set_dark(self, dark: bool) -> None:
        self.viewer.code.set_dark(dark)
        self.chat.set_dark(dark)

    # the model ----------------------------------------------------------------------------------------

    def configure_model(self) -> None:
        """Load the model of the settings (in the background); answering waits for it."""
        if self.model.configure(self.settings.model_folder, self.settings.device, parent=self) is not None:
            gc.unfreeze()  # a model loaded before is being replaced: let the collector see it again
            self.status.model_loading()
            self.chat.set_model_problem(None)
            self.chat.set_can_ask(True)

    def _model_loaded(self, info) -> None:
        # what exists now (modules, the model, the window) lives as long as the app: kept out of the cyclic
        # collector's full passes, each of which otherwise stalled the window 0.3-0.5 s while a project was
        # read on a 2-core machine (the refresh's allocations trigger them; tests/app/test_chat.py)
        gc.freeze()
        self.status.show_model(info)
        self.chat.set_model_problem(None)
        self.chat.set_caveat(EMBEDDED_CAVEAT if info.embedded else None)
        self.chat.set_can_ask(True)
        self.update_actions()

    def _model_failed(self, message: str) -> None:
        self.status.show_model_problem()
        self.chat.set_caveat(None)
        reason = message.rstrip(".")
        self.chat.set_model_problem(f"The model could not be loaded: {reason}. Projects can still be read "
                                    "and browsed; pick a working model folder in Settings to ask questions.")
        self.chat.set_can_ask(False, "The model could not be loaded (see the message above)")
        self.update_actions()

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
        self.sidebar.set_projects(find_projects(), None)
        self.chat_controller.show_project(None)
        self._update_status()

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
        self.start_watch()

    def open_paths(self, paths: list[str]) -> None:
        """Open the project named by `paths[0]`, adding the other paths to it, and bring it up to date."""
        resolved = [str(Path(p).expanduser().resolve()) for p in paths]
        existing = read_project(project_db_path(resolved[0]))
        roots = existing.paths if existing is not None and not existing.error else []
        self.ingest([*roots, *[p for p in resolved if p not in roots]], project_db_path(resolved[0]))

    def add_paths(self, paths: list[str]) -> None:
        """Dropped or picked paths join the current project (or start one when none is open)."""
        if self.reading:
            self.queued.extend(p for p in paths if p not in self.queued)
            self.notice.show_message(f"{len(self.queued)} dropped item(s) will be added when the current "
                                     "reading finishes.", "info")
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
        self.ingest([*roots, *new], self.project.db_path)

    def remove_folder(self, path: str) -> None:
        if self.project is None or self.reading:
            return
        roots = [p for p in self.project.paths if p != path]
        if roots and roots[0] == self.project.root:
            self.ingest(roots, self.project.db_path, exact=True)

    def refresh_ingest(self) -> None:
        if self.project is not None and not self.reading:
            self.ingest(self.project.paths, self.project.db_path)

    def open_sample(self) -> None:
        self.open_paths(sample_project_paths())

    # showing a project --------------------------------------------------------------------------------

    def show_project(self, project: ProjectInfo) -> None:
        changed = self.project is None or project.root != self.project.root
        if changed:
            self.viewer.clear()
            self.details.show_file(None, None)
        if changed or self.sidebar.projects.count() == 0 or not self.reading:
            # reads every project's database: not each second of a reading
            self.sidebar.set_projects(find_projects(), project.root)
        self.project = project
        self.pages.setCurrentWidget(self.splitter)
        memory = memory_state(project.db_path)
        self.sidebar.show_project(project, with_encoded(project_files(project.db_path), memory))
        self.setWindowTitle(f"{project.name} — Folio")
        self.chat_controller.show_project(project.db_path)
        if self.centre.currentWidget() is self.summary_view and self.summary_view.summary is None:
            self.centre.setCurrentWidget(self.chat)
        self._update_status(memory)
        self.update_actions()
        self.projectShown.emit(project.root)

    _show = show_project

    def refresh_project(self) -> None:
        """Re-read the shown project from its database (during ingest, and after live changes)."""
        started = time.perf_counter()
        db_path = self.ingest_target[1] if self.reading else (
            self.project.db_path if self.project is not None else None)
        project = read_project(db_path) if db_path is not None else None
        if project is not None and not project.error:
            self.show_project(project)
        # a huge project costs more to re-read: space the refreshes out so the GUI stays mostly idle
        spent_ms = (time.perf_counter() - started) * 1000
        self._refresh_timer.setInterval(max(REFRESH_DURING_INGEST_MS, round(10 * spent_ms)))

    def _remember(self, root: str) -> None:
        self.settings.remember_project(root)
        self._save_settings()
        update_recent_menu(self)

    # status, settings, window ---------------------------------------------------------------------------

    def _update_status(self, memory=None) -> None:
        shown = self.project if self.pages.currentWidget() is self.splitter else None
        if shown is not None and memory is None:
            memory = memory_state(shown.db_path)
        self.status.show_project(shown, memory)

    def update_actions(self) -> None:
        busy = self.reading
        has_project = self.project is not None
        answering = self.chat_controller.answering
        self.menu_actions["add_folder"].setEnabled(has_project and not busy)
        self.menu_actions["refresh"].setEnabled(has_project and not busy)
        self.menu_actions["cancel"].setEnabled(busy)
        summarizing = self.summaries.running
        self.menu_actions["stop"].setEnabled(busy or answering or summarizing)
        model_ok = self.model.error is None
        self.menu_actions["summarize"].setEnabled(has_project and not summarizing and model_ok)
        self.menu_actions["ask"].setEnabled(has_project and not answering and model_ok)
        self.menu_actions["new_chat"].setEnabled(has_project and not answering)

    def stop_current(self) -> None:
        """Esc: stop the answer being written (or the summary being made), else the reading in progress."""
        if self.chat_controller.answering:
            self.chat_controller.stop()
        elif self.summaries.running:
            self.summaries.stop()
        elif self.reading:
            self.cancel_ingest()

    def summarize_current(self) -> None:
        """The Summarize action: the document open in the viewer, else the one selected in the tree."""
        if self.viewer.path:
            self.summaries.summarize(self.viewer.path)
        elif (row := self.sidebar.selected_row()) is not None:
            self.summarize_row(row)

    def summarize_row(self, row) -> None:
        if row.status not in READABLE:
            self.notice.show_message(f"{row.path} was not read ({row.status}): nothing to summarize.", "info")
            return
        self.summaries.summarize(row.abspath)

    def show_summary_tab(self) -> None:
        self.centre.setCurrentWidget(self.summary_view)

    def apply_settings(self, settings: Settings) -> None:
        self.settings = settings
        self._save_settings()
        self._set_dark(apply_theme(QApplication.instance(), settings.theme))
        self.status.probe_device(settings.device)
        self.configure_model()

    def _save_settings(self) -> None:
        try:
            save_settings(self.settings)
        except OSError as exc:
            self.notice.show_message(f"Cannot save settings: {exc}")

    def closeEvent(self, event: QCloseEvent) -> None:
        save_geometry(self)
        self.chat_controller.stop()
        self.summaries.stop()
        self.stop_reading()
        self.model.wait_idle(10.0)  # the model stops between tokens and between files
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
