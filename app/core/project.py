"""Projects as the user sees them: one per primary root folder, listed from the user data directory."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass

from ingest.paths import DB_NAME, projects_dir
from ingest.store import Store


@dataclass(frozen=True)
class ProjectSummary:
    root: str
    documents: int
    tokens: int  # model encoding has not landed yet: 0
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
                summaries.append(
                    ProjectSummary(
                        str(roots[0].path), store.counts()["documents"], 0, 0, 0, store.last_updated()
                    )
                )
        except sqlite3.DatabaseError as exc:
            raise sqlite3.DatabaseError(f"{db_path}: {exc}") from exc
    return sorted(summaries, key=lambda s: s.root)
