"""The functions the model worker runs (see model_host.py): refresh a project, answer a question.

Each takes its arguments, then the runner's callbacks (`report_progress`, `should_stop` and, for answers,
`send`), and never touches a widget. A CUDA out-of-memory error moves the engine to the CPU and runs the step
again there; the user is told (ModelHost.notice) and an answer that had started streaming starts over.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.core.tasks import ingest_task
from app.ui.model_host import ModelHost, ModelUnavailable
from ingest.pipeline import IngestReport
from ingest.watch import Watcher

Report = Callable[[object], None]
ShouldStop = Callable[[], bool]


@dataclass
class RefreshResult:
    ingest: IngestReport
    encode: object | None  # app.core.indexing.EncodeReport; None when the model is unavailable
    model_problem: str | None = None  # why the files were read but not encoded


@dataclass(frozen=True)
class AskOptions:
    session: str | None
    max_new_tokens: int
    top_k: int | None
    db_path: Path | None = None  # the project the window keeps fresh (its reading and watcher): no scan first


@dataclass(frozen=True)
class Restart:
    """Sent instead of a token: forget the streamed text, the answer starts again (the note says why)."""

    note: str


def on_cpu_after_oom(host: ModelHost, engine, step: Callable, restart: Callable[[], None] | None = None):
    """Run `step(engine)`; when CUDA runs out of memory, move the engine to the CPU and run it again."""
    import torch

    try:
        return step(engine)
    except torch.cuda.OutOfMemoryError:
        if engine.device != "cuda":
            raise
        engine = host.on_cpu(engine)
        if restart is not None:
            restart()
        return step(engine)


def refresh_task(host: ModelHost, paths: Sequence[str], db_path: Path, exact: bool, stopping: Watcher | None,
                 report_progress: Report, should_stop: ShouldStop) -> RefreshResult:
    """Read the project's files, then encode the new and changed ones into its memory. `exact`: `paths` are
    all the roots the project keeps (a folder was removed); the engine otherwise adds the stored ones back.
    `stopping`: the project's watcher, told to stop; it may be finishing a write, which comes first."""
    if stopping is not None:
        stopping.stop()
    try:
        engine = host.engine()
    except ModelUnavailable as exc:  # the files can still be read, browsed and searched
        return RefreshResult(ingest_task(paths, db_path, report_progress, should_stop), None, str(exc))
    if exact:
        read = ingest_task(paths, db_path, report_progress, should_stop)
        if read.cancelled:
            return RefreshResult(read, None)

    def step(current):
        return current.refresh(list(paths), progress=report_progress, encode_progress=report_progress,
                               should_stop=should_stop)

    done = on_cpu_after_oom(host, engine, step)
    return RefreshResult(done.ingest, done.encode)


def encode_task(host: ModelHost, db_path: Path, report_progress: Report, should_stop: ShouldStop):
    """Encode what the store holds and the memory lacks (after the watcher re-parsed changed files): no
    scan and no writes to the store, so it never contends with the watcher's writes."""
    engine = host.engine()
    return on_cpu_after_oom(host, engine, lambda current: encode_changed(current, db_path, report_progress,
                                                                         should_stop))


def encode_changed(engine, db_path: Path, report_progress: Report, should_stop: ShouldStop):
    from app.core.indexing import sync_memory
    from app.core.lock import project_lock
    from ingest.store import Store

    with project_lock(db_path.parent, "encode"), Store(db_path) as store:
        return sync_memory(store, engine.memory(db_path), engine.model, engine.tokenizer,
                           progress=report_progress, should_stop=should_stop)


def ask_task(host: ModelHost, paths: Sequence[str], question: str, options: AskOptions,
             report_progress: Report, should_stop: ShouldStop, send: Callable[[object], None]):
    """Answer `question` from the project, sending each piece of text as it is generated."""
    engine = host.engine()

    def step(current):
        # the window read the project and its watcher re-parses what changes: encode what is new, no scan
        # (a scan writes to the store, where it could collide with the watcher's writes)
        kept = options.db_path is not None and options.db_path.exists()
        if kept:
            encode_changed(current, options.db_path, report_progress, should_stop)
        return current.ask(list(paths), question, session=options.session, refresh=not kept,
                           max_new_tokens=options.max_new_tokens, top_k=options.top_k, on_token=send,
                           should_stop=should_stop, progress=report_progress, encode_progress=report_progress)

    def restart() -> None:
        send(Restart("The GPU ran out of memory: answering again on the CPU…"))

    return on_cpu_after_oom(host, engine, step, restart)
