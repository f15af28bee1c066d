import json

import pytest

from benchmarks.compare_code import main, sign_test


def write_results(path, seed, right):
    """An eval_code result file: four definition questions and two description ones, right as listed."""
    questions = [("where", f"Where is f{i} defined?") for i in range(4)] + \
        [("which", f"Which function does thing {i}?") for i in range(2)]
    samples = [{"package": "pkg", "path": "pkg/a.py", "kind": kind, "question": q, "correct": ok}
               for (kind, q), ok in zip(questions, right, strict=True)]
    command = "python -m benchmarks.eval_code --model m --corpus c" + (f" --seed {seed}" if seed else "")
    path.write_text(json.dumps({"command": command, "samples": samples}))


def test_counts_per_seed_and_pairs_each_model_with_the_first(tmp_path, capsys):
    for seed in (0, 1):
        write_results(tmp_path / f"base-s{seed}.json", seed, [True, True, False, False, True, False])
    write_results(tmp_path / "new-s0.json", 0, [True, False, True, True, True, False])
    write_results(tmp_path / "new-s1.json", 1, [True, True, True, False, False, False])
    out = tmp_path / "docs" / "compare.md"
    assert main([f"base={tmp_path}/base-*.json", f"new={tmp_path}/new-*.json", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    assert "### definition lookup (8 questions, seeds 0, 1)" in table
    assert "| base | 4 (50.0%) | 2 / 2 | — | — |" in table
    # seed 0: new gains f2 and f3, loses f1; seed 1: gains f2
    assert "| new | 6 (75.0%) | 3 / 3 | 3 / 1 | 0.62 |" in table
    assert "| new | 1 (25.0%) | 1 / 0 | 0 / 1 | 1.00 |" in table  # description to function
    assert out.read_text().strip() == table.strip()


def test_a_kind_it_has_no_name_for_is_shown_under_its_own(tmp_path, capsys):
    write_results(tmp_path / "a.json", 0, [True] * 6)
    results = json.loads((tmp_path / "a.json").read_text())
    results["samples"][0]["kind"] = "why"
    (tmp_path / "a.json").write_text(json.dumps(results))
    assert main([f"a={tmp_path}/a.json"]) == 0
    assert "### why (1 questions, seeds 0)" in capsys.readouterr().out


def test_the_sign_test_is_exact_and_two_sided():
    assert sign_test(0, 0) == 1.0
    assert sign_test(5, 0) == pytest.approx(2 / 32)
    assert sign_test(0, 5) == sign_test(5, 0)
    assert sign_test(9, 1) == pytest.approx(2 * 11 / 1024)


def test_results_of_other_questions_or_no_files_are_refused(tmp_path):
    write_results(tmp_path / "a.json", 0, [True] * 6)
    write_results(tmp_path / "b.json", 1, [True] * 6)  # another seed: other questions
    with pytest.raises(SystemExit, match="b was asked other questions than a"):
        main([f"a={tmp_path}/a.json", f"b={tmp_path}/b.json"])
    with pytest.raises(SystemExit, match="no eval_code results match"):
        main([f"a={tmp_path}/a.json", f"c={tmp_path}/missing-*.json"])
    with pytest.raises(SystemExit, match="expected NAME=PATTERN"):
        main([str(tmp_path / "a.json")])
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(SystemExit, match="not an eval_code result"):
        main([f"a={tmp_path}/bad.json"])
