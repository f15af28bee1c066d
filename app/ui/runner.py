"""The one way the window runs core work off the GUI thread: arguments in, signals out.

A `TaskRunner` wraps a core function `fn(*args, report_progress, should_stop) -> result`, runs it on the
global QThreadPool and reports through queued signals: `progress` (throttled to a few per second, so a run
over thousands of files does not flood the event loop), then exactly one of `done(result)` or
`failed(message)`, then `finished`. `cancel()` sets the abort flag the function polls between steps.
A streaming runner (`stream=True`) also hands the function a third callback, `send(value)`, whose every
value arrives as `streamed(value)`, none dropped (an answer's tokens). The runner never touches widgets.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.1


class _Job(QRunnable):
    def __init__(self, runner: TaskRunner):
        super().__init__()
        self.setAutoDelete(False)  # the runner owns the job; Qt must not delete it under Python's feet
        self._runner = runner

    def run(self) -> None:
        self._runner._run()


class TaskRunner(QObject):
    progress = Signal(object)  # whatever `convert_progress` makes of the function's progress reports
    streamed = Signal(object)  # each value a streaming function sends, in order
    done = Signal(object)  # the function's result
    failed = Signal(str)  # one line for the user
    finished = Signal()  # after done or failed

    def __init__(self, name: str, fn: Callable, *args: object,
                 convert_progress: Callable[[object], object] | None = None, stream: bool = False,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.name = name
        self._stream = stream
        self._fn = fn
        self._args = args
        self._convert = convert_progress
        self._abort = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._last_emit = 0.0
        self._pending: object | None = None
        self._job = _Job(self)

    @property
    def running(self) -> bool:
        return not self._idle.is_set()

    @property
    def cancelled(self) -> bool:
        return self._abort.is_set()

    def start(self, pool: QThreadPool | None = None) -> None:
        self._idle.clear()
        (pool or QThreadPool.globalInstance()).start(self._job)

    def cancel(self) -> None:
        """Ask the function to stop at its next check (the ingest pipeline checks between files)."""
        self._abort.set()

    def wait(self, timeout_s: float) -> bool:
        """Block until the function has returned (for shutdown); True if it did within the timeout."""
        return self._idle.wait(timeout_s)

    # worker thread -------------------------------------------------------------------------------------

    def _report(self, value: object) -> None:
        converted = self._convert(value) if self._convert is not None else value
        now = time.monotonic()
        if now - self._last_emit >= PROGRESS_INTERVAL_S:
            self._last_emit = now
            self._pending = None
            self.progress.emit(converted)
        else:
            self._pending = converted  # sent at the end, so the last count is always shown

    def _send(self, value: object) -> None:
        self._emit(self.streamed, value)

    def _run(self) -> None:
        try:
            callbacks = (self._report, self._abort.is_set, self._send) if self._stream else (
                self._report, self._abort.is_set)
            result = self._fn(*self._args, *callbacks)
        except Exception as exc:  # noqa: BLE001 - the boundary of a worker: every failure reaches the user
            log.exception("%s failed", self.name)
            self._idle.set()  # not running any more when the receivers hear of it
            self._emit(self.failed, f"{self.name} failed: {exc}")
        else:
            if self._pending is not None:
                self._emit(self.progress, self._pending)
            self._idle.set()
            self._emit(self.done, result)
        finally:
            self._idle.set()
            self._emit(self.finished)

    def _emit(self, signal, *args: object) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the window (and this runner with it) closed while the function ran
            log.debug("%s: result dropped, its receiver is gone", self.name)
