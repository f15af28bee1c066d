"""The per-project SQLite database: roots, files, documents (text + packed span map), definitions, headings.

One `project.db` per project (see ingest/paths.py), opened through sqlite-utils in WAL mode. The schema
grows only by appending migrations. Writers group many files into one transaction (`Store.batch()`), so a
crash leaves the last committed batch intact and the next run resumes from it.

Span maps are stored packed, not one row per line: an (n, 4) int32 array of [start, end, line, page] per
span (0 = none; lines and pages are 1-based) and, for PDFs, an (n, 4) float32 array of line rectangles.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sqlite_utils

from ingest.records import Definition, Heading, ParsedDocument, Rect, Span
from ingest.scan import Root

migrations = sqlite_utils.Migrations("folio.ingest")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    for statement in (
        "CREATE TABLE roots (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, is_file INTEGER NOT NULL,"
        " position INTEGER NOT NULL)",
        "CREATE TABLE files (id INTEGER PRIMARY KEY,"
        " root_id INTEGER NOT NULL REFERENCES roots(id) ON DELETE CASCADE, relpath TEXT NOT NULL,"
        " size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, content_hash TEXT, status TEXT NOT NULL,"
        " reason TEXT, updated TEXT NOT NULL, UNIQUE (root_id, relpath))",
        "CREATE TABLE documents (id INTEGER PRIMARY KEY,"
        " file_id INTEGER NOT NULL UNIQUE REFERENCES files(id) ON DELETE CASCADE, path TEXT NOT NULL,"
        " kind TEXT NOT NULL, language TEXT, text TEXT NOT NULL, spans BLOB NOT NULL, span_rects BLOB,"
        " pages INTEGER NOT NULL DEFAULT 0, warnings TEXT NOT NULL DEFAULT '[]')",
        "CREATE INDEX documents_path ON documents(path)",
        "CREATE TABLE definitions (id INTEGER PRIMARY KEY,"
        " document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE, name TEXT NOT NULL,"
        " kind TEXT NOT NULL, qualified_name TEXT NOT NULL, start_line INTEGER NOT NULL,"
        " end_line INTEGER NOT NULL)",
        "CREATE INDEX definitions_document ON definitions(document_id)",
        "CREATE TABLE headings (id INTEGER PRIMARY KEY,"
        " document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE, title TEXT NOT NULL,"
        " level INTEGER NOT NULL, line INTEGER, page INTEGER)",
        "CREATE INDEX headings_document ON headings(document_id)",
    ):
        db.execute(statement)


@dataclass(frozen=True)
class FileState:
    """What the store remembers about one file, to decide whether it changed."""

    id: int
    root_id: int
    relpath: str
    size: int
    mtime_ns: int
    content_hash: str | None
    status: str
    reason: str | None


@dataclass(frozen=True)
class DocumentVersion:
    """A stored document as the model's memory knows it: its path, id and the hash of its file's content."""

    id: int
    path: str
    content_hash: str
    abspath: str  # the file on disk


@dataclass(frozen=True)
class SourceRange:
    """Where a character range of a document came from: lines for text and code, pages and boxes for PDFs."""

    start_line: int | None
    end_line: int | None
    page: int | None  # first page touched (1-based)
    rects: list[tuple[int, Rect]]  # (page, rectangle) of every PDF line touched


@dataclass
class StoredDocument:
    id: int
    path: str
    kind: str
    language: str | None
    text: str
    pages: int
    warnings: list[str]
    span_index: np.ndarray  # (n, 4) int32: start, end, line, page (0 = none)
    span_rects: np.ndarray | None  # (n, 4) float32 for PDFs

    @property
    def spans(self) -> list[Span]:
        rects = self.span_rects
        return [
            Span(
                int(s),
                int(e),
                int(line) or None,
                int(page) or None,
                tuple(float(v) for v in rects[i]) if rects is not None else None,
            )
            for i, (s, e, line, page) in enumerate(self.span_index)
        ]

    def rows_text(self, first: int, last: int) -> str:
        """The text of spans first..last (rows of span_index) as the file has it: a code or text document's
        lines joined by line ends, without the scope comments the model reads (ingest/scopes.py); a PDF's
        characters from the first span's start to the last one's end."""
        index = self.span_index
        if self.kind == "pdf":
            return self.text[int(index[first, 0]) : int(index[last, 1])]
        return "\n".join(self.text[int(s) : int(e)] for s, e in index[first : last + 1, :2])

    def locate(self, start: int, end: int) -> SourceRange:
        """Map characters [start, end) of the text to source lines, or to PDF pages and line boxes."""
        index = self.span_index
        if len(index) == 0 or end <= start:
            return SourceRange(None, None, None, [])
        starts, ends = index[:, 0], index[:, 1]
        first = max(int(np.searchsorted(starts, start, side="right")) - 1, 0)
        if ends[first] < start and first + 1 < len(index):
            first += 1  # start falls on a line break, a scope comment or the path header before the next span
        last = int(np.searchsorted(starts, end, side="left")) - 1
        if last < first:
            return SourceRange(None, None, None, [])
        lines = index[first : last + 1, 2]
        pages = index[first : last + 1, 3]
        lines, pages = lines[lines > 0], pages[pages > 0]
        rects: list[tuple[int, Rect]] = []
        if self.span_rects is not None:
            rects = [
                (int(index[i, 3]), tuple(float(v) for v in self.span_rects[i]))
                for i in range(first, last + 1)
            ]
        return SourceRange(
            int(lines.min()) if len(lines) else None,
            int(lines.max()) if len(lines) else None,
            int(pages.min()) if len(pages) else None,
            rects,
        )


def pack_spans(spans: Sequence[Span]) -> tuple[bytes, bytes | None]:
    index = np.array([(s.start, s.end, s.line or 0, s.page or 0) for s in spans], dtype=np.int32).reshape(
        -1, 4
    )
    rects = None
    if any(s.rect is not None for s in spans):
        rects = np.array([s.rect or (0.0, 0.0, 0.0, 0.0) for s in spans], dtype=np.float32).reshape(-1, 4)
    return index.tobytes(), (rects.tobytes() if rects is not None else None)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Store:
    """One project's database. Safe to use from one thread at a time (the watcher opens its own)."""

    def __init__(self, db_path: str | Path):
        self.path = Path(db_path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        self.db = sqlite_utils.Database(conn)
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute("PRAGMA synchronous = NORMAL")  # with WAL: a process crash never loses a commit
        self.db.enable_wal()
        migrations.apply(self.db)
        self._lock = threading.RLock()
        self._depth = 0  # nesting of batch()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction: everything written inside is committed together, or not at all.

        BEGIN IMMEDIATE takes SQLite's write lock up front, so a writer in another process makes this one
        wait (up to the connection timeout) instead of failing at its first write; nested batches join
        the outer transaction."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            conn = self.db.conn
            conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._depth = 0
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            self._depth = 0
            conn.execute("COMMIT")

    # roots -------------------------------------------------------------------------------------------

    def set_roots(self, roots: Sequence[Root]) -> list[int]:
        """Make `roots` the project's roots (in order); files of roots no longer named are deleted."""
        with self.batch():
            wanted = [str(root.path) for root in roots]
            for row in list(self.db.query("SELECT id, path FROM roots")):
                if row["path"] not in wanted:
                    self.db.execute("DELETE FROM roots WHERE id = ?", [row["id"]])
            ids = []
            for position, root in enumerate(roots):
                cursor = self.db.execute(
                    "INSERT INTO roots (path, is_file, position) VALUES (?, ?, ?) ON CONFLICT(path) DO UPDATE"
                    " SET is_file = excluded.is_file, position = excluded.position RETURNING id",
                    [str(root.path), int(root.is_file), position],
                )
                ids.append(cursor.fetchone()[0])
            return ids

    def roots(self) -> list[Root]:
        rows = self.db.query("SELECT path, is_file, position FROM roots ORDER BY position")
        return [Root(Path(r["path"]), bool(r["is_file"]), primary=r["position"] == 0) for r in rows]

    # files -------------------------------------------------------------------------------------------

    def file_states(self) -> dict[tuple[int, str], FileState]:
        rows = self.db.execute(
            "SELECT id, root_id, relpath, size, mtime_ns, content_hash, status, reason FROM files"
        )
        return {(r[1], r[2]): FileState(*r) for r in rows}

    def file_state(self, root_id: int, relpath: str) -> FileState | None:
        row = self.db.execute(
            "SELECT id, root_id, relpath, size, mtime_ns, content_hash, status, reason FROM files"
            " WHERE root_id = ? AND relpath = ?",
            [root_id, relpath],
        ).fetchone()
        return FileState(*row) if row else None

    def _put_file(
        self,
        root_id: int,
        relpath: str,
        size: int,
        mtime_ns: int,
        content_hash: str | None,
        status: str,
        reason: str | None,
    ) -> int:
        cursor = self.db.execute(
            """INSERT INTO files (root_id, relpath, size, mtime_ns, content_hash, status, reason, updated)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(root_id, relpath) DO UPDATE SET size = excluded.size,
            mtime_ns = excluded.mtime_ns, content_hash = excluded.content_hash, status = excluded.status,
            reason = excluded.reason, updated = excluded.updated RETURNING id""",
            [root_id, relpath, size, mtime_ns, content_hash, status, reason, _now()],
        )
        file_id = cursor.fetchone()[0]
        self.db.execute("DELETE FROM documents WHERE file_id = ?", [file_id])
        return file_id

    def put_document(
        self, root_id: int, relpath: str, size: int, mtime_ns: int, content_hash: str, doc: ParsedDocument
    ) -> int:
        """Store a parsed file, replacing whatever was stored for it. Returns the document id."""
        with self.batch():
            file_id = self._put_file(root_id, relpath, size, mtime_ns, content_hash, "parsed", None)
            spans, rects = pack_spans(doc.spans)
            cursor = self.db.execute(
                "INSERT INTO documents"
                " (file_id, path, kind, language, text, spans, span_rects, pages, warnings)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    file_id,
                    doc.path,
                    doc.kind,
                    doc.language,
                    doc.text,
                    spans,
                    rects,
                    doc.pages,
                    json.dumps(doc.warnings),
                ],
            )
            document_id = cursor.lastrowid
            self.db.conn.executemany(
                "INSERT INTO definitions (document_id, name, kind, qualified_name, start_line, end_line)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (document_id, d.name, d.kind, d.qualified_name, d.start_line, d.end_line)
                    for d in doc.definitions
                ],
            )
            self.db.conn.executemany(
                "INSERT INTO headings (document_id, title, level, line, page) VALUES (?, ?, ?, ?, ?)",
                [(document_id, h.title, h.level, h.line, h.page) for h in doc.headings],
            )
            return document_id

    def put_problem(
        self,
        root_id: int,
        relpath: str,
        size: int,
        mtime_ns: int,
        content_hash: str | None,
        status: str,
        reason: str,
    ) -> None:
        """Record a skipped or failed file (its old document, if any, is removed)."""
        with self.batch():
            self._put_file(root_id, relpath, size, mtime_ns, content_hash, status, reason)

    def touch(self, file_id: int, size: int, mtime_ns: int) -> None:
        """The file was rewritten with the same content: remember the new stat so it is not hashed again."""
        with self.batch():
            self.db.execute("UPDATE files SET size = ?, mtime_ns = ? WHERE id = ?", [size, mtime_ns, file_id])

    def delete_files(self, file_ids: Sequence[int]) -> None:
        """Delete files with their documents, definitions and headings, in one transaction."""
        with self.batch():
            self.db.conn.executemany("DELETE FROM files WHERE id = ?", [(i,) for i in file_ids])

    def delete_under(self, root_id: int, relpath: str) -> list[str]:
        """Delete a file or every file under a folder (a removed folder); returns the relpaths deleted."""
        with self.batch():
            rows = self.db.execute(
                "SELECT id, relpath FROM files"  # a range below the folder ("/" < "0"): the index serves it
                " WHERE root_id = ? AND (relpath = ? OR (relpath >= ? AND relpath < ?))",
                [root_id, relpath, relpath + "/", relpath + "0"],
            ).fetchall()
            self.db.conn.executemany("DELETE FROM files WHERE id = ?", [(r[0],) for r in rows])
        return [r[1] for r in rows]

    # reading -----------------------------------------------------------------------------------------

    def document(self, path: str) -> StoredDocument | None:
        """A stored document by the path a user sees (e.g. "pkg/mod.py"), or None."""
        row = self.db.execute(
            "SELECT id FROM documents WHERE path = ? ORDER BY id LIMIT 1", [path]
        ).fetchone()
        return self.document_by_id(row[0]) if row else None

    def document_by_id(self, document_id: int) -> StoredDocument | None:
        row = self.db.execute(
            "SELECT id, path, kind, language, text, pages, warnings, spans, span_rects FROM documents"
            " WHERE id = ?",
            [document_id],
        ).fetchone()
        if row is None:
            return None
        index = np.frombuffer(row[7], dtype=np.int32).reshape(-1, 4)
        rects = np.frombuffer(row[8], dtype=np.float32).reshape(-1, 4) if row[8] is not None else None
        return StoredDocument(
            row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]), index, rects
        )

    def document_versions(self) -> list[DocumentVersion]:
        """Every stored document with the hash of the content it was parsed from, ordered by path."""
        rows = self.db.execute(
            "SELECT documents.id, documents.path, files.content_hash, roots.path, roots.is_file,"
            " files.relpath FROM documents JOIN files ON files.id = documents.file_id"
            " JOIN roots ON roots.id = files.root_id"
            " ORDER BY documents.path, documents.id"
        )
        return [
            DocumentVersion(r[0], r[1], r[2] or "", r[3] if r[4] else os.path.join(r[3], *r[5].split("/")))
            for r in rows
        ]

    def definitions(self, document_id: int) -> list[Definition]:
        rows = self.db.execute(
            "SELECT name, kind, qualified_name, start_line, end_line FROM definitions WHERE document_id = ?"
            " ORDER BY id",
            [document_id],
        )
        return [Definition(*r) for r in rows]

    def headings(self, document_id: int) -> list[Heading]:
        rows = self.db.execute(
            "SELECT title, level, line, page FROM headings WHERE document_id = ? ORDER BY id", [document_id]
        )
        return [Heading(*r) for r in rows]

    def counts(self) -> dict[str, int]:
        """Totals for the whole project: documents, definitions, PDF pages and files by status."""
        documents, pdf_pages = self.db.execute(
            "SELECT count(*), coalesce(sum(CASE WHEN kind = 'pdf' THEN pages END), 0) FROM documents"
        ).fetchone()
        definitions = self.db.execute("SELECT count(*) FROM definitions").fetchone()[0]
        by_status = dict(self.db.execute("SELECT status, count(*) FROM files GROUP BY status").fetchall())
        return {
            "documents": documents,
            "definitions": definitions,
            "pdf_pages": pdf_pages,
            "parsed": by_status.get("parsed", 0),
            "skipped": by_status.get("skipped", 0),
            "failed": by_status.get("failed", 0),
        }

    def problems(self) -> list[dict[str, str]]:
        """Every skipped or failed file, with its reason, as the user sees it."""
        rows = self.db.execute(
            "SELECT roots.path, roots.is_file, roots.position, files.relpath, files.status, files.reason"
            " FROM files JOIN roots ON roots.id = files.root_id WHERE files.status != 'parsed'"
            " ORDER BY roots.position, files.relpath"
        )
        return [
            {
                "path": Root(Path(r[0]), bool(r[1]), r[2] == 0).document_path(r[3]),
                "status": r[4],
                "reason": r[5],
            }
            for r in rows
        ]

    def last_updated(self) -> str | None:
        return self.db.execute("SELECT max(updated) FROM files").fetchone()[0]
