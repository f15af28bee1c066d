import json

import pytest

from benchmarks.eval_code import chunk_lines, main
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


def test_cpu_smoke_scores_both_kinds(tiny_model_dir, corpus_dir, tmp_path):
    out = tmp_path / "code.md"
    assert main(["--model", str(tiny_model_dir), "--corpus", str(corpus_dir), "--cpu-smoke",
                 "--questions", "2", "--out", str(out)]) == 0
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
    for sample in by_kind["which"]:
        assert sample["correct"] == (sample["got"].strip() == sample["expected"])


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
