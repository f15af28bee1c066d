"""The model side of the window: one `Engine` per (model folder, device), made and used on one worker thread.

Everything that touches the model (loading it, encoding a project, answering) runs as a `TaskRunner` on this
host's single-thread pool, so model work is serialised, never on the GUI thread, and a task queued behind
another simply waits its turn. The engine is created lazily by the first task that needs it; importing
PyTorch and reading the weights happen there too. A model folder that fails to load is remembered (its
message goes to the window once) so the next task fails fast instead of trying again.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QThreadPool, Signal

from app.ui.runner import TaskRunner

log = logging.getLogger(__name__)


class ModelUnavailable(Exception):
    """The model folder could not be loaded; the message says why, in one line."""


@dataclass(frozen=True)
class EngineInfo:
    model_name: str
    fingerprint: str
    device: str  # "cpu" | "cuda"
    model_dir: str
    embedded: bool = False  # the model shipped in resources/model

    @property
    def short_fingerprint(self) -> str:
        return self.fingerprint[:12]


def model_problem(message: str, device: str) -> str:
    """The engine's message, worded for the window (it speaks of command-line flags)."""
    if device == "cuda" and "--device" in message:
        return "CUDA is chosen in Settings, but PyTorch sees no CUDA GPU here: choose Automatic or CPU."
    return message[0].upper() + message[1:] if message else "The model could not be loaded."


def engine_info(engine) -> EngineInfo:
    from app.core.engine import EMBEDDED_MODEL

    return EngineInfo(engine.model_name, engine.fingerprint, engine.device, str(engine.model_dir),
                      Path(engine.model_dir).resolve() == EMBEDDED_MODEL.resolve())


class ModelHost(QObject):
    loaded = Signal(object)  # EngineInfo of the engine now in use
    loadFailed = Signal(str)  # why the configured model cannot be used
    notice = Signal(str)  # something the user should know (e.g. the fall back to the CPU)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)  # model inference runs on a single worker
        self._wanted: tuple[str | None, str] = (None, "auto")  # written on the GUI thread only
        self._key: tuple[str | None, str] | None = None  # below: touched on the worker thread only
        self._engine = None
        self._error: str | None = None
        self._lock = threading.Lock()
        self.info: EngineInfo | None = None  # GUI-side view, from the signals
        self.error: str | None = None
        self.loaded.connect(self._remember_info)
        self.loadFailed.connect(self._remember_error)

    def _remember_info(self, info: EngineInfo) -> None:
        self.info, self.error = info, None

    def _remember_error(self, message: str) -> None:
        self.info, self.error = None, message

    # GUI thread ---------------------------------------------------------------------------------------

    def configure(self, model_folder: str, device: str, parent: QObject | None = None) -> TaskRunner | None:
        """Use this model folder ("" = the embedded model) on this device; loads it in the background.
        Returns the loading task, or None when nothing changed."""
        key = (model_folder or None, device)
        if key == self._wanted and (self.info is not None or self.error is not None):
            return None
        self._wanted = key
        self.info, self.error = None, None
        return self.run(self.task("Loading the model", self._load_task, parent=parent))

    @property
    def wanted(self) -> tuple[str | None, str]:
        return self._wanted

    def task(self, name: str, fn: Callable, *args: object, stream: bool = False,
             convert_progress: Callable[[object], object] | None = None,
             parent: QObject | None = None) -> TaskRunner:
        """A runner of `fn(*args, report_progress, should_stop[, send])` for the model worker: connect its
        signals, then `run` it (a quick function could otherwise finish before anyone listens)."""
        return TaskRunner(name, fn, *args, convert_progress=convert_progress, stream=stream,
                          parent=parent or self)

    def run(self, runner: TaskRunner) -> TaskRunner:
        """Queue the runner on the model worker (it starts after the tasks queued before it)."""
        runner.start(self.pool)
        return runner

    def wait_idle(self, timeout_s: float) -> bool:
        return self.pool.waitForDone(round(timeout_s * 1000))

    # worker thread ------------------------------------------------------------------------------------

    def _load_task(self, _report, _should_stop) -> EngineInfo:
        return engine_info(self.engine())

    def engine(self):
        """The engine for the configured model folder and device, made now if needed (worker thread only).
        Raises ModelUnavailable when the folder cannot be loaded."""
        from app.core.engine import Engine, ModelError

        with self._lock:
            key = self._wanted
            if key == self._key:
                if self._engine is not None:
                    return self._engine
                raise ModelUnavailable(self._error or "the model could not be loaded")
            self._release()
            self._key = key
            try:
                engine = Engine(key[0], key[1])
            except (ModelError, OSError, ValueError) as exc:
                self._error = model_problem(str(exc), key[1])
                self.loadFailed.emit(self._error)
                raise ModelUnavailable(self._error) from exc
            self._engine, self._error = engine, None
        self.loaded.emit(engine_info(engine))
        return engine

    def on_cpu(self, engine):
        """After the GPU ran out of memory: the same engine moved to the CPU, used from now on."""
        engine.fallback_to_cpu()
        self.notice.emit("The GPU ran out of memory: Folio now runs the model on the CPU (slower). "
                         "Choose the device again in Settings to retry the GPU.")
        self.loaded.emit(engine_info(engine))
        return engine

    def _release(self) -> None:
        """Drop the current engine and give its GPU memory back."""
        if self._engine is None:
            return
        on_gpu = self._engine.device == "cuda"
        self._engine = None
        gc.collect()
        if on_gpu:
            import torch

            torch.cuda.empty_cache()
