import json

import pytest

from benchmarks.pool_long import main


def write_run(path, seed, cells, fingerprint="abc"):
    """An eval_long result file: cells as {"kind@length": (correct, ruler, cited, n)}."""
    tokens = {"4K": 4096, "1M": 1 << 20}
    command = "python -m benchmarks.eval_long --model m --corpus c" + (f" --seed {seed}" if seed else "")
    path.write_text(json.dumps({
        "model": "m", "fingerprint": fingerprint, "command": command, "haystacks": {},
        "cells": {name: {"kind": name.split("@")[0], "length": name.split("@")[1],
                         "tokens": tokens[name.split("@")[1]], "correct": c, "ruler": r, "cited": k, "n": n}
                  for name, (c, r, k, n) in cells.items()}}))


def test_seeds_are_pooled_per_cell_and_shown_per_seed(tmp_path, capsys):
    write_run(tmp_path / "near-s0.json", 0, {"single@4K": (49, 49.0, 45, 50),
                                             "vartrack@4K": (40, 45.5, 20, 50)})
    write_run(tmp_path / "near-s1.json", 1, {"single@4K": (50, 50.0, 48, 50),
                                             "vartrack@4K": (38, 44.0, 21, 50)})
    write_run(tmp_path / "far-s0.json", 0, {"single@1M": (48, 48.0, 47, 50)})
    out = tmp_path / "docs" / "pooled.md"
    assert main([f"{tmp_path}/near-s*.json", f"{tmp_path}/far-s*.json", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| single | 99% / 99% / 93% (n=100) | 96% / 96% / 94% (n=50) |" in text
    assert "| single | 4K | 99 of 100 (99.0%) | 99.0% | 93 of 100 |" in text
    assert "| vartrack | 4K | 78 of 100 (78.0%) | 89.5% | 41 of 100 |" in text
    # per seed: the single needle exact, variable tracking by RULER's score; seed 1 never ran 1M
    assert "| 0 | 98 / 96 | 91 |" in text
    assert "| 1 | 100 / - | 88 |" in text
    assert out.read_text().strip() == text.strip()


def test_other_models_counting_twice_or_no_files_are_refused(tmp_path):
    write_run(tmp_path / "a.json", 0, {"single@4K": (50, 50.0, 50, 50)})
    write_run(tmp_path / "b.json", 0, {"single@4K": (50, 50.0, 50, 50)})
    with pytest.raises(SystemExit, match="single@4K at seed 0 is already in another file"):
        main([f"{tmp_path}/a.json", f"{tmp_path}/b.json"])
    write_run(tmp_path / "b.json", 1, {"single@4K": (50, 50.0, 50, 50)}, fingerprint="other")
    with pytest.raises(SystemExit, match="another model"):
        main([f"{tmp_path}/a.json", f"{tmp_path}/b.json"])
    with pytest.raises(SystemExit, match="no eval_long results match"):
        main([f"{tmp_path}/missing-*.json"])
    for bad in ("[]", '{"cells": []}', "not json"):
        (tmp_path / "bad.json").write_text(bad)
        with pytest.raises(SystemExit, match="not an eval_long result"):
            main([str(tmp_path / "bad.json")])
