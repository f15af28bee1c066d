"""The watcher applies real changes once, follows deletes and renames, and reports each through callbacks."""

from __future__ import annotations

import errno
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from ingest import parse
from ingest.paths import project_db_path
from ingest.pipeline import ingest
from ingest.store import Store
from ingest.watch import Watcher, WatchError, WatchEvent

SETTLE_S = 1.0  # longer than the debounce: any duplicate event would have arrived by then


class Recorder:
    """Collects watcher events and counts parser calls per path."""

    def __init__(self) -> None:
        self.events: list[WatchEvent] = []
        self.parses: Counter[str] = Counter()
        self._changed = threading.Condition()

    def __call__(self, event: WatchEvent) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def parse_file(self, data: bytes, relpath: str):
        self.parses[relpath] += 1
        return parse.parse_file(data, relpath)

    def wait_for(self, *expected: WatchEvent, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not all(e in self.events for e in expected):
                left = deadline - time.monotonic()
                assert left > 0, f"timed out waiting for {expected}; got {self.events}"
                self._changed.wait(left)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text("def a():\n    pass\n")
    (root / "notes.md").write_text("# Notes\n")
    (root / ".gitignore").write_text("*.log\n")
    ingest([root])
    return root


@pytest.fixture
def watching(project: Path):
    recorder = Recorder()
    watcher = Watcher([project], debounce_s=0.15, parse_file=recorder.parse_file, is_pdf=parse.is_pdf)
    watcher.subscribe(recorder)
    watcher.start()
    assert watcher.ready.wait(15)
    yield recorder
    watcher.stop()


def stored_text(root: Path, path: str) -> str | None:
    with Store(project_db_path(root)) as store:
        doc = store.document(path)
        return doc.text if doc else None


def test_modified_file_is_reparsed_exactly_once(project: Path, watching: Recorder) -> None:
    with open(project / "pkg" / "a.py", "w") as f:  # an editor's save: truncate, several writes
        f.write("def a():\n")
        f.flush()
        f.write("    return 2\n")
        f.flush()
        os.fsync(f.fileno())
    watching.wait_for(WatchEvent("pkg/a.py", "changed"))
    time.sleep(SETTLE_S)
    assert watching.events == [WatchEvent("pkg/a.py", "changed")]
    assert watching.parses == {"pkg/a.py": 1}
    assert stored_text(project, "pkg/a.py") == "pkg/a.py\ndef a():\n    return 2\n"


def test_rewrite_with_same_content_changes_nothing(project: Path, watching: Recorder) -> None:
    (project / "pkg" / "a.py").write_text("def a():\n    pass\n")
    (project / "debug.log").write_text("ignored by .gitignore\n")
    (project / "node_modules" / "dep").mkdir(parents=True)  # ignored by default
    (project / "node_modules" / "dep" / "index.js").write_text("function dep() {}\n")
    (project / "touched.md").write_text("# New\n")
    watching.wait_for(WatchEvent("touched.md", "added"))
    time.sleep(SETTLE_S)
    assert watching.events == [WatchEvent("touched.md", "added")]
    assert watching.parses == {"touched.md": 1}


def test_deleted_file_is_removed(project: Path, watching: Recorder) -> None:
    (project / "notes.md").unlink()
    watching.wait_for(WatchEvent("notes.md", "removed"))
    assert stored_text(project, "notes.md") is None


def test_rename_is_followed(project: Path, watching: Recorder) -> None:
    os.rename(project / "pkg" / "a.py", project / "pkg" / "b.py")
    watching.wait_for(WatchEvent("pkg/a.py", "removed"), WatchEvent("pkg/b.py", "added"))
    assert stored_text(project, "pkg/a.py") is None
    assert stored_text(project, "pkg/b.py") == "pkg/b.py\ndef a():\n    pass\n"


def test_folder_moved_in_and_out(project: Path, tmp_path: Path, watching: Recorder) -> None:
    outside = tmp_path / "incoming"
    (outside / "deep").mkdir(parents=True)
    (outside / "deep" / "c.py").write_text("def c():\n    pass\n")
    os.rename(outside, project / "incoming")
    watching.wait_for(WatchEvent("incoming/deep/c.py", "added"))
    os.rename(project / "pkg", tmp_path / "gone")
    watching.wait_for(WatchEvent("pkg/a.py", "removed"))
    with Store(project_db_path(project)) as store:
        assert sorted(rel for _, rel in store.file_states()) == [
            ".gitignore",
            "incoming/deep/c.py",
            "notes.md",
        ]


def test_gitignore_change_applies_to_stored_files(project: Path, watching: Recorder) -> None:
    (project / ".gitignore").write_text("*.log\n*.md\n")
    watching.wait_for(WatchEvent("notes.md", "removed"), WatchEvent(".gitignore", "changed"))
    assert stored_text(project, "notes.md") is None


def test_problems_are_reported(project: Path, watching: Recorder) -> None:
    (project / "blob.py").write_bytes(b"\x00\x01\x02binary")
    watching.wait_for(WatchEvent("blob.py", "skipped", "binary content (NUL byte at offset 0)"))


def test_changes_while_not_watching_are_caught_up_on_start(project: Path) -> None:
    (project / "notes.md").write_text("# Notes, edited offline\n")
    (project / "pkg" / "a.py").unlink()
    recorder = Recorder()
    watcher = Watcher([project], debounce_s=0.1)
    watcher.subscribe(recorder)
    with watcher:
        recorder.wait_for(WatchEvent("notes.md", "changed"), WatchEvent("pkg/a.py", "removed"))
    assert not watcher._worker.is_alive()  # stop() joined the worker
    assert stored_text(project, "notes.md") == "notes.md\n# Notes, edited offline\n"


def test_a_failing_subscriber_does_not_stop_the_watcher(project: Path) -> None:
    recorder = Recorder()
    watcher = Watcher([project], debounce_s=0.1)

    def broken(event: WatchEvent) -> None:
        raise RuntimeError("subscriber bug")

    watcher.subscribe(broken)
    watcher.subscribe(recorder)
    with watcher:
        assert watcher.ready.wait(15)
        (project / "one.md").write_text("# one\n")
        recorder.wait_for(WatchEvent("one.md", "added"))
        (project / "two.md").write_text("# two\n")
        recorder.wait_for(WatchEvent("two.md", "added"))


def test_single_file_root(tmp_path: Path) -> None:
    paper = tmp_path / "paper.md"
    paper.write_text("# Draft\n")
    (tmp_path / "sibling.md").write_text("# Not part of the project\n")
    recorder = Recorder()
    watcher = Watcher([paper], debounce_s=0.1)
    watcher.subscribe(recorder)
    with watcher:
        recorder.wait_for(WatchEvent("paper.md", "added"))
        (tmp_path / "sibling.md").write_text("# Still not part of it\n")
        paper.write_text("# Final\n")
        recorder.wait_for(WatchEvent("paper.md", "changed"))
        time.sleep(SETTLE_S)
    assert recorder.events == [WatchEvent("paper.md", "added"), WatchEvent("paper.md", "changed")]
    assert stored_text(paper, "paper.md") == "paper.md\n# Final\n"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify's limits are Linux's")
@pytest.mark.parametrize("code, setting", [(errno.ENOSPC, "max_user_watches"),
                                           (errno.EMFILE, "max_user_instances")])
def test_a_refused_watch_names_the_limit_and_leaves_the_project_as_it_was(project: Path, refuse_watches, code,
                                                                           setting) -> None:
    refuse_watches(code)
    before = stored_text(project, "pkg/a.py")
    (project / "notes.md").write_text("# Notes, edited while no one watches\n")
    watcher = Watcher([project], debounce_s=0.1)
    with pytest.raises(WatchError, match=rf"cannot watch {project} for changes: .*fs\.inotify\.{setting}="):
        watcher.start()
    assert watcher._worker is None and not watcher._observer.is_alive()  # nothing left running
    assert stored_text(project, "pkg/a.py") == before
    assert stored_text(project, "notes.md") == "notes.md\n# Notes\n"  # untouched until it is read again
