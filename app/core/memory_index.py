"""A project's model memory as the rest of the app names and sizes it, without loading PyTorch.

The memory (model/memory_disk.py) lives in `memory/` beside project.db and holds each document under the key
`path NUL content-hash`, so the store and the memory agree on a document exactly when its key is there.
`memory_stats` reads the memory's SQLite index read-only: `projects`, the status bar and the file tree's
"encoded" state use it without importing the model.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from model.memory_disk import INDEX_NAME, PAGES_DIR

MEMORY_DIR = "memory"


def doc_key(path: str, content_hash: str) -> str:
    return f"{path}\x00{content_hash}"


def key_path(key: str) -> str:
    return key.split("\x00", 1)[0]


def memory_folder(db_path: str | Path) -> Path:
    return Path(db_path).parent / MEMORY_DIR


@dataclass(frozen=True)
class MemoryStats:
    keys: frozenset[str]  # the documents held, as doc_key(path, content_hash)
    chunks: int
    tokens: int  # token slots (whole chunks)
    bytes: int  # index and page files on disk

    @property
    def documents(self) -> int:
        return len(self.keys)


EMPTY = MemoryStats(frozenset(), 0, 0, 0)


def memory_stats(db_path: str | Path) -> MemoryStats:
    """What the memory beside a project database holds; EMPTY when there is none yet, or while it is being
    created or rebuilt (the next read shows it)."""
    folder = memory_folder(db_path)
    index = folder / INDEX_NAME
    if not index.is_file():
        return EMPTY
    try:
        conn = sqlite3.connect(f"file:{index}?mode=ro", uri=True, timeout=2)
        try:
            rows = conn.execute("SELECT key, chunks FROM docs").fetchall()
            chunk_size = conn.execute("SELECT chunk_size FROM meta").fetchone()[0]
        finally:
            conn.close()
    except (sqlite3.Error, TypeError):
        return EMPTY
    size = 0
    for file in [*folder.glob(INDEX_NAME + "*"), *(folder / PAGES_DIR).glob("*.page")]:
        try:
            size += file.stat().st_size
        except OSError:
            pass  # a WAL file checkpointed away between the listing and the stat
    chunks = sum(count for _, count in rows)
    return MemoryStats(frozenset(key for key, _ in rows), chunks, chunks * chunk_size, size)
