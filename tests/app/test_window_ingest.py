"""Dropping folders on the window ingests them in the background; the tree shows each file's state."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication
from window_helpers import INGEST_TIMEOUT_MS, drop, ingest_and_wait, wait_watching

import ingest.parse
import ingest.scan
from app.core.settings import Settings, load_settings, save_settings
from app.ui.app import run_gui
from app.ui.main_window import MainWindow


def tree_state(win, path: str) -> tuple[str, str]:
    item = win.sidebar.item_for(path)
    assert item is not None, f"{path} is not in the tree"
    return item.text(1), win.sidebar.tree.tooltip_for(item, 1)


def test_drop_folder_on_welcome_ingests_and_tree_shows_states(qtbot, window, project_dir: Path):
    assert window.pages.currentWidget() is window.welcome
    report = ingest_and_wait(qtbot, window, lambda: drop(window.welcome, [project_dir]))

    assert report is not None and not report.cancelled
    assert window.pages.currentWidget() is window.splitter
    assert window.windowTitle().startswith("demo")
    assert tree_state(window, "pkg/shapes.py") == ("Parsed", "Parsed · python · 4 definitions")
    assert tree_state(window, "README.md")[0] == "Parsed"
    state, tip = tree_state(window, "dist.zip")
    assert state == "Skipped" and "binary file type (.zip)" in tip
    state, tip = tree_state(window, "docs/broken.pdf")
    assert state == "Failed" and "PDF" in tip
    assert window.sidebar.summary.text() == "2 parsed · 1 skipped · 1 failed"
    # the failed PDF is reported in the window, not only in the tree
    assert window.notice.isVisible() and "docs/broken.pdf" in window.notice.label.text()
    # selecting it shows the reason in the details pane
    window.sidebar.tree.setCurrentItem(window.sidebar.item_for("docs/broken.pdf"))
    assert window.details.state.text().endswith("<b>Failed</b>")
    assert window.details.reason.text() == tip.removeprefix("Failed: ")
    assert "2 documents" in window.status["project"].text()
    assert window.status["database"].text().startswith("Database ")


def test_dropped_file_joins_the_open_project(qtbot, window, project_dir: Path, tmp_path: Path):
    ingest_and_wait(qtbot, window, lambda: window.open_paths([str(project_dir)]))
    extra = tmp_path / "notes.txt"
    extra.write_text("Loose notes about squares.\n")
    report = ingest_and_wait(qtbot, window, lambda: drop(window.viewer.empty, [extra]))
    assert report.project == str(project_dir.resolve())
    assert [Path(p).name for p in window.project.paths] == ["demo", "notes.txt"]
    assert tree_state(window, "notes.txt")[0] == "Parsed"
    folders = window.sidebar.folders
    assert folders.count() == 2
    folders.setCurrentRow(0)
    assert not window.sidebar.remove_folder.isEnabled()  # the main folder names the project
    folders.setCurrentRow(1)
    assert window.sidebar.remove_folder.isEnabled()
    ingest_and_wait(qtbot, window, window.sidebar.remove_folder.click)
    assert window.sidebar.item_for("notes.txt") is None and folders.count() == 1
    assert tree_state(window, "pkg/shapes.py")[0] == "Parsed"


def test_progress_is_shown_and_cancel_stops_within_a_second(qtbot, window, tmp_path: Path, monkeypatch):
    root = tmp_path / "many"
    for index in range(60):
        (root / f"m{index // 20}").mkdir(parents=True, exist_ok=True)
        (root / f"m{index // 20}" / f"mod{index:02d}.py").write_text(f"def f{index}():\n    return {index}\n")
    real_parse = ingest.parse.parse_file

    def slow_parse(data: bytes, relpath: str):
        time.sleep(0.1)  # a slow parser: 60 files take 6 s, so there is time to cancel mid-run
        return real_parse(data, relpath)

    monkeypatch.setattr(ingest.parse, "parse_file", slow_parse)
    with qtbot.waitSignal(window.ingestFinished, timeout=INGEST_TIMEOUT_MS) as finished:
        window.open_paths([str(root)])
        assert window.progress.isVisible() and window.menu_actions["cancel"].isEnabled()
        qtbot.waitUntil(lambda: window.progress.bar.maximum() == 60 and window.progress.bar.value() >= 3,
                        timeout=INGEST_TIMEOUT_MS)
        assert "of 60 files" in window.progress.detail.text() and "files/s" in window.progress.detail.text()
        assert "left" in window.progress.detail.text()
        qtbot.mouseClick(window.progress.cancel_button, Qt.MouseButton.LeftButton)
        cancelled_at = time.monotonic()
    stopped_after = time.monotonic() - cancelled_at
    report = finished.args[0]
    assert report.cancelled and 3 <= report.parsed < 60
    assert stopped_after < 1.0, f"cancel took {stopped_after:.2f} s"
    assert not window.progress.isVisible()
    assert "Stopped" in window.notice.label.text()
    # what was read before the cancel is kept and shown
    assert window.sidebar.summary.text() == f"{report.parsed} parsed"


def test_gui_thread_stays_responsive_during_ingest(qtbot, window, tmp_path: Path, monkeypatch):
    root = tmp_path / "busy"
    root.mkdir()
    for index in range(40):
        (root / f"file{index:02d}.py").write_text("x = 1\n" * 200)
    real_parse = ingest.parse.parse_file

    def busy_parse(data: bytes, relpath: str):
        deadline = time.perf_counter() + 0.03
        while time.perf_counter() < deadline:  # Python work on the worker thread: it contends for the GIL
            sum(range(200))
        return real_parse(data, relpath)

    monkeypatch.setattr(ingest.parse, "parse_file", busy_parse)
    # the model's first load imports PyTorch, whose shared libraries load under the GIL (once per process)
    qtbot.waitUntil(lambda: window.model.error is not None or window.model.info is not None, timeout=60_000)
    ticks: list[float] = []
    timer = QTimer(interval=20)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    started = time.monotonic()
    report = ingest_and_wait(qtbot, window, lambda: window.open_paths([str(root)]))
    elapsed = time.monotonic() - started
    timer.stop()
    assert report.parsed == 40
    assert elapsed > 1.0  # the run was long enough to measure
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    assert len(ticks) >= elapsed / 0.02 * 0.3, f"{len(ticks)} ticks in {elapsed:.1f} s"
    assert max(gaps) < 0.5, f"the event loop stalled for {max(gaps):.2f} s"


def test_unreadable_folder_shows_a_message_and_the_rest_is_read(qtbot, window, project_dir, monkeypatch):
    secret = project_dir / "secret"
    (secret / "inner.py").parent.mkdir()
    (secret / "inner.py").write_text("def hidden():\n    pass\n")
    real_scandir = os.scandir

    def scandir(path=".", *args):
        if os.fspath(path) == str(secret.resolve()):
            # tests run as root, who can read any folder: simulate what a user without permission sees
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path, *args)

    monkeypatch.setattr(ingest.scan.os, "scandir", scandir)
    ingest_and_wait(qtbot, window, lambda: window.open_paths([str(project_dir)]))
    assert window.notice.isVisible()
    assert "secret: cannot read folder: permission denied" in window.notice.label.text()
    assert tree_state(window, "secret") == ("Failed", "Failed: cannot read folder: permission denied")
    assert tree_state(window, "pkg/shapes.py")[0] == "Parsed"


def test_a_path_that_does_not_exist_shows_a_message(qtbot, window, tmp_path: Path):
    report = ingest_and_wait(qtbot, window, lambda: window.open_paths([str(tmp_path / "gone")]))
    assert report is None
    assert window.notice.isVisible() and "does not exist" in window.notice.label.text()
    assert window.pages.currentWidget() is window.welcome  # still usable


def test_live_changes_show_up_in_the_tree(qtbot, window, project_dir: Path):
    ingest_and_wait(qtbot, window, lambda: window.open_paths([str(project_dir)]))
    wait_watching(qtbot, window)
    assert window.live.watcher.error is None
    (project_dir / "pkg" / "circle.py").write_text("def circle_area(r):\n    return 3.14159 * r * r\n")
    qtbot.waitUntil(lambda: window.sidebar.item_for("pkg/circle.py") is not None, timeout=30_000)
    assert tree_state(window, "pkg/circle.py") == ("Parsed", "Parsed · python · 1 definition")
    (project_dir / "README.md").unlink()
    qtbot.waitUntil(lambda: window.sidebar.item_for("README.md") is None, timeout=30_000)
    # a file open in the viewer is re-read when it changes, keeping its marked lines
    window.open_lines(window.sidebar.rows["pkg/shapes.py"], 12, 13)
    shapes = project_dir / "pkg" / "shapes.py"
    added = "\n\ndef triangle_area(base, height):\n    return base * height / 2\n"
    shapes.write_text(shapes.read_text() + added, encoding="utf-8")
    qtbot.waitUntil(lambda: "triangle_area" in window.viewer.code.toPlainText(), timeout=30_000)
    assert window.viewer.code.marked == (12, 13)
    qtbot.waitUntil(lambda: tree_state(window, "pkg/shapes.py")[1] == "Parsed · python · 5 definitions")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify's limits are Linux's")
def test_a_refused_watch_is_said_and_the_project_still_opens(qtbot, window, project_dir: Path,
                                                             refuse_watches):
    refuse_watches()
    ingest_and_wait(qtbot, window, lambda: window.open_paths([str(project_dir)]))
    qtbot.waitUntil(lambda: "Live updates are off" in window.notice.label.text(), timeout=INGEST_TIMEOUT_MS)
    assert window.notice.isVisible() and "fs.inotify.max_user_watches" in window.notice.label.text()
    assert window.live is None
    assert tree_state(window, "pkg/shapes.py")[0] == "Parsed"  # what was read is all there


def test_last_project_reopens_and_is_in_recent_menu(qtbot, window, project_dir: Path):
    ingest_and_wait(qtbot, window, lambda: window.open_paths([str(project_dir)]))
    window.close()
    saved = load_settings()
    assert saved.last_project == str(project_dir.resolve())
    again = MainWindow(saved)
    qtbot.addWidget(again)
    with qtbot.waitSignal(again.projectShown, timeout=10_000):
        again.start(None)
    try:
        assert again.project.root == str(project_dir.resolve())
        assert tree_state(again, "pkg/shapes.py")[0] == "Parsed"
        recent = [action.text() for action in again.recent_menu.actions()]
        assert recent and recent[0].startswith("demo")
    finally:
        again.close()


def test_settings_change_applies_theme_and_is_saved(window, tmp_path: Path):
    source = tmp_path / "a.py"
    source.write_text("def f():\n    return 1\n")
    window.viewer.open_code(str(source), "a.py", "python", (2, 2))
    no_model = window.settings.model_folder  # the test is about the theme: no model loads
    window.apply_settings(Settings(theme="dark", top_k=12, model_folder=no_model))
    assert window.palette().window().color().lightness() < 80
    assert window.viewer.code.highlighter.style_name == "monokai" and window.viewer.code.marked == (2, 2)
    assert load_settings().top_k == 12 and load_settings().theme == "dark"
    window.apply_settings(Settings(theme="light", model_folder=no_model))
    assert window.palette().window().color().lightness() > 200


def test_run_gui_opens_the_given_paths_and_returns_when_the_window_closes(qapp, project_dir: Path,
                                                                          tmp_path: Path):
    save_settings(Settings(model_folder=str(tmp_path / "no-model")))  # read, not encoded: "Parsed"
    seen: dict[str, str] = {}

    def close_when_read() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if windows and windows[0].project is not None and not windows[0].runner.running:
            seen["title"] = windows[0].windowTitle()
            seen["state"] = tree_state(windows[0], "pkg/shapes.py")[0]
            windows[0].close()  # the last window closing ends the event loop
        else:
            QTimer.singleShot(100, close_when_read)

    QTimer.singleShot(100, close_when_read)
    assert run_gui([str(project_dir)]) == 0
    assert seen == {"title": "demo — Folio", "state": "Parsed"}
