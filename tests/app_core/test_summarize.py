"""Summaries through the whole path: ingest, encode, ask the memory per topic (a random tiny model), cite."""

from __future__ import annotations

import argparse
import json

import pymupdf
import pytest

from app.core.cli_summarize import add_summarize_parser, run_summarize
from app.core.engine import Engine
from app.core.summarize import SummarizeError, summarize
from app.core.summary_topics import CONTRACT_TOPICS, topic_by_name


@pytest.fixture
def engine(model_env) -> Engine:
    return Engine(model_env, device="cpu")


def test_contract_summary_cites_each_clause_on_its_page_and_reports_the_missing_one(engine, contract_files):
    path, generated = contract_files["toc"]
    summary = summarize(engine, path)
    toc = pymupdf.open(path).get_toc()
    assert [(e.title, e.page, e.level) for e in summary.outline] == [(t, p, lv) for lv, t, p in toc]
    assert [t.topic for t in summary.topics] == [t.name for t in CONTRACT_TOPICS]
    for result in summary.topics:
        if result.topic == "indemnification":  # left out of this contract
            assert not result.found and result.citations == []
            continue
        assert result.found, result.topic
        first, last = generated.truth[result.topic][0]
        assert first <= result.citations[0].page <= last, result.topic
    data = json.loads(json.dumps(summary.to_json()))
    assert set(data) == {"path", "outline", "topics"} and data["path"] == "toc.pdf"
    assert set(data["outline"][0]) == {"title", "page", "level"}
    assert all(set(t) == {"topic", "found", "citations"} for t in data["topics"])
    cited = next(t for t in data["topics"] if t["topic"] == "payment")["citations"][0]
    assert set(cited) == {"path", "start_line", "end_line", "page", "rects", "score", "text"}
    assert cited["path"] == "toc.pdf" and cited["rects"] and "invoice" in cited["text"].lower()


def test_model_only_summary_keeps_only_retrieved_passages_that_name_the_topic(engine, contract_files):
    path, _ = contract_files["toc"]
    summary = summarize(engine, path, lexical=False)
    for result in summary.topics:
        assert result.found == bool(result.citations)
        for citation in result.citations:  # every one came from the model's retrieval and passed the check
            assert citation.score > 0
            topic = topic_by_name(result.topic)
            before = [e for e in summary.outline if e.page < citation.page]
            sections = before[-1:] + [e for e in summary.outline if e.page == citation.page]
            assert topic.text_hits(citation.text) or any(topic.names_heading(e.title) for e in sections)
    assert not next(t for t in summary.topics if t.topic == "indemnification").found


def test_outline_without_a_toc_comes_from_detected_headings(engine, contract_files):
    path, generated = contract_files["plain"]
    assert pymupdf.open(path).get_toc() == []
    summary = summarize(engine, path)
    titles = {e.title: e.page for e in summary.outline}
    assert titles["MASTER SERVICES AGREEMENT"] == 1
    payment = next(t for t in titles if t.endswith("Fees and Payment"))
    assert titles[payment] == generated.truth["payment"][0][0]
    assert sum(t.startswith("Article ") for t in titles) >= 5


def test_code_file_summary_lists_definitions_with_their_lines(engine, tmp_path):
    source = ('"""Tokens."""\n\n\ndef split(text):\n    """Split text on whitespace."""\n'
              '    return text.split()\n\n\nclass Counter:\n    # counts words\n    def add(self, word):\n'
              '        return word\n')
    path = tmp_path / "words.py"
    path.write_text(source)
    summary = summarize(engine, path)
    data = summary.to_json()
    assert data["topics"] == [] and data["outline"] == []
    by_name = {d["qualified_name"]: d for d in data["definitions"]}
    assert by_name["words.split"]["summary"] == "Split text on whitespace."
    assert (by_name["words.split"]["start_line"], by_name["words.split"]["end_line"]) == (4, 6)
    cited = by_name["words.split"]["citation"]["text"]
    assert cited == 'def split(text):\n    """Split text on whitespace."""'
    assert by_name["words.Counter.add"]["summary"] == "counts words"
    assert by_name["words.Counter.add"]["citation"]["start_line"] == 10


def test_summarize_refuses_a_folder_and_reports_an_unreadable_file(engine, tmp_path):
    with pytest.raises(SummarizeError, match="not a file"):
        summarize(engine, tmp_path)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 50)
    with pytest.raises(SummarizeError, match="broken.pdf: failed"):
        summarize(engine, broken)


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="folio")
    add_summarize_parser(parser.add_subparsers(dest="command"))
    return run_summarize(parser.parse_args(argv))


def test_summarize_command_prints_the_json_object(model_env, contract_files, capsys):
    path, _ = contract_files["toc"]
    assert run(["summarize", str(path), "--json", "--device", "cpu"]) == 0
    data = json.loads(capsys.readouterr().out)
    found = {t["topic"]: t["found"] for t in data["topics"]}
    assert found["payment"] and not found["indemnification"]
    assert run(["summarize", str(path), "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert "indemnification: not found in the document" in text and "Article 1." in text


def test_summarize_command_with_a_bad_answer_model_fails_with_one_line(model_env, contract_files, tmp_path,
                                                                        capsys):
    path, _ = contract_files["toc"]
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"not a model at all")
    assert run(["summarize", str(path), "--answer-model", str(fake)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == ("folio: error: model.gguf is not a GGUF model file "
                   "(it does not start with the GGUF signature)")


def test_summarize_command_with_an_answer_model_adds_a_written_cited_summary(model_env, contract_files,
                                                                            tiny_gguf, capsys):
    path, _ = contract_files["toc"]
    assert run(["summarize", str(path), "--json", "--device", "cpu", "--answer-model", str(tiny_gguf),
                "--max-new-tokens", "16"]) == 0
    data = json.loads(capsys.readouterr().out)
    found = [t for t in data["topics"] if t["found"]]
    assert data["summary"]["text"]
    assert data["summary"]["citations"] == [t["citations"][0] for t in found]  # [n] = n-th topic found
