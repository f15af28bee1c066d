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


def mini_with_memory(lengths: list[int], seed: int, lse_fusion: bool = False):
    """A random hsa-mini on the GPU (with lse_fusion, random fusion betas), an in-memory memory of random
    documents of these lengths, and the generator that drew them (for the questions)."""
    torch.manual_seed(0)
    cfg = ModelConfig.from_name("hsa-mini", lse_fusion=lse_fusion)
    model = Transformer(cfg).cuda().eval()
    for layer in model.upper:
        if getattr(layer, "fusion_beta", None) is not None:
            with torch.no_grad():
                layer.fusion_beta.normal_(0, 0.3)
    memory = InMemoryMemory(chunk_size=cfg.chunk_size, kv_heads=cfg.hsa_kv_heads, head_dim=cfg.hsa_head_dim,
                            landmark_dim=cfg.landmark_dim)
    g = torch.Generator().manual_seed(seed)
    docs = [torch.randint(8, cfg.vocab_size, (n,), generator=g).tolist() for n in lengths]
    encode_documents(model, docs, memory, [f"d{i}" for i in range(len(docs))])
    return model, memory, g


@pytest.mark.parametrize("resident,lse_fusion", [(False, False), (True, False), (False, True), (True, True)])
def test_graph_replays_give_the_eager_steps_bit_for_bit(resident, lse_fusion):
    model, memory, g = mini_with_memory([3000, 700, 5000, 64], seed=1, lse_fusion=lse_fusion)
    question = torch.randint(8, model.cfg.vocab_size, (40,), generator=g).tolist()
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
    model, memory, g = mini_with_memory([2000] * 8, seed=2)
    for n in range(30):
        question = torch.randint(8, model.cfg.vocab_size, (20 + n,), generator=g).tolist()
        answer = generate(model, memory, question, max_new_tokens=40)
        for _ in range(3 + n % 5):
            next(answer)
        del answer  # abandoned mid-answer, as the app does at an end token
    assert "capture failed" not in caplog.text  # no answer fell back to eager steps
