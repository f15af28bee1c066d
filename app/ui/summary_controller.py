"""Summarize from the window: one document's outline and cited key passages (app.core.summarize), made on
the model worker and shown in the centre's Summary tab; its chips open the viewer like the chat's."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.core.tasks import IngestProgress
from app.ui.progress import EncodeStatus, RefreshMeter
from app.ui.runner import TaskRunner

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow


def summarize_task(host, abspath: str, report_progress, should_stop):
    """app.core.summarize.summarize on the model worker (it imports the model: not on the GUI thread)."""
    from app.core.summarize import summarize

    engine = host.engine()
    return summarize(engine, abspath, should_stop=should_stop, progress=report_progress,
                     file_progress=report_progress, encode_progress=report_progress)


class SummaryProgressView:
    """Reading and encoding go through RefreshMeter; a topic step is shown as it is."""

    def __init__(self) -> None:
        self.meter = RefreshMeter()

    def update(self, report: object) -> object:
        if hasattr(report, "label") and hasattr(report, "step"):
            return report
        return self.meter.update(report)


def progress_text(progress: object) -> str:
    if isinstance(progress, IngestProgress):
        return f"Reading the document: {progress.text}"
    if isinstance(progress, EncodeStatus):
        return f"Encoding the document: {progress.text}"
    return f"Looking for topic {progress.step + 1} of {progress.total}: {progress.label}…"


class SummaryController(QObject):
    summaryFinished = Signal(object)  # the Summary, or None when it failed

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        self.view = window.summary_view
        self.view.citation_clicked.connect(window.open_citation)
        self.runner: TaskRunner | None = None
        self._result = None

    @property
    def running(self) -> bool:
        return self.runner is not None and self.runner.running

    def summarize(self, abspath: str) -> None:
        window = self.window
        if self.running or not abspath:
            return
        if window.model.error is not None:
            window.notice.show_message(f"Cannot summarize without the model: {window.model.error}")
            return
        self.view.clear()
        self.view.title.setText(Path(abspath).name)
        self.view.status.setText("Waiting for the model…" if window.reading else "Starting…")
        window.show_summary_tab()
        self.runner = window.model.task("Summarizing", summarize_task, window.model, abspath,
                                        convert_progress=SummaryProgressView().update, parent=self)
        self.runner.progress.connect(lambda progress: self.view.status.setText(progress_text(progress)))
        self.runner.done.connect(self._done)
        self.runner.failed.connect(self._failed)
        self.runner.finished.connect(self._ended)
        window.model.run(self.runner)
        window.update_actions()

    def stop(self) -> None:
        if self.running:
            self.runner.cancel()
            self.view.status.setText("Stopping…")

    def _done(self, summary) -> None:
        self.view.show_summary(summary)
        self._result = summary

    def _failed(self, message: str) -> None:
        self.view.status.setText(message)
        self._result = None

    def _ended(self) -> None:
        self.window.update_actions()
        result, self._result = self._result, None
        self.summaryFinished.emit(result)
