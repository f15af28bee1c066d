"""The ask pipeline end to end on fixture projects, with the random tiny model (citations come from its real
retrieval, so the tests check that they point at real text, not what the text says)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pymupdf
import pytest
import torch

from app.core.engine import AskError, Engine, ModelError
from app.core.indexing import key_path
from app.core.lock import ProjectBusy, project_lock
from app.core.sessions import load_turns
from ingest.paths import project_db_path
from ingest.pipeline import ingest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ingest"))
from pdf_fixtures import make_known_pdf, make_truncated_pdf  # noqa: E402

FILES = {
    "src/geometry.py": "".join(
        f'def area_{i}(w, h):\n    """Area number {i}."""\n    return w * h * {i}\n\n' for i in range(40)
    ),
    "web/app.js": "".join(
        f"function render{i}(el) {{\n  el.textContent = 'view {i}';\n}}\n" for i in range(30)
    ),
    "svc/main.go": "package main\n\n"
    + "".join(f"func Handler{i}() int {{\n\treturn {i}\n}}\n\n" for i in range(30)),
    "README.md": "# Shapes\n\nThe geometry module computes areas.\n\n## Usage\n\nCall area_3 with sides.\n",
}


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> Engine:
    return Engine(tiny_model_dir, device="cpu")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "docs").mkdir()
    (root / "docs" / "contract.pdf").write_bytes(make_known_pdf())
    return root


def memory_keys(engine: Engine, root: Path) -> set[str]:
    return set(engine.memory(project_db_path(root)).doc_keys())


def assert_points_at_real_text(root: Path, citation) -> None:
    path = root / citation.path
    assert path.is_file() and citation.abspath == str(path)
    if citation.page is None:
        lines = path.read_text().splitlines()
        assert 1 <= citation.start_line <= citation.end_line <= len(lines)
        assert citation.text == "\n".join(lines[citation.start_line - 1 : citation.end_line])
    else:
        with pymupdf.open(path) as pdf:
            assert 1 <= citation.page <= pdf.page_count
            page_text = " ".join(pdf[citation.page - 1].get_text().split())
        for line in citation.text.splitlines():
            assert " ".join(line.split()) in page_text
        assert citation.rects and all(x0 < x1 and y0 < y1 for x0, y0, x1, y1 in citation.rects)
    assert 0 < citation.score <= 1


def test_ask_answers_with_citations_that_point_at_real_text(engine, project):
    report = engine.refresh([str(project)])
    assert report.encode.encoded_documents == 5 and report.encode.tokens > 0
    assert report.to_json()["chunks"] == report.encode.chunks > 5
    pieces: list[str] = []
    answer = engine.ask([str(project)], "Where is area_3 defined?", max_new_tokens=12, on_token=pieces.append)
    assert answer.answer == "".join(pieces)
    assert answer.citations, "the answer drew on some chunks"
    assert [c.score for c in answer.citations] == sorted((c.score for c in answer.citations), reverse=True)
    for citation in answer.citations:
        assert_points_at_real_text(project, citation)
    data = answer.to_json()
    assert set(data) == {"answer", "citations", "timing", "memory"}
    assert set(data["citations"][0]) == {"path", "start_line", "end_line", "page", "rects", "score", "text"}
    assert data["memory"] == {
        "documents": 5,
        "tokens": report.encode.tokens,
        "chunks": report.encode.chunks,
        "reused": True,
    }
    assert 0 < data["timing"]["ttft_ms"] <= data["timing"]["total_ms"]


def test_pdf_citations_carry_the_page_and_the_line_rectangles(engine, project):
    contract = project / "docs"  # a project of the PDF alone: every chunk an answer reads is the PDF's
    pages = set()
    for question in ("What does the contract say about liability?", "Schedule A prices", "Supplier delivers"):
        answer = engine.ask([str(contract)], question, max_new_tokens=4)
        for citation in answer.citations:
            assert citation.path == "contract.pdf"
            assert_points_at_real_text(contract, citation)
            pages.add(citation.page)
    assert pages and None not in pages


def test_an_edit_re_encodes_only_that_file_and_a_deleted_file_is_never_cited(engine, project):
    engine.refresh([str(project)])
    before = memory_keys(engine, project)
    (project / "web" / "app.js").write_text(FILES["web/app.js"] + "function extra() {}\n")
    answer = engine.ask([str(project)], "What does render2 do?", max_new_tokens=4)
    after = memory_keys(engine, project)
    assert {key_path(k) for k in after - before} == {"web/app.js"}  # only the edited file has a new version
    assert len(after) == len(before) and answer.memory["reused"] is False
    (project / "svc" / "main.go").unlink()
    for question in ("Which handler returns 7?", "func Handler main package", "What is in main.go?"):
        answer = engine.ask([str(project)], question, max_new_tokens=6)
        assert all(c.path != "svc/main.go" for c in answer.citations)
    assert "svc/main.go" not in {key_path(k) for k in memory_keys(engine, project)}


def test_follow_up_reuses_the_memory_and_carries_the_chat(engine, project):
    engine.refresh([str(project)])
    keys = memory_keys(engine, project)
    first = engine.ask([str(project)], "Where is area_3 defined?", session="s1", max_new_tokens=6)
    second = engine.ask([str(project)], "And area_4?", session="s1", max_new_tokens=6)
    assert second.memory["reused"] is True and memory_keys(engine, project) == keys
    turns = load_turns(project_db_path(project), "s1")
    assert [(t.question, t.answer) for t in turns] == [
        ("Where is area_3 defined?", first.answer),
        ("And area_4?", second.answer),
    ]
    follow_up = engine._prompt(project_db_path(project), "s1", "And area_5?")
    assert engine.tokenizer.encode("Where is area_3 defined?")[0] in follow_up  # earlier turns are in it
    assert len(follow_up) > len(engine._prompt(project_db_path(project), None, "And area_5?"))


def test_empty_and_all_failed_projects_say_why(engine, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(AskError, match="no documents"):
        engine.ask([str(empty)], "anything?")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.pdf").write_bytes(make_truncated_pdf(0.3))
    with pytest.raises(AskError, match="every file of this project failed to parse"):
        engine.ask([str(broken)], "anything?")
    with pytest.raises(AskError, match="empty"):
        engine.ask([str(empty)], "   ")


def test_stop_while_reading_and_an_over_long_question(engine, project):
    answer = engine.ask([str(project)], "Where is area_3?", should_stop=lambda: True)
    assert answer.stopped and answer.answer == "" and answer.citations == []  # nothing was answered
    with pytest.raises(AskError, match="tokens long; at most 8,192"):
        engine.ask([str(project)], "word " * 9000)
    assert engine.ask([str(project)], "Where is area_3?", max_new_tokens=2).memory["documents"] == 5


def test_missing_or_damaged_model_folder_is_a_clear_error(tiny_model_dir, tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        Engine(tmp_path / "nowhere", device="cpu")
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for f in tiny_model_dir.iterdir():
        (damaged / f.name).write_bytes(f.read_bytes())
    shard = sorted(damaged.glob("*.safetensors"))[0]
    shard.write_bytes(shard.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ModelError, match="damaged"):
        Engine(damaged, device="cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="no CUDA GPU"):
            Engine(tiny_model_dir, device="cuda")


def test_a_memory_made_by_another_model_is_rebuilt_with_a_message(engine, project, tmp_path):
    from model.checkpoint import save
    from model.config import ModelConfig
    from model.transformer import Transformer

    engine.refresh([str(project)])
    torch.manual_seed(1)
    other_dir = tmp_path / "other-model"
    save(Transformer(ModelConfig.from_name("hsa-tiny")), other_dir, engine.tokenizer)
    other = Engine(other_dir, device="cpu")
    report = other.refresh([str(project)])
    assert any(
        n.startswith("rebuilding the project memory") and "was made by model" in n
        for n in report.encode.notices
    )
    assert report.encode.encoded_documents == 5  # every document again, for the new model
    assert other.ask([str(project)], "area_1?", max_new_tokens=3).citations is not None


def test_a_file_changed_during_ask_is_not_cited_with_stale_lines(engine, project):
    engine.refresh([str(project)])
    target = project / "src" / "geometry.py"

    def edit_mid_answer(piece: str) -> None:
        if target.read_text() == FILES["src/geometry.py"]:
            target.write_text("# moved everything down\n" * 50 + FILES["src/geometry.py"])
            ingest([str(project)])  # e.g. the watcher commits the change while the answer streams

    answer = engine.ask(
        [str(project)], "Where is area_3 defined?", max_new_tokens=8, on_token=edit_mid_answer, refresh=False
    )
    for citation in answer.citations:
        assert_points_at_real_text(project, citation)  # never old line numbers on the new file


def test_interrupted_encoding_resumes_without_encoding_anything_twice(engine, tmp_path):
    root = tmp_path / "big"
    root.mkdir()
    for i in range(24):
        (root / f"m{i:02d}.py").write_text(
            "".join(f"x_{i}_{j} = {j} * {i}  # value {j}\n" for j in range(150))
        )
    stop = {"now": False}

    def stop_after_first_batch(progress) -> None:
        stop["now"] = True

    first = engine.refresh(
        [str(root)], encode_progress=stop_after_first_batch, should_stop=lambda: stop["now"]
    )
    assert first.encode.cancelled and 0 < first.encode.encoded_documents < 24
    second = engine.refresh([str(root)])
    assert not second.encode.cancelled
    assert first.encode.encoded_documents + second.encode.encoded_documents == 24
    assert second.encode.documents == 24


def test_a_second_process_waits_for_the_lock_and_says_who_holds_it(tmp_path):
    folder = tmp_path / "project"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from app.core.lock import project_lock\n"
            f"with project_lock({str(folder)!r}, 'ingest'):\n    print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        said: list[str] = []
        started = time.monotonic()
        with pytest.raises(ProjectBusy, match=f"pid {holder.pid} \\(ingest"):
            with project_lock(folder, "ask", timeout=0.5, waiting=said.append):
                pass
        assert time.monotonic() - started >= 0.5
        assert said and f"pid {holder.pid}" in said[0]
    finally:
        holder.kill()
        holder.wait()
    with project_lock(folder, "ask", timeout=5):  # a killed holder's lock is free at once
        pass


def test_a_follow_up_cites_the_same_lines_without_tokenizing_again_and_an_edit_moves_them(
    tiny_model_dir, tmp_path, monkeypatch
):
    engine = Engine(tiny_model_dir, device="cpu")  # its own cache of cited documents' token offsets
    root = tmp_path / "one"
    target = root / "geometry.py"
    root.mkdir()
    target.write_text(FILES["src/geometry.py"])  # the only document: every citation is of it
    tokenized: list[str] = []
    document = engine.tokenizer.document

    def counting_document(text: str):
        tokenized.append(text)
        return document(text)

    monkeypatch.setattr(engine.tokenizer, "document", counting_document)
    question = "Where is area_3 defined?"
    first = engine.ask([str(root)], question, max_new_tokens=8)
    assert first.citations and len(tokenized) == 1
    second = engine.ask([str(root)], question, max_new_tokens=8)
    assert [c.to_json() for c in second.citations] == [c.to_json() for c in first.citations]
    assert len(tokenized) == 1  # the follow-up reused the offsets of the unchanged file
    target.write_text("# moved everything down\n" * 40 + FILES["src/geometry.py"])
    edited = engine.ask([str(root)], question, max_new_tokens=8)
    assert edited.memory["reused"] is False and len(tokenized) == 2  # the new version is tokenized
    assert edited.citations
    for citation in edited.citations:
        assert_points_at_real_text(root, citation)
    # the same answer from an engine that never saw the old version cites the very same lines
    fresh = Engine(tiny_model_dir, device="cpu").ask([str(root)], question, max_new_tokens=8, refresh=False)
    assert fresh.answer == edited.answer
    assert [c.to_json() for c in fresh.citations] == [c.to_json() for c in edited.citations]
