"""The window's menus (platform conventions: Settings and About move to the app menu on macOS) and its
status bar."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QProcess, QProcessEnvironment, QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel

from app.core.tasks import PROBE_DEVICE_CODE, RESOURCES, ProjectInfo
from app.ui.dialogs import SettingsDialog, show_about
from app.ui.memory_state import MemoryState
from app.ui.model_host import EngineInfo
from ingest.paths import data_dir
from ingest.scan import format_size

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow


def _action(window: MainWindow, text: str, slot, shortcut=None, role=None) -> QAction:
    action = QAction(text, window)
    action.triggered.connect(slot)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if role is not None:
        action.setMenuRole(role)
    return action


def open_settings(window: MainWindow) -> None:
    dialog = SettingsDialog(window.settings, window)
    if dialog.exec():
        window.apply_settings(dialog.result_settings())


def choose_folder(window: MainWindow) -> None:
    folder = QFileDialog.getExistingDirectory(window, "Open folder")
    if folder:
        window.open_paths([folder])


def choose_folder_to_add(window: MainWindow) -> None:
    folder = QFileDialog.getExistingDirectory(window, "Add a folder to the project")
    if folder:
        window.add_paths([folder])


def choose_files(window: MainWindow) -> None:
    files, _ = QFileDialog.getOpenFileNames(window, "Add files")
    if files:
        window.add_paths(files)


def _geometry_store() -> QSettings:
    return QSettings(str(data_dir() / "window.ini"), QSettings.Format.IniFormat)


def restore_geometry(window: MainWindow) -> None:
    """Window size, position and splitter widths as the user left them (QSettings, beside settings.json)."""
    store = _geometry_store()
    geometry, splitter = store.value("geometry"), store.value("splitter")
    if isinstance(geometry, QByteArray):
        window.restoreGeometry(geometry)
    if isinstance(splitter, QByteArray):
        window.splitter.restoreState(splitter)


def save_geometry(window: MainWindow) -> None:
    store = _geometry_store()
    store.setValue("geometry", window.saveGeometry())
    store.setValue("splitter", window.splitter.saveState())


def build_menus(window: MainWindow) -> dict[str, QAction]:
    keys = QKeySequence.StandardKey
    role = QAction.MenuRole
    actions = {
        "open_folder": _action(window, "&Open Folder…", lambda: choose_folder(window), keys.Open),
        "add_files": _action(window, "Add &Files…", lambda: choose_files(window)),
        "sample": _action(window, "Open the &Sample Project", window.open_sample),
        "settings": _action(window, "&Settings…", lambda: open_settings(window), keys.Preferences,
                            role.PreferencesRole),
        "quit": _action(window, "&Quit", window.close, keys.Quit, role.QuitRole),
        "find": _action(window, "&Find in Viewer…", window.viewer.find_bar.open, keys.Find),
        "add_folder": _action(window, "&Add Folder…", lambda: choose_folder_to_add(window)),
        "refresh": _action(window, "&Refresh", window.refresh_ingest, keys.Refresh),
        "cancel": _action(window, "&Cancel Reading", window.cancel_ingest),
        "ask": _action(window, "&Ask", window.chat.submit, "Ctrl+Return"),
        "stop": _action(window, "&Stop", window.stop_current, Qt.Key.Key_Escape),
        "new_chat": _action(window, "&New Chat", window.chat_controller.new_chat, keys.New),
        "summarize": _action(window, "Summari&ze Document", window.summarize_current, "Ctrl+Shift+S"),
        "about": _action(window, "&About Folio", lambda: show_about(window), role=role.AboutRole),
    }
    actions["ask"].setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
    if actions["settings"].shortcut().isEmpty():  # Linux and Windows have no standard key for it
        actions["settings"].setShortcut(QKeySequence("Ctrl+,"))
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    for name in ("open_folder", "add_files", "sample"):
        file_menu.addAction(actions[name])
    window.recent_menu = file_menu.addMenu("Open &Recent")
    file_menu.addSeparator()
    file_menu.addAction(actions["settings"])
    file_menu.addSeparator()
    file_menu.addAction(actions["quit"])
    bar.addMenu("&Edit").addAction(actions["find"])
    project_menu = bar.addMenu("&Project")
    for name in ("add_folder", "refresh", "cancel"):
        project_menu.addAction(actions[name])
    chat_menu = bar.addMenu("&Chat")
    for name in ("ask", "stop", "new_chat", "summarize"):
        chat_menu.addAction(actions[name])
    bar.addMenu("&Help").addAction(actions["about"])
    update_recent_menu(window)
    return actions


def update_recent_menu(window: MainWindow) -> None:
    menu = window.recent_menu
    menu.clear()
    for root in window.settings.recent_projects:
        action = menu.addAction(f"{Path(root).name}  —  {root}")
        action.triggered.connect(lambda _checked=False, r=root: window.open_project(r))
    menu.setEnabled(bool(window.settings.recent_projects))


class StatusLine:
    """The status bar: project totals (left); the model's memory of the project (tokens held, size on disk),
    the database size, the model and the device it runs on (right)."""

    def __init__(self, window: MainWindow):
        self.labels = {name: QLabel() for name in ("project", "memory", "database", "model", "device")}
        bar = window.statusBar()
        bar.setSizeGripEnabled(False)
        bar.addWidget(self.labels["project"], 1)
        for name in ("memory", "database", "model", "device"):
            bar.addPermanentWidget(self.labels[name])
        for label in self.labels.values():
            label.setContentsMargins(8, 2, 8, 2)
        self.window = window
        self._probe: QProcess | None = None
        self._gpu_name = ""  # from the probe, shown once the model runs on CUDA
        self.model_device = ""  # the device the loaded model runs on ("" before it has loaded)

    def __getitem__(self, name: str) -> QLabel:
        return self.labels[name]

    def show_project(self, project: ProjectInfo | None, memory: MemoryState | None = None) -> None:
        if project is None:
            self.labels["project"].setText("No project open")
            for name in ("database", "memory"):
                self.labels[name].setText("")
            return
        files = sum(project.files.values())
        self.labels["project"].setText(f"{project.documents:,} documents · {files:,} files · "
                                       f"{project.definitions:,} definitions")
        self.labels["database"].setText(f"Database {format_size(project.db_bytes)}")
        if memory is not None and memory.chunks:
            self.labels["memory"].setText(f"{memory.tokens:,} tokens held · memory "
                                          f"{format_size(memory.bytes_on_disk)}")
            self.labels["memory"].setToolTip(f"{len(memory.encoded):,} documents encoded in "
                                             f"{memory.chunks:,} chunks")
        else:
            self.labels["memory"].setText("Nothing encoded yet")
            self.labels["memory"].setToolTip("")

    def model_loading(self) -> None:
        self.labels["model"].setText("Model: loading…")
        self.labels["model"].setToolTip("")

    def show_model(self, info: EngineInfo) -> None:
        self.labels["model"].setText(f"Model: {info.model_name} · {info.short_fingerprint}")
        self.labels["model"].setToolTip(f"{info.model_dir}\nfingerprint {info.fingerprint}")
        self.model_device = info.device
        self._show_device()

    def show_model_problem(self) -> None:
        self.labels["model"].setText("Model: not loaded")
        self.labels["model"].setToolTip("The model folder could not be loaded: see the chat panel")
        self.model_device = ""

    def _show_device(self) -> None:
        if self.model_device == "cuda":
            self.labels["device"].setText(f"Device: CUDA{' · ' + self._gpu_name if self._gpu_name else ''}")
        elif self.model_device == "cpu":
            self.labels["device"].setText("Device: CPU")

    def probe_device(self, preference: str) -> None:
        """Ask PyTorch which device it sees, in a child process: importing torch takes seconds and holds the
        GIL, which would stall the window if it ran in this process."""
        self.stop_probe()
        process = QProcess(self.window)
        environment = QProcessEnvironment.systemEnvironment()
        python_path = [str(RESOURCES.parent), *filter(None, [os.environ.get("PYTHONPATH")])]
        environment.insert("PYTHONPATH", os.pathsep.join(python_path))
        process.setProcessEnvironment(environment)
        process.finished.connect(lambda code, _status: self._device_known(process, code))
        self.labels["device"].setText("Device: checking…")
        process.start(sys.executable, ["-c", PROBE_DEVICE_CODE, preference])
        self._probe = process

    def _device_known(self, process: QProcess, code: int) -> None:
        output = bytes(process.readAllStandardOutput().data()).decode(errors="replace").strip()
        self._gpu_name = output.removeprefix("CUDA · ") if output.startswith("CUDA · ") else ""
        self.labels["device"].setText(f"Device: {output}" if code == 0 and output else
                                      "Device: unknown (PyTorch could not be loaded)")
        self._show_device()  # the model's own device, once it has loaded, is what counts
        process.deleteLater()
        if self._probe is process:
            self._probe = None

    def stop_probe(self) -> None:
        if self._probe is not None and self._probe.state() != QProcess.ProcessState.NotRunning:
            self._probe.finished.disconnect()
            self._probe.kill()
            self._probe.waitForFinished(1000)
        self._probe = None
