import json
import random
import re

import pytest

from benchmarks.eval_long import length_name, main, parse_length
from model.data.tasks import make_task
from model.tokenizer import Tokenizer
from model.train_eval import needle_chunks


def test_lengths_parse_and_print_alike():
    assert [parse_length(x) for x in ("4K", "16k", "1M", "16M", "3000")] == [4096, 16384, 2**20, 2**24, 3000]
    assert [length_name(n) for n in (4096, 2**20, 3000)] == ["4K", "1M", "3000"]


def test_cpu_smoke_writes_the_table_and_merges_later_lengths(tiny_model_dir, corpus_dir, tmp_path):
    out = tmp_path / "long.md"
    common = ["--model", str(tiny_model_dir), "--corpus", str(corpus_dir), "--cpu-smoke", "--out", str(out)]
    assert main([*common, "--samples", "2", "--kinds", "single,multiquery"]) == 0
    text = out.read_text()
    assert "| task | 2K | 4K |" in text
    for kind in ("single", "multiquery"):
        row = next(line for line in text.splitlines() if line.startswith(f"| {kind} |"))
        assert re.fullmatch(rf"\| {kind} \| \d+% / \d+% / \d+% \(n=2\) \| \d+% / \d+% / \d+% \(n=2\) \|", row)
    results = json.loads(out.with_suffix(".json").read_text())
    assert sorted(results["cells"]) == ["multiquery@2K", "multiquery@4K", "single@2K", "single@4K"]
    for cell in results["cells"].values():
        assert cell["n"] == 2 and 0 <= cell["correct"] <= 2 and 0 <= cell["cited"] <= 2
        assert cell["correct"] <= cell["ruler"] <= 2  # an exact answer holds every expected value
        assert all(example["expected"] for example in cell["examples"])
        # every wrong answer is kept, to be read later (what went wrong at 16M)
        assert len(cell["misses"]) == cell["n"] - cell["correct"]
        assert all(miss["expected"] != miss["got"] and 0 < miss["depth"] < 1 for miss in cell["misses"])
    for name, haystack in results["haystacks"].items():
        assert 0 < haystack["tokens"] <= parse_length(name) and haystack["documents"] >= 1

    # a later call adds a length to the same table
    assert main([*common, "--samples", "1", "--kinds", "single", "--lengths", "1K", "--merge"]) == 0
    text = out.read_text()
    assert "| task | 1K | 2K | 4K |" in text
    cell = r"\d+% / \d+% / \d+% \(n={}\)"
    assert re.search(rf"\| single \| {cell.format(1)} \| {cell.format(2)} \| {cell.format(2)} \|", text)


@pytest.mark.parametrize("kind", ["single", "multikey", "vartrack"])
def test_the_needle_chunk_is_the_chunk_that_holds_the_answer(kind):
    tok = Tokenizer.load()
    haystack = ["\n".join(f"line {i} of document {d}: some filler text" for i in range(60)) for d in range(3)]
    task = make_task(kind, haystack, random.Random(4), depth=0.5)
    keys = [f"h{i}" for i in range(3)]
    encoded = {i: tok.document(task.documents[i]) for i in task.needle_docs}
    (key, chunk), *_ = sorted(needle_chunks(task, encoded, keys, 64))
    ids = encoded[keys.index(key)].ids
    first = task.values[0]
    assert first in tok.decode(ids[chunk * 64:(chunk + 2) * 64])  # the value starts in that chunk
    assert first not in tok.decode(ids[:chunk * 64])
