"""What the window shows of a project's model memory, read without PyTorch: which documents are encoded (for
the file tree's "encoded" state) and how many tokens the memory holds and its size on disk (status bar).

The memory's index is an SQLite file (model/memory_disk.py) read here through a read-only connection, so the
GUI thread never imports the model (app.core.indexing imports PyTorch, which would stall the window for
seconds). A document is encoded when the memory holds its `path NUL content-hash` key (app.core.indexing).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path

from app.core.tasks import FileRow
from model.memory_disk import INDEX_NAME, PAGES_DIR

MEMORY_DIR = "memory"  # app.core.indexing.MEMORY_DIR (a test keeps the two equal)


@dataclass(frozen=True)
class MemoryState:
    encoded: frozenset[str]  # document paths whose current version is in the memory
    chunks: int
    tokens: int  # token slots held (whole chunks)
    bytes_on_disk: int


EMPTY = MemoryState(frozenset(), 0, 0, 0)


def memory_state(db_path: Path) -> MemoryState:
    """The memory beside a project database; EMPTY when there is none yet (or it cannot be read now)."""
    folder = Path(db_path).parent / MEMORY_DIR
    index = folder / INDEX_NAME
    if not index.is_file() or not Path(db_path).is_file():
        return EMPTY
    try:
        with sqlite3.connect(f"file:{index}?mode=ro", uri=True, timeout=2) as memory:
            keys = memory.execute("SELECT key, chunks FROM docs").fetchall()
            chunk_size = memory.execute("SELECT chunk_size FROM meta").fetchone()[0]
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=2) as store:
            current = store.execute("SELECT d.path, f.content_hash FROM documents d"
                                    " JOIN files f ON f.id = d.file_id").fetchall()
    except (sqlite3.Error, TypeError):  # being created or rebuilt right now: shown on the next refresh
        return EMPTY
    held = {key for key, _ in keys}
    encoded = frozenset(path for path, content_hash in current if f"{path}\x00{content_hash}" in held)
    chunks = sum(count for _, count in keys)
    files = [*folder.glob(INDEX_NAME + "*"), *(folder / PAGES_DIR).glob("*.page")]
    size = 0
    for file in files:
        try:
            size += file.stat().st_size
        except OSError:
            pass  # a WAL file checkpointed away between the listing and the stat
    return MemoryState(encoded, chunks, chunks * chunk_size, size)


def with_encoded(rows: list[FileRow], state: MemoryState) -> list[FileRow]:
    """Parsed files whose current version the model has encoded show as "encoded"."""
    if not state.encoded:
        return rows
    return [replace(row, status="encoded") if row.status == "parsed" and row.path in state.encoded else row
            for row in rows]
