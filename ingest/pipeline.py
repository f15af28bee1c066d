"""Ingest: scan -> read + hash -> parse -> store, for one project.

`ingest(paths)` brings the project named by `paths[0]` up to date with the files on disk and returns an
`IngestReport` whose `to_json()` is the `ingest --json` object of DESIGN.md section 6. A file whose size
and mtime match the store is not read; one whose content hash matches is not parsed. Writes are grouped
into transactions of ~200 files (or ~50 MB of text), so an interrupted run keeps every committed batch
and the next run resumes from there. `FileProcessor` is the per-file step, shared with the watcher.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingest.paths import project_db_path
from ingest.records import ParsedDocument, ParseError
from ingest.scan import (
    DEFAULT_SIZE_LIMIT,
    IgnoreRules,
    Root,
    ScanEntry,
    ScanProblem,
    format_size,
    resolve_roots,
    scan,
)
from ingest.store import FileState, Store

log = logging.getLogger(__name__)

BATCH_FILES = 200
BATCH_TEXT_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Progress:
    """Sent to the `progress` callback after each file: `done` of `total` files handled."""

    done: int
    total: int
    path: str
    outcome: str  # "parsed" | "unchanged" | "skipped" | "failed" | "removed"


@dataclass
class IngestReport:
    project: str
    db_path: str
    parsed: int = 0  # parsed in this run
    unchanged: int = 0  # parsed in an earlier run and not changed since
    skipped: int = 0  # every skipped file of the project now
    failed: int = 0  # every failed file of the project now
    documents: int = 0
    definitions: int = 0
    pdf_pages: int = 0
    problems: list[dict[str, str]] = field(default_factory=list)
    elapsed_s: float = 0.0
    cancelled: bool = False

    def to_json(self) -> dict:
        """The `ingest --json` object as far as ingest knows it: app.core fills tokens, chunks and
        memory_bytes from the model memory (ingest never sees the model)."""
        return {
            "project": self.project,
            "files": {
                "parsed": self.parsed,
                "unchanged": self.unchanged,
                "skipped": self.skipped,
                "failed": self.failed,
            },
            "documents": self.documents,
            "definitions": self.definitions,
            "pdf_pages": self.pdf_pages,
            "tokens": 0,
            "chunks": 0,
            "memory_bytes": 0,
            "problems": self.problems,
            "elapsed_s": round(self.elapsed_s, 3),
        }


def read_file(abspath: str) -> tuple[bytes, os.stat_result]:
    """Read a whole file; the stat is taken before reading, so a later edit always shows as a change."""
    with open(abspath, "rb") as f:
        st = os.fstat(f.fileno())
        return f.read(), st


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class FileProcessor:
    """Brings one file's rows in the store up to date. Returns its outcome (see `Progress.outcome`)."""

    def __init__(
        self,
        store: Store,
        roots: Sequence[Root],
        root_ids: Sequence[int],
        *,
        size_limit: int = DEFAULT_SIZE_LIMIT,
        parse_file: Callable[[bytes, str], ParsedDocument] | None = None,
        is_pdf: Callable[[str, bytes], bool] | None = None,
        pdf_worker_factory: Callable[[], object] | None = None,
    ):
        if parse_file is None or is_pdf is None:
            from ingest import parse  # tree-sitter grammars load on first use, not on import of this module

            parse_file, is_pdf = parse_file or parse.parse_file, is_pdf or parse.is_pdf
        if pdf_worker_factory is None:
            from ingest.pdf_worker import PdfWorker

            pdf_worker_factory = PdfWorker
        self.store = store
        self.roots = list(roots)
        self.root_ids = list(root_ids)
        self.size_limit = size_limit
        self._parse_file = parse_file
        self._is_pdf = is_pdf
        self._pdf_worker_factory = pdf_worker_factory
        self._pdf_worker = None  # started on the first PDF: code-only trees never spawn it
        self.text_bytes = 0  # text stored since the counter was last reset (for batching)

    def close(self) -> None:
        if self._pdf_worker is not None:
            self._pdf_worker.close()
            self._pdf_worker = None

    def __enter__(self) -> FileProcessor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def record_problem(self, problem: ScanProblem, state: FileState | None) -> str:
        """Store a problem the scan found (unless it is already stored exactly so)."""
        size = mtime_ns = 0
        try:
            st = os.stat(problem.abspath)
            size, mtime_ns = st.st_size, st.st_mtime_ns
        except OSError:
            pass  # a broken link or a loop has no stat of its own worth keeping
        if not (
            state
            and state.status == problem.status
            and state.reason == problem.reason
            and state.size == size
            and state.mtime_ns == mtime_ns
        ):
            root_id = self.root_ids[problem.root]
            self.store.put_problem(
                root_id, problem.relpath, size, mtime_ns, None, problem.status, problem.reason
            )
        return problem.status

    def process(self, entry: ScanEntry, state: FileState | None) -> str:
        if (
            state is not None
            and state.content_hash is not None
            and state.size == entry.size
            and state.mtime_ns == entry.mtime_ns
        ):
            return "unchanged"
        root_id = self.root_ids[entry.root]
        try:
            data, st = read_file(entry.abspath)
        except FileNotFoundError:
            if state is not None:  # deleted since the scan
                self.store.delete_files([state.id])
            return "removed"
        except OSError as exc:
            reason = (
                "cannot read: permission denied"
                if isinstance(exc, PermissionError)
                else (f"cannot read: {exc.strerror or exc}")
            )
            self.store.put_problem(root_id, entry.relpath, entry.size, entry.mtime_ns, None, "failed", reason)
            return "failed"
        if st.st_size > self.size_limit:  # grew since the scan
            reason = (
                f"larger than the size limit ({format_size(st.st_size)} > {format_size(self.size_limit)})"
            )
            self.store.put_problem(
                root_id, entry.relpath, st.st_size, st.st_mtime_ns, None, "skipped", reason
            )
            return "skipped"
        digest = content_hash(data)
        if state is not None and state.content_hash == digest:
            self.store.touch(state.id, st.st_size, st.st_mtime_ns)
            return "unchanged"
        root = self.roots[entry.root]
        try:
            doc = self._parse(data, root.document_path(entry.relpath))
        except ParseError as exc:
            self.store.put_problem(
                root_id, entry.relpath, st.st_size, st.st_mtime_ns, digest, exc.status, exc.reason
            )
            return exc.status
        self.store.put_document(root_id, entry.relpath, st.st_size, st.st_mtime_ns, digest, doc)
        self.text_bytes += len(doc.text)
        return "parsed"

    def _parse(self, data: bytes, path: str) -> ParsedDocument:
        if self._is_pdf(path, data):
            if self._pdf_worker is None:
                self._pdf_worker = self._pdf_worker_factory()
            return self._pdf_worker.parse(data, path)
        try:
            return self._parse_file(data, path)
        except ParseError:
            raise
        except Exception as exc:  # noqa: BLE001 - a parser bug must cost one file, never the run
            log.exception("parser failed on %s", path)
            raise ParseError(f"parser error: {type(exc).__name__}: {exc}") from exc


def _fill_totals(report: IngestReport, store: Store) -> None:
    counts = store.counts()
    report.unchanged = counts["parsed"] - report.parsed
    report.skipped, report.failed = counts["skipped"], counts["failed"]
    report.documents, report.definitions, report.pdf_pages = (
        counts["documents"],
        counts["definitions"],
        counts["pdf_pages"],
    )
    report.problems = store.problems()


def ingest(
    paths: Sequence[str | os.PathLike[str]],
    *,
    size_limit: int = DEFAULT_SIZE_LIMIT,
    progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    db_path: str | os.PathLike[str] | None = None,
    batch_files: int = BATCH_FILES,
    **processor_options,
) -> IngestReport:
    """Create or refresh the project for `paths` (the first names it) and report what it holds now.

    Raises ScanError when a path does not exist. `should_stop` is polled between files: when it returns
    True the current batch is committed and the report comes back with `cancelled=True`.
    """
    started = time.perf_counter()
    roots = resolve_roots(paths)
    db_file = Path(db_path) if db_path is not None else project_db_path(roots[0].path)
    report = IngestReport(project=str(roots[0].path), db_path=str(db_file))
    with Store(db_file) as store:
        root_ids = store.set_roots(roots)
        states = store.file_states()
        found = list(scan(roots, size_limit=size_limit, rules=IgnoreRules()))
        seen = {(root_ids[item.root], item.relpath) for item in found}
        gone = [state.id for key, state in states.items() if key not in seen]
        if gone:
            store.delete_files(gone)
        with FileProcessor(store, roots, root_ids, size_limit=size_limit, **processor_options) as processor:
            _run(found, states, root_ids, processor, report, progress, should_stop, batch_files)
        _fill_totals(report, store)
    report.elapsed_s = time.perf_counter() - started
    return report


def _run(
    found: list[ScanEntry | ScanProblem],
    states: dict[tuple[int, str], FileState],
    root_ids: list[int],
    processor: FileProcessor,
    report: IngestReport,
    progress: Callable[[Progress], None] | None,
    should_stop: Callable[[], bool] | None,
    batch_files: int,
) -> None:
    store = processor.store
    position = 0
    while position < len(found) and not report.cancelled:
        processor.text_bytes = 0
        written = 0
        with store.batch():  # one transaction per batch of files
            while position < len(found) and written < batch_files and processor.text_bytes < BATCH_TEXT_BYTES:
                if should_stop is not None and should_stop():
                    report.cancelled = True
                    break
                item = found[position]
                position += 1
                state = states.get((root_ids[item.root], item.relpath))
                if isinstance(item, ScanProblem):
                    outcome = processor.record_problem(item, state)
                else:
                    outcome = processor.process(item, state)
                if outcome == "parsed":
                    report.parsed += 1
                if outcome != "unchanged":
                    written += 1
                if progress is not None:
                    progress(Progress(position, len(found), item.relpath, outcome))
