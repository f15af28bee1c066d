"""The settings dialog and the About box."""

from __future__ import annotations

from html import escape

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
from app.ui.model_host import EngineInfo
from app.ui.runner import TaskRunner

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
        note = QLabel("A model folder holds config.json, tokenizer.json and the weights (empty: the model "
                      "built into Folio). Answer length is the most tokens one answer may have.",
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


def collect_versions(_report, _should_stop) -> dict[str, str]:
    """app.core.versions.versions() on a worker thread: it imports PyTorch and hashes the embedded model."""
    from app.core.versions import versions

    return versions()


def about_text(versions: dict[str, str], model: EngineInfo | None, model_problem: str | None = None) -> str:
    found = dict(versions)
    found["Qt"] = qVersion()
    found["PySide6"] = pyside_version
    if model is not None:
        found["Model in use"] = f"{model.model_name} ({model.short_fingerprint}) on {model.device.upper()}"
    else:
        found["Model in use"] = "not loaded" + (f": {model_problem}" if model_problem else "")
    rows = "".join(f"<tr><td>{escape(name)}</td><td>&nbsp;&nbsp;{escape(value)}</td></tr>"
                   for name, value in found.items())
    return ("<h3>Folio</h3><p>Reads a whole repository or document set with a local language model and "
            f"cites its sources.</p><table>{rows}</table>")


def show_about(window) -> TaskRunner:
    """Collect the versions in the background (a second or so the first time), then show the About box."""
    runner = TaskRunner("Reading versions", collect_versions, parent=window)
    runner.done.connect(lambda found: QMessageBox.about(
        window, "About Folio", about_text(found, window.model.info, window.model.error)))
    runner.failed.connect(lambda message: QMessageBox.about(window, "About Folio", about_text(
        {"Versions": message}, window.model.info, window.model.error)))
    runner.start()
    window.about_runner = runner
    return runner
