"""Keep a project fresh while its files change: one folder watch for all roots.

On Linux the watch is `ingest.inotify.FolderWatch`, which leaves the folders a scan ignores unwatched;
elsewhere a watchdog observer. Either only enqueues paths. A worker thread waits until events have been
quiet for the debounce interval, then for each path confirms a real change by content hash, re-parses it,
removes it (deleted, or moved away) or adds it (created, or moved here), and tells subscribers through
plain callbacks with `WatchEvent` records. A changed `.gitignore`, or events the system dropped, trigger a
full rescan of the project (and, on Linux, of the folders watched).
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from ingest.inotify import FolderWatch
from ingest.paths import project_db_path
from ingest.pipeline import FileProcessor
from ingest.scan import (
    DEFAULT_SIZE_LIMIT,
    VENV_MARKER,
    IgnoreRules,
    Root,
    ScanEntry,
    is_virtualenv,
    resolve_roots,
    scan,
    scan_file,
)
from ingest.store import Store

log = logging.getLogger(__name__)

_IGNORED_EVENT_TYPES = frozenset({"opened", "closed", "closed_no_write"})
BACKENDS = ("inotify", "watchdog")


class WatchError(Exception):
    """The system refused to watch the project's folders (on Linux: an inotify limit reached)."""


def watch_refusal(root: Path, exc: OSError) -> WatchError:
    """A WatchError that says what was refused and, for inotify's limits, the setting that raises them."""
    if exc.errno == errno.ENOSPC:
        reason = ("the system's limit of watched folders is reached (raise it with "
                  "`sudo sysctl fs.inotify.max_user_watches=524288`)")
    elif exc.errno == errno.EMFILE:
        reason = ("the system's limit of folder watchers is reached (raise it with "
                  "`sudo sysctl fs.inotify.max_user_instances=512`)")
    else:
        reason = exc.strerror or str(exc)
    return WatchError(f"cannot watch {root} for changes: {reason}")


@dataclass(frozen=True)
class WatchEvent:
    """One change the watcher applied to the store."""

    path: str  # the document path a user sees (relative to the project root)
    action: str  # "added" | "changed" | "removed" | "skipped" | "failed"
    reason: str | None = None  # why a file was skipped or failed


class _EnqueueHandler(FileSystemEventHandler):
    def __init__(self, enqueue: Callable[[str], None]):
        self._enqueue = enqueue

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in _IGNORED_EVENT_TYPES:
            return
        if event.is_directory and event.event_type == "modified":
            return  # a folder's mtime moved because an entry changed: the entry has its own event
        self._enqueue(os.fsdecode(event.src_path))
        if event.event_type == "moved":
            self._enqueue(os.fsdecode(event.dest_path))


class Watcher:
    """Watch the project named by `paths[0]`; `start()` first catches up with changes since the last run."""

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        size_limit: int = DEFAULT_SIZE_LIMIT,
        debounce_s: float = 0.3,
        db_path: str | os.PathLike[str] | None = None,
        backend: str | None = None,
        **processor_options,
    ):
        self.roots: list[Root] = resolve_roots(paths)
        self.db_path = Path(db_path) if db_path is not None else project_db_path(self.roots[0].path)
        self.size_limit = size_limit
        self.debounce_s = debounce_s
        self._processor_options = processor_options
        self._subscribers: list[Callable[[WatchEvent], None]] = []
        self._pending: set[str] = set()
        self._last_event = 0.0
        self._wake = threading.Condition()
        self._stopping = False
        self.backend = backend or ("inotify" if sys.platform.startswith("linux") else "watchdog")
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown watch backend {self.backend!r} (one of: {', '.join(BACKENDS)})")
        if self.backend == "inotify" and not sys.platform.startswith("linux"):
            raise ValueError("the inotify watch backend is Linux's; use 'watchdog' here")
        self._observer = Observer()
        self._folders: FolderWatch | None = None  # the inotify backend's watch
        self._worker: threading.Thread | None = None
        self._rules = IgnoreRules()
        self.error: Exception | None = None  # set when the watch could not begin (database, missing root)
        self.ready = threading.Event()  # set once the catch-up scan is done and events are being handled

    def counts(self) -> dict[str, int]:
        """The project's totals as stored now (documents, definitions, files by status)."""
        with Store(self.db_path) as store:
            return store.counts()

    def subscribe(self, callback: Callable[[WatchEvent], None]) -> Callable[[], None]:
        """Call `callback(event)` (on the worker thread) for every applied change; returns an unsubscribe."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def start(self) -> None:
        """Begin watching; WatchError when the system refuses (nothing is then left running)."""
        folders: dict[str, bool] = {}  # folder -> recursive; a file root's folder is watched alone
        for root in self.roots:
            folder = str(root.path.parent if root.is_file else root.path)
            folders[folder] = folders.get(folder, False) or not root.is_file  # a file root's may be a root
        try:  # before the catch-up scan, so nothing that changes meanwhile is missed
            if self.backend == "inotify":
                self._folders = FolderWatch(
                    list(folders.items()), self._enqueue, self._wanted, self._overflowed
                )
                self._folders.start()
            else:
                handler = _EnqueueHandler(self._enqueue)
                for folder, recursive in folders.items():
                    self._observer.schedule(handler, folder, recursive=recursive)
                self._observer.start()
        except OSError as exc:
            self._stop_watch()
            raise watch_refusal(self.roots[0].path, exc) from exc
        self._worker = threading.Thread(target=self._run, name="folio-watch", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        """Stop watching; returns after the worker has finished the change it was applying."""
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._worker is not None and self._worker is not threading.current_thread():
            self._worker.join()  # first: the worker may be watching folders again after a rescan
        self._stop_watch()

    def watched_folders(self) -> list[str]:
        """The folders the system watches for this project now (the inotify backend only; else [])."""
        return self._folders.watched if self._folders is not None else []

    def _stop_watch(self) -> None:
        if self._folders is not None:
            self._folders.stop()
        self._observer.stop()
        if self._observer.is_alive():
            self._observer.join()

    def __enter__(self) -> Watcher:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # the watch's thread -----------------------------------------------------------------------------

    def _enqueue(self, path: str) -> None:
        with self._wake:
            self._pending.add(path)
            self._last_event = time.monotonic()
            self._wake.notify_all()

    def _overflowed(self) -> None:
        """The system dropped events: compare the whole project again ("" is not a path, it asks for that)."""
        self._enqueue("")

    def _wanted(self, folder: str) -> bool:
        """Whether a scan would walk `folder`, so that it has to be watched."""
        located = self._locate(folder)
        if located is None:
            return False
        index, relpath = located
        return not self._rules.ignores(self.roots[index], relpath, is_dir=True)

    # the worker thread ------------------------------------------------------------------------------

    def _next_batch(self) -> set[str] | None:
        """Wait for events, then for `debounce_s` of quiet; None when stopping."""
        with self._wake:
            while not self._pending and not self._stopping:
                self._wake.wait()
            while not self._stopping:
                quiet_for = time.monotonic() - self._last_event
                if quiet_for >= self.debounce_s:
                    break
                self._wake.wait(self.debounce_s - quiet_for)
            if self._stopping:
                return None
            batch, self._pending = self._pending, set()
            return batch

    def _run(self) -> None:
        try:
            store = Store(self.db_path)
            root_ids = store.set_roots(self.roots)
        except (OSError, sqlite3.Error) as exc:
            log.exception("watch: cannot open %s", self.db_path)
            self.error = exc
            self.ready.set()
            return
        try:
            with FileProcessor(
                store, self.roots, root_ids, size_limit=self.size_limit, **self._processor_options
            ) as processor:
                try:
                    with store.batch():
                        events = self._resync(processor, root_ids)
                except (OSError, sqlite3.Error) as exc:  # e.g. a root removed before the watch began
                    log.exception("watch: catching up with %s failed", self.roots[0].path)
                    self.error = exc
                    return
                for event in events:
                    self._emit(event)
                self.ready.set()
                while (batch := self._next_batch()) is not None:
                    self._apply(batch, processor, root_ids)
        finally:
            self.ready.set()
            store.close()

    def _apply(self, batch: set[str], processor: FileProcessor, root_ids: list[int]) -> None:
        events: list[WatchEvent] = []
        try:
            with processor.store.batch():
                if "" in batch or any(os.path.basename(path) == ".gitignore" for path in batch):
                    self._rules = IgnoreRules()  # ignore rules changed: the set of files may have too
                    if self._folders is not None:  # and so may the folders to watch: watched before they
                        self._folders.refresh()  # are read, so that nothing written meanwhile is missed
                    events = self._resync(processor, root_ids)
                else:
                    for path in sorted(batch):
                        events.extend(self._apply_path(path, processor, root_ids))
        except (OSError, sqlite3.Error) as exc:
            log.exception("watch: applying %d changes failed", len(batch))
            reason = f"could not apply the change: {exc}"
            events = [WatchEvent(path, "failed", reason) for path in sorted(batch) if path]  # "" names none
        for event in events:
            self._emit(event)

    def _locate(self, path: str) -> tuple[int, str] | None:
        """The root `path` belongs to and its path there: the deepest root, as a scan walks a root nested in
        another on its own."""
        found: tuple[int, str] | None = None
        depth = -1
        for index, root in enumerate(self.roots):
            base = str(root.path)
            if root.is_file:
                if path == base:
                    return index, root.path.name
            elif path.startswith(base.rstrip(os.sep) + os.sep) and len(base) > depth:
                found, depth = (index, Path(os.path.relpath(path, base)).as_posix()), len(base)
        return found

    def _apply_path(self, path: str, processor: FileProcessor, root_ids: list[int]) -> list[WatchEvent]:
        located = self._locate(path)
        if located is None:
            return []
        index, relpath = located
        venv_changed = relpath.endswith("/" + VENV_MARKER) and not self.roots[index].is_file  # not at a top
        if venv_changed:  # its folder may have become a virtual environment, or stopped being one
            path, relpath = os.path.dirname(path), relpath.rsplit("/", 1)[0]
        root, root_id = self.roots[index], root_ids[index]
        if os.path.isdir(path):  # a folder created or moved here: walk it like a scan would
            if is_virtualenv(path) or self._rules.ignores(root, relpath, is_dir=True):
                return [  # ignored, or a virtual environment now: what was read from it leaves the project
                    WatchEvent(root.document_path(rel), "removed")
                    for rel in processor.store.delete_under(root_id, relpath)
                ]
            if venv_changed and self._folders is not None:
                try:
                    self._folders.watch_tree(path)  # its watch had kept the folder alone: watched before read
                except OSError as exc:  # a limit reached: the folder is still read, its changes not seen
                    log.warning("watch: cannot watch %s: %s", path, exc)
            return self._resync(processor, root_ids, only=(index, relpath + "/"))
        if not os.path.lexists(path):
            return [
                WatchEvent(root.document_path(rel), "removed")
                for rel in processor.store.delete_under(root_id, relpath)
            ]
        if self._rules.ignores(root, relpath):
            return []
        return self._apply_file(
            scan_file(self.roots, index, relpath, path, size_limit=self.size_limit), processor, root_ids
        )

    def _apply_file(self, item, processor: FileProcessor, root_ids: list[int]) -> list[WatchEvent]:
        if item is None:
            return []
        root = self.roots[item.root]
        state = processor.store.file_state(root_ids[item.root], item.relpath)
        if isinstance(item, ScanEntry):
            outcome = processor.process(item, state)
        else:
            outcome = processor.record_problem(item, state)
            if state is not None and state.status == item.status and state.reason == item.reason:
                return []
        path = root.document_path(item.relpath)
        if outcome == "parsed":
            return [WatchEvent(path, "changed" if state is not None else "added")]
        if outcome == "removed":
            return [WatchEvent(path, "removed")] if state is not None else []
        if outcome in ("skipped", "failed"):
            reason = getattr(item, "reason", None) or self._stored_reason(
                processor, root_ids[item.root], item.relpath
            )
            return [WatchEvent(path, outcome, reason)]
        return []  # unchanged: the content hash says nothing really changed

    @staticmethod
    def _stored_reason(processor: FileProcessor, root_id: int, relpath: str) -> str | None:
        state = processor.store.file_state(root_id, relpath)
        return state.reason if state is not None else None

    def _resync(
        self, processor: FileProcessor, root_ids: list[int], *, only: tuple[int, str] | None = None
    ) -> list[WatchEvent]:
        """Compare (part of) the tree with the store, as `ingest` does, and return what changed."""
        events: list[WatchEvent] = []
        seen: set[tuple[int, str]] = set()
        for item in scan(self.roots, size_limit=self.size_limit, rules=self._rules):
            if only is not None and (item.root != only[0] or not item.relpath.startswith(only[1])):
                continue
            seen.add((root_ids[item.root], item.relpath))
            events.extend(self._apply_file(item, processor, root_ids))
        if only is None:
            for (root_id, relpath), state in processor.store.file_states().items():
                if (root_id, relpath) not in seen:
                    processor.store.delete_files([state.id])
                    root = self.roots[root_ids.index(root_id)]
                    events.append(WatchEvent(root.document_path(relpath), "removed"))
        return events

    def _emit(self, event: WatchEvent) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:  # noqa: BLE001 - a subscriber's bug must not stop the watcher
                log.exception("watch: subscriber %r failed on %s", callback, event)
