"""The owner probe asks a namesake question as asked, then naming the owner of the namesake it scores best."""

import json

from benchmarks.owner_probe import main
from model.data.corpus import Corpus
from model.data.scopes import definition_lines


def line_of(corpus: Corpus, path: str, name: str) -> int:
    i = next(i for i in range(len(corpus)) if corpus.path(i) == path)
    return next(line for line, n in definition_lines(corpus.source(i)).items() if n == name)


def test_a_namesake_question_is_asked_again_naming_the_other_owner(tiny_model_dir, corpus_dir, tmp_path,
                                                                    capsys):
    corpus = Corpus.load(corpus_dir / "heldout")
    asked = line_of(corpus, "json/encoder.py", "JSONEncoder.__init__")
    cited = line_of(corpus, "json/decoder.py", "JSONDecoder.__init__")
    sample = {"package": "json", "path": "json/encoder.py", "kind": "where", "line": asked,
              "question": "Where is `JSONEncoder.__init__` defined?", "correct": False,
              "cited": ["json/decoder.py", cited, cited + 3]}
    (tmp_path / "code-seed0.json").write_text(json.dumps({"samples": [sample]}))
    out = tmp_path / "owner.md"
    assert main(["--model", str(tiny_model_dir), "--corpus", str(corpus_dir), "--device", "cpu",
                 "--results", str(tmp_path / "code-seed*.json"), "--out", str(out)]) == 0
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert len(rows) == 1 and rows[0]["namesakes"] == 2  # JSONDecoder's and JSONDecodeError's __init__
    assert rows[0]["namesake"] in ("JSONDecoder.__init__", "JSONDecodeError.__init__")
    assert rows[0]["swapped"] == f"Where is `{rows[0]['namesake']}` defined?"
    layers = rows[0]["layers"]  # one per HSA layer of hsa-tiny
    assert layers and all(0 <= c["rank"] < c["chunks"] and -1 <= c["cos_landmarks"] <= 1 for c in layers)
    for layer in range(len(layers)):
        assert f"| {layer} | wrong | 1 |" in out.read_text()
    assert "| 0 | wrong | 1 |" in capsys.readouterr().out
