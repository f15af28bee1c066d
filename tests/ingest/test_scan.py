"""The scan decides which files of a tree become documents, and says why it passes on the others."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest.scan import IgnoreRules, ScanEntry, ScanError, ScanProblem, resolve_roots, scan


def write(path: Path, content: str | bytes = "x = 1\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def run_scan(*paths: Path, size_limit: int = 1 << 20) -> tuple[list[str], dict[str, str]]:
    """Files found (relpaths, sorted) and problems {relpath: "status: reason"}."""
    items = list(scan(resolve_roots(paths), size_limit=size_limit))
    found = sorted(i.relpath for i in items if isinstance(i, ScanEntry))
    problems = {i.relpath: f"{i.status}: {i.reason}" for i in items if isinstance(i, ScanProblem)}
    return found, problems


def test_entries_carry_size_and_mtime(tmp_path: Path) -> None:
    f = write(tmp_path / "a.py", "print('hi')\n")
    [entry] = list(scan(resolve_roots([tmp_path])))
    st = f.stat()
    assert (entry.relpath, entry.abspath, entry.size, entry.mtime_ns) == (
        "a.py",
        str(f),
        st.st_size,
        st.st_mtime_ns,
    )


def test_default_ignores(tmp_path: Path) -> None:
    for rel in (
        ".git/config",
        "node_modules/lib/index.js",
        "__pycache__/m.cpython-311.pyc",
        "build/out.py",
        "dist/pkg.py",
        ".mypy_cache/x.json",
        ".pytest_cache/v",
        ".tox/py/x.py",
        "pkg.egg-info/PKG-INFO",
        "src/mod.pyc",
        "src/ext.so",
        "src/logo.png",
        "env/lib/site.py",
    ):
        write(tmp_path / rel)
    write(tmp_path / "env" / "pyvenv.cfg", "home = /usr/bin\n")  # any folder holding pyvenv.cfg is a venv
    write(tmp_path / "src" / "mod.py")
    write(tmp_path / "src" / "notes.md", "# notes\n")
    found, problems = run_scan(tmp_path)
    assert found == ["src/mod.py", "src/notes.md"]
    assert problems == {}


def test_nested_gitignore_rules(tmp_path: Path) -> None:
    write(tmp_path / ".gitignore", "*.log\nsecret/\n")
    write(tmp_path / "pkg" / ".gitignore", "!keep.log\n/generated.py\n")
    for rel in (
        "a.log",
        "secret/key.txt",
        "pkg/keep.log",
        "pkg/drop.log",
        "pkg/generated.py",
        "pkg/sub/generated.py",
        "pkg/mod.py",
        "other/generated.py",
    ):
        write(tmp_path / rel)
    found, _ = run_scan(tmp_path)
    # The deeper .gitignore re-includes keep.log; its anchored /generated.py only ignores pkg/generated.py.
    assert found == [
        ".gitignore",
        "other/generated.py",
        "pkg/.gitignore",
        "pkg/keep.log",
        "pkg/mod.py",
        "pkg/sub/generated.py",
    ]


def test_ignore_rules_for_single_paths_match_the_scan(tmp_path: Path) -> None:
    write(tmp_path / ".gitignore", "*.log\n")
    write(tmp_path / "pkg" / ".gitignore", "!keep.log\n")
    [root] = resolve_roots([tmp_path])
    rules = IgnoreRules()
    assert rules.ignores(root, "a.log")
    assert not rules.ignores(root, "pkg/keep.log")
    assert rules.ignores(root, "pkg/other.log")
    assert rules.ignores(root, "node_modules/x.js")
    assert rules.ignores(root, "src/__pycache__", is_dir=True)
    assert not rules.ignores(root, "src/mod.py")


def test_size_limit_and_binary_extension_are_skipped_with_reasons(tmp_path: Path) -> None:
    write(tmp_path / "big.txt", "x" * 2048)
    write(tmp_path / "small.txt", "x" * 1024)
    write(tmp_path / "archive.zip", b"PK\x03\x04")
    found, problems = run_scan(tmp_path, size_limit=1024)
    assert found == ["small.txt"]
    assert problems == {
        "big.txt": "skipped: larger than the size limit (2.0 KB > 1.0 KB)",
        "archive.zip": "skipped: binary file type (.zip)",
    }


def test_symlink_loop_is_reported_and_not_followed(tmp_path: Path) -> None:
    write(tmp_path / "pkg" / "mod.py")
    os.symlink(tmp_path / "pkg", tmp_path / "pkg" / "again")  # pkg/again -> pkg
    os.symlink("self", tmp_path / "self")  # a link to itself: ELOOP
    found, problems = run_scan(tmp_path)
    assert found == ["pkg/mod.py"]
    assert problems["pkg/again"].startswith("skipped: symlink loop (points back to")
    assert problems["self"] == "skipped: symlink loop"


def test_symlinks_inside_the_root_are_followed_but_not_outside(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside / "secret.py")
    root = tmp_path / "root"
    write(root / "real" / "mod.py")
    os.symlink(root / "real" / "mod.py", root / "alias.py")
    os.symlink(outside, root / "escape")
    os.symlink(outside / "secret.py", root / "escape.py")
    os.symlink(root / "missing", root / "dangling")
    found, problems = run_scan(root)
    assert found == ["alias.py", "real/mod.py"]
    assert problems == {
        "escape": f"skipped: symlink points outside the project ({outside})",
        "escape.py": f"skipped: symlink points outside the project ({outside / 'secret.py'})",
        "dangling": "skipped: broken symlink (No such file or directory)",
    }


def test_link_to_another_root_is_allowed(tmp_path: Path) -> None:
    write(tmp_path / "docs" / "guide.md", "# guide\n")
    write(tmp_path / "code" / "mod.py")
    os.symlink(tmp_path / "docs" / "guide.md", tmp_path / "code" / "guide.md")
    items = list(scan(resolve_roots([tmp_path / "code", tmp_path / "docs"])))
    assert sorted((i.root, i.relpath) for i in items if isinstance(i, ScanEntry)) == [
        (0, "guide.md"),
        (0, "mod.py"),
        (1, "guide.md"),
    ]


def test_paths_with_spaces_and_non_ascii(tmp_path: Path) -> None:
    write(tmp_path / "my folder" / "naïve café.py")
    write(tmp_path / "日本語" / "説明.md", "# 見出し\n")
    found, problems = run_scan(tmp_path)
    assert found == ["my folder/naïve café.py", "日本語/説明.md"]
    assert problems == {}


def test_single_file_root_and_missing_root(tmp_path: Path) -> None:
    f = write(tmp_path / "one.md", "# one\n")
    found, _ = run_scan(f)
    assert found == ["one.md"]
    with pytest.raises(ScanError, match=r"does not exist"):
        resolve_roots([tmp_path / "nope"])


def test_unreadable_folder_is_a_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "ok.py")
    write(tmp_path / "locked" / "inside.py")
    real_scandir = os.scandir

    def scandir(path):  # chmod 000 does not stop root, so refuse the folder the way the OS would
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found, problems = run_scan(tmp_path)
    assert found == ["ok.py"]
    assert problems == {"locked": "failed: cannot read folder: permission denied"}


def test_fifo_is_not_a_document(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    write(tmp_path / "a.py")
    found, problems = run_scan(tmp_path)
    assert found == ["a.py"] and problems == {}
