"""`python main.py ...` as a user runs it: output shapes, errors, Ctrl-C, and no Qt in the CLI."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.paths import project_db_path

REPO = Path(__file__).resolve().parent.parent
MAIN = str(REPO / "main.py")


def run(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, MAIN, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "my project"
    (root / "src").mkdir(parents=True)
    (root / "src" / "geometry.py").write_text(
        "class Point:\n    def norm(self):\n        return 0\n\n\ndef origin():\n    return Point()\n"
    )
    (root / "README.md").write_text("# Geometry\n\nPoints.\n")
    (root / "data.bin").write_bytes(b"\0" * 64)
    (root / "big.txt").write_text("x" * 3 * 1024 * 1024)
    return root


def test_ingest_json_has_exactly_the_documented_shape(tree: Path, cli_env: dict[str, str]) -> None:
    result = run(cli_env, "ingest", str(tree), "--json", "--size-limit-mb", "2")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    elapsed = data.pop("elapsed_s")
    assert isinstance(elapsed, float) and elapsed >= 0
    tokens, chunks, memory_bytes = data.pop("tokens"), data.pop("chunks"), data.pop("memory_bytes")
    assert tokens == 64 * chunks and chunks >= 2 and memory_bytes > 0  # both documents are in the memory
    assert data == {
        "project": str(tree),
        "files": {"parsed": 2, "unchanged": 0, "skipped": 2, "failed": 0},
        "documents": 2,
        "definitions": 3,
        "pdf_pages": 0,
        "problems": [
            {
                "path": "big.txt",
                "status": "skipped",
                "reason": "larger than the size limit (3.0 MB > 2.0 MB)",
            },
            {"path": "data.bin", "status": "skipped", "reason": "binary file type (.bin)"},
        ],
    }
    again = json.loads(run(cli_env, "ingest", str(tree), "--json", "--size-limit-mb", "2").stdout)
    assert again["files"] == {"parsed": 0, "unchanged": 2, "skipped": 2, "failed": 0}


def test_ingest_of_the_project_folder_keeps_roots_added_earlier(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    main_root, extra = tmp_path / "app", tmp_path / "contracts"
    main_root.mkdir()
    (main_root / "app.py").write_text("def run():\n    pass\n")
    extra.mkdir()
    (extra / "terms.md").write_text("# Terms\n")
    first = json.loads(run(cli_env, "ingest", str(main_root), str(extra), "--json").stdout)
    assert first["documents"] == 2
    again = json.loads(run(cli_env, "ingest", str(main_root), "--json").stdout)
    assert (again["documents"], again["files"]["unchanged"]) == (2, 2)  # contracts/ is still in the project
    shutil.rmtree(extra)
    after_delete = json.loads(run(cli_env, "ingest", str(main_root), "--json").stdout)
    assert after_delete["documents"] == 1  # a root gone from disk leaves the project


def test_ingest_human_output(tree: Path, cli_env: dict[str, str]) -> None:
    result = run(cli_env, "ingest", str(tree), "--size-limit-mb", "2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"project: {tree}"
    assert lines[1] == "files: 2 parsed, 0 unchanged, 2 skipped, 0 failed"
    assert lines[2] == "documents: 2  definitions: 3  PDF pages: 0"
    assert lines[3:6] == [
        "skipped or failed:",
        "  skipped  big.txt: larger than the size limit (3.0 MB > 2.0 MB)",
        "  skipped  data.bin: binary file type (.bin)",
    ]
    assert lines[6].startswith("encoded: 2 documents, ")
    assert lines[7].startswith("memory: ") and " chunks, " in lines[7]
    assert lines[8].startswith("elapsed: ")


def test_projects_lists_each_project_once(tree: Path, tmp_path: Path, cli_env: dict[str, str]) -> None:
    (tree / "big.txt").unlink()  # 3 MB to encode would only make the test slow
    assert json.loads(run(cli_env, "projects", "--json").stdout) == []
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.md").write_text("# A\n")
    for root in (tree, other, tree):
        assert run(cli_env, "ingest", str(root)).returncode == 0
    listed = json.loads(run(cli_env, "projects", "--json").stdout)
    assert [(p["root"], p["documents"]) for p in listed] == [(str(tree), 2), (str(other), 1)]
    assert all(set(p) == {"root", "documents", "tokens", "chunks", "memory_bytes", "updated"} for p in listed)
    assert all(p["tokens"] == 64 * p["chunks"] > 0 and p["memory_bytes"] > 0 for p in listed)
    human = run(cli_env, "projects").stdout
    assert f"{tree}  documents: 2" in human


def test_errors_are_one_line_with_a_non_zero_exit(tmp_path: Path, cli_env: dict[str, str]) -> None:
    missing = tmp_path / "nowhere"
    result = run(cli_env, "ingest", str(missing))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"folio: error: {missing} does not exist\n"
    result = run(cli_env, "ingest", str(tmp_path), "--size-limit-mb", "0")
    assert result.returncode == 1 and result.stderr == "folio: error: --size-limit-mb must be positive\n"
    assert run(cli_env, "frobnicate").returncode == 2  # argparse: unknown command


def test_help_lists_only_working_commands(cli_env: dict[str, str]) -> None:
    result = run(cli_env, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: folio")
    for command in ("ingest", "ask", "watch", "projects", "open"):
        assert command in result.stdout
    ask_help = run(cli_env, "ask", "--help").stdout
    for flag in ("--json", "--session", "--max-new-tokens", "--device", "--model"):
        assert flag in ask_help


def test_no_command_without_a_display_says_so_in_one_line(cli_env: dict[str, str]) -> None:
    env = {k: v for k, v in cli_env.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = run(env)
    assert result.returncode == 1
    assert result.stderr.startswith("folio: error: no display found") and result.stderr.count("\n") == 1


def test_cli_never_imports_qt(tree: Path, cli_env: dict[str, str]) -> None:
    (tree / "big.txt").unlink()  # 3 MB to encode would only make the test slow
    probe = (
        "import runpy, sys\n"
        f"sys.argv = ['main.py', 'ingest', {str(tree)!r}, '--json']\n"
        "try:\n    runpy.run_path('main.py', run_name='__main__')\n"
        "except SystemExit as exit:\n    assert exit.code == 0, exit.code\n"
        "print('QT', sorted(m for m in sys.modules if m.startswith('PySide6')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], env=cli_env, capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "QT []"


def committed_files(root: Path) -> int:
    try:
        with sqlite3.connect(project_db_path(root), timeout=1) as conn:
            return conn.execute("SELECT count(*) FROM files").fetchone()[0]
    except sqlite3.Error:
        return 0  # not created yet


def test_ctrl_c_during_ingest_keeps_committed_work(tmp_path: Path, cli_env: dict[str, str]) -> None:
    root = tmp_path / "many"
    for package in range(20):
        (root / f"pkg{package}").mkdir(parents=True)
        for module in range(200):
            (root / f"pkg{package}" / f"m{module}.py").write_text(f"def f{module}():\n    return {package}\n")
    child = subprocess.Popen(
        [sys.executable, MAIN, "ingest", str(root), "--json"],
        env=cli_env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while committed_files(root) < 200 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.02)
    child.send_signal(signal.SIGINT)
    stdout, stderr = child.communicate(timeout=60)
    assert child.returncode == 130, (stdout, stderr)
    assert stdout == ""
    assert stderr.startswith("folio: interrupted; ") and stderr.count("\n") == 1
    kept = committed_files(root)
    assert 200 <= kept < 4000
    rerun = json.loads(run(cli_env, "ingest", str(root), "--json").stdout)
    assert rerun["files"]["unchanged"] == kept
    assert rerun["files"]["parsed"] + rerun["files"]["unchanged"] == 4000


def test_watch_prints_changes_until_ctrl_c(tree: Path, cli_env: dict[str, str]) -> None:
    (tree / "big.txt").unlink()  # 3 MB to encode would only make the test slow
    assert run(cli_env, "ingest", str(tree)).returncode == 0
    child = subprocess.Popen(
        [sys.executable, MAIN, "watch", str(tree)],
        env=cli_env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = child.stdout.readline()
        assert first.startswith(f"watching {tree}: 2 documents, ") and first.endswith(
            " tokens in memory (Ctrl-C to stop)\n"
        )
        (tree / "README.md").write_text("# Geometry\n\nLines too.\n")
        assert child.stdout.readline() == "changed  README.md\n"
        # the new version replaced the old one in the memory
        assert child.stdout.readline().startswith("memory: 1 encoded, 1 removed, ")
        (tree / "src" / "geometry.py").unlink()
        assert child.stdout.readline() == "removed  src/geometry.py\n"
        assert child.stdout.readline().startswith("memory: 0 encoded, 1 removed, ")
    finally:
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=30)
    assert child.returncode == 0, stderr
    assert stdout == "stopped watching\n"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify's limits are Linux's")
def test_watch_refused_by_the_system_is_one_line(tree: Path, model_env: Path, refuse_watches, capsys) -> None:
    from app.core.cli import main

    (tree / "big.txt").unlink()
    refuse_watches()
    assert main(["watch", str(tree)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (f"folio: error: cannot watch {tree.resolve()} for changes: the system's limit of watched "
                   "folders is reached (raise it with `sudo sysctl fs.inotify.max_user_watches=524288`)\n")


def test_ask_json_on_a_never_ingested_folder(tree: Path, cli_env: dict[str, str]) -> None:
    (tree / "big.txt").unlink()
    result = run(cli_env, "ask", str(tree), "Where is Point defined?", "--json", "--max-new-tokens", "4")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # stdout is exactly one JSON object: nothing streamed around it
    assert set(data) == {"answer", "citations", "timing", "memory"}
    assert data["memory"]["documents"] == 2 and data["memory"]["reused"] is False  # ingested first
    assert data["citations"], "the answer drew on the project's chunks"
    for citation in data["citations"]:
        lines = (tree / citation["path"]).read_text().splitlines()
        assert citation["text"] == "\n".join(lines[citation["start_line"] - 1 : citation["end_line"]])
    again = run(cli_env, "ask", str(tree), "And origin?", "--json", "--max-new-tokens", "2")
    again = json.loads(again.stdout)
    assert again["memory"]["reused"] is True


def test_ask_human_output_streams_then_lists_sources(tree: Path, cli_env: dict[str, str]) -> None:
    (tree / "big.txt").unlink()
    assert run(cli_env, "ingest", str(tree)).returncode == 0
    result = run(cli_env, "ask", str(tree), "What is Point?", "--max-new-tokens", "3", "--session", "s")
    assert result.returncode == 0, result.stderr
    sources = result.stdout.split("\nSources:\n", 1)[1].splitlines()
    assert sources and all(line.startswith(f"  [{i}] ") for i, line in enumerate(sources, 1))
    cited = ("src/geometry.py:", "README.md:")
    assert any(any(c in line for c in cited) and line.endswith("%)") for line in sources)


def test_ask_errors_are_one_line(tree: Path, tmp_path: Path, cli_env: dict[str, str]) -> None:
    result = run(cli_env, "ask", str(tree), "Q?", "--model", str(tmp_path / "no-model"))
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("folio: error: model folder ") and "does not exist" in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run(cli_env, "ask", str(empty), "Q?")
    assert result.returncode == 1 and result.stderr.startswith("folio: error: the project has no documents")
    result = run(cli_env, "ask", str(tree), "Q?", "--max-new-tokens", "0")
    assert result.returncode == 1 and result.stderr == "folio: error: --max-new-tokens must be at least 1\n"
