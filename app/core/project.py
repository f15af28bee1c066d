"""Projects as the user sees them: one per primary root folder, listed from the user data directory."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from app.core.memory_index import memory_stats
from ingest.paths import DB_NAME, project_db_path, projects_dir
from ingest.scan import resolve_roots
from ingest.store import Store


@dataclass(frozen=True)
class ProjectSummary:
    root: str
    documents: int
    tokens: int  # token slots held in the model memory (whole 64-token chunks)
    chunks: int
    memory_bytes: int
    updated: str | None  # ISO time of the last file change stored

    def to_json(self) -> dict:
        return asdict(self)


def list_projects() -> list[ProjectSummary]:
    """Every project under the data directory, sorted by root. A damaged database is reported, not hidden."""
    folder = projects_dir()
    summaries = []
    for db_path in sorted(folder.glob(f"*/{DB_NAME}")) if folder.is_dir() else []:
        try:
            with Store(db_path) as store:
                roots = store.roots()
                if not roots:
                    continue  # created, but interrupted before its roots were stored
                stats = memory_stats(db_path)
                summaries.append(
                    ProjectSummary(
                        str(roots[0].path),
                        store.counts()["documents"],
                        stats.tokens,
                        stats.chunks,
                        stats.bytes,
                        store.last_updated(),
                    )
                )
        except sqlite3.DatabaseError as exc:
            raise sqlite3.DatabaseError(f"{db_path}: {exc}") from exc
    return sorted(summaries, key=lambda s: s.root)


def project_paths(paths: Sequence[str | os.PathLike[str]]) -> list[str]:
    """The paths a command-line run works on: those given, then every other root the project already has.

    `ingest A` after `ingest A B` (or after a folder was added in the window) refreshes the whole project
    rather than dropping B: only the window's "remove folder" takes a root away. A stored root that no
    longer exists on disk is left out, so its files leave the project. Raises ScanError for a bad PATH.
    """
    given = [str(root.path) for root in resolve_roots(paths)]
    db_path = project_db_path(given[0])
    if not db_path.exists():
        return given
    with Store(db_path) as store:
        stored = [str(root.path) for root in store.roots()]
    return [*given, *[path for path in stored if path not in given and os.path.exists(path)]]
