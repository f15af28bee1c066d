"""The project database keeps documents, span maps, definitions and file states, and survives failures."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ingest.records import Definition, Heading, ParsedDocument, Span
from ingest.scan import resolve_roots
from ingest.store import Store

CODE = "pkg/mod.py\ndef f():\n    return 1\n\nclass C:\n    pass"


def code_doc() -> ParsedDocument:
    lines = CODE.split("\n")[1:]
    spans, pos = [], len("pkg/mod.py\n")
    for number, line in enumerate(lines, 1):
        spans.append(Span(pos, pos + len(line), line=number))
        pos += len(line) + 1
    return ParsedDocument(
        "pkg/mod.py",
        "code",
        "python",
        CODE,
        spans,
        [Definition("f", "function", "pkg.mod.f", 1, 2), Definition("C", "class", "pkg.mod.C", 4, 5)],
    )


def pdf_doc() -> ParsedDocument:
    text = "Intro line\nsecond line\n\nPage two"
    spans = [
        Span(0, 10, page=1, rect=(72.0, 72.0, 200.0, 84.0)),
        Span(11, 22, page=1, rect=(72.0, 86.0, 210.0, 98.0)),
        Span(24, 32, page=2, rect=(72.0, 72.0, 150.5, 84.25)),
    ]
    return ParsedDocument(
        "paper.pdf",
        "pdf",
        None,
        text,
        spans,
        headings=[Heading("Intro", 1, page=1)],
        pages=2,
        warnings=["repaired by MuPDF: text may be missing"],
    )


def lines(doc, start: int, end: int) -> tuple[int | None, int | None]:
    where = doc.locate(start, end)
    return where.start_line, where.end_line


@pytest.fixture
def store(tmp_path: Path):
    (tmp_path / "root").mkdir()
    with Store(tmp_path / "project.db") as s:
        s.root_ids = s.set_roots(resolve_roots([tmp_path / "root"]))
        yield s


def test_document_round_trip_and_line_lookup(store: Store) -> None:
    [root_id] = store.root_ids
    doc_id = store.put_document(root_id, "pkg/mod.py", 10, 123, "h1", code_doc())
    doc = store.document("pkg/mod.py")
    assert (doc.id, doc.kind, doc.language, doc.text) == (doc_id, "code", "python", CODE)
    assert doc.spans == code_doc().spans
    assert store.definitions(doc_id) == code_doc().definitions
    start = CODE.index("return")
    assert lines(store.document_by_id(doc_id), start, start + 6) == (2, 2)
    assert lines(doc, CODE.index("class"), len(CODE)) == (4, 5)
    assert lines(doc, CODE.index("f()"), CODE.index("class")) == (1, 3)  # the range ends on empty line 3
    assert lines(doc, CODE.index("f()"), CODE.index("class") - 1) == (1, 2)
    assert lines(doc, 0, 5) == (None, None)  # the path header is not a source line
    assert lines(doc, 0, CODE.index("def") + 3) == (1, 1)


def test_pdf_spans_map_to_pages_and_rectangles(store: Store) -> None:
    [root_id] = store.root_ids
    doc_id = store.put_document(root_id, "paper.pdf", 10, 1, "h", pdf_doc())
    doc = store.document_by_id(doc_id)
    assert doc.spans == pdf_doc().spans
    assert (doc.pages, doc.warnings) == (2, ["repaired by MuPDF: text may be missing"])
    assert store.headings(doc_id) == [Heading("Intro", 1, None, 1)]
    where = doc.locate(12, 30)  # from "second line" into page two
    assert where.page == 1 and where.start_line is None
    assert where.rects == [(1, (72.0, 86.0, 210.0, 98.0)), (2, (72.0, 72.0, 150.5, 84.25))]
    assert store.counts()["pdf_pages"] == 2


def test_replacing_and_deleting_a_file_removes_its_rows(store: Store) -> None:
    [root_id] = store.root_ids
    store.put_document(root_id, "pkg/mod.py", 10, 1, "h1", code_doc())
    store.put_document(
        root_id, "pkg/mod.py", 11, 2, "h2", code_doc()
    )  # re-parsed: replaces, never duplicates
    assert store.counts() == {
        "documents": 1,
        "definitions": 2,
        "pdf_pages": 0,
        "parsed": 1,
        "skipped": 0,
        "failed": 0,
    }
    store.put_problem(root_id, "pkg/mod.py", 12, 3, "h3", "failed", "parser error")
    assert store.counts()["documents"] == 0
    assert store.problems() == [{"path": "pkg/mod.py", "status": "failed", "reason": "parser error"}]
    state = store.file_state(root_id, "pkg/mod.py")
    store.delete_files([state.id])
    assert store.file_states() == {}
    assert store.db.execute("SELECT count(*) FROM definitions").fetchone()[0] == 0


def test_delete_under_removes_a_folder(store: Store) -> None:
    [root_id] = store.root_ids
    for rel in ("pkg/a.py", "pkg/sub/b.py", "pkgx/c.py"):
        store.put_document(root_id, rel, 1, 1, rel, code_doc())
    assert sorted(store.delete_under(root_id, "pkg")) == ["pkg/a.py", "pkg/sub/b.py"]
    assert list(store.file_states()) == [(root_id, "pkgx/c.py")]


def test_failed_batch_keeps_the_last_committed_state(store: Store) -> None:
    [root_id] = store.root_ids
    with store.batch():
        store.put_document(root_id, "a.py", 1, 1, "ha", code_doc())
    with pytest.raises(RuntimeError), store.batch():
        store.put_document(root_id, "b.py", 1, 1, "hb", code_doc())
        store.delete_files([store.file_state(root_id, "a.py").id])
        raise RuntimeError("crash in the middle of a batch")
    assert sorted(rel for _, rel in store.file_states()) == ["a.py"]
    assert store.counts()["documents"] == 1 and store.document("pkg/mod.py").text == CODE


def test_reopening_keeps_data_and_applies_migrations_once(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    with Store(tmp_path / "p.db") as store:
        [root_id] = store.set_roots(resolve_roots([tmp_path / "root"]))
        store.put_document(root_id, "pkg/mod.py", 1, 1, "h", code_doc())
    with Store(tmp_path / "p.db") as store:
        assert store.counts()["documents"] == 1
        applied = store.db.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0]
        assert applied == 1
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_dropping_a_root_drops_its_files(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    with Store(tmp_path / "p.db") as store:
        ids = store.set_roots(resolve_roots([tmp_path / "a", tmp_path / "b"]))
        store.put_document(ids[1], "mod.py", 1, 1, "h", code_doc())
        assert store.problems() == [] and store.counts()["documents"] == 1
        store.set_roots(resolve_roots([tmp_path / "a"]))
        assert store.counts()["documents"] == 0


def test_a_damaged_database_raises_a_database_error(tmp_path: Path) -> None:
    (tmp_path / "p.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(sqlite3.DatabaseError):
        Store(tmp_path / "p.db")
