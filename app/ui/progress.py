"""What the progress panel shows of a refresh: reading files (counts, files/s), then encoding them into the
model's memory (documents, tokens/s, time left). Plain objects made on the worker thread, shown on the GUI's.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.tasks import IngestProgress, ProgressMeter, format_duration
from ingest.pipeline import Progress


@dataclass(frozen=True)
class EncodeStatus:
    """The encoding stage: `done`/`total` are tokens (the bar), the text counts documents too."""

    documents_done: int
    documents_total: int
    done: int  # tokens encoded
    total: int
    tokens_per_s: float
    seconds_left: float | None
    path: str = ""
    stage: str = "encode"

    @property
    def text(self) -> str:
        parts = [f"{self.documents_done:,} of {self.documents_total:,} documents",
                 f"{self.done:,} of {self.total:,} tokens"]
        if self.tokens_per_s > 0:
            parts.append(f"{self.tokens_per_s:,.0f} tokens/s")
        if self.seconds_left is not None:
            parts.append(f"{format_duration(self.seconds_left)} left")
        return " · ".join(parts)


class RefreshMeter:
    """Turns a refresh's two kinds of reports (ingest's per-file `Progress`, the encoder's per-batch
    `EncodeProgress`) into what the panel shows; runs on the worker thread (TaskRunner's convert_progress)."""

    def __init__(self) -> None:
        self.files = ProgressMeter()

    def update(self, report: object) -> IngestProgress | EncodeStatus:
        if isinstance(report, Progress):
            return self.files.update(report)
        # app.core.indexing.EncodeProgress (not imported: it would import PyTorch into the GUI's modules)
        return EncodeStatus(report.documents_done, report.documents_total, report.tokens_done,
                            report.tokens_total, report.tokens_per_s, report.eta_s)
