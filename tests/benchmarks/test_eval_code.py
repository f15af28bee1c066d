import json

import pytest

from benchmarks import compare_code
from benchmarks.eval_code import chunk_lines, defined_names, main
from model.chunk_runs import top_run


def test_chunk_lines_cover_the_document_in_order(tokenizer):
    text = "pkg/mod.py\n" + "".join(f"value_{i} = compute({i}, 'text')\n" for i in range(120))
    encoding = tokenizer.document(text)
    ranges = [chunk_lines(encoding, text, c, 64) for c in range(-(-len(encoding.ids) // 64))]
    assert ranges[0][0] == 1 and ranges[-1][1] == text.count("\n")  # the text ends with a newline
    for (_, end), (start, _) in zip(ranges, ranges[1:], strict=False):
        assert start in (end, end + 1)  # a line split between chunks belongs to both
    assert chunk_lines(encoding, text, len(ranges), 64) == (0, -1)  # past the end: padding only


def test_the_top_citation_is_the_apps_first_chip_a_run_of_adjacent_chunks():
    # a signature at the end of chunk 3 with its docstring in chunk 4: the app shows one chip for both,
    # which outweighs a heavier single chunk elsewhere
    weights = {("a.py#0", 3): 0.3, ("a.py#0", 4): 0.3, ("b.py#1", 7): 0.5, ("a.py#0", 9): 0.1}
    assert top_run(weights) == ("a.py#0", 3, 4)
    assert top_run({("a.py#0", 3): 0.3, ("b.py#1", 4): 0.3, ("b.py#1", 7): 0.5}) == ("b.py#1", 7, 7)
    assert top_run({}) is None


class TwoFiles:
    """The corpus methods defined_names reads, over two files of one package."""
    paths = ["pkg/rbf.py", "pkg/keops/rbf.py", "pkg/README.md"]
    sources = ["class RBFKernel:\n    def forward(self, x):\n        return x\n",
               "import torch\n\n\nclass RBFKernel:\n    @property\n    def scale(self):\n        return 1\n\n"
               "    @scale.setter\n    def scale(self, value):\n        pass\n",
               "class RBFKernel: not Python\n"]

    def path(self, i):
        return self.paths[i]

    def source(self, i):
        return self.sources[i]


def test_a_name_defined_twice_in_a_package_lists_both_places():
    defined = defined_names(TwoFiles(), [0, 1, 2], ["a#0", "b#1", "c#2"])
    # document lines: line 1 is the path, so a file's line n is the document's line n + 1
    assert defined["RBFKernel"] == [("a#0", 2), ("b#1", 5)]  # the README is not Python
    assert defined["RBFKernel.forward"] == [("a#0", 3)]
    assert defined["RBFKernel.scale"] == [("b#1", 7), ("b#1", 11)]  # a property and its setter


def test_cpu_smoke_scores_both_kinds(tiny_model_dir, corpus_dir, tmp_path, capsys):
    out = tmp_path / "code.md"
    assert main(["--model", str(tiny_model_dir), "--corpus", str(corpus_dir), "--cpu-smoke",
                 "--questions", "2", "--weights", "--out", str(out)]) == 0
    text = out.read_text()
    assert "| definition lookup (top citation covers the definition) |" in text
    assert "| definition's chunk among the chunks the answer read (diagnostic) |" in text
    assert "| definition lookup: the single top chunk covers it (the score until session 9) |" in text
    assert "| definition lookup: lines of the top citation, median (largest) |" in text
    assert "- json:" in text  # the held-out package is the project
    results = json.loads(out.with_suffix(".json").read_text())
    by_kind = {kind: [s for s in results["samples"] if s["kind"] == kind] for kind in ("where", "which")}
    assert len(by_kind["where"]) == len(by_kind["which"]) == 2
    for sample in by_kind["where"]:
        assert sample["path"].startswith("json/") and sample["line"] >= 1
        cited = sample["cited"]  # [path, first line, last line] of the top citation (document lines)
        assert cited is not None and cited[0].startswith("json/") and 1 <= cited[1] <= cited[2]
        covers = cited[0] == sample["path"] and cited[1] <= sample["line"] + 1 <= cited[2]
        assert sample["correct"] == covers
        assert sample["read"] or not covers  # the top citation is one of the chunks the answer read
        # the second score accepts a same-named definition too, so it never counts less than the first
        assert sample["namesake_correct"] or not sample["correct"]
        # --weights: every answer token's chunks (ids into "chunks"), and the question's tokens' before them
        assert len(sample["pieces"]) == len(sample["weights"]) >= 1
        assert sample["prompt_weights"][-1] == sample["weights"][0]  # the retrieval of the first answer token
        ids = {c for token in sample["weights"] + sample["prompt_weights"] for c, _ in token}
        assert ids == set(range(len(sample["chunks"])))
        assert {str(c) for key, c in sample["chunks"] if key == sample["target"]} == set(sample["lines"])
    for sample in by_kind["which"]:
        assert sample["correct"] == (sample["got"].strip() == sample["expected"])
    # the result file is what compare_code reads: one model against itself differs nowhere
    capsys.readouterr()
    assert compare_code.main([f"a={out.with_suffix('.json')}", f"b={out.with_suffix('.json')}"]) == 0
    table = capsys.readouterr().out
    assert "### definition lookup (2 questions, seeds 0)" in table
    assert table.count("| 0 / 0 | 1.00 |") == 2  # both kinds


def test_passage_questions_are_scored_by_the_sentence_they_ask_for(tiny_model_dir, corpus_dir,
                                                                    tmp_path):
    out = tmp_path / "passage.md"
    assert main(["--model", str(tiny_model_dir), "--corpus", str(corpus_dir), "--cpu-smoke",
                 "--kinds", "passage", "--questions", "2", "--out", str(out)]) == 0
    text = out.read_text()
    assert "| passage (top citation covers the sentence) |" in text and "definition lookup" not in text
    samples = json.loads(out.with_suffix(".json").read_text())["samples"]
    assert len(samples) == 2 and {s["kind"] for s in samples} == {"passage"}
    for sample in samples:
        assert sample["path"].startswith("json/")
        assert sample["expected"].endswith(".") and len(sample["expected"].split()) >= 8  # a sentence
        cited = sample["cited"]
        covers = (cited is not None and cited[0] == sample["path"]
                  and cited[1] <= sample["line"] + 1 <= cited[2])
        assert sample["correct"] == covers
        got = " ".join(sample["got"].split()).rstrip(".")
        assert sample["quoted"] == (got == sample["expected"].rstrip("."))


def test_an_unknown_kind_is_refused(tiny_model_dir, corpus_dir, capsys):
    with pytest.raises(SystemExit):
        main(["--model", str(tiny_model_dir), "--corpus", str(corpus_dir), "--kinds", "where,how"])
    assert "unknown kinds ['how']" in capsys.readouterr().err
