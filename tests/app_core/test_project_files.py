"""The file list the window shows is read in one snapshot of the project database, so a root that an ingest
adds while it is being read never shows up half (its files without their root)."""

import sqlite3
from contextlib import contextmanager
from pathlib import Path

from app.core import tasks
from ingest.pipeline import ingest


class WriteBetweenReads:
    """A read-only connection to the project database that lets another ingest commit after its first read,
    as the window's refresh can meet one (the file list is read while a dropped file's ingest runs)."""

    def __init__(self, conn: sqlite3.Connection, write):
        self.conn, self.write, self.reads = conn, write, 0

    def execute(self, sql: str, *args):
        cursor = self.conn.execute(sql, *args)
        if sql.lstrip().upper().startswith("SELECT"):
            self.reads += 1
            if self.reads == 1:
                self.write()
        return cursor


def test_the_file_list_is_one_snapshot_while_an_ingest_adds_a_root(tmp_path: Path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "a.py").write_text("def a():\n    return 1\n")
    (second / "b.txt").write_text("Loose notes.\n")
    db = tmp_path / "project.db"
    ingest([str(first)], db_path=db)
    opened = tasks._connect

    @contextmanager
    def connect(path):
        with opened(path) as conn:
            yield WriteBetweenReads(conn, lambda: ingest([str(first), str(second)], db_path=db))

    monkeypatch.setattr(tasks, "_connect", connect)
    shown = tasks.project_files(db)  # before the fix: KeyError, b.txt's root not among the roots read
    assert [row.relpath for row in shown] == ["a.py"]
    monkeypatch.setattr(tasks, "_connect", opened)
    assert sorted(row.relpath for row in tasks.project_files(db)) == ["a.py", "b.txt"]  # the next refresh
