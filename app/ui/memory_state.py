"""What the window shows of a project's model memory, read without PyTorch: which documents are encoded (for
the file tree's "encoded" state) and how many tokens the memory holds and its size on disk (status bar).

The memory's index is read by app.core.memory_index through a read-only connection, so the GUI thread never
imports the model (app.core.indexing imports PyTorch, which would stall the window for seconds). A document is
encoded when the memory holds its `path NUL content-hash` key.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path

from app.core.memory_index import doc_key, memory_stats
from app.core.tasks import FileRow


@dataclass(frozen=True)
class MemoryState:
    encoded: frozenset[str]  # document paths whose current version is in the memory
    chunks: int
    tokens: int  # token slots held (whole chunks)
    bytes_on_disk: int


EMPTY = MemoryState(frozenset(), 0, 0, 0)


def memory_state(db_path: Path) -> MemoryState:
    """The memory beside a project database; EMPTY when there is none yet (or it cannot be read now)."""
    stats = memory_stats(db_path)
    if not stats.keys or not Path(db_path).is_file():
        return EMPTY
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=2) as store:
            current = store.execute("SELECT d.path, f.content_hash FROM documents d"
                                    " JOIN files f ON f.id = d.file_id").fetchall()
    except sqlite3.Error:  # being created right now: shown on the next refresh
        return EMPTY
    encoded = frozenset(path for path, content_hash in current if doc_key(path, content_hash) in stats.keys)
    return MemoryState(encoded, stats.chunks, stats.tokens, stats.bytes)


def with_encoded(rows: list[FileRow], state: MemoryState) -> list[FileRow]:
    """Parsed files whose current version the model has encoded show as "encoded"."""
    if not state.encoded:
        return rows
    return [replace(row, status="encoded") if row.status == "parsed" and row.path in state.encoded else row
            for row in rows]
