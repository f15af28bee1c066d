"""The model shipped in resources/model: it loads, it is the app's default, it has learned code, and it
answers from what it retrieves.

CI checks what the model reaches (docs/model-card.md): next-token loss on standard-library modules whose
packages were held out of training is far below an untrained model's (ln 16384 = 9.7), and for a needle
hidden in those modules the answer is the needle's value, drawn mostly from the needle's chunk (the first
citation), almost every time; among four needles alike but for their key it picks the asked one, and asked
for several keys at once it answers with their values. A damaged or wrongly loaded model fails these.
"""

from __future__ import annotations

import math
import sysconfig
from pathlib import Path

import pytest
import torch

from app.core.engine import EMBEDDED_MODEL
from model.checkpoint import fingerprint, load
from model.train_eval import Haystack, needle_samples
from model.transformer import pack_documents

HELD_OUT = ("random.py", "stat.py", "dis.py")  # held-out packages stdlib:random, stdlib:stat, stdlib:dis


@pytest.fixture(scope="module")
def embedded():
    """(model, tokenizer) of the shipped folder, loaded once for this module."""
    return load(EMBEDDED_MODEL)


@pytest.fixture(scope="module")
def haystack(embedded) -> Haystack:
    """The first 120 lines of each held-out module, about 2.7K tokens."""
    model, tokenizer = embedded
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    texts = [f"{name}\n" + "".join((stdlib / name).read_text(encoding="utf-8").splitlines(True)[:120])
             for name in HELD_OUT]
    ids = [tokenizer.document(text).ids for text in texts]
    tokens = sum(-(-len(d) // model.cfg.chunk_size) * model.cfg.chunk_size for d in ids)
    return Haystack(texts, ids, [f"h{i}" for i in range(len(texts))], tokens, 0)


def test_the_embedded_model_loads_and_is_the_default(embedded):
    model, _ = embedded
    assert model.cfg.name == "hsa-mini" and 20e6 <= model.num_params() <= 40e6
    shards = sorted(EMBEDDED_MODEL.glob("*.safetensors"))
    assert all(s.stat().st_size <= 16 * 2**20 for s in shards)
    assert sum(s.stat().st_size for s in shards) <= 64 * 2**20
    assert len(fingerprint(EMBEDDED_MODEL)) == 32


def test_the_embedded_model_predicts_held_out_code(embedded):
    model, tokenizer = embedded
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    losses = []
    for name in HELD_OUT:
        ids = tokenizer.document(f"{name}\n" + (stdlib / name).read_text(encoding="utf-8")).ids[:1024]
        packed, doc_ids = pack_documents([ids], model.cfg.chunk_size, model.cfg.pad_id)
        idx = torch.tensor([packed])
        targets = torch.full_like(idx, -100)
        targets[0, : len(ids) - 1] = idx[0, 1 : len(ids)]
        with torch.no_grad():
            _, loss = model(idx, torch.tensor([doc_ids]), targets)
        losses.append(loss.item())
    mean = sum(losses) / len(losses)
    assert mean < 3.2, f"held-out loss {mean:.2f} (untrained: {math.log(model.cfg.vocab_size):.1f})"


def test_the_embedded_model_answers_with_the_needle_in_held_out_code(embedded, haystack):
    model, tokenizer = embedded
    samples = needle_samples(model, tokenizer, haystack, ["single"], 10)
    cited = sum(s.cited for s in samples)
    exact = sum(s.correct for s in samples)
    assert haystack.tokens > 2500 and cited >= 8, f"{cited}/10 answers drew most on the needle's chunk"
    # 10 of 10 measured (sessions 4 to 7); the session-3 model, which cited but did not copy, got 0
    assert exact >= 8, f"{exact}/10 answers were the needle's value: " + "; ".join(
        f"{s.expected!r} -> {s.got!r}" for s in samples if not s.correct)


def test_the_embedded_model_tells_similar_needles_apart_and_answers_several_at_once(embedded, haystack):
    # four needles alike but for their key: the asked one's value (multi-key), and two to four asked at once,
    # each key named before its value (multi-query, RULER's share of the values). Measured on this haystack:
    # F3 and W6 10/10 and 90%; RB 10/10 and 95%; DZ 10/10 and 97%; ZP, ZN and ZJ 10/10 and 100%; ZF, before
    # the named answers, 8/10 and 51%; S, before needles were told apart, 1/10
    model, tokenizer = embedded
    samples = needle_samples(model, tokenizer, haystack, ["multikey", "multiquery"], 10)  # one encode
    multikey = [s for s in samples if s.kind == "multikey"]
    multiquery = [s for s in samples if s.kind == "multiquery"]
    exact = sum(s.correct for s in multikey)
    assert len(multikey) == len(multiquery) == 10
    assert exact >= 7, f"{exact}/10 multi-key answers right: " + "; ".join(
        f"{s.expected!r} -> {s.got!r}" for s in multikey if not s.correct)
    held = sum(s.ruler for s in multiquery) / len(multiquery)
    assert held >= 0.8, f"multi-query answers hold {held:.0%} of the asked values: " + "; ".join(
        f"{s.expected!r} -> {s.got!r}" for s in multiquery if s.ruler < 1)
