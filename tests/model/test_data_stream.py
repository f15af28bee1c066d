import ast
import json
import re
import shutil
import sysconfig
from pathlib import Path

import numpy as np
import pytest
import torch

from model.data.corpus import Corpus, find_sources
from model.data.renames import rename_text, renaming, word_pool
from model.data.rows import namesake_names, padded, verbatim_chars
from model.data.show import main as show
from model.data.stream import IGNORE, TrainStream
from model.data.tasks import KINDS
from model.tokenizer import Tokenizer

STDLIB = Path(sysconfig.get_paths()["stdlib"])
PACKAGES = ["json", "email", "logging", "importlib", "concurrent", "urllib"]
T = 4096


def rows_of(stream: TrainStream, kind: str, tries: int):
    """The rows of that kind among `tries` asked for (a task that does not fit gives a plain row instead)."""
    for _ in range(tries):
        row = stream.row(kind)
        if row.kind == kind:
            yield row


def answer_parts(answer: str) -> list[str]:
    """What a task answer copies from its needles: the values, and a multi-query answer's keys too."""
    return [part for item in answer.split(", ") for part in item.split(": ")]


@pytest.fixture(scope="module")
def tok():
    return Tokenizer.load()


@pytest.fixture(scope="module")
def corpus_folder(tok, tmp_path_factory):
    """About 2 MB of real standard-library code: several packages, small and large files."""
    root = tmp_path_factory.mktemp("lib")
    for package in PACKAGES:
        shutil.copytree(STDLIB / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    files = {name: paths[:25] for name, paths in find_sources([root]).items()}
    built = Corpus.build(files, tok, list(files), workers=1, roots=[root])
    built.save(root.parent / "corpus")
    return root.parent / "corpus"


@pytest.fixture(scope="module")
def corpus(corpus_folder):
    return Corpus.load(corpus_folder)


def documents(doc_ids: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each document of a row."""
    cuts = [0, *(np.flatnonzero(np.diff(doc_ids)) + 1).tolist(), len(doc_ids)]
    return list(zip(cuts, cuts[1:], strict=False))


def test_batches_pack_documents_on_chunk_boundaries(corpus, tok):
    stream = TrainStream(corpus, tok, seq_len=T, seed=0)
    idx, doc_ids, targets = stream.next_batch(8)
    assert idx.shape == doc_ids.shape == targets.shape == (8, T)
    assert idx.dtype == doc_ids.dtype == targets.dtype == torch.int64
    for row in range(8):
        ids, docs, tgt = idx[row].numpy(), doc_ids[row].numpy(), targets[row].numpy()
        spans = documents(docs)
        assert docs.tolist() == sorted(docs.tolist())  # one id per document, in order
        assert len(set(docs.tolist())) == len(spans)
        assert all(start % 64 == 0 and (end - start) % 64 == 0 for start, end in spans)
        assert (tgt[:-1][ids[1:] == tok.pad_id] == IGNORE).all()
        learnt = tgt[:-1] != IGNORE
        assert (tgt[:-1][learnt] == ids[1:][learnt]).all()  # next-token targets
        assert (docs[1:][learnt] == docs[:-1][learnt]).all()  # never across a document boundary
        assert tgt[-1] == IGNORE
        assert all(tgt[end - 1] == IGNORE for _, end in spans)
        assert learnt.mean() > 0.5  # most of a row is real text that is learnt


def test_plain_rows_hold_whole_documents_but_the_last(corpus, tok):
    stream = TrainStream(corpus, tok, seq_len=T, seed=1)
    texts = {corpus.doc(i).tobytes() for i in range(len(corpus))}
    for _ in range(4):
        row = stream.row("plain")
        spans = documents(row.doc_ids)
        for n, (start, end) in enumerate(spans):
            ids = row.ids[start:end]
            ids = ids[ids != tok.pad_id].astype(np.uint16)
            assert ids.tobytes() in texts or n == len(spans) - 1  # only the last may be cut
        assert row.mask.sum() > T * 0.9 or len(spans) == 1


def test_a_full_body_never_pushes_the_question_out_of_its_row(corpus, tok):
    # a body piece that finds the body full is left out; the question document still ends the row (it once
    # inherited the body's limit then: ~1% of task rows had no question and copy targets at wrong positions)
    stream = TrainStream(corpus, tok, seq_len=T, seed=0)
    question = (np.arange(1, 41), np.ones(40, dtype=bool), -1)
    body = [(np.full(T, 7), np.ones(T, dtype=bool), 0), (np.full(100, 8), np.ones(100, dtype=bool), 1)]
    row = stream._pack(body, [question], "single", "q", "a")
    assert row.answer_from == T - padded(40)
    assert row.ids[row.answer_from:row.answer_from + 40].tolist() == list(range(1, 41))
    assert row.sources == [0]


@pytest.mark.parametrize("kind", KINDS)
def test_task_rows_teach_only_the_answer_and_keep_needles_in_text(corpus, tok, kind):
    stream = TrainStream(corpus, tok, seq_len=T, seed=2)
    checked = 0
    for _ in range(8):
        row = stream.row(kind)
        ids, docs, mask = row.ids, row.doc_ids, row.mask
        spans = documents(docs)
        q_start, q_end = spans[-1]
        question_doc = ids[q_start:q_end]
        assert tok.decode(question_doc[mask[q_start:q_end]].tolist(), skip_special=False) == \
            row.answer + "<|end_turn|>"
        prompt = tok.decode(question_doc[~mask[q_start:q_end]].tolist())
        assert prompt == row.question
        haystack = tok.decode(ids[:q_start].tolist())
        learnt_haystack = tok.decode(ids[:q_start][mask[:q_start]].tolist())
        for part in answer_parts(row.answer):
            assert part in haystack and part not in learnt_haystack
            assert (part in row.question) == (kind == "multiquery" and ": " + part not in row.answer)
        # needles are spliced at line starts: every host document tokenizes as its own text would
        for start, end in spans[:-1]:
            if not mask[start:end][ids[start:end] != tok.pad_id].all():
                doc = ids[start:end][ids[start:end] != tok.pad_id].tolist()
                if doc[0] == tok.doc_start_id and doc[-1] == tok.doc_end_id:
                    assert tok.document(tok.decode(doc)).ids == doc
                    checked += 1
    assert checked


def test_answer_marker_covers_exactly_the_answer_of_question_rows(corpus, tok):
    # every row a single-needle task or a plain row: the marker is what --answer-weight up-weights
    stream = TrainStream(corpus, tok, seq_len=T, seed=5, task_share=0.5, qa_share=0.0, task_kinds=["single"])
    idx, doc_ids, targets, answer, wanted, copies = stream.next_batch(12, answers=True)
    assert ((wanted >= 0) == answer.bool()).all()  # every answer token is told where to look, no other
    assert (wanted < torch.arange(T)[None, :] // 64).all()  # at an earlier chunk
    # the copied tokens are answer tokens (all but <|end_turn|>), each reading an earlier needle token
    assert ((copies >= 0) == (answer.bool() & (targets != tok.end_turn_id))).all()
    assert (copies < torch.arange(T)[None, :]).all()
    marked_rows = 0
    for row in range(12):
        marked = answer[row].bool()
        if not marked.any():
            spans = documents(doc_ids[row].numpy())
            last = idx[row, spans[-1][0]:spans[-1][1]].tolist()
            assert tok.role_ids["assistant"] not in last  # a plain row: no question document
            continue
        marked_rows += 1
        text = tok.decode(targets[row][marked].tolist(), skip_special=False)
        value = text.removesuffix("<|end_turn|>")
        assert text.endswith("<|end_turn|>") and (value.isdigit() or value.isalpha())  # the magic value only
        assert (targets[row][marked] != IGNORE).all()
    assert 2 <= marked_rows <= 10
    with pytest.raises(ValueError, match="unknown task kinds"):
        TrainStream(corpus, tok, seq_len=T, seed=5, task_kinds=["needle"])


@pytest.mark.parametrize("kind", ["single", "multikey", "multivalue", "multiquery", "vartrack", "qa"])
def test_the_source_chunk_holds_the_answer(corpus, tok, kind):
    # what --retrieval-weight teaches HSA to choose: the chunk of the needle's value or the definition's line
    stream = TrainStream(corpus, tok, seq_len=T, seed=6)
    for row in rows_of(stream, kind, 6):
        c = row.source_chunk
        assert 0 <= c < row.answer_from // 64
        text = tok.decode(row.ids[c * 64:(c + 2) * 64].tolist())
        if kind == "qa":
            qa = next(qa for doc in row.sources for qa in stream.questions(doc)
                      if qa.question == row.question)
            assert qa.name.split(".")[-1] in text  # the definition's first line starts in that chunk
        else:
            first = answer_parts(row.answer)[0]
            assert first in text and first not in tok.decode(row.ids[:c * 64].tolist())


@pytest.mark.parametrize("kind", ["multivalue", "multiquery", "vartrack"])
def test_each_value_of_a_multi_part_answer_is_retrieved_from_its_own_needle(corpus, tok, kind):
    # retrieval supervision used to point every answer token at the first needle
    checked = 0
    for row in rows_of(TrainStream(corpus, tok, seq_len=T, seed=6), kind, 8):
        positions = [p for p in range(T - 1) if row.answer_from <= p and row.mask[p + 1]]
        wanted = row.retrieval_targets(positions)
        assert sorted(wanted) == positions
        answer = [int(row.ids[p + 1]) for p in positions]
        ends = [len(tok.decode(answer[:j + 1], skip_special=False)) for j in range(len(answer))]
        after = 0
        for part in answer_parts(row.answer):
            start = row.answer.index(part, after)
            after = start + len(part)
            # the positions predicting a token that ends inside this part: each looks at the part's needle
            chunks = {wanted[p] for p, end in zip(positions, ends, strict=True) if start < end <= after}
            assert chunks and max(chunks) - min(chunks) <= 1  # a needle may straddle two chunks
            c = min(chunks)
            assert part in tok.decode(row.ids[c * 64:(c + 2) * 64].tolist())
        assert len(set(wanted.values())) > 1  # the needles lie in different chunks
        checked += 1
    assert checked >= 3


def test_qa_rows_put_the_source_far_from_the_question_among_files_of_its_package(corpus, tok):
    stream = TrainStream(corpus, tok, seq_len=T, seed=3)
    assert len(stream.qa_docs) > 10
    for _ in range(6):
        row = stream.row("qa")
        assert row.kind == "qa"
        spans = documents(row.doc_ids)
        q_start, q_end = spans[-1]
        assert tok.decode(row.ids[q_start:q_end][row.mask[q_start:q_end]].tolist(), skip_special=False) == \
            row.answer + "<|end_turn|>"
        # the file the question is about: one of the row's documents, ending >= 2048 tokens before it
        holders = [(doc, n) for n, doc in enumerate(row.sources) if any(
            qa.question == row.question and qa.answer == row.answer for qa in stream.questions(doc))]
        assert holders
        doc, n = holders[0]
        assert q_start - spans[n][1] >= 2048
        assert row.ids[spans[n][0]:spans[n][0] + len(corpus.doc(doc))].tolist() == corpus.doc(doc).tolist()
        # the other documents are the package's own files while it has any left (as in a project)
        package = corpus.package(doc)
        same = sum(corpus.package(other) == package for other in row.sources)
        assert same == min(len(row.sources), len(stream.neighbours[package])) and len(row.sources) > 2


def test_a_long_qa_row_asks_several_questions_each_about_a_file_far_before_it(corpus, tok):
    # a project read once and asked many things: every question document's answer is learnt, its
    # retrieval targets point at its own definition, and its copies come from its own file
    stream = TrainStream(corpus, tok, seq_len=16384, seed=9, questions_per_row=8)
    rows = list(rows_of(stream, "qa", 4))
    assert rows and max(len(row.asked) for row in rows) >= 4
    copied = 0
    for row in rows:
        spans = documents(row.doc_ids)
        tails = [(a, b) for a, b in spans if a >= row.answer_from and row.mask[a:b].any()]
        assert len(tails) == len(row.asked) == len(row.definitions) <= 8
        positions = [p for p in range(16383) if row.answer_from <= p and row.mask[p + 1]]
        wanted = row.retrieval_targets(positions)
        for (start, end), (question, answer), (first, chunk) in zip(tails, row.asked, row.definitions,
                                                                     strict=True):
            got = tok.decode(row.ids[start:end][row.mask[start:end]].tolist(), skip_special=False)
            assert got == answer + "<|end_turn|>"
            assert row.mask[first + 1] and not row.mask[first] and start < first < end
            assert chunk * 64 < row.answer_from - stream.far  # the definition is far before the questions
            # the definition's file: a whole document of the row holding the answer's name in that chunk
            qa = next(qa for doc in row.sources for qa in stream.questions(doc) if qa.question == question
                      and qa.answer == answer)
            assert qa.name.split(".")[-1] in tok.decode(row.ids[chunk * 64:(chunk + 2) * 64].tolist())
            own = [p for p in positions if start <= p < end]
            assert {wanted[p] for p in own if p not in row.copy_sources} <= {chunk}
            file = row.doc_ids[chunk * 64]  # documents are whole chunks: the definition's file
            assert all(row.doc_ids[row.copy_sources[p]] == file for p in own if p in row.copy_sources)
            copied += sum(p in row.copy_sources for p in own)
        questions = [question for question, _ in row.asked]
        assert len(set(questions)) == len(questions)  # no question asked twice in a row
    assert copied > 20
    with pytest.raises(ValueError, match="questions_per_row"):
        TrainStream(corpus, tok, seq_len=T, seed=0, questions_per_row=0)


def test_owner_first_answers_copy_the_owner_from_the_definition_lines_scope_comment(corpus, tok):
    stream = TrainStream(corpus, tok, seq_len=16384, seed=9, questions_per_row=8, owner_first=True)
    checked = 0
    for row in rows_of(stream, "qa", 16):
        for (_, answer), (first, chunk) in zip(row.asked, row.definitions, strict=True):
            name, _, rest = answer.partition(": ")
            if "." not in name or " " in name or not rest.startswith(("def ", "async def ", "class ")):
                continue  # not a method's definition answer
            # the answer's first tokens (the qualified name) copy the scope comment on the definition line
            copied = [row.copy_sources[p] for p in range(first, first + 3) if p in row.copy_sources]
            assert copied, answer
            text = tok.decode(row.ids[min(copied) - 8:max(copied) + 8].tolist())
            assert f"  # {name}" in text and min(copied) // 64 in (chunk, chunk + 1)
            checked += 1
    assert checked >= 4


def test_namesake_rows_ask_about_definitions_another_class_shares_a_name_with(corpus, tok):
    # `post` of two classes: the rows that ask for one of them teach the answer to copy the asked one's lines
    def namesake_share_of_questions(share: float) -> float:
        stream = TrainStream(corpus, tok, seq_len=16384, seed=9, questions_per_row=8, namesake_share=share)
        asked = namesakes = 0
        for row in rows_of(stream, "qa", 6):
            questions = {qa.question: qa for doc in set(row.sources) for qa in stream.questions(doc)}
            names = namesake_names([qa.name for qa in questions.values()])
            later = row.asked[1:]  # the first question is drawn as before; the bias orders the others
            asked += len(later)
            namesakes += sum(questions[question].name in names for question, _ in later)
        return namesakes / asked

    assert namesake_names(["Request.post", "Client.post", "post_form", "Request.get"]) == {
        "Request.post", "Client.post"}
    biased, plain = namesake_share_of_questions(1.0), namesake_share_of_questions(0.0)
    assert biased > 0.3 and biased > 2.5 * plain  # (0.40 and 0.12 measured: as many as the rows' files hold)
    with pytest.raises(ValueError, match="namesake_share"):
        TrainStream(corpus, tok, seq_len=T, seed=0, namesake_share=1.5)


def test_renamed_rows_show_the_package_and_ask_about_it_with_its_classes_renamed(corpus, tok):
    # the model must match the owner as the question spells it: no name it met in earlier stretches helps
    stream = TrainStream(corpus, tok, seq_len=16384, seed=9, questions_per_row=8, rename_share=1.0)
    rows = list(rows_of(stream, "qa", 4))
    owners = checked = 0
    for row in rows:
        assert row.renames and not set(row.renames.values()) & set(row.renames)
        package = corpus.package(row.sources[0])  # a qa row starts with files of the asked one's package
        spans = documents(row.doc_ids)
        for (start, end), doc in zip(spans, row.sources, strict=False):
            if corpus.package(doc) != package:
                continue
            text = tok.decode(row.ids[start:end].tolist())
            assert not any(re.search(rf"\b{old}\b", text) for old in row.renames)  # every old name replaced
            checked += 1
        for (question, answer), (_, chunk) in zip(row.asked, row.definitions, strict=True):
            assert not any(re.search(rf"\b{old}\b", question + answer) for old in row.renames)
            owner = next((name for name in row.renames.values() if re.search(rf"\b{name}\b", question)), None)
            if owner is not None:
                owners += 1
                # the definition's chunk (or the next: a long line) spells the owner as the question does
                assert owner in tok.decode(row.ids[chunk * 64:(chunk + 2) * 64].tolist())
        for at, source in row.copy_sources.items():  # the answer copies the renamed file's tokens
            wanted = tok.decode([int(row.ids[at + 1])])
            assert wanted.lstrip()[:1] in tok.decode([int(row.ids[source])])
    assert checked >= 4 and owners >= 4
    plain = TrainStream(corpus, tok, seq_len=16384, seed=9, questions_per_row=8)
    off = TrainStream(corpus, tok, seq_len=16384, seed=9, questions_per_row=8, rename_share=0.0)
    for _ in range(3):  # without it the stream is the one it was
        a, b = plain.row("qa"), off.row("qa")
        assert (a.ids == b.ids).all() and not b.renames
    with pytest.raises(ValueError, match="rename_share"):
        TrainStream(corpus, tok, seq_len=T, seed=0, rename_share=1.5)


@pytest.mark.parametrize("copies", [1, 3])
def test_twin_rows_show_the_asked_file_again_and_ask_each_copy_by_its_owner(corpus, tok, copies):
    # namesakes told apart by the owner alone: the same lines under other class names, questions about each
    stream = TrainStream(corpus, tok, seq_len=16384, seed=9, questions_per_row=8, twin_share=1.0,
                         namesake_share=1.0, twin_copies=copies)
    rows = [row for row in rows_of(stream, "qa", 8 * copies) if row.twins]
    # (7 of 8 measured with one copy: the other file defines no class; 4 copies fit a row less often)
    assert len(rows) >= 5
    asked = {"original": 0, "twin": 0}
    for row in rows:
        assert len(row.twins) == copies
        twins = list(range(len(corpus), len(corpus) + copies))  # the documents the corpus does not hold
        assert sorted(doc for doc in row.sources if doc >= len(corpus)) == twins
        spans = dict(zip(row.sources, documents(row.doc_ids), strict=False))
        texts = {doc: tok.decode(row.ids[slice(*spans[doc])].tolist()) for doc in row.sources}
        original = next(doc for doc in row.sources if doc < len(corpus) and corpus.path(doc).endswith(".py")
                        and texts[doc].split("\n", 1)[1]
                        == rename_back(texts[twins[0]], row.twins[0]).split("\n", 1)[1])
        head, _, name = corpus.path(original).rpartition("/")
        owners = {original: set(row.twins[0])}
        for twin, mapping in zip(twins, row.twins, strict=True):
            assert rename_back(texts[twin], mapping).split("\n", 1)[1] == texts[original].split("\n", 1)[1]
            assert re.match(rf"{re.escape(head)}/[a-z0-9]+/{re.escape(name)}\n", texts[twin])  # a new folder
            assert not any(re.search(rf"\b{old}\b", texts[twin]) for old in mapping)
            owners[twin] = {mapping[old] for old in owners[original] if old in mapping}
        assert len({texts[twin].split("\n", 1)[0] for twin in twins}) == copies  # a folder each
        every = list(owners.values())
        assert all(not a & b for n, a in enumerate(every) for b in every[n + 1:])  # no owner in two copies
        for (question, _), (_, chunk) in zip(row.asked, row.definitions, strict=True):
            at = chunk * 64
            copy = next((doc for doc in owners if spans[doc][0] <= at < spans[doc][1]), None)
            if copy is None:
                continue
            # a question about a copy names an owner of that copy, and retrieves that copy's lines
            owner = next((n for n in owners[copy] if re.search(rf"\b{n}\b", question)), None)
            assert owner is not None, question
            assert owner in tok.decode(row.ids[at - 64:at + 128].tolist())
            asked["original" if copy == original else "twin"] += 1
    assert asked["original"] >= 4 and asked["twin"] >= 4 * copies
    plain = TrainStream(corpus, tok, seq_len=16384, seed=9, questions_per_row=8, rename_share=0.5)
    off = TrainStream(corpus, tok, seq_len=16384, seed=9, questions_per_row=8, rename_share=0.5,
                      twin_share=0.0)
    for _ in range(4):  # without it the stream is the one it was
        a, b = plain.row("qa"), off.row("qa")
        assert (a.ids == b.ids).all() and not b.twins
    with pytest.raises(ValueError, match="twin_share"):
        TrainStream(corpus, tok, seq_len=T, seed=0, twin_share=-0.1)
    with pytest.raises(ValueError, match="twin_copies"):
        TrainStream(corpus, tok, seq_len=T, seed=0, twin_copies=4)


def test_show_prints_a_twin_row_with_its_copies_renames_and_questions_by_their_owners(corpus_folder, capsys):
    # what `python -m model.data.show --twins 2` shows a newcomer: the renames of each copy, and questions
    # that name the copies' owners
    for seed in range(6):
        assert show(["--corpus", str(corpus_folder), "--kind", "qa", "--seq-len", "16384", "--questions", "8",
                     "--twins", "2", "--seed", str(seed)]) == 0
        out = capsys.readouterr().out
        if "twin copy" in out:
            break
    renames = [ast.literal_eval(line.split(": ", 1)[1]) for line in out.splitlines()
               if line.startswith("twin copy")]
    assert len(renames) == 2 and all(renames)
    questions = "\n".join(line for line in out.splitlines() if "<|user|>" in line)  # shown whole
    assert any(re.search(rf"\b{new}\b", questions) for mapping in renames for new in mapping.values())


def rename_back(text: str, mapping: dict[str, str]) -> str:
    return rename_text(text, {new: old for old, new in mapping.items()})


def test_renaming_keeps_shared_words_shared_and_never_reuses_a_name(tok):
    import random

    names = ["ClientWebSocketResponse", "WebSocketResponse", "_SSLTransport", "Stream", "Buffer"]
    new = renaming(names, word_pool(tok), random.Random(0))
    assert set(new) == set(names) and not set(new.values()) & set(names)
    assert len(set(new.values())) == len(names)
    assert new["ClientWebSocketResponse"].endswith(new["WebSocketResponse"])  # `Client` + the same tail
    assert new["_SSLTransport"].startswith("_") and new["_SSLTransport"][1:2].isupper()
    assert all(len(tok.encode(word)) == 1 for word in word_pool(tok)[:50])  # one token per word


def test_chat_rows_ask_follow_ups_in_one_document_as_the_app_does(corpus, tok):
    # a chat: one question document holding the earlier turns, in the prompt format Engine.ask builds for
    # a follow-up; each turn's answer is learnt and retrieves its own definition
    stream = TrainStream(corpus, tok, seq_len=16384, seed=9, questions_per_row=8, turns_share=1.0)
    rows = [row for row in rows_of(stream, "qa", 4) if len(row.asked) > 2]
    assert rows
    chats = 0
    for row in rows:
        tails = [(a, b) for a, b in documents(row.doc_ids) if a >= row.answer_from and row.mask[a:b].any()]
        assert len(tails) < len(row.asked)  # questions share documents
        turns = iter(zip(row.asked, row.definitions, strict=True))
        positions = [p for p in range(16383) if row.answer_from <= p and row.mask[p + 1]]
        wanted = row.retrieval_targets(positions)
        for start, end in tails:
            ids = row.ids[start:end]
            ids = ids[ids != tok.pad_id].tolist()
            count = ids.count(tok.role_ids["user"])
            chats += count > 1
            held = [next(turns) for _ in range(count)]
            messages = [m for (question, answer), _ in held
                        for m in (("user", question), ("assistant", answer))]
            assert ids == tok.chat(messages, add_generation_prompt=False)
            for (_, answer), (first, chunk) in held:
                assert start < first < end and row.ids[first] == tok.role_ids["assistant"]
                own = [p for p in positions if first <= p < first + len(tok.encode(answer))]
                assert own and {wanted[p] for p in own if p not in row.copy_sources} <= {chunk}
        assert next(turns, None) is None
    assert chats
    with pytest.raises(ValueError, match="turns_share"):
        TrainStream(corpus, tok, seq_len=T, seed=0, turns_share=1.5)


def test_token_positions_match_the_tokenizer_offsets_without_re_tokenizing(corpus, tok):
    stream = TrainStream(corpus, tok, seq_len=T, seed=0)
    rng = np.random.default_rng(0)
    texts = {i: corpus.text(i) for i in range(len(corpus))}
    wide = [i for i, text in texts.items() if len(text.encode()) != len(text)]
    assert wide  # the standard library has non-ASCII files: bytes and characters differ there
    for i in [*wide[:5], *rng.choice(len(corpus), 20, replace=False).tolist()]:
        text, encoding = texts[i], tok.document(texts[i])
        chars = [*rng.integers(0, len(text) + 5, 40).tolist(), 0, len(text) - 1, len(text)]
        assert stream.token_positions(i, text, chars).tolist() == [encoding.token_at(c) for c in chars]


def test_mixture_and_resume_from_state_dict(corpus, tok):
    stream = TrainStream(corpus, tok, seq_len=T, seed=4, task_share=0.4, qa_share=0.3)
    for _ in range(3):
        stream.next_batch(4)
    state = json.loads(json.dumps(stream.state_dict()))  # survives a JSON round trip
    expected = [stream.next_batch(4) for _ in range(3)]
    resumed = TrainStream(corpus, tok, seq_len=T, seed=4, task_share=0.4, qa_share=0.3)
    fresh = resumed.next_batch(4)
    resumed.load_state_dict(state)
    for want in expected:
        got = resumed.next_batch(4)
        assert all(torch.equal(a, b) for a, b in zip(want, got, strict=True))
    assert not torch.equal(fresh[0], expected[0][0])
    kinds = [stream._pick_kind() for _ in range(400)]
    assert 0.3 < sum(k in KINDS for k in kinds) / 400 < 0.5 and 0.2 < kinds.count("qa") / 400 < 0.4


def test_stream_epochs_cover_every_document(corpus, tok):
    stream = TrainStream(corpus, tok, seq_len=T, seed=5, task_share=0, qa_share=0)
    seen = set()
    while stream.epoch == 0:
        seen.update(stream.row("plain").sources)
    assert seen == set(range(len(corpus)))
    with pytest.raises(ValueError, match="no documents"):
        TrainStream(corpus, tok, seq_len=T, seed=0, packages=["no-such-package"])


@pytest.mark.parametrize("kind", ["single", "multikey", "multivalue", "multiquery", "vartrack"])
def test_each_answer_token_copies_the_needle_token_holding_its_text(corpus, tok, kind):
    # what --copy-weight teaches the HSA heads to read inside the chosen chunk
    stream = TrainStream(corpus, tok, seq_len=T, seed=7)
    checked = 0
    for row in rows_of(stream, kind, 6):
        # every token of every value is copied (one beginning with a space from its first digit or letter);
        # the separators (", ", a multi-query answer's ": ") are not
        values = [t for t in tok.encode(row.answer) if tok.decode([t]).strip(" ,:")]
        assert len(row.copy_sources) == len(values)
        for at, source in sorted(row.copy_sources.items()):
            assert source < row.answer_from  # a needle, before the question document
            piece = tok.decode([int(row.ids[source])])
            wanted = tok.decode([int(row.ids[at + 1])]).strip()  # the answer token this input predicts
            # BPE may cut the value differently inside the needle sentence: the token holding the answer
            # token's first character
            assert wanted and wanted[0] in piece
            checked += 1
    assert checked


def test_code_answers_copy_the_text_the_file_holds_verbatim(corpus, tok):
    # signature lines, names and literals come from the file; separators and words it lacks do not
    copied = answered = 0
    for row in rows_of(TrainStream(corpus, tok, seq_len=T, seed=8), "qa", 12):
        answered += len(tok.encode(row.answer)) + 1
        for at, source in row.copy_sources.items():
            assert source < row.answer_from  # in the file, before the question document
            piece = tok.decode([int(row.ids[source])])
            wanted = tok.decode([int(row.ids[at + 1])])  # the answer token this input predicts
            assert wanted.lstrip()[:1] in piece
            copied += 1
    assert answered and copied >= answered // 3, (copied, answered)


def test_verbatim_chars_match_long_stretches_only():
    text = "pkg/mod.py\ndef area(width, height):\n    return width * height\n"
    held = verbatim_chars("pkg/mod.py:2: def area(width, height):", text, (11, len(text)))
    assert [held[i] for i in range(10)] == list(range(10))  # the path, from the first line
    assert 10 not in held and 11 not in held  # ":2" is not in the file
    start = len("pkg/mod.py:2: ")
    assert held[start] == text.index("def area")


def test_passage_rows_ask_for_a_sentence_held_far_before_and_copy_it(corpus, tok):
    # passage questions name a sentence of a docstring or prose file by its words; the answer is that
    # sentence, copied from the row's own text, and its first words sit in the chunk retrieval points at
    stream = TrainStream(corpus, tok, seq_len=16384, seed=3, task_share=0.0, qa_share=1.0,
                         questions_per_row=8, passage_share=1.0)
    rows = list(rows_of(stream, "qa", 4))
    assert rows and sum(len(row.asked) for row in rows) >= 8
    for row in rows:
        starts = [first for first, _ in row.definitions] + [row.ids.size - 1]
        for (question, answer), (first, chunk), end in zip(row.asked, row.definitions, starts[1:],
                                                           strict=True):
            assert " — " not in answer and answer.endswith(".") and len(answer.split()) >= 8  # a sentence
            assert question.endswith(("?", ".")) and question != answer
            assert chunk * 64 < row.answer_from - stream.far
            held = " ".join(tok.decode(row.ids[chunk * 64:(chunk + 3) * 64].tolist()).split())
            assert " ".join(answer.split()[:3]) in held
            tokens = [p for p in range(first, end) if row.mask[p + 1]][:-1]  # the answer, not <|end_turn|>
            copied = [p for p in tokens if p in row.copy_sources]
            assert len(copied) >= len(tokens) // 2
    with pytest.raises(ValueError, match="passage_share"):
        TrainStream(corpus, tok, seq_len=T, seed=0, passage_share=1.5)
