"""The model side of the window: encoding progress with Cancel, live edits encoded without a restart,
settings that switch the model, the About box."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from PySide6.QtCore import Qt
from window_helpers import (
    ANSWER_TIMEOUT_MS,
    INGEST_TIMEOUT_MS,
    close_window,
    open_window,
    refresh_and_wait,
    wait_watching,
)

import app.core.indexing
from app.core.settings import Settings, load_settings
from app.core.tasks import SAMPLE_DIR
from app.ui.progress import EncodeStatus


def make_project(root: Path, files: int, functions: int) -> Path:
    for index in range(files):
        path = root / f"pkg{index % 3}" / f"module{index:03d}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"def f{index}_{n}(x):\n    return x * {n} + {index}\n\n"
                                for n in range(functions)))
    return root


def test_encoding_shows_tokens_per_second_and_cancel_stops_within_a_second(qtbot, chat_window, tmp_path,
                                                                         monkeypatch):
    monkeypatch.setitem(app.core.indexing.BATCH_TOKENS, "cpu", 2048)  # many small batches to stop between
    root = make_project(tmp_path / "big", 90, 40)
    win = chat_window
    seen: list[object] = []
    with qtbot.waitSignal(win.refreshFinished, timeout=INGEST_TIMEOUT_MS) as finished:
        win.open_paths([str(root)])
        win.runner.progress.connect(seen.append)
        def encoding() -> bool:
            return bool(seen) and isinstance(seen[-1], EncodeStatus) and seen[-1].documents_done >= 2

        qtbot.waitUntil(encoding, timeout=INGEST_TIMEOUT_MS)
        assert win.progress.title.text() == "Encoding big"
        detail = win.progress.detail.text()
        assert "of 90 documents" in detail and "tokens/s" in detail and "left" in detail
        assert win.progress.bar.maximum() == seen[-1].total
        qtbot.mouseClick(win.progress.cancel_button, Qt.MouseButton.LeftButton)
        cancelled_at = time.monotonic()
    stopped_after = time.monotonic() - cancelled_at
    result = finished.args[0]
    assert result.encode.cancelled and 2 <= result.encode.encoded_documents < 90
    assert stopped_after < 1.0, f"cancel took {stopped_after:.2f} s"
    assert "Stopped" in win.notice.label.text()
    states = [win.sidebar.item_for(path).text(1) for path in win.sidebar.rows]
    # what was encoded before the cancel is kept; the rest is read and waits for the next refresh
    assert states.count("Encoded") == result.encode.encoded_documents and "Parsed" in states


def test_live_edits_are_encoded_without_a_restart(qtbot, chat_window, project_dir: Path):
    win = chat_window
    refresh_and_wait(qtbot, win, lambda: win.open_paths([str(project_dir)]))
    wait_watching(qtbot, win)
    assert win.live.watcher.error is None
    (project_dir / "pkg" / "circle.py").write_text("def circle_area(r):\n    return 3.14159 * r * r\n")
    qtbot.waitUntil(lambda: win.sidebar.item_for("pkg/circle.py") is not None, timeout=30_000)
    qtbot.waitUntil(lambda: win.sidebar.item_for("pkg/circle.py").text(1) == "Encoded", timeout=60_000)
    assert win.sidebar.item_for("pkg/shapes.py").text(1) == "Encoded"


def test_settings_switch_the_model_and_are_saved(qtbot, tmp_path: Path, chat_model_dir: Path, project_dir):
    win = open_window(qtbot, Settings(model_folder=str(tmp_path / "missing")))
    try:
        refresh_and_wait(qtbot, win, lambda: win.open_paths([str(project_dir)]))
        assert win.chat.model_notice.isVisible() and not win.chat.ask_button.isEnabled()
        assert win.sidebar.item_for("pkg/shapes.py").text(1) == "Parsed"
        with qtbot.waitSignal(win.model.loaded, timeout=60_000):
            win.apply_settings(Settings(model_folder=str(chat_model_dir), top_k=4, answer_length=32))
        assert not win.chat.model_notice.isVisible() and win.chat.ask_button.isEnabled()
        assert win.status["model"].text().startswith("Model: hsa-tiny")
        assert not win.chat.caveat.isVisible()  # the caveat is about the embedded model only
        saved = load_settings()
        assert (saved.model_folder, saved.top_k, saved.answer_length) == (str(chat_model_dir), 4, 32)
        refresh_and_wait(qtbot, win, win.refresh_ingest)  # F5 now encodes with the new model
        assert win.sidebar.item_for("pkg/shapes.py").text(1) == "Encoded"
        with qtbot.waitSignal(win.model.loaded, timeout=60_000):
            win.apply_settings(Settings(model_folder=""))  # the embedded model: its answers need reading
        assert win.status["model"].text().startswith("Model: hsa-mini")
        assert win.chat.caveat.isVisible() and "embedded model" in win.chat.caveat.text()
    finally:
        close_window(win)


def test_summarize_a_pdf_from_the_details_pane_and_open_a_passage(qtbot, chat_window, project_dir: Path):
    shutil.copy(SAMPLE_DIR / "services-agreement.pdf", project_dir / "docs" / "agreement.pdf")
    win = chat_window
    refresh_and_wait(qtbot, win, lambda: win.open_paths([str(project_dir)]))
    win.sidebar.tree.setCurrentItem(win.sidebar.item_for("docs/agreement.pdf"))
    with qtbot.waitSignal(win.summaries.summaryFinished, timeout=ANSWER_TIMEOUT_MS) as finished:
        qtbot.mouseClick(win.details.summarize_button, Qt.MouseButton.LeftButton)
        assert win.centre.currentWidget() is win.summary_view
    summary = finished.args[0]
    assert summary is not None, win.summary_view.status.text()
    view = win.summary_view
    assert view.title.text() == "agreement.pdf" and view.summary is summary
    assert summary.outline and view.outline.topLevelItemCount() > 0
    found = [topic for topic in summary.topics if topic.found]
    assert found and len(view.chips) == sum(len(topic.citations) for topic in found)
    chip = view.chips[0]
    qtbot.mouseClick(chip, Qt.MouseButton.LeftButton)
    # the summary cites the file as its own project; the viewer opens it as this project's file
    assert win.viewer.kind == "pdf" and win.viewer.shown_path == "docs/agreement.pdf"
    assert win.viewer.pdf.page == chip.citation.page
    assert [list(rect) for rect in win.viewer.pdf.highlights] == (chip.citation.rects or [])
    assert win.sidebar.tree.current_row().path == "docs/agreement.pdf"
