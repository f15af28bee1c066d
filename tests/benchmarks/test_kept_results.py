"""docs/eval/results/ holds the shipped model's code-question results on the H200, the reference a later
candidate is paired against (`python -m benchmarks.compare_code R1='docs/eval/results/code-*.json' ...`).
They must be the model in resources/model, and the README's definition-lookup figure must be theirs: a model
shipped without its results, or a README left at an older model's number, fails here. docs/eval/fresh/ holds
the same packages asked with seeds 5-9, which no choice of model has seen (benchmarks/gpu/fresh_seeds.sh):
the shipped model's figure there must be the README's too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from app.core.engine import EMBEDDED_MODEL
from benchmarks.compare_code import file_seed, load
from model.checkpoint import fingerprint

ROOT = Path(__file__).resolve().parents[2]
RESULTS = sorted((ROOT / "docs" / "eval" / "results").glob("code-*.json"))
FRESH = ROOT / "docs" / "eval" / "fresh"


def readme_row() -> str:
    return next(line for line in (ROOT / "README.md").read_text().splitlines()
                if line.startswith("| definition lookup on held-out projects"))


def lookup_share(paths: list[Path]) -> str:
    answers: dict = {}
    for path in paths:
        answers.update(load(str(path)))
    lookups = [right for (_, _, _, kind, _), right in answers.items() if kind == "where"]
    assert len(lookups) == 400
    return f"{100 * sum(lookups) / len(lookups):.1f}%"


def test_the_kept_results_are_the_shipped_models():
    assert len(RESULTS) == 5, "seeds 0-4 of the shipped model"
    shipped = fingerprint(EMBEDDED_MODEL)
    for path in RESULTS:
        assert json.loads(path.read_text())["fingerprint"] == shipped, path.name


def test_the_readme_reports_the_kept_definition_lookup():
    share, row = lookup_share(RESULTS), readme_row()
    assert re.search(r"\| " + re.escape(share) + " ", row), (share, row)


def test_the_shipped_model_has_its_fresh_questions_and_the_readme_their_figure():
    shipped = fingerprint(EMBEDDED_MODEL)
    kept = {path: json.loads(path.read_text()) for path in sorted(FRESH.glob("code-*.json"))}
    mine = [path for path, results in kept.items() if results["fingerprint"] == shipped]
    assert sorted(file_seed(kept[path]) for path in mine) == [5, 6, 7, 8, 9]
    share, row = lookup_share(mine), readme_row()
    assert f"; {share} on 400 fresh questions" in row, (share, row)
