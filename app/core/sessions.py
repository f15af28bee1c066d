"""Chat sessions, stored with the project (a table of project.db): `ask --session NAME` continues one.

A follow-up puts the earlier turns into the question document (the chat format of the tokenizer), so the
corpus memory is reused as it is: only the question is new work.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.core.answer import Citation

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS chat_turns (id INTEGER PRIMARY KEY, session TEXT NOT NULL,"
    " question TEXT NOT NULL, answer TEXT NOT NULL, citations TEXT NOT NULL, created TEXT NOT NULL)"
)
DEFAULT_SESSION = "default"


@dataclass(frozen=True)
class Turn:
    question: str
    answer: str
    citations: list[Citation]
    created: str


@contextmanager
def _connect(db_path: str | Path) -> Iterator[sqlite3.Connection]:
    """A connection with the chat table in place, for one block: committed when it ends (rolled back on an
    error) and closed. Reading never writes (the table is made only if absent)."""
    conn = sqlite3.connect(str(db_path), timeout=30)
    try:
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'chat_turns'"
        if conn.execute(query).fetchone() is None:
            with conn:
                conn.execute(_SCHEMA)
                conn.execute("CREATE INDEX IF NOT EXISTS chat_turns_session ON chat_turns(session, id)")
        with conn:
            yield conn
    finally:
        conn.close()


def _citation(data: dict) -> Citation:
    return Citation(
        data["path"],
        data.get("start_line"),
        data.get("end_line"),
        data.get("page"),
        data.get("rects"),
        float(data.get("score", 0.0)),
        data.get("text", ""),
        data.get("abspath", ""),
    )


def list_sessions(db_path: str | Path) -> list[str]:
    """Session names, the most recently used first."""
    if not Path(db_path).exists():
        return []
    with _connect(db_path) as conn:
        rows = conn.execute(
            "SELECT session FROM chat_turns GROUP BY session ORDER BY max(id) DESC"
        ).fetchall()
    return [r[0] for r in rows]


def load_turns(db_path: str | Path, session: str) -> list[Turn]:
    if not Path(db_path).exists():
        return []
    with _connect(db_path) as conn:
        rows = conn.execute(
            "SELECT question, answer, citations, created FROM chat_turns WHERE session = ? ORDER BY id",
            (session,),
        ).fetchall()
    return [Turn(q, a, [_citation(c) for c in json.loads(cites)], created) for q, a, cites, created in rows]


def append_turn(
    db_path: str | Path, session: str, question: str, answer: str, citations: list[Citation]
) -> None:
    cites = json.dumps([{**c.to_json(), "abspath": c.abspath} for c in citations])
    with _connect(db_path) as conn:
        conn.execute(
            "INSERT INTO chat_turns (session, question, answer, citations, created) VALUES (?, ?, ?, ?, ?)",
            (session, question, answer, cites, datetime.now(UTC).isoformat(timespec="seconds")),
        )


def delete_session(db_path: str | Path, session: str) -> None:
    with _connect(db_path) as conn:
        conn.execute("DELETE FROM chat_turns WHERE session = ?", (session,))
