"""`ingest()` end to end: counts a user sees, bad input that must not crash, resuming after interruption."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import ingest.pipeline as pipeline
from ingest.paths import project_db_path
from ingest.pipeline import ingest
from ingest.scan import ScanError
from ingest.store import Store

PY = "import os\n\n\ndef top():\n    return 1\n\n\nclass Shape:\n    def area(self):\n        return 0\n"


def write(path: Path, content: str | bytes = PY) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def problems(report) -> dict[str, str]:
    return {p["path"]: f"{p['status']}: {p['reason']}" for p in report.problems}


def open_store(root: Path) -> Store:
    return Store(project_db_path(root))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    write(root / "pkg" / "shapes.py")
    write(root / "README.md", "# Project\n\nSome words.\n")
    write(root / "node_modules" / "dep" / "index.js", "function hidden() {}\n")
    write(root / ".gitignore", "*.log\n")
    write(root / "debug.log", "noise\n")
    return root


def test_first_ingest_reports_what_it_stored(tree: Path) -> None:
    report = ingest([tree])
    data = report.to_json()
    assert set(data) == {
        "project",
        "files",
        "documents",
        "definitions",
        "pdf_pages",
        "tokens",
        "chunks",
        "memory_bytes",
        "problems",
        "elapsed_s",
    }
    assert data["project"] == str(tree)
    assert data["files"] == {"parsed": 3, "unchanged": 0, "skipped": 0, "failed": 0}  # .gitignore, README, py
    assert (data["documents"], data["definitions"], data["pdf_pages"]) == (3, 3, 0)  # top, Shape, Shape.area
    assert (data["tokens"], data["chunks"], data["memory_bytes"]) == (0, 0, 0)  # app.core fills these in
    with open_store(tree) as store:
        doc = store.document("pkg/shapes.py")
        # what the model reads: the path, then the file with the method's scope comment (ingest/scopes.py)
        assert doc.text == "pkg/shapes.py\n" + PY.replace("def area(self):", "def area(self):  # Shape.area")
        assert {d.name: (d.start_line, d.end_line) for d in store.definitions(doc.id)} == {
            "top": (4, 5),
            "Shape": (8, 10),
            "area": (9, 10),
        }
        where = doc.locate(doc.text.index("def area"), doc.text.index("return 0"))
        assert (where.start_line, where.end_line) == (9, 10)


def test_unchanged_rescan_reads_and_parses_nothing(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest([tree])
    reads: list[str] = []
    real_read = pipeline.read_file
    monkeypatch.setattr(pipeline, "read_file", lambda p: reads.append(p) or real_read(p))
    report = ingest([tree])
    assert report.to_json()["files"] == {"parsed": 0, "unchanged": 3, "skipped": 0, "failed": 0}
    assert (report.documents, report.definitions) == (3, 3)
    assert reads == []


def test_touched_file_is_hashed_but_not_parsed_again(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest([tree])
    target = tree / "pkg" / "shapes.py"
    os.utime(target, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    report = ingest([tree])
    assert (report.parsed, report.unchanged) == (0, 3)
    reads: list[str] = []
    real_read = pipeline.read_file
    monkeypatch.setattr(pipeline, "read_file", lambda p: reads.append(p) or real_read(p))
    ingest([tree])
    assert reads == []  # the new mtime was remembered


def test_changed_and_removed_files(tree: Path) -> None:
    ingest([tree])
    write(tree / "pkg" / "shapes.py", "def only():\n    pass\n")
    (tree / "README.md").unlink()
    report = ingest([tree])
    assert report.to_json()["files"] == {"parsed": 1, "unchanged": 1, "skipped": 0, "failed": 0}
    assert (report.documents, report.definitions) == (2, 1)
    with open_store(tree) as store:
        assert store.document("README.md") is None
        assert store.document("pkg/shapes.py").text == "pkg/shapes.py\ndef only():\n    pass\n"


def test_bad_input_never_crashes_and_every_problem_has_a_reason(tmp_path: Path) -> None:
    root = tmp_path / "bad"
    write(root / "binary.py", b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)))
    write(root / "big.txt", "x" * 5000)
    write(root / "latin1.txt", "caf\xe9 cr\xe8me\n".encode("latin-1"))
    write(root / "ok.py", "def ok():\n    pass\n")
    os.symlink("loop", root / "loop")
    os.symlink(tmp_path, root / "outside")
    report = ingest([root], size_limit=4096)
    assert problems(report) == {
        "big.txt": "skipped: larger than the size limit (4.9 KB > 4.0 KB)",
        "binary.py": "skipped: binary content (NUL byte at offset 7)",
        "loop": "skipped: symlink loop",
        "outside": f"skipped: symlink points outside the project ({tmp_path})",
    }
    assert report.to_json()["files"] == {"parsed": 2, "unchanged": 0, "skipped": 4, "failed": 0}
    with open_store(root) as store:
        latin = store.document("latin1.txt")
        assert latin.text.startswith("latin1.txt\ncaf")  # invalid UTF-8 still becomes a readable document
        assert len(latin.spans) == 1


def test_zero_byte_file(tmp_path: Path) -> None:
    write(tmp_path / "empty.py", b"")
    write(tmp_path / "ok.py", "x = 1\n")
    report = ingest([tmp_path])
    assert problems(report) == {"empty.py": "skipped: empty file"}
    assert report.to_json()["files"] == {"parsed": 1, "unchanged": 0, "skipped": 1, "failed": 0}
    write(tmp_path / "empty.py", "def filled():\n    pass\n")
    report = ingest([tmp_path])
    assert (report.parsed, report.problems, report.definitions) == (1, [], 1)


def minified_bundle(size: int) -> tuple[str, int]:
    """One line of minified JavaScript of about `size` characters, and how many named functions it has."""
    units = []
    while sum(map(len, units)) < size:
        i = len(units)
        units.append(
            f"function n{i}(e,t){{var r=e.map(function(o){{return o*t+{i}}});return r.length>0?r:null}}"
            f'var v{i}=n{i}([1,2,3],{i % 7}),w{i}={{a:v{i},b:"s{i}",c:[v{i},{i}]}};'
        )
    return "".join(units) + "\n", len(units)


@pytest.mark.slow  # tree-sitter and its queries over 5 MB take tens of seconds on 2 cores
def test_minified_javascript_with_one_huge_line(tmp_path: Path) -> None:
    body, functions = minified_bundle(5_000_000)
    write(tmp_path / "bundle.min.js", body)
    report = ingest([tmp_path])
    assert (report.parsed, report.problems, report.definitions) == (1, [], functions)
    with open_store(tmp_path) as store:
        doc = store.document("bundle.min.js")
        assert doc.text == "bundle.min.js\n" + body
        assert [(s.line, s.end - s.start) for s in doc.spans] == [(1, len(body) - 1)]
        where = doc.locate(doc.text.index("function n500("), doc.text.index("function n501("))
        assert (where.start_line, where.end_line) == (1, 1)


def test_paths_with_spaces_and_non_ascii(tmp_path: Path) -> None:
    write(tmp_path / "my folder" / "naïve café.py", "def grüße():\n    pass\n")
    write(tmp_path / "日本語" / "説明.md", "# 見出し\n\n本文\n")
    report = ingest([tmp_path])
    assert report.parsed == 2 and report.definitions == 1
    with open_store(tmp_path) as store:
        assert store.document("my folder/naïve café.py").text.startswith("my folder/naïve café.py\ndef grüße")
        assert store.document("日本語/説明.md") is not None


def test_unreadable_file_fails_with_a_reason_and_others_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "locked.py")
    write(tmp_path / "fine.py")
    real_read = pipeline.read_file

    def read(path: str):  # tests run as root, where chmod 000 does not stop a read
        if path.endswith("locked.py"):
            raise PermissionError(13, "Permission denied", path)
        return real_read(path)

    monkeypatch.setattr(pipeline, "read_file", read)
    report = ingest([tmp_path])
    assert problems(report) == {"locked.py": "failed: cannot read: permission denied"}
    assert report.to_json()["files"] == {"parsed": 1, "unchanged": 0, "skipped": 0, "failed": 1}
    monkeypatch.setattr(pipeline, "read_file", real_read)
    report = ingest([tmp_path])  # readable again: retried without any change to the file
    assert (report.parsed, report.failed, report.problems) == (1, 0, [])


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_chmod_000_file(tmp_path: Path) -> None:
    locked = write(tmp_path / "locked.py")
    locked.chmod(0)
    try:
        assert problems(ingest([tmp_path])) == {"locked.py": "failed: cannot read: permission denied"}
    finally:
        locked.chmod(0o644)


def test_file_deleted_or_rewritten_between_scan_and_parse(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest([tree])
    write(tree / "new.py", "def new():\n    pass\n")
    real_read = pipeline.read_file

    def racing_read(path: str):
        if path.endswith("README.md"):
            os.unlink(path)  # deleted after the scan saw it
        if path.endswith("new.py"):
            write(Path(path), "def rewritten():\n    pass\n")  # rewritten after the scan saw it
        return real_read(path)

    write(tree / "README.md", "# Project, edited\n")
    monkeypatch.setattr(pipeline, "read_file", racing_read)
    report = ingest([tree])
    assert report.problems == []
    with open_store(tree) as store:
        assert store.document("README.md") is None  # a vanished file is dropped
        assert store.document("new.py").text == "new.py\ndef rewritten():\n    pass\n"  # what was read
    monkeypatch.setattr(pipeline, "read_file", real_read)
    report = ingest([tree])
    assert report.to_json()["files"] == {"parsed": 0, "unchanged": 3, "skipped": 0, "failed": 0}


def test_root_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ScanError, match=f"{tmp_path / 'missing'} does not exist"):
        ingest([tmp_path / "missing"])
    assert not project_db_path(tmp_path / "missing").exists()


def test_parser_bug_costs_one_file(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest import parse

    real_parse = parse.parse_file

    def flaky(data: bytes, relpath: str):
        if relpath == "README.md":
            raise IndexError("list index out of range")
        return real_parse(data, relpath)

    report = ingest([tree], parse_file=flaky, is_pdf=parse.is_pdf)
    assert problems(report) == {"README.md": "failed: parser error: IndexError: list index out of range"}
    assert report.parsed == 2


def test_should_stop_keeps_committed_work_and_the_next_run_resumes(tmp_path: Path) -> None:
    for i in range(30):
        write(tmp_path / f"m{i:02d}.py", f"def f{i}():\n    pass\n")
    handled = []
    report = ingest(
        [tmp_path], batch_files=5, progress=handled.append, should_stop=lambda: len(handled) >= 12
    )
    assert report.cancelled and report.parsed == 12
    report = ingest([tmp_path])
    assert report.to_json()["files"] == {"parsed": 18, "unchanged": 12, "skipped": 0, "failed": 0}
    assert report.definitions == 30


def test_several_roots_make_one_project(tmp_path: Path) -> None:
    write(tmp_path / "code" / "app.py", "def main():\n    pass\n")
    notes = write(tmp_path / "notes.md", "# Notes\n")
    write(tmp_path / "docs" / "guide.md", "# Guide\n")
    report = ingest([tmp_path / "code", tmp_path / "docs", notes])
    assert report.project == str(tmp_path / "code") and report.documents == 3
    with open_store(tmp_path / "code") as store:
        assert store.document("app.py") and store.document("docs/guide.md") and store.document("notes.md")
    report = ingest([tmp_path / "code"])  # the project's roots are what the command names
    assert report.documents == 1


def test_pdf_is_parsed_in_the_worker(tmp_path: Path) -> None:
    pymupdf = pytest.importorskip("pymupdf")
    pdf = pymupdf.open()
    for number in (1, 2, 3):
        page = pdf.new_page()
        page.insert_text((72, 72), f"Page {number} heading")
        page.insert_text((72, 100), f"Body text of page {number}.")
    pdf.save(tmp_path / "paper.pdf")
    write(tmp_path / "notes.md", "# Notes\n")
    report = ingest([tmp_path])
    assert (report.parsed, report.documents, report.pdf_pages, report.problems) == (2, 2, 3, [])
    with open_store(tmp_path) as store:
        doc = store.document("paper.pdf")
        assert doc.kind == "pdf" and "Body text of page 2." in doc.text
        where = doc.locate(doc.text.index("Body text of page 2."), doc.text.index("Body text of page 2.") + 4)
        assert where.page == 2 and len(where.rects) == 1


CRASHING_CHILD = """
import sys, time
from ingest.pipeline import ingest

def progress(p):
    if p.done == 55:
        print("paused", flush=True)
        time.sleep(600)  # killed here, in the middle of a batch

ingest([sys.argv[1]], batch_files=10, progress=progress)
"""


def test_killed_ingest_resumes_from_the_last_commit(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    root = tmp_path / "many"
    for i in range(120):
        write(root / f"pkg{i % 4}" / f"m{i:03d}.py", f"def f{i}():\n    return {i}\n")
    child = subprocess.Popen(
        [sys.executable, "-c", CRASHING_CHILD, str(root)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert child.stdout.readline().strip() == "paused"
        with open_store(root) as store:
            committed = store.counts()["parsed"]
        assert committed == 50  # five whole batches; the sixth is still open
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    report = ingest([root])
    assert report.to_json()["files"] == {"parsed": 70, "unchanged": 50, "skipped": 0, "failed": 0}
    assert (report.documents, report.definitions) == (120, 120)
    with open_store(root) as store:
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
