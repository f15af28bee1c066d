"""Settings persist as versioned JSON; bad files never stop the app; the dialog edits them; progress maths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.settings import SETTINGS_VERSION, Settings, load_settings, save_settings, settings_path
from app.core.tasks import ProgressMeter, format_duration
from app.ui.app import display_problem
from app.ui.dialogs import SettingsDialog, about_text, collect_versions
from app.ui.model_host import EngineInfo
from ingest.pipeline import Progress


def test_round_trip_through_the_user_data_dir(folio_home: Path):
    settings = Settings(model_folder="/models/hsa", device="cuda", top_k=16, answer_length=1024, theme="dark")
    settings.remember_project("/work/a")
    settings.remember_project("/work/b")
    settings.remember_project("/work/a")
    path = save_settings(settings)
    assert path == folio_home / "settings.json" == settings_path()
    saved = json.loads(path.read_text())
    assert saved["version"] == SETTINGS_VERSION and saved["device"] == "cuda"
    loaded = load_settings()
    assert loaded == settings
    assert loaded.recent_projects == ["/work/a", "/work/b"] and loaded.last_project == "/work/a"


def test_missing_damaged_or_invalid_files_fall_back_to_defaults(folio_home: Path):
    assert load_settings() == Settings()
    settings_path().write_text("{not json")
    assert load_settings() == Settings()
    settings_path().write_text(json.dumps({"version": 1, "device": "tpu", "top_k": "many", "theme": "dark",
                                           "answer_length": 5, "unknown": True}))
    loaded = load_settings()
    assert (loaded.device, loaded.top_k, loaded.theme, loaded.answer_length) == ("auto", 8, "dark", 512)


def test_invalid_values_are_refused():
    with pytest.raises(ValueError, match="device"):
        Settings(device="tpu")
    with pytest.raises(ValueError, match="top-k"):
        Settings(top_k=0)


def test_forgetting_the_last_project_clears_reopen():
    settings = Settings()
    settings.remember_project("/a")
    settings.forget_project("/a")
    assert settings.recent_projects == [] and settings.last_project == ""


def test_dialog_edits_a_copy_and_keeps_history(qtbot):
    base = Settings(recent_projects=["/p"], last_project="/p")
    dialog = SettingsDialog(base)
    qtbot.addWidget(dialog)
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    dialog.theme.setCurrentIndex(dialog.theme.findData("light"))
    dialog.top_k.setValue(4)
    dialog.answer_length.setValue(256)
    dialog.model_folder.setText("  /models/x  ")
    result = dialog.result_settings()
    assert result == Settings(model_folder="/models/x", device="cpu", top_k=4, answer_length=256,
                              theme="light", recent_projects=["/p"], last_project="/p")
    assert base.device == "auto"  # the original is untouched until the window applies the result


def test_about_lists_the_versions_and_the_model_in_use():
    found = collect_versions(None, None)
    info = EngineInfo("hsa-tiny", "0123456789abcdef0123", "cpu", "/models/tiny")
    text = about_text(found, info)
    for name in ("Folio", "Python", "Qt", "PySide6", "PyTorch", "tree-sitter", "PyMuPDF", "Model in use"):
        assert f"<td>{name}</td>" in text
    assert "6.11.3" in text and "2.13.0" in text
    assert "hsa-tiny (0123456789ab) on CPU" in text
    text = about_text(found, None, "model folder /m does not exist")
    assert "not loaded: model folder /m does not exist" in text


def test_progress_meter_reports_rate_and_time_left():
    now = [0.0]
    meter = ProgressMeter(window_s=3.0, clock=lambda: now[0])
    snapshot = None
    for done in range(1, 41):
        now[0] = done * 0.1  # 10 files per second
        snapshot = meter.update(Progress(done, 100, f"f{done}.py", "parsed"))
    assert snapshot.files_per_s == pytest.approx(10.0)
    assert snapshot.seconds_left == pytest.approx(6.0)
    assert snapshot.text == "40 of 100 files · 10 files/s · 6 s left"
    assert snapshot.outcomes == {"parsed": 40}
    assert format_duration(75) == "1 min 15 s" and format_duration(3725) == "1 h 02 min"


def test_without_a_display_the_gui_explains_instead_of_aborting():
    assert "no display" in display_problem({}, "linux")
    assert display_problem({"DISPLAY": ":0"}, "linux") is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    assert display_problem({}, "darwin") is None
