"""What the window asks of the core, without Qt: projects and their files as plain records, and ingest runs.

The window reads project databases through read-only connections (so it can list files while an ingest is
writing to the same database) and runs `ingest_task` on a worker thread with a progress callback and a stop
flag. `ProgressMeter` turns the pipeline's per-file progress into what a progress bar shows: counts, files
per second and time left.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ingest.paths import DB_NAME, project_db_path, projects_dir
from ingest.pipeline import IngestReport, Progress, ingest
from ingest.records import Definition, Heading, Rect
from ingest.scan import Root
from ingest.store import SourceRange, Store, StoredDocument

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
SAMPLE_DIR = RESOURCES / "sample"


def sample_project_paths() -> list[str]:
    """The bundled sample: a small Python/JS library plus a contract PDF added as a single file."""
    return [str(SAMPLE_DIR / "textstats"), str(SAMPLE_DIR / "services-agreement.pdf")]


@dataclass(frozen=True)
class RootInfo:
    path: str
    is_file: bool
    primary: bool


@dataclass(frozen=True)
class FileRow:
    """One file of a project as the tree shows it."""

    root: RootInfo
    relpath: str  # relative to its root (POSIX)
    path: str  # the document path a user sees (prefixed by the root's name for non-primary roots)
    status: str  # parsed | skipped | failed
    reason: str | None
    size: int
    kind: str | None  # code | text | pdf (None unless parsed)
    language: str | None
    pages: int
    definitions: int

    @property
    def abspath(self) -> str:
        return self.root.path if self.root.is_file else os.path.join(self.root.path, *self.relpath.split("/"))


@dataclass
class ProjectInfo:
    root: str  # the primary root: it names the project
    roots: list[RootInfo]
    db_path: Path
    documents: int = 0
    definitions: int = 0
    files: dict[str, int] = field(default_factory=dict)  # status -> count
    db_bytes: int = 0
    error: str | None = None  # the database could not be read

    @property
    def name(self) -> str:
        return Path(self.root).name or self.root

    @property
    def paths(self) -> list[str]:
        return [root.path for root in self.roots]


def db_size(db_path: Path) -> int:
    """Bytes on disk of the database with its write-ahead log."""
    total = 0
    for suffix in ("", "-wal", "-shm"):
        try:
            total += os.stat(f"{db_path}{suffix}").st_size
        except OSError:
            pass  # no WAL yet (or already checkpointed away)
    return total


@contextmanager
def _connect(db_path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to a project database, closed when the block ends."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    try:
        yield conn
    finally:
        conn.close()


def _roots(conn: sqlite3.Connection) -> list[RootInfo]:
    rows = conn.execute("SELECT path, is_file, position FROM roots ORDER BY position").fetchall()
    return [RootInfo(path, bool(is_file), position == 0) for path, is_file, position in rows]


def read_project(db_path: Path) -> ProjectInfo | None:
    """A project's summary from its database; None when it has no roots yet (or no database at all)."""
    if not db_path.is_file():
        return None
    try:
        with _connect(db_path) as conn:
            conn.execute("BEGIN")  # one snapshot: the counts belong together (see project_files)
            roots = _roots(conn)
            if not roots:
                return None
            documents = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
            definitions = conn.execute("SELECT count(*) FROM definitions").fetchone()[0]
            files = dict(conn.execute("SELECT status, count(*) FROM files GROUP BY status").fetchall())
    except sqlite3.Error as exc:
        name = db_path.parent.name
        error = f"cannot read {db_path}: {exc}"
        return ProjectInfo(name, [], db_path, db_bytes=db_size(db_path), error=error)
    return ProjectInfo(roots[0].path, roots, db_path, documents, definitions, files, db_size(db_path))


def find_projects() -> list[ProjectInfo]:
    """Every project under the user data directory, by name."""
    folder = projects_dir()
    found = [read_project(db) for db in sorted(folder.glob(f"*/{DB_NAME}"))] if folder.is_dir() else []
    return sorted((p for p in found if p is not None), key=lambda p: (p.name.lower(), p.root))


def project_for(paths: Sequence[str]) -> ProjectInfo | None:
    """The stored project whose primary root is `paths[0]`, if it has been ingested before."""
    return read_project(project_db_path(paths[0]))


def project_files(db_path: Path) -> list[FileRow]:
    """Every file of the project with its state, in root order then path order."""
    try:
        with _connect(db_path) as conn:
            # one read transaction: an ingest that adds a root between the two reads must not show its files
            # without their root (WAL: the snapshot is taken at the first read and kept until the end)
            conn.execute("BEGIN")
            roots = {row[0]: RootInfo(row[1], bool(row[2]), row[3] == 0)
                     for row in conn.execute("SELECT id, path, is_file, position FROM roots")}
            rows = conn.execute(
                "SELECT f.root_id, f.relpath, f.status, f.reason, f.size, d.kind, d.language, d.pages,"
                " (SELECT count(*) FROM definitions WHERE document_id = d.id)"
                " FROM files f LEFT JOIN documents d ON d.file_id = f.id").fetchall()
    except sqlite3.Error:
        return []  # the database is being created right now: nothing to show yet
    files = []
    for root_id, relpath, status, reason, size, kind, language, pages, definitions in rows:
        root = roots[root_id]
        shown = Root(Path(root.path), root.is_file, root.primary).document_path(relpath)
        files.append(FileRow(root, relpath, shown, status, reason, size, kind, language, pages or 0,
                             definitions))
    order = {info.path: index for index, info in enumerate(roots.values())}  # ids follow the roots' order
    return sorted(files, key=lambda f: (not f.root.primary, order[f.root.path], f.relpath))


@dataclass
class DocumentDetails:
    """What the details pane and the viewer need about one parsed file."""

    document: StoredDocument
    definitions: list[Definition]
    headings: list[Heading]


def document_details(db_path: Path, path: str) -> DocumentDetails | None:
    """The stored document for a document path, with its definitions and headings (None if not parsed)."""
    with Store(db_path) as store:
        document = store.document(path)
        if document is None:
            return None
        return DocumentDetails(document, store.definitions(document.id), store.headings(document.id))


def find_on_page(document: StoredDocument, needle: str, page: int | None = None) -> SourceRange | None:
    """Where `needle` first occurs in the document (on `page` when given): lines, page and PDF boxes."""
    start = 0
    while (start := document.text.find(needle, start)) >= 0:
        found = document.locate(start, start + len(needle))
        if page is None or found.page == page:
            return found
        start += 1
    return None


def search_document(document: StoredDocument, needle: str) -> list[tuple[int, list[Rect]]]:
    """Case-insensitive matches of `needle` in a PDF's text, where a line break counts as a space (so a
    phrase that wraps is one match): (page, line boxes on that page) for each."""
    haystack, needle = document.text.replace("\n", " ").casefold(), " ".join(needle.split()).casefold()
    matches: list[tuple[int, list[Rect]]] = []
    start = haystack.find(needle) if needle else -1
    while start >= 0:
        found = document.locate(start, start + len(needle))
        if found.page is not None:
            matches.append((found.page, [rect for page, rect in found.rects if page == found.page]))
        start = haystack.find(needle, start + len(needle))
    return matches


# ingest ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestProgress:
    """A progress bar's view of an ingest run."""

    done: int
    total: int
    path: str
    outcomes: dict[str, int]
    files_per_s: float
    seconds_left: float | None

    @property
    def text(self) -> str:
        if self.total == 0:
            return "Scanning…"
        parts = [f"{self.done:,} of {self.total:,} files"]
        if self.files_per_s > 0:
            parts.append(f"{self.files_per_s:,.0f} files/s" if self.files_per_s >= 10
                         else f"{self.files_per_s:.1f} files/s")
        if self.seconds_left is not None:
            parts.append(f"{format_duration(self.seconds_left)} left")
        return " · ".join(parts)


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class ProgressMeter:
    """Files per second over the last few seconds (so a run of unchanged files does not skew it) and ETA."""

    def __init__(self, window_s: float = 3.0, clock: Callable[[], float] = time.monotonic):
        self.window_s = window_s
        self.clock = clock
        self.samples: deque[tuple[float, int]] = deque()
        self.outcomes: Counter[str] = Counter()

    def update(self, progress: Progress) -> IngestProgress:
        now = self.clock()
        self.outcomes[progress.outcome] += 1
        self.samples.append((now, progress.done))
        while len(self.samples) > 2 and now - self.samples[0][0] > self.window_s:
            self.samples.popleft()
        first_time, first_done = self.samples[0]
        elapsed = now - first_time
        rate = (progress.done - first_done) / elapsed if elapsed > 0.05 else 0.0
        left = (progress.total - progress.done) / rate if rate > 0 else None
        return IngestProgress(progress.done, progress.total, progress.path, dict(self.outcomes), rate, left)


def ingest_task(paths: Sequence[str], db_path: Path | None, report_progress: Callable[[Progress], None],
                should_stop: Callable[[], bool]) -> IngestReport:
    """Bring the project for `paths` up to date (an existing project keeps its database via `db_path`)."""
    return ingest(list(paths), db_path=db_path, progress=report_progress, should_stop=should_stop)


PROBE_DEVICE_CODE = "import sys; from app.core.tasks import probe_device; print(probe_device(sys.argv[1]))"


def probe_device(preference: str) -> str:
    """What the model would run on, for the status bar. Importing torch takes seconds (and holds the GIL
    while it does), so the window runs this in a child process: `python -c` with PROBE_DEVICE_CODE."""
    import torch

    if preference == "cpu":
        return "CPU (chosen in Settings)"
    if torch.cuda.is_available():
        return f"CUDA · {torch.cuda.get_device_name(0)}"
    return "CPU (no CUDA GPU found)" if preference == "cuda" else "CPU"

