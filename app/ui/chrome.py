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
        "cancel": _action(window, "&Cancel Reading", window.cancel_ingest, Qt.Key.Key_Escape),
        "about": _action(window, "&About Folio", lambda: show_about(window), role=role.AboutRole),
    }
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
    """The status bar: project totals (left), database size and the device PyTorch sees (right)."""

    def __init__(self, window: MainWindow):
        self.labels = {name: QLabel() for name in ("project", "database", "device")}
        bar = window.statusBar()
        bar.setSizeGripEnabled(False)
        bar.addWidget(self.labels["project"], 1)
        bar.addPermanentWidget(self.labels["database"])
        bar.addPermanentWidget(self.labels["device"])
        for label in self.labels.values():
            label.setContentsMargins(8, 2, 8, 2)
        self.window = window
        self._probe: QProcess | None = None

    def __getitem__(self, name: str) -> QLabel:
        return self.labels[name]

    def show_project(self, project: ProjectInfo | None) -> None:
        if project is None:
            self.labels["project"].setText("No project open")
            self.labels["database"].setText("")
            return
        files = sum(project.files.values())
        self.labels["project"].setText(f"{project.documents:,} documents · {files:,} files · "
                                       f"{project.definitions:,} definitions")
        self.labels["database"].setText(f"Database {format_size(project.db_bytes)}")

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
        self.labels["device"].setText(f"Device: {output}" if code == 0 and output else
                                      "Device: unknown (PyTorch could not be loaded)")
        process.deleteLater()
        if self._probe is process:
            self._probe = None

    def stop_probe(self) -> None:
        if self._probe is not None and self._probe.state() != QProcess.ProcessState.NotRunning:
            self._probe.finished.disconnect()
            self._probe.kill()
            self._probe.waitForFinished(1000)
        self._probe = None
