"""GGUF answers through llama-cpp-python with a tiny random model the test writes itself (no download)."""

from __future__ import annotations

import sys

import pytest

from app.core import gguf_answer
from app.core.answer import Citation
from app.core.gguf_answer import (
    INSTALL_HINT,
    GgufError,
    SourceSpan,
    fit_spans,
    load_answer_model,
    read_info,
    spans_from_citations,
)
from tests.app_core.tiny_gguf import write_tiny_gguf


def cite(path: str, line: int, text: str, score: float) -> Citation:
    return Citation(path, line, line + text.count("\n"), None, None, score, text, f"/p/{path}")


CITATIONS = [
    cite("pay.py", 10, "def pay(invoice):\n    return invoice.total * 1.2", 0.5),
    cite("long.md", 1, "word " * 900, 0.3),  # too long for the model's 1024-token context
    cite("terms.md", 4, "Payment is due within 30 days of the invoice.", 0.2),
]


class Recorder:
    """Wraps the loaded Llama to keep the messages it was sent (what the model actually read)."""

    def __init__(self, llama):
        self.llama = llama
        self.messages: list[dict] = []

    def __getattr__(self, name):
        return getattr(self.llama, name)

    def create_chat_completion(self, messages, **kwargs):
        self.messages = messages
        return self.llama.create_chat_completion(messages, **kwargs)


@pytest.fixture
def model(tiny_gguf):
    loaded = load_answer_model(tiny_gguf, gpu=False)
    loaded.llama = Recorder(loaded.llama)
    yield loaded
    loaded.close()


def test_fit_spans_takes_the_most_relevant_first_and_keeps_their_numbers():
    spans = [SourceSpan(1, "a", "x" * 40), SourceSpan(2, "b", "x" * 400), SourceSpan(3, "c", "x" * 40)]
    fitted = fit_spans(spans, budget=120, count_tokens=len)
    assert [s.number for s in fitted] == [1, 3]
    assert fit_spans(spans, budget=10, count_tokens=len) == []


def test_answer_is_written_from_the_numbered_spans_and_streams(model):
    pieces: list[str] = []
    written = model.write("When is payment due?", CITATIONS, max_new_tokens=24, on_token=pieces.append)
    assert written.used == [1, 3]  # span 2 does not fit in 1024 tokens; numbers kept
    prompt = model.llama.messages[-1]["content"]
    assert "[1] pay.py:10-11\ndef pay(invoice):" in prompt
    assert "[3] terms.md:4\nPayment is due within 30 days" in prompt
    assert "[2]" not in prompt and prompt.rstrip().endswith("Question: When is payment due?")
    assert "[2][3]" in model.llama.messages[0]["content"]  # told to cite by these numbers
    assert len(pieces) > 1 and written.text == "".join(pieces).strip() and written.text
    assert not written.stopped and written.timing["total_ms"] >= written.timing["ttft_ms"] > 0


def test_stop_ends_the_answer_after_the_current_piece(model):
    pieces: list[str] = []
    written = model.write("When is payment due?", CITATIONS[:1], max_new_tokens=48, on_token=pieces.append,
                          should_stop=lambda: len(pieces) >= 2)
    assert written.stopped and len(pieces) == 2


def test_context_too_small_for_any_span_is_one_clear_line(tiny_gguf):
    small = load_answer_model(tiny_gguf, n_ctx=256, gpu=False)
    try:
        with pytest.raises(GgufError, match=r"its context \(256 tokens\) is too small") as error:
            small.write("When is payment due?", CITATIONS[1:2], max_new_tokens=16)
        assert "\n" not in str(error.value)
    finally:
        small.close()


def test_not_a_gguf_file_damaged_file_and_unknown_architecture(tmp_path, tiny_gguf):
    text = tmp_path / "notes.gguf"
    text.write_text("hello")
    with pytest.raises(GgufError, match="notes.gguf is not a GGUF model file"):
        load_answer_model(text)
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny_gguf.read_bytes()[:200])
    with pytest.raises(GgufError, match="cut.gguf is a damaged GGUF file"):
        load_answer_model(cut)
    alien = write_tiny_gguf(tmp_path / "alien.gguf", architecture="folio-alien")
    with pytest.raises(GgufError, match=r"llama.cpp cannot load alien.gguf .*architecture \(folio-alien\)"):
        load_answer_model(alien, gpu=False)
    with pytest.raises(GgufError, match="does not exist"):
        load_answer_model(tmp_path / "missing.gguf")


def test_a_model_larger_than_free_memory_is_refused_before_loading(tiny_gguf, monkeypatch):
    monkeypatch.setattr(gguf_answer, "available_memory", lambda: 1 << 20)
    with pytest.raises(GgufError, match=r"tiny.gguf needs about .* but only 0.0 GB is free"):
        load_answer_model(tiny_gguf, gpu=False)


def test_without_the_extra_the_message_says_how_to_install_it(tiny_gguf, monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import llama_cpp now raises ImportError
    with pytest.raises(GgufError) as error:
        load_answer_model(tiny_gguf)
    assert str(error.value) == INSTALL_HINT and 'pip install ".[gguf]"' in INSTALL_HINT


def test_metadata_is_read_before_loading(tiny_gguf):
    info = read_info(tiny_gguf)
    assert (info.architecture, info.context_length, info.layers, info.embedding, info.kv_heads) == \
        ("llama", 1024, 2, 64, 2)
    assert info.kv_cache_bytes(512) == 2 * 2 * 512 * 32 * 2


def test_spans_carry_citation_numbers_and_topic_labels():
    spans = spans_from_citations(CITATIONS, topics=["code", "notes", "terms"])
    assert [s.number for s in spans] == [1, 2, 3]
    assert spans[2].render().startswith("[3] terms.md:4 (terms)\nPayment is due")


def test_ask_with_an_answer_model_cites_the_spans_the_hsa_model_chose(model_env, tmp_path, model):
    from app.core.engine import Engine
    from app.core.gguf_answer import ask_with_answer_model
    from app.core.project import project_paths
    from app.core.sessions import load_turns
    from ingest.paths import project_db_path

    project = tmp_path / "proj"
    project.mkdir()
    (project / "terms.md").write_text("# Payment\n\nInvoices are payable within 30 days of receipt.\n")
    (project / "pay.py").write_text("def pay(invoice):\n    return invoice.total\n")
    engine = Engine(model_env, device="cpu")
    pieces: list[str] = []
    answer = ask_with_answer_model(engine, [str(project)], "When are invoices due?", model, session="s",
                                   max_new_tokens=16, on_token=pieces.append)
    assert answer.citations and answer.memory["chunks"] > 0
    prompt = model.llama.messages[-1]["content"]
    for number, citation in enumerate(answer.citations, start=1):  # short files: every span fits
        assert f"[{number}] {citation.label}\n{citation.text.strip()}" in prompt
    assert answer.answer == "".join(pieces).strip() and not answer.stopped
    assert answer.timing["total_ms"] >= answer.timing["ttft_ms"] > 0
    [turn] = load_turns(project_db_path(project_paths([str(project)])[0]), "s")
    assert (turn.question, turn.answer) == ("When are invoices due?", answer.answer)


def test_written_summary_cites_each_found_topic_by_number(model):
    from app.core.gguf_answer import write_summary
    from app.core.summarize import Summary, TopicResult

    box = [[72.0, 90.0, 400.0, 102.0]]
    pay = Citation("c.pdf", None, None, 12, box, 0.0, "Invoices are payable within 30 days.", "/x/c.pdf")
    law = Citation("c.pdf", None, None, 40, box, 0.2, "Governed by the laws of England.", "/x/c.pdf")
    summary = Summary("c.pdf", "/x/c.pdf", "pdf", 50, topics=[
        TopicResult("payment", True, [pay]), TopicResult("indemnification", False, []),
        TopicResult("governing law and jurisdiction", True, [law])])
    written = write_summary(model, summary, max_new_tokens=16)
    assert written.used == [1, 2] and summary.text == written.text and summary.text
    prompt = model.llama.messages[-1]["content"]
    assert "[1] c.pdf p.12 (payment)\nInvoices are payable" in prompt
    assert "[2] c.pdf p.40 (governing law and jurisdiction)\nGoverned by" in prompt
    assert "indemnification" not in prompt
    data = summary.to_json()
    assert data["summary"]["text"] == summary.text
    assert [c["page"] for c in data["summary"]["citations"]] == [12, 40]


def test_a_prompt_longer_than_estimated_drops_the_least_relevant_spans(model, monkeypatch):
    monkeypatch.setattr(gguf_answer, "TEMPLATE_TOKENS", -1500)  # the estimate now leaves far too much room
    spans = [cite(f"f{i}.md", 1, f"clause {i} " + "x" * 400, 0.3 - i / 10) for i in range(3)]
    written = model.write("Which clause?", spans, max_new_tokens=8)
    assert written.used and written.used == list(range(1, len(written.used) + 1)) and len(written.used) < 3
    assert written.text
