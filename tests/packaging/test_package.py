"""The built app (`make package`): it runs with no Python around it, ingests and answers from its bundle.

Slow: the first run builds dist/folio/ with PyInstaller (about 7 minutes on 2 cores); later runs reuse a build
that is newer than every source file (packaging/build.py --if-stale), and FOLIO_REUSE_BUILD=1 tests the
dist/folio/ at hand even when sources changed since.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("folio_packaging_build", REPO / "packaging" / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]
BUNDLE = build.APP.parent / "_internal"
SAMPLE = BUNDLE / "resources" / "sample"
CITATION_KEYS = {"path", "start_line", "end_line", "page", "rects", "score", "text"}


@pytest.fixture(scope="module")
def app() -> Path:
    if importlib.util.find_spec("PyInstaller") is None:  # `make test` installs only the dev extras
        pytest.skip("needs the packaging extras: run `make package` once (or pip install -e '.[packaging]')")
    if os.environ.get("FOLIO_REUSE_BUILD") == "1" and build.APP.is_file():  # test the build at hand as it is
        return build.APP
    result = subprocess.run([sys.executable, str(REPO / "packaging" / "build.py"), "--if-stale"], cwd=REPO,
                            timeout=3000)
    assert result.returncode == 0, "the build failed (its log is above)"
    return build.APP


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """Nothing of the checkout or its venv: a fresh HOME, a fresh FOLIO_HOME, the system PATH only."""
    (tmp_path / "home").mkdir()
    return {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "FOLIO_HOME": str(tmp_path / "folio"),
            "LANG": "C.UTF-8"}


def run(app: Path, args: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    result = subprocess.run([str(app), *args], cwd=env["HOME"], env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"folio {' '.join(args)} failed:\n{result.stderr[-3000:]}"
    return result


def model_args(request: pytest.FixtureRequest) -> tuple[list[str], bool]:
    """The embedded model when the build has one, else a random tiny model (answers then carry no words)."""
    if (BUNDLE / "resources" / "model").is_dir():
        return [], True
    return ["--model", str(request.getfixturevalue("tiny_model_dir"))], False


def test_version_reports_the_build_and_every_library(app, clean_env):
    out = run(app, ["--version"], clean_env).stdout
    lines = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    report = json.loads(build.REPORT.read_text())
    assert lines["Folio"].startswith(f"{report['version']} (built with PyInstaller ")
    assert ("CPU-only build" in lines["Compute"]) == (report["cuda"] is None)
    assert lines["PyTorch"] == report["torch"]
    grammars = lines["tree-sitter"].split("(")[1]
    loaded, _, known = grammars.partition(" of ")
    assert loaded == known.split()[0], f"grammar libraries missing from the bundle: {lines['tree-sitter']}"
    if (BUNDLE / "resources" / "model").is_dir():
        assert lines["Embedded model"].split()[0].startswith("hsa-")
    else:
        assert lines["Embedded model"] == "not present"
    assert all(lines[name] != "unknown" for name in ("Qt (PySide6)", "PyMuPDF", "tree-sitter"))


def test_the_built_app_ingests_and_answers_the_bundled_sample_with_citations(app, clean_env, request):
    model, embedded = model_args(request)
    roots = [SAMPLE / "textstats", SAMPLE / "services-agreement.pdf"]
    bundle_before = sorted((str(p), p.stat().st_mtime_ns) for p in SAMPLE.rglob("*"))

    ingested = json.loads(run(app, ["ingest", *map(str, roots), "--json", *model], clean_env).stdout)
    assert ingested["files"]["failed"] == 0 and ingested["problems"] == []
    assert ingested["pdf_pages"] == 7, "the PDF worker process must run inside the built app"
    assert ingested["definitions"] > 0 and ingested["tokens"] > 0 and ingested["chunks"] > 0

    listed = json.loads(run(app, ["projects", "--json"], clean_env).stdout)
    assert [p["root"] for p in listed] == [str(roots[0])]
    assert listed[0]["documents"] == ingested["documents"]

    question = "What happens when the client pays an invoice late?"
    answer = json.loads(run(app, ["ask", str(roots[0]), question, "--json", "--max-new-tokens", "16", *model],
                            clean_env).stdout)
    assert set(answer) == {"answer", "citations", "timing", "memory"}
    assert isinstance(answer["answer"], str) and (answer["answer"].strip() or not embedded)
    assert answer["memory"]["documents"] == ingested["documents"] and answer["memory"]["reused"] is True
    citations = answer["citations"]
    assert citations, "an answer from the built app cites the chunks it read"
    scores = [c["score"] for c in citations]
    assert scores == sorted(scores, reverse=True) and all(0 < s <= 1 for s in scores)
    for citation in citations:
        assert set(citation) == CITATION_KEYS
        assert not Path(citation["path"]).is_absolute() and citation["text"].strip()
        if citation["page"] is None:
            assert 1 <= citation["start_line"] <= citation["end_line"]
        else:
            assert citation["page"] >= 1 and all(len(rect) == 4 for rect in citation["rects"])
    assert sorted((str(p), p.stat().st_mtime_ns) for p in SAMPLE.rglob("*")) == bundle_before, (
        "projects live under FOLIO_HOME: the app never writes into its own bundle")


def test_the_built_app_opens_its_window_offscreen(app, clean_env):
    assert (BUNDLE / "PySide6" / "Qt" / "plugins" / "platforms" / "libqxcb.so").is_file()
    env = dict(clean_env, QT_QPA_PLATFORM="offscreen", FOLIO_EXIT_AFTER_SHOW="1")
    assert "folio: window shown" in run(app, [], env, timeout=300).stdout


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run (apt-get install xvfb)")
def test_the_built_app_opens_a_real_x11_window(app, clean_env):
    env = dict(clean_env, FOLIO_EXIT_AFTER_SHOW="1")  # no QT_QPA_PLATFORM: Qt picks xcb from DISPLAY
    result = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", str(app)], cwd=env["HOME"],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "folio: window shown" in result.stdout, result.stderr[-3000:]
