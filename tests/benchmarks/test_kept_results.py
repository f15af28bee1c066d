"""docs/eval/results/ holds the shipped model's code-question results on the H200, the reference a later
candidate is paired against (`python -m benchmarks.compare_code R1='docs/eval/results/code-*.json' ...`).
They must be the model in resources/model, and the README's definition-lookup figure must be theirs: a model
shipped without its results, or a README left at an older model's number, fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from app.core.engine import EMBEDDED_MODEL
from benchmarks.compare_code import load
from model.checkpoint import fingerprint

ROOT = Path(__file__).resolve().parents[2]
RESULTS = sorted((ROOT / "docs" / "eval" / "results").glob("code-*.json"))


def test_the_kept_results_are_the_shipped_models():
    assert len(RESULTS) == 5, "seeds 0-4 of the shipped model"
    shipped = fingerprint(EMBEDDED_MODEL)
    for path in RESULTS:
        assert json.loads(path.read_text())["fingerprint"] == shipped, path.name


def test_the_readme_reports_the_kept_definition_lookup():
    answers = load(str(ROOT / "docs" / "eval" / "results" / "code-*.json"))
    lookups = [right for (_, _, _, kind, _), right in answers.items() if kind == "where"]
    assert len(lookups) == 400
    share = f"{100 * sum(lookups) / len(lookups):.1f}%"
    row = next(line for line in (ROOT / "README.md").read_text().splitlines()
               if line.startswith("| definition lookup on held-out projects"))
    assert re.search(r"\| " + re.escape(share) + " ", row), (share, row)
