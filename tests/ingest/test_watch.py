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


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the inotify backend is Linux's")


def watcher_on(*roots: Path, backend: str | None = None) -> tuple[Watcher, Recorder]:
    recorder = Recorder()
    watcher = Watcher(list(roots), debounce_s=0.15, backend=backend)
    watcher.subscribe(recorder)
    return watcher, recorder


def relative(watcher: Watcher, root: Path) -> list[str]:
    return sorted(Path(os.path.relpath(folder, root)).as_posix() for folder in watcher.watched_folders())


@linux_only
def test_ignored_folders_take_no_watch_so_a_low_limit_still_watches_the_project(project: Path,
                                                                               refuse_watches) -> None:
    for i in range(40):  # what a JavaScript project, a repository and a build leave beside the sources
        (project / "node_modules" / f"dep{i}" / "lib").mkdir(parents=True)
    (project / ".git" / "objects" / "ab").mkdir(parents=True)
    (project / "build" / "out").mkdir(parents=True)
    (project / ".gitignore").write_text("*.log\nbuild/\n")
    (project / "env" / "lib" / "site-packages").mkdir(parents=True)
    (project / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    refuse_watches(errno.ENOSPC, after=3)  # the project's own folders and the venv's alone, and not one more
    watcher, recorder = watcher_on(project)
    with watcher:
        assert watcher.ready.wait(15)
        assert relative(watcher, project) == [".", "env", "pkg"]  # env alone: to see its pyvenv.cfg go
        (project / "pkg" / "a.py").write_text("def a():\n    return 1\n")
        recorder.wait_for(WatchEvent("pkg/a.py", "changed"))


@linux_only
def test_a_folder_made_later_is_watched_and_an_ignored_one_is_not(project: Path) -> None:
    watcher, recorder = watcher_on(project)
    with watcher:
        assert watcher.ready.wait(15)
        (project / "new" / "deeper").mkdir(parents=True)
        (project / "new" / "deeper" / "x.py").write_text("def x():\n    pass\n")
        recorder.wait_for(WatchEvent("new/deeper/x.py", "added"))
        (project / "new" / "deeper" / "x.py").write_text("def x():\n    return 2\n")
        recorder.wait_for(WatchEvent("new/deeper/x.py", "changed"))
        (project / "node_modules" / "dep" / "lib").mkdir(parents=True)
        (project / "node_modules" / "dep" / "lib" / "index.py").write_text("def y():\n    pass\n")
        (project / "notes.md").write_text("# Notes, later\n")
        recorder.wait_for(WatchEvent("notes.md", "changed"))
        time.sleep(SETTLE_S)
        assert relative(watcher, project) == [".", "new", "new/deeper", "pkg"]
    assert not any(e.path.startswith("node_modules") for e in recorder.events)  # nor anything removed there


@linux_only
def test_a_folder_renamed_in_the_project_is_watched_at_its_new_place(project: Path) -> None:
    watcher, recorder = watcher_on(project)
    with watcher:
        assert watcher.ready.wait(15)
        os.rename(project / "pkg", project / "lib")
        recorder.wait_for(WatchEvent("pkg/a.py", "removed"), WatchEvent("lib/a.py", "added"))
        (project / "lib" / "a.py").write_text("def a():\n    return 3\n")
        recorder.wait_for(WatchEvent("lib/a.py", "changed"))
        assert relative(watcher, project) == [".", "lib"]
    assert stored_text(project, "lib/a.py") == "lib/a.py\ndef a():\n    return 3\n"


@linux_only
def test_a_folder_no_longer_ignored_is_read_and_then_watched(project: Path) -> None:
    (project / "generated" / "sub").mkdir(parents=True)
    (project / "generated" / "sub" / "gen.py").write_text("def gen():\n    pass\n")
    (project / ".gitignore").write_text("*.log\ngenerated/\n")
    watcher, recorder = watcher_on(project)
    with watcher:
        assert watcher.ready.wait(15)
        assert relative(watcher, project) == [".", "pkg"]
        (project / ".gitignore").write_text("*.log\n")
        recorder.wait_for(WatchEvent("generated/sub/gen.py", "added"))
        (project / "generated" / "sub" / "gen.py").write_text("def gen():\n    return 4\n")
        recorder.wait_for(WatchEvent("generated/sub/gen.py", "changed"))
        assert relative(watcher, project) == [".", "generated", "generated/sub", "pkg"]


@linux_only
def test_events_the_system_dropped_are_caught_up_by_a_rescan(project: Path) -> None:
    from ingest.inotify import IN_Q_OVERFLOW

    watcher, recorder = watcher_on(project)
    with watcher:
        assert watcher.ready.wait(15)
        folders = watcher._folders
        folders.changed = lambda path: None  # the kernel's queue is full: these events are lost
        (project / "lost.md").write_text("# Written while the queue overflowed\n")
        time.sleep(SETTLE_S)
        folders.changed = watcher._enqueue
        folders._event(-1, IN_Q_OVERFLOW, b"")  # what the kernel then reports
        recorder.wait_for(WatchEvent("lost.md", "added"))


def test_stopping_twice_at_once_closes_nothing_twice(project: Path) -> None:
    watcher, _ = watcher_on(project)
    watcher.start()
    assert watcher.ready.wait(15)
    errors: list[BaseException] = []

    def stop() -> None:
        try:
            watcher.stop()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    stoppers = [threading.Thread(target=stop) for _ in range(2)]  # the window's background stop, then close
    for thread in stoppers:
        thread.start()
    for thread in stoppers:
        thread.join()
    assert errors == []
    watcher.stop()


@linux_only
def test_a_file_written_while_a_folder_is_un_ignored_is_not_missed(project: Path) -> None:
    (project / "generated").mkdir()
    (project / "generated" / "gen.py").write_text("def gen():\n    pass\n")
    (project / ".gitignore").write_text("*.log\ngenerated/\n")
    watcher, recorder = watcher_on(project)
    rescan = watcher._resync

    def rescan_then_write(*args, **kwargs):  # a file written the moment the rescan has listed the folder
        events = rescan(*args, **kwargs)
        if watcher.ready.is_set() and not (project / "generated" / "late.py").exists():
            (project / "generated" / "late.py").write_text("def late():\n    pass\n")
        return events

    watcher._resync = rescan_then_write
    with watcher:
        assert watcher.ready.wait(15)
        (project / ".gitignore").write_text("*.log\n")
        recorder.wait_for(WatchEvent("generated/gen.py", "added"), WatchEvent("generated/late.py", "added"))


@linux_only
def test_stopping_while_folders_are_watched_again_lets_that_finish_on_an_open_watch(project: Path) -> None:
    watcher, recorder = watcher_on(project)
    watcher.start()
    assert watcher.ready.wait(15)
    folders = watcher._folders
    refresh, add = folders.refresh, folders._add
    refreshing, go_on = threading.Event(), threading.Event()
    descriptors: list[int] = []

    def slow_refresh() -> None:  # the worker, after a .gitignore change, about to watch the folders again
        refreshing.set()
        go_on.wait(15)
        refresh()

    folders.refresh = slow_refresh
    folders._add = lambda path, recursive: (descriptors.append(folders._fd), add(path, recursive))[1]
    (project / ".gitignore").write_text("*.log\nbuild/\n")
    assert refreshing.wait(15)
    stopper = threading.Thread(target=watcher.stop)
    stopper.start()
    time.sleep(SETTLE_S)  # the stop has begun while the worker is still to watch the folders again
    go_on.set()
    stopper.join(15)
    assert not stopper.is_alive() and descriptors and min(descriptors) >= 0


@linux_only
def test_a_file_root_inside_a_folder_root_keeps_its_folder_watched_below(project: Path) -> None:
    watcher, recorder = watcher_on(project, project / "pkg" / "a.py")
    with watcher:
        assert watcher.ready.wait(15)
        (project / "pkg" / "sub").mkdir()
        time.sleep(SETTLE_S)  # the new folder is read (empty) before anything is written in it
        (project / "pkg" / "sub" / "x.py").write_text("def x():\n    pass\n")
        recorder.wait_for(WatchEvent("pkg/sub/x.py", "added"))
        (project / "pkg" / "a.py").write_text("def a():\n    return 7\n")
        recorder.wait_for(WatchEvent(watcher.roots[1].document_path("a.py"), "changed"))
    with Store(project_db_path(project)) as store:  # the file root's file is stored once, as its own root's
        assert sorted(relpath for _, relpath in store.file_states() if relpath.endswith("a.py")) == ["a.py"]


def test_a_file_root_named_first_still_watches_its_folder_root_below(project: Path) -> None:
    watcher, recorder = watcher_on(project / "notes.md", project)
    with watcher:
        assert watcher.ready.wait(15)
        (project / "pkg" / "a.py").write_text("def a():\n    return 5\n")
        recorder.wait_for(WatchEvent(watcher.roots[1].document_path("pkg/a.py"), "changed"))


@pytest.mark.parametrize("backend", ["inotify", "watchdog"])
def test_a_folder_that_becomes_a_virtual_environment_leaves_the_project(project: Path, backend: str) -> None:
    if backend == "inotify" and not sys.platform.startswith("linux"):
        pytest.skip("the inotify backend is Linux's")
    (project / "tools").mkdir()
    (project / "tools" / "t.py").write_text("def t():\n    pass\n")
    watcher, recorder = watcher_on(project, backend=backend)
    with watcher:
        recorder.wait_for(WatchEvent("tools/t.py", "added"))
        (project / "tools" / "pyvenv.cfg").write_text("home = /usr/bin\n")
        recorder.wait_for(WatchEvent("tools/t.py", "removed"))
    with Store(project_db_path(project)) as store:
        assert "tools/t.py" not in {relpath for _, relpath in store.file_states()}


@pytest.mark.parametrize("backend", ["inotify", "watchdog"])
def test_a_folder_that_stops_being_a_virtual_environment_is_read_and_watched(project: Path,
                                                                              backend: str) -> None:
    if backend == "inotify" and not sys.platform.startswith("linux"):
        pytest.skip("the inotify backend is Linux's")
    (project / "tools" / "lib").mkdir(parents=True)
    (project / "tools" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (project / "tools" / "t.py").write_text("def t():\n    pass\n")
    watcher, recorder = watcher_on(project, backend=backend)
    with watcher:
        assert watcher.ready.wait(15)
        (project / "tools" / "pyvenv.cfg").unlink()
        recorder.wait_for(WatchEvent("tools/t.py", "added"))
        time.sleep(SETTLE_S)  # read and watched; then a file in a subfolder that was never watched
        (project / "tools" / "lib" / "u.py").write_text("def u():\n    pass\n")
        recorder.wait_for(WatchEvent("tools/lib/u.py", "added"))


def test_a_change_in_a_root_nested_in_another_belongs_to_the_nested_root(project: Path) -> None:
    watcher, recorder = watcher_on(project, project / "pkg")
    with watcher:
        assert watcher.ready.wait(15)
        caught_up = len(recorder.events)
        (project / "pkg" / "a.py").write_text("def a():\n    return 6\n")
        recorder.wait_for(WatchEvent(watcher.roots[1].document_path("a.py"), "changed"))
        time.sleep(SETTLE_S)
    assert recorder.events[caught_up:] == [WatchEvent(watcher.roots[1].document_path("a.py"), "changed")]
    with Store(project_db_path(project)) as store:  # stored once, not again as the outer root's pkg/a.py
        assert sorted(relpath for _, relpath in store.file_states()) == [".gitignore", "a.py", "notes.md"]


def test_a_pyvenv_cfg_at_a_nested_roots_top_is_a_file_of_that_root(project: Path) -> None:
    (project / "tools").mkdir()
    (project / "tools" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    watcher, recorder = watcher_on(project, project / "tools")
    with watcher:
        assert watcher.ready.wait(15)
        (project / "tools" / "pyvenv.cfg").write_text("home = /usr/local/bin\n")
        recorder.wait_for(WatchEvent(watcher.roots[1].document_path("pyvenv.cfg"), "changed"))


def test_an_unknown_backend_is_refused_by_name(project: Path) -> None:
    with pytest.raises(ValueError, match="unknown watch backend 'fsevents'"):
        Watcher([project], backend="fsevents")


def test_off_linux_the_watch_is_watchdogs_and_inotify_is_refused_by_name(project: Path, monkeypatch) -> None:
    from ingest import inotify

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(inotify, "_libc", None)  # as in a process that never loaded it
    assert Watcher([project]).backend == "watchdog"
    with pytest.raises(ValueError, match="the inotify watch backend is Linux's"):
        Watcher([project], backend="inotify")
    with pytest.raises(OSError, match="inotify is Linux's"):
        inotify.libc()  # loaded only where it exists: importing the module did not need it
