import gc

import pytest
import torch

from model.config import ModelConfig
from model.decode_graph import StaticDecode
from model.encode import encode_batch, encode_documents
from model.generate import GeneratedToken, QuestionState, generate, read_question, top_chunk
from model.memory import DiskMemory, InMemoryMemory, PoolView
from model.transformer import Transformer, pack_documents

LENGTHS = [100, 300, 64, 150, 5]


def make_model(ffn="swiglu") -> Transformer:
    torch.manual_seed(0)
    return Transformer(ModelConfig.from_name("hsa-tiny", ffn=ffn)).eval()


def random_docs(lengths, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(8, 16000, (n,), generator=g).tolist() for n in lengths]


def memory_for(model, dtype=torch.bfloat16, **kw):
    cfg = model.cfg
    return InMemoryMemory(chunk_size=cfg.chunk_size, kv_heads=cfg.hsa_kv_heads, head_dim=cfg.hsa_head_dim,
                          landmark_dim=cfg.landmark_dim, dtype=dtype, **kw)


@pytest.mark.parametrize("ffn", ["swiglu", "moe"])
def test_memory_is_bitwise_independent_of_batching_and_order(ffn):
    model = make_model(ffn)
    docs = random_docs(LENGTHS)
    alone = [encode_batch(model, [d])[0] for d in docs]
    together = encode_batch(model, docs)
    shuffled_order = [3, 0, 4, 2, 1]
    shuffled = encode_batch(model, [docs[i] for i in shuffled_order])
    for i, (one, two) in enumerate(zip(alone, together, strict=True)):
        assert one[0].shape == (-(-LENGTHS[i] // 64), 1, 16)
        for a, b, c in zip(one, two, shuffled[shuffled_order.index(i)], strict=True):
            assert torch.equal(a, b) and torch.equal(a, c)


def test_encode_documents_writes_every_document():
    model = make_model()
    docs = random_docs(LENGTHS)
    memory = memory_for(model, dtype=torch.float32)
    seen = []
    encode_documents(model, docs, memory, [f"doc{i}" for i in range(5)], max_batch_tokens=400,
                     progress=seen.append)
    assert seen[-1] == 5 and len(seen) > 1  # several batches
    assert memory.chunk_count == sum(-(-n // 64) for n in LENGTHS)
    landmarks, keys, _ = memory.read_document("doc1")
    ref = encode_batch(model, [docs[1]])[0]
    assert torch.equal(landmarks, ref[0]) and torch.equal(keys, ref[1])
    bad = InMemoryMemory(chunk_size=64, kv_heads=1, head_dim=32, landmark_dim=16)
    with pytest.raises(ValueError, match="does not fit model"):
        encode_documents(model, docs, bad, [f"doc{i}" for i in range(5)])


def test_inference_path_matches_packed_training_forward():
    """Corpus documents + a question packed in one sequence give the logits that encoding the documents into
    memory and then running the question (all at once, or token by token) gives."""
    model = make_model()
    docs = random_docs(LENGTHS)
    question = random_docs([150], seed=2)[0]
    ids, doc_ids = pack_documents(docs + [question], 64, 0)
    with torch.no_grad():
        logits, _ = model(torch.tensor([ids]), torch.tensor([doc_ids]))
    start = len(ids) - 192  # the question, padded to 3 chunks, is the last document
    expected = logits[0, start:start + 150]
    memory = memory_for(model, dtype=torch.float32)
    encode_documents(model, docs, memory, [f"doc{i}" for i in range(5)])
    prefill, _, _ = QuestionState(model, memory, 200).feed(question)
    torch.testing.assert_close(prefill, expected, rtol=1e-4, atol=1e-4)
    state = QuestionState(model, memory, 200)
    stepped = torch.cat([state.feed(question[i:i + 7])[0] for i in range(0, 150, 7)])
    torch.testing.assert_close(stepped, expected, rtol=1e-4, atol=1e-4)
    resident = QuestionState(model, memory, 200, resident_chunks=True)  # whole pool's K/V on the device
    torch.testing.assert_close(resident.feed(question)[0], prefill, rtol=0, atol=0)


def test_greedy_generation_identical_in_memory_and_on_disk(tmp_path):
    model = make_model()
    docs = random_docs(LENGTHS)
    question = random_docs([70], seed=3)[0]
    cfg = model.cfg
    in_ram = memory_for(model)
    on_disk = DiskMemory.open(tmp_path / "memory", fingerprint="test", chunk_size=cfg.chunk_size,
                              kv_heads=cfg.hsa_kv_heads, head_dim=cfg.hsa_head_dim,
                              landmark_dim=cfg.landmark_dim)
    keys = [f"doc{i}" for i in range(5)]
    with on_disk:
        for memory in (in_ram, on_disk):
            encode_documents(model, docs, memory, keys)
        runs = [list(generate(model, memory, question, max_new_tokens=12)) for memory in (in_ram, on_disk)]
        # the memory's chunk K/V resident on the model's device: no host reads while decoding, same answer
        runs += [list(generate(model, memory, question, max_new_tokens=12, resident_chunks=True))
                 for memory in (in_ram, on_disk)]
    assert len(runs[0]) == 12
    for run in runs[1:]:
        assert [t.token_id for t in runs[0]] == [t.token_id for t in run]
        for a, b in zip(runs[0], run, strict=True):
            assert torch.equal(a.rows, b.rows) and torch.equal(a.weights, b.weights)
    for token in runs[0]:
        # one HSA layer, one KV head: the weights over memory chunks sum to at most 1, highest first
        assert 0 < token.weights.sum() <= 1 + 1e-5 and len(token.rows) <= cfg.hsa_top_k
        assert torch.all(token.weights[:-1] >= token.weights[1:])
        assert token.rows.max() < in_ram.chunk_count


@pytest.mark.parametrize("resident", [False, True])
def test_fixed_shape_decode_steps_give_the_eager_answer_and_citations(resident):
    # the one-token steps CUDA replays as graphs (model/decode_graph.py), run eagerly here: a long answer
    # crosses chunk boundaries of the question (its own chunks join the pool) with the same tokens and chunks
    model = make_model()
    memory = memory_for(model)
    encode_documents(model, random_docs(LENGTHS), memory, [f"doc{i}" for i in range(5)])
    question = random_docs([40], seed=3)[0]
    eager, static = (list(generate(model, memory, question, max_new_tokens=100, resident_chunks=resident,
                                   static_decode=flag)) for flag in (False, True))
    assert [t.token_id for t in eager] == [t.token_id for t in static]
    for a, b in zip(eager, static, strict=True):
        assert torch.equal(a.rows, b.rows)
        torch.testing.assert_close(a.weights, b.weights, rtol=1e-5, atol=1e-6)


def test_reading_the_question_gives_each_tokens_chunks_and_the_last_is_the_answers_first():
    # eval_code --weights studies citation rules offline from these: the chunks every question token drew
    # on; the last one's are the retrieval that chose the answer's first token
    model = make_model()
    memory = memory_for(model)
    encode_documents(model, random_docs(LENGTHS), memory, [f"doc{i}" for i in range(5)])
    question = random_docs([90], seed=5)[0]  # more than a chunk: the question's own chunk is no source
    read = read_question(model, memory, question)
    assert [t.token_id for t in read] == question
    first = next(generate(model, memory, question, max_new_tokens=1))
    assert torch.equal(read[-1].rows, first.rows) and torch.allclose(read[-1].weights, first.weights)
    assert all(len(t.rows) and (t.rows < len(t.view)).all() for t in read)  # memory rows only
    assert len({tuple(t.rows.tolist()) for t in read}) > 1  # tokens read different chunks


def test_an_abandoned_answer_frees_its_state_at_once():
    # the app stops reading an answer at its end token; the question's state (and on CUDA its captured
    # graphs) must go then, not whenever the garbage collector runs: mid-capture, that breaks the next one
    model = make_model()
    memory = memory_for(model)
    encode_documents(model, random_docs([200]), memory, ["a"])
    gc.collect()
    answer = generate(model, memory, random_docs([20], seed=4)[0], max_new_tokens=50, static_decode=True)
    next(answer), next(answer), next(answer)
    answer.close()
    del answer
    assert not [o for o in gc.get_objects() if type(o) in (QuestionState, StaticDecode)]


def test_generation_stops_and_samples():
    model = make_model()
    memory = memory_for(model)
    encode_documents(model, random_docs([200]), memory, ["a"])
    prompt = random_docs([20], seed=4)[0]
    greedy = [t.token_id for t in generate(model, memory, prompt, max_new_tokens=5)]
    first = greedy.index(greedy[-1])  # a random model repeats itself: stop at the first occurrence
    stopped = list(generate(model, memory, prompt, max_new_tokens=5, stop_ids={greedy[-1]}))
    assert [t.token_id for t in stopped] == greedy[:first + 1]
    sampled = [[t.token_id for t in generate(model, memory, prompt, max_new_tokens=5, temperature=1.0,
                                             seed=seed)] for seed in (1, 1, 2)]
    assert sampled[0] == sampled[1] != sampled[2]
    empty = memory_for(model)  # nothing encoded yet: the question still gets an answer
    assert len(list(generate(model, empty, prompt, max_new_tokens=3))) == 3


def test_top_chunk_sums_weights_over_answer_tokens():
    rows_doc, rows_chunk = torch.tensor([0, 0, 1]), torch.tensor([0, 1, 0])
    view = PoolView(torch.zeros(3, 1, 4), rows_doc, rows_chunk, ["a.py", "b.py"], generation=1)
    tokens = [GeneratedToken(5, torch.tensor([0, 2]), torch.tensor([0.6, 0.4]), view),
              GeneratedToken(6, torch.tensor([2, 1]), torch.tensor([0.5, 0.5]), view)]
    assert top_chunk(tokens) == ("b.py", 0)  # row 2: 0.9 in all, more than row 0's 0.6
    assert top_chunk([]) is None
