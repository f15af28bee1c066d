"""Progress on a terminal: one line redrawn in place on stderr, only when stderr is a terminal.

parsing   ██████████░░░░░░░░░░  52%  1,204/2,310 files · 410 files/s · 3 s left
encoding  ████░░░░░░░░░░░░░░░░  21%  212,992/1,003,520 tokens · 9,812 tokens/s · 1 min 20 s left
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

from app.core.indexing import EncodeProgress
from app.core.tasks import ProgressMeter, format_duration
from ingest.pipeline import Progress

BAR = 20


def bar(fraction: float, width: int = BAR) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled)


def encode_line(p: EncodeProgress) -> str:
    fraction = p.tokens_done / p.tokens_total if p.tokens_total else 1.0
    parts = [f"{p.tokens_done:,}/{p.tokens_total:,} tokens"]
    if p.tokens_per_s > 0:
        parts.append(f"{p.tokens_per_s:,.0f} tokens/s")
    if p.eta_s is not None and p.tokens_done < p.tokens_total:
        parts.append(f"{format_duration(p.eta_s)} left")
    return f"encoding  {bar(fraction)} {fraction:4.0%}  " + " · ".join(parts)


class TerminalProgress:
    """Callbacks for Engine.refresh: `files` (ingest) and `tokens` (encode)."""

    def __init__(self, stream: TextIO | None = None, interval_s: float = 0.1):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.meter = ProgressMeter()
        self.interval_s = interval_s
        self._last = 0.0
        self._open = False

    def _draw(self, line: str, final: bool) -> None:
        now = time.monotonic()
        if not self.enabled or (not final and now - self._last < self.interval_s):
            return
        self._last = now
        width = shutil.get_terminal_size((100, 20)).columns - 1
        self.stream.write("\r" + line[:width].ljust(width))
        self._open = True
        if final:
            self.stream.write("\n")
            self._open = False
        self.stream.flush()

    def files(self, progress: Progress) -> None:
        view = self.meter.update(progress)
        fraction = view.done / view.total if view.total else 1.0
        self._draw(f"parsing   {bar(fraction)} {fraction:4.0%}  {view.text}", view.done == view.total)

    def tokens(self, progress: EncodeProgress) -> None:
        self._draw(encode_line(progress), progress.tokens_done >= progress.tokens_total)

    def message(self, text: str) -> None:
        if self._open:
            self.stream.write("\n")
            self._open = False
        print(f"folio: {text}", file=self.stream, flush=True)
