"""`python main.py --version` and app.core.versions.build_info(), which the About box shows."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import torch

from app.core import versions
from model.checkpoint import fingerprint

REPO = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def test_model_line_names_the_model_and_its_fingerprint_or_says_why_not(tiny_model_dir, tmp_path):
    assert versions.model_description(tmp_path / "absent") == "not present"
    assert versions.model_description(tiny_model_dir) == f"hsa-tiny ({fingerprint(tiny_model_dir)})"
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "config.json").write_text("{not json")
    assert versions.model_description(damaged).startswith("damaged: ")


def test_build_info_says_cpu_only_exactly_when_torch_has_no_cuda():
    text = versions.build_info()
    assert ("CPU-only build" in text) == (torch.version.cuda is None)
    assert f"PyTorch: {torch.__version__}" in text
    assert f"tree-sitter: 0.26.1 ({len(versions.CODE_LANGUAGES)} of {len(versions.CODE_LANGUAGES)}" in text


def test_a_built_app_reports_its_build_record(tmp_path, monkeypatch):
    record = tmp_path / "folio-build.json"
    record.write_text(json.dumps({"version": "9.9.9", "tool": "PyInstaller 6.22.3", "date": "2026-11-28",
                                  "platform": "linux-x86_64"}))
    monkeypatch.setattr(versions, "BUILD_RECORD", record)
    built = "9.9.9 (built with PyInstaller 6.22.3 on 2026-11-28 for linux-x86_64)"
    assert versions.versions()["Folio"] == built
    record.write_text("[1, 2")  # a damaged record is ignored, not fatal
    assert versions.versions()["Folio"].endswith("(running from source)")


def test_version_flag_prints_everything_without_loading_qt(cli_env, tiny_model_dir):
    probe = ("import sys, main\n"
             "status = main.main(['--version'])\n"
             "print('qt loaded' if any(m.startswith('PySide6') for m in sys.modules) else 'qt not loaded')\n"
             "sys.exit(status)")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=cli_env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    assert lines["Folio"] == f"{VERSION} (running from source)"
    embedded = REPO / "resources" / "model"
    assert lines["Embedded model"] == versions.model_description(embedded)
    assert lines["Model in use ($FOLIO_MODEL)"] == f"hsa-tiny ({fingerprint(tiny_model_dir)})"
    assert {"Compute", "PyTorch", "Qt (PySide6)", "PyMuPDF", "tree-sitter", "Python"} <= set(lines)
    assert result.stdout.rstrip().endswith("qt not loaded")
