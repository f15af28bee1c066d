"""Decode steps replayed as CUDA graphs (model/decode_graph.py) against the same steps run eagerly."""

import pytest
import torch

from model.config import ModelConfig
from model.encode import encode_documents
from model.generate import QuestionState, generate
from model.memory import InMemoryMemory
from model.transformer import Transformer

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


def answer(model, memory, question, new_tokens, resident, graphs):
    """Greedy answer: (token ids, per token the chosen pool ids and weights per HSA layer), fed one by one."""
    state = QuestionState(model, memory, len(question) + new_tokens, resident_chunks=resident)
    assert state.static is not None
    state.static.graphs = graphs
    logits, citations = state._feed(question)
    tokens, chosen = [], []
    for _ in range(new_tokens):
        token = int(torch.argmax(logits[-1]))
        tokens.append(token)
        chosen.append([(i.cpu().clone(), w.cpu().clone()) for i, w in citations])
        logits, citations = state._feed([token])
    return tokens, chosen


@pytest.mark.parametrize("resident", [False, True])
def test_graph_replays_give_the_eager_steps_bit_for_bit(resident):
    torch.manual_seed(0)
    cfg = ModelConfig.from_name("hsa-mini")
    model = Transformer(cfg).cuda().eval()
    memory = InMemoryMemory(chunk_size=cfg.chunk_size, kv_heads=cfg.hsa_kv_heads, head_dim=cfg.hsa_head_dim,
                            landmark_dim=cfg.landmark_dim)
    g = torch.Generator().manual_seed(1)
    docs = [torch.randint(8, cfg.vocab_size, (n,), generator=g).tolist() for n in (3000, 700, 5000, 64)]
    encode_documents(model, docs, memory, [f"d{i}" for i in range(len(docs))])
    question = torch.randint(8, cfg.vocab_size, (40,), generator=g).tolist()
    # 100 new tokens: the question's own chunks complete twice while the graphs replay
    eager = answer(model, memory, question, 100, resident, graphs=False)
    graphed = answer(model, memory, question, 100, resident, graphs=True)
    assert eager[0] == graphed[0]
    for step_a, step_b in zip(eager[1], graphed[1], strict=True):
        for (ia, wa), (ib, wb) in zip(step_a, step_b, strict=True):
            assert torch.equal(ia, ib) and torch.equal(wa, wb)


def test_many_abandoned_answers_in_a_row_keep_their_graphs(caplog):
    # the app reads an answer until its end token and drops the rest; every next question captures anew.
    # A finished question's graphs freed during a later capture broke it (summarize, 10 questions in a row).
    torch.manual_seed(0)
    cfg = ModelConfig.from_name("hsa-mini")
    model = Transformer(cfg).cuda().eval()
    memory = InMemoryMemory(chunk_size=cfg.chunk_size, kv_heads=cfg.hsa_kv_heads, head_dim=cfg.hsa_head_dim,
                            landmark_dim=cfg.landmark_dim)
    g = torch.Generator().manual_seed(2)
    docs = [torch.randint(8, cfg.vocab_size, (2000,), generator=g).tolist() for _ in range(8)]
    encode_documents(model, docs, memory, [f"d{i}" for i in range(len(docs))])
    for n in range(30):
        question = torch.randint(8, cfg.vocab_size, (20 + n,), generator=g).tolist()
        answer = generate(model, memory, question, max_new_tokens=40)
        tokens = [next(answer).token_id for _ in range(3 + n % 5)]
        assert len(tokens) == 3 + n % 5
        del answer  # abandoned mid-answer, as the app does at an end token
    assert "capture failed" not in caplog.text
