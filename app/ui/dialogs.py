"""The settings dialog and the About box."""

from __future__ import annotations

import platform
from importlib import metadata

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QWidget,
)

from app.core.settings import DEVICES, THEMES, Settings

DEVICE_LABELS = {"auto": "Automatic (GPU when there is one)", "cpu": "CPU", "cuda": "CUDA GPU"}
THEME_LABELS = {"system": "Follow the system", "light": "Light", "dark": "Dark"}


class SettingsDialog(QDialog):
    """Edits a copy of the settings; `result_settings()` gives the edited copy after Accept."""

    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        self._base = settings
        self.model_folder = QLineEdit(settings.model_folder, placeholderText="The embedded model")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_folder, 1)
        model_row.addWidget(browse)
        self.device = QComboBox()
        for value in DEVICES:
            self.device.addItem(DEVICE_LABELS[value], value)
        self.device.setCurrentIndex(DEVICES.index(settings.device))
        self.top_k = QSpinBox(minimum=1, maximum=256, value=settings.top_k)
        self.top_k.setToolTip("How many chunks of the project each retrieval step reads")
        self.answer_length = QSpinBox(minimum=16, maximum=8192, singleStep=64, value=settings.answer_length,
                                      suffix=" tokens")
        self.theme = QComboBox()
        for value in THEMES:
            self.theme.addItem(THEME_LABELS[value], value)
        self.theme.setCurrentIndex(THEMES.index(settings.theme))
        form = QFormLayout(self)
        form.addRow("Model folder", model_row)
        form.addRow("Device", self.device)
        form.addRow("Top-k chunks", self.top_k)
        form.addRow("Answer length", self.answer_length)
        form.addRow("Theme", self.theme)
        note = QLabel("The model settings take effect when answering lands in Folio; they are saved now.",
                      objectName="Muted", wordWrap=True)
        form.addRow(note)
        standard = QDialogButtonBox.StandardButton
        buttons = QDialogButtonBox(standard.Ok | standard.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Model folder", self.model_folder.text())
        if folder:
            self.model_folder.setText(folder)

    def result_settings(self) -> Settings:
        return Settings(model_folder=self.model_folder.text().strip(), device=self.device.currentData(),
                        top_k=self.top_k.value(), answer_length=self.answer_length.value(),
                        theme=self.theme.currentData(), recent_projects=list(self._base.recent_projects),
                        last_project=self._base.last_project)


def versions() -> dict[str, str]:
    """Versions of Folio and what it runs on, read from package metadata (torch is not imported)."""
    found = {"Folio": _version("folio"), "Python": platform.python_version(), "Qt": qVersion(),
             "PySide6": pyside_version}
    for name, package in (("PyTorch", "torch"), ("tree-sitter", "tree-sitter"), ("PyMuPDF", "pymupdf")):
        found[name] = _version(package)
    return found


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def about_text() -> str:
    rows = "".join(f"<tr><td>{name}</td><td>&nbsp;&nbsp;{v}</td></tr>" for name, v in versions().items())
    return ("<h3>Folio</h3><p>Reads a whole repository or document set with a local language model and "
            f"cites its sources.</p><table>{rows}</table>")


def show_about(parent: QWidget) -> None:
    QMessageBox.about(parent, "About Folio", about_text())
