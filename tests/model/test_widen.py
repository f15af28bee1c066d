"""A wider landmark (model/widen.py): the same answers until trained, then the new dimensions learn."""

import dataclasses
from pathlib import Path

import pytest
import torch

from model import checkpoint, widen
from model.config import ModelConfig
from model.encode import encode_documents
from model.generate import QuestionState, generate
from model.tokenizer import Tokenizer
from model.train import main as train
from model.transformer import Transformer, pack_documents
from tests.benchmarks.conftest import build_corpus
from tests.model.test_calibrate import rows
from tests.model.test_encode_generate import LENGTHS, memory_for, random_docs
from tests.model.test_train import TINY


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer.load()


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory, tokenizer):
    return build_corpus(tmp_path_factory.mktemp("widen"), tokenizer)


def trained_like(kv_heads: int = 1) -> Transformer:
    """A random hsa-tiny whose retrieval rows are not zero (as a trained model's are not)."""
    torch.manual_seed(0)
    cfg = ModelConfig.from_name("hsa-tiny", hsa_kv_heads=kv_heads, hsa_heads=16 * kv_heads)
    return Transformer(cfg).eval()


@pytest.mark.parametrize("kv_heads", [1, 2])
def test_a_wider_landmark_changes_no_answer(tokenizer, corpus_dir, kv_heads):
    model = trained_like(kv_heads)
    _, (idx, doc_ids) = rows(tokenizer, corpus_dir)
    wide = widen.widen(model, landmark_dim=64, seed=1)
    assert wide.cfg.landmark_dim == 64 and wide.encoder.w_landmark.weight.shape[0] == 64 * kv_heads
    with torch.no_grad():  # float64: a near tie of two chunks' scores must not flip on rounding
        before, _ = model.double()(idx, doc_ids)
        after, _ = wide.double()(idx, doc_ids)
        lm_before = model.encode_lower(idx, doc_ids)[2].landmarks
        lm_after = wide.encode_lower(idx, doc_ids)[2].landmarks
    torch.testing.assert_close(after, before, atol=1e-6, rtol=1e-6)  # the weights were scaled in fp32
    # each head keeps its old dimensions first (scaled by 4 ** 0.25) and gains random ones
    torch.testing.assert_close(lm_after[..., :16], lm_before * 4**0.25)
    assert lm_after[..., 16:].abs().mean() > 0.1 * lm_after[..., :16].abs().mean()


def test_widen_refuses_a_narrower_or_odd_landmark():
    model = trained_like()
    for dim in (8, 48):
        with pytest.raises(ValueError, match="landmark"):
            widen.widen(model, landmark_dim=dim)


def test_widen_cli_then_training_moves_the_new_dimensions(tokenizer, corpus_dir, tmp_path, capsys):
    source = checkpoint.save(trained_like(), tmp_path / "m", tokenizer)
    (source / "trainer.json").write_text('{"step": 7}')
    before = checkpoint.fingerprint(source)
    assert widen.main(["--model", str(source), "--out", str(tmp_path / "w" / "model"),
                       "--landmark-dim", "8"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("widen: ") and "\n" not in err
    assert not (tmp_path / "w" / "model").exists()

    out = tmp_path / "w" / "model"
    args = ["--model", str(source), "--out", str(out), "--landmark-dim", "32", "--window", "64"]
    assert widen.main(args) == 0
    assert checkpoint.fingerprint(source) == before  # the source folder is left as it was
    assert (source / "trainer.json").is_file() and not (out / "trainer.json").exists()  # a new run
    wide, _ = checkpoint.load(out)
    assert (wide.cfg.landmark_dim, wide.cfg.window) == (32, 64)
    assert dataclasses.replace(wide.cfg, landmark_dim=16, window=32) == trained_like().cfg

    with pytest.raises(SystemExit, match="different model"):  # the run must be told the new shape
        train(["--out", str(tmp_path / "bad"), "--corpus", str(corpus_dir), "--init", str(out),
               "--max-steps", "1", "--plan-steps", "2", *TINY])
    train(["--out", str(tmp_path / "run"), "--corpus", str(corpus_dir), "--init", str(out),
           "--landmark-dim", "32", "--window", "64", "--max-steps", "3", "--plan-steps", "4", *TINY])
    tuned, _ = checkpoint.load(tmp_path / "run" / "model")
    new_rows = tuned.upper[0].w_retrieval.weight[16:]
    assert torch.count_nonzero(wide.upper[0].w_retrieval.weight[16:]) == 0
    assert new_rows.abs().max() > 0  # zero-started, moved by the gradient through the random landmark rows


def test_lr_scale_trains_the_named_weights_faster(tokenizer, corpus_dir, tmp_path):
    start = checkpoint.save(trained_like(), tmp_path / "start", tokenizer)

    def moved(name: str, *flags: str) -> dict[str, float]:
        train(["--out", str(tmp_path / name), "--corpus", str(corpus_dir), "--init", str(start),
               "--max-steps", "2", "--plan-steps", "4", "--lr", "1e-3", *flags, *TINY])
        tuned = checkpoint.load(tmp_path / name / "model")[0].upper[0]
        before = checkpoint.load(start)[0].upper[0]
        return {part: (getattr(tuned, part).weight - getattr(before, part).weight).abs().mean()
                for part in ("w_retrieval", "wq")}

    plain, scaled = moved("plain"), moved("scaled", "--lr-scale", r"w_retrieval=10")
    assert scaled["w_retrieval"] > 5 * plain["w_retrieval"]
    assert scaled["wq"] < 2 * plain["wq"]  # the rest at the run's own rate
    with pytest.raises(SystemExit, match="matches no trainable parameter"):
        moved("none", "--lr-scale", "no_such_weight=10")


def test_a_deeper_chunk_encoder_starts_as_the_old_one_and_then_learns(tokenizer, corpus_dir, tmp_path):
    model = trained_like()
    _, (idx, doc_ids) = rows(tokenizer, corpus_dir)
    deep = widen.widen(model, encoder_layers=2)
    assert deep.cfg.encoder_layers == 2 and len(deep.encoder.extra) == 1
    with torch.no_grad():
        torch.testing.assert_close(deep(idx, doc_ids)[0], model(idx, doc_ids)[0])
    with pytest.raises(ValueError, match="only grow"):
        widen.widen(deep, encoder_layers=1)
    again = widen.widen(model, encoder_layers=2).encoder.extra[0]  # the same seed draws the same new layer
    torch.testing.assert_close(again.attn.wqkv.weight, deep.encoder.extra[0].attn.wqkv.weight)

    start = checkpoint.save(deep, tmp_path / "deep", tokenizer)
    shallow = checkpoint.save(model, tmp_path / "m", tokenizer)
    assert "encoder_layers" not in (shallow / "config.json").read_text()  # older models' fingerprints stay
    train(["--out", str(tmp_path / "run"), "--corpus", str(corpus_dir), "--init", str(start),
           "--encoder-layers", "2", "--max-steps", "2", "--plan-steps", "4", *TINY])
    tuned, _ = checkpoint.load(tmp_path / "run" / "model")
    assert tuned.encoder.extra[0].ffn.w_out.weight.abs().max() > 0  # the new layer is no longer the identity


def test_more_lower_layers_start_as_the_old_model_and_every_path_reads_them(tokenizer, corpus_dir, tmp_path):
    model = trained_like()  # hsa-tiny: two layers below the chunk encoder, one group of two above
    _, (idx, doc_ids) = rows(tokenizer, corpus_dir)
    deep = widen.widen(model, lower_layers=3)
    assert (deep.cfg.n_layers, deep.cfg.n_lower, len(deep.lower), deep.cfg.hsa_layers) == (5, 3, 3, [3])
    with torch.no_grad():
        torch.testing.assert_close(deep(idx, doc_ids)[0], model(idx, doc_ids)[0])
    with pytest.raises(ValueError, match="only grow"):
        widen.widen(deep, lower_layers=2)

    # once the new layer has moved, the app's paths (chunk memory, then the answer's steps) still match the
    # packed forward: every layer cache is the right one for its layer
    with torch.no_grad():
        deep.lower[2].attn.wo.weight.normal_(0, 0.05)
        deep.lower[2].ffn.w_out.weight.normal_(0, 0.05)
    assert_every_path_reads_it(deep, model)

    run = train_widened(widen.widen(model, lower_layers=3), model, '"lower_layers": 3', tokenizer, corpus_dir,
                        tmp_path, "--n-layers", "5", "--lower-layers", "3", "--lr-scale", r"lower\.2\.=10")
    tuned, _ = checkpoint.load(run / "model")
    assert tuned.cfg.n_lower == 3 and tuned.lower[2].attn.wo.weight.abs().max() > 0  # no longer the identity


def train_widened(widened: Transformer, old: Transformer, entry: str, tokenizer, corpus_dir, tmp_path,
                  *flags: str, steps: int = 2) -> Path:
    """Save `widened` (its config holds `entry`, the old model's does not: older fingerprints stay), check
    that a run from it without `flags` refuses, then train it `steps` steps with them; the run folder."""
    start = checkpoint.save(widened, tmp_path / "widened", tokenizer)
    assert entry in (start / "config.json").read_text()
    plain = checkpoint.save(old, tmp_path / "old", tokenizer)
    assert entry.split(":")[0] not in (plain / "config.json").read_text()
    with pytest.raises(SystemExit, match="different model"):  # the run must be told the new shape
        train(["--out", str(tmp_path / "bad"), "--corpus", str(corpus_dir), "--init", str(start),
               "--max-steps", "1", "--plan-steps", "2", *TINY])
    train(["--out", str(tmp_path / "run"), "--corpus", str(corpus_dir), "--init", str(start), *flags,
           "--max-steps", str(steps), "--plan-steps", str(steps + 1), *TINY])
    return tmp_path / "run"


def assert_every_path_reads_it(changed: Transformer, old: Transformer) -> None:
    """The app's paths with `changed` (its chunk memory, then a question's prefill, with the pool's K/V on
    the host and resident, and its eager and fixed-shape decode) give the packed forward's logits and
    tokens, and those differ from `old`'s."""
    docs = random_docs(LENGTHS)
    question = random_docs([150], seed=2)[0]
    ids, packed_docs = pack_documents(docs + [question], 64, 0)
    batch = torch.tensor([ids]), torch.tensor([packed_docs])
    with torch.no_grad():
        packed = changed(*batch)[0][0, -192:-42]  # the question: the last document, padded to three chunks
        assert not torch.allclose(packed, old(*batch)[0][0, -192:-42])
    memory = memory_for(changed, dtype=torch.float32)
    encode_documents(changed, docs, memory, [f"doc{i}" for i in range(len(docs))])
    for resident in (False, True):
        fed = QuestionState(changed, memory, 200, resident_chunks=resident).feed(question)[0]
        torch.testing.assert_close(fed, packed, rtol=1e-4, atol=1e-4)
    eager, static = (list(generate(changed, memory, question[:40], max_new_tokens=30, static_decode=flag))
                     for flag in (False, True))
    assert [t.token_id for t in eager] == [t.token_id for t in static]
    for a, b in zip(eager, static, strict=True):
        torch.testing.assert_close(a.weights, b.weights, rtol=1e-4, atol=1e-5)
