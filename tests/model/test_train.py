"""The training loop on CPU with hsa-tiny: learning, exact resume, export, the dense and MoE variants."""

import json
import shutil
import sysconfig
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from kernels.hsa.reference import hsa_reference
from model import checkpoint, train_loss
from model.config import ModelConfig
from model.data.corpus import Corpus, find_sources
from model.data.stream import TrainStream
from model.tokenizer import Tokenizer
from model.train import Trainer, main, parse_args
from model.train_schedule import Curriculum, LearningRate, Plan
from model.train_variants import count_params, variant_config
from model.transformer import Transformer, copy_loss, fusion_loss, pack_documents, retrieval_loss

STDLIB = Path(sysconfig.get_paths()["stdlib"])
TINY = ["--preset", "hsa-tiny", "--seq-len", "256,512", "--batch-tokens", "512", "--warmup-steps", "2",
        "--monitor-every", "0", "--log-every", "1", "--device", "cpu"]


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> Path:
    """train/ (email, urllib) and heldout/ (json) from a few small standard-library files."""
    folder = tmp_path_factory.mktemp("train-corpus")
    tokenizer = Tokenizer.load()
    for package in ("email", "urllib", "json"):
        shutil.copytree(STDLIB / package, folder / "lib" / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    files = {name: sorted(paths, key=lambda p: p.stat().st_size)[:6]
             for name, paths in find_sources([folder / "lib"]).items()}
    for split, packages in (("train", ["email", "urllib"]), ("heldout", ["json"])):
        corpus = Corpus.build(files, tokenizer, packages, workers=1, roots=[folder / "lib"])
        corpus.save(folder / "corpus" / split)
    return folder / "corpus"


def steps_logged(run: Path) -> dict[int, float]:
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    return {r["step"]: r["loss"] for r in records if r["event"] == "step"}


def events(run: Path, kind: str) -> list[dict]:
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    return [r for r in records if r["event"] == kind]


def test_curriculum_warms_up_with_every_chunk_then_grows_the_length():
    cfg = ModelConfig.from_name("hsa-mini")
    curriculum = Curriculum((4096, 8192, 16384), full_share=0.25)
    phases = [curriculum.phase(p, cfg) for p in (0.0, 0.24, 0.3, 0.55, 0.8, 1.2)]
    assert [(p.name, p.seq_len, p.top_k) for p in phases] == [
        ("full-k", 4096, 64), ("full-k", 4096, 64), ("sparse-4k", 4096, 8), ("sparse-8k", 8192, 8),
        ("sparse-16k", 16384, 8), ("sparse-16k", 16384, 8)]
    assert Plan(plan_steps=100, plan_seconds=600).progress(50, 420) == 0.7  # whichever is further along


def test_learning_rate_warms_up_holds_then_decays():
    wsd = LearningRate(peak=1e-3, warmup_steps=10, shape="wsd", decay_share=0.2, min_ratio=0.1)
    assert wsd.at(0, 0.0) == pytest.approx(1e-4)
    assert wsd.at(50, 0.5) == wsd.at(60, 0.8) == pytest.approx(1e-3)
    assert wsd.at(90, 0.9) == pytest.approx(0.55e-3)
    assert wsd.at(200, 1.0) == wsd.at(300, 2.0) == pytest.approx(1e-4)
    cosine = LearningRate(peak=1e-3, warmup_steps=0, shape="cosine", min_ratio=0.0)
    assert cosine.at(5, 0.5) == pytest.approx(0.5e-3)


def test_loss_ignores_targets_of_minus_100():
    torch.manual_seed(0)
    model = Transformer(ModelConfig.from_name("hsa-tiny")).eval()
    ids, doc_ids = pack_documents([list(range(8, 108)), list(range(200, 290))], 64, 0)
    idx, docs = torch.tensor([ids]), torch.tensor([doc_ids])
    targets = idx.roll(-1, 1)
    targets[0, ::3] = -100
    with torch.no_grad():
        logits, loss = model(idx, docs, targets)
    kept = targets[0] != -100
    expected = torch.nn.functional.cross_entropy(logits[0, kept].float(), targets[0, kept])
    torch.testing.assert_close(loss, expected)


def test_dense_baseline_has_the_same_size_and_attends_across_documents():
    hsa, dense = variant_config("hsa-mini", "hsa"), variant_config("hsa-mini", "dense")
    assert dense.attention == "dense" and abs(count_params(dense) / count_params(hsa) - 1) < 0.01
    torch.manual_seed(0)
    model = Transformer(variant_config("hsa-tiny", "dense")).eval()
    assert model.encoder is None and not model.upper
    ids, doc_ids = pack_documents([list(range(8, 108)), list(range(200, 290))], 64, 0)
    changed = list(ids)
    changed[10] += 1  # in the first document
    with torch.no_grad():
        a, _ = model(torch.tensor([ids]), torch.tensor([doc_ids]))
        b, _ = model(torch.tensor([changed]), torch.tensor([doc_ids]))
    torch.testing.assert_close(a[0, :10], b[0, :10], rtol=0, atol=0)  # causal
    assert not torch.allclose(a[0, 128:], b[0, 128:])  # the second document sees the first directly


def test_training_steps_reduce_the_loss_on_a_fixed_batch(corpus_dir, tmp_path):
    torch.manual_seed(0)
    args = parse_args(["--out", str(tmp_path / "run"), "--corpus", str(corpus_dir), "--lr", "3e-3", *TINY,
                       "--batch-tokens", "256"])
    trainer = Trainer(args)
    batch, _ = trainer.prefetcher.next()
    trainer.prefetcher.close()
    assert batch[0].shape == (1, 256)
    losses = [float(trainer.train_step(batch)[0]) for _ in range(6)]
    assert all(b < a for a, b in zip(losses, losses[1:], strict=False)), losses
    assert losses[-1] < losses[0] - 0.5, losses
    assert trainer.cfg.hsa_top_k == 2  # the curriculum's top-k is the model's again after each step


def test_retrieval_loss_scores_only_visible_chunks():
    rq = torch.zeros(1, 256, 1, 4)
    landmarks = torch.zeros(1, 4, 1, 4)
    landmarks[0, 1, 0, 0] = 10.0  # chunk 1 answers query direction 0, chunk 3 direction 1
    landmarks[0, 3, 0, 1] = 10.0
    rq[0, 200, 0, 0] = rq[0, 130, 0, 1] = 1.0
    targets = torch.full((1, 256), -1)
    targets[0, 200] = 1
    low = retrieval_loss(rq, landmarks, targets, chunk_size=64)
    targets[0, 200], targets[0, 130] = -1, 3  # chunk 3 (tokens 192-255) is not yet visible at token 130
    assert not torch.isfinite(retrieval_loss(rq, landmarks, targets, chunk_size=64))  # masked to -inf
    expected = torch.nn.functional.cross_entropy(torch.tensor([[0.0, 10.0 / 2, 0.0]]), torch.tensor([1]))
    torch.testing.assert_close(low, expected)  # scaled by 1/sqrt(Dl); chunk 3 left out at token 200


def test_batch_negatives_rank_the_target_against_every_chunk_of_the_other_rows():
    rq = torch.zeros(2, 256, 1, 4)
    landmarks = torch.zeros(2, 4, 1, 4)
    landmarks[0, 1, 0, 0] = 10.0  # row 0's target chunk
    landmarks[1, 3, 0, 0] = 8.0  # a near copy in row 1, at a chunk row 0's position 200 could not see
    rq[0, 200, 0, 0] = 1.0
    targets = torch.full((2, 256), -1)
    targets[0, 200] = 1
    alone = retrieval_loss(rq, landmarks, targets, chunk_size=64)
    batch = retrieval_loss(rq, landmarks, targets, chunk_size=64, batch_negatives=True)
    # row 0 shows chunks 0-2 at token 200; with the batch, all four of row 1 compete too (scores / sqrt(4))
    logits = torch.tensor([[0.0, 5.0, 0.0, 0.0, 0.0, 0.0, 4.0]])
    torch.testing.assert_close(batch, torch.nn.functional.cross_entropy(logits, torch.tensor([1])))
    assert batch > alone + 0.2  # the near copy elsewhere costs margin the row alone never asked for
    one_row = retrieval_loss(rq[:1], landmarks[:1], targets[:1], chunk_size=64, batch_negatives=True)
    torch.testing.assert_close(one_row, alone)


@pytest.mark.parametrize(("flags", "part"), [
    (["--retrieval-weight", "1"], 4),  # the chunk choice
    (["--retrieval-weight", "1", "--retrieval-negatives", "batch"], 4),  # against the whole batch's chunks
    (["--retrieval-weight", "1", "--copy-weight", "1"], 5),  # the reading inside the chunk
    (["--retrieval-weight", "1", "--fusion-weight", "1", "--lse-fusion"], 6),  # the chunks' fused weights
])
def test_supervision_lowers_its_loss_on_a_fixed_batch(corpus_dir, tmp_path, flags, part):
    # part: train_step's retrieval (4), copy (5) or fusion loss (6); batch[4] supervises 4 and 6, batch[5] 5
    torch.manual_seed(0)
    args = parse_args(["--out", str(tmp_path / "run"), "--corpus", str(corpus_dir), "--lr", "3e-3", *TINY,
                       "--seq-len", "512", "--batch-tokens", "2048", "--task-share", "1", "--qa-share", "0",
                       "--task-kinds", "single", *flags])
    trainer = Trainer(args)
    batch, _ = trainer.prefetcher.next()
    trainer.prefetcher.close()
    assert (batch[{4: 4, 5: 5, 6: 4}[part]] >= 0).any()
    losses = [float(trainer.train_step(batch)[part]) for _ in range(8)]
    assert losses[-1] < losses[0] * 0.7, losses


def test_the_training_step_ranks_against_the_batch_when_asked(corpus_dir, tmp_path):
    first = {}
    for negatives in ("row", "batch"):
        torch.manual_seed(0)
        args = parse_args(["--out", str(tmp_path / negatives), "--corpus", str(corpus_dir), *TINY,
                           "--seq-len", "512", "--batch-tokens", "2048", "--task-share", "1",
                           "--qa-share", "0", "--task-kinds", "single", "--retrieval-weight", "1",
                           "--retrieval-negatives", negatives])
        trainer = Trainer(args)
        batch, _ = trainer.prefetcher.next()
        trainer.prefetcher.close()
        first[negatives] = float(trainer.train_step(batch)[4])
    assert first["batch"] > first["row"] + 0.3  # an untrained model: three more rows of chunks to lose among


def test_fusion_loss_is_minus_log_of_the_weight_hsa_gives_the_target_chunk():
    torch.manual_seed(0)
    B, T, H, D, Dl, top_k = 1, 512, 4, 8, 8, 3
    q, k, v = torch.randn(B, T, H, D), torch.randn(B, T, 1, D), torch.randn(B, T, 1, D)
    rq, landmarks = torch.randn(B, T, 1, Dl), torch.randn(B, T // 64, 1, Dl)
    beta = torch.tensor([0.5, -0.2, 1.0, 0.3])
    _, indices, weights = hsa_reference(q, k, v, rq, landmarks, top_k, fusion_beta=beta)
    t = 500  # sees chunks 0-6, reads three of them
    targets = torch.full((B, T), -1)
    for slot in range(top_k):
        targets[0, t] = indices[0, t, 0, slot]
        loss = fusion_loss(q, k, rq, landmarks, targets, 64, top_k, beta)
        torch.testing.assert_close(loss, -weights[0, t, 0, slot].log())
    # a chunk the landmarks left out competes in the last slot, in place of the third chunk read
    unread = next(c for c in range(7) if c not in indices[0, t, 0].tolist())
    slots = indices[0, t, 0, :2].tolist() + [unread]
    fused = torch.stack([rq[0, t, 0] @ landmarks[0, c, 0] / Dl**0.5
                         + (beta * (q[0, t] @ k[0, c * 64:(c + 1) * 64, 0].T / D**0.5).logsumexp(-1)).sum()
                         for c in slots])
    targets[0, t] = unread
    torch.testing.assert_close(fusion_loss(q, k, rq, landmarks, targets, 64, top_k, beta),
                               -fused.log_softmax(-1)[2])
    assert fusion_loss(q, k, rq, landmarks, torch.full((B, T), -1), 64, top_k, beta) == 0


def test_fusion_weight_needs_retrieval_supervision_and_a_fused_model(corpus_dir, tmp_path):
    for flags in (["--retrieval-weight", "1"], ["--lse-fusion"]):
        args = parse_args(["--out", str(tmp_path / "run"), "--corpus", str(corpus_dir), *TINY,
                           "--fusion-weight", "1", *flags])
        with pytest.raises(SystemExit, match="--fusion-weight needs --retrieval-weight above 0 and a model"):
            Trainer(args)


def test_copy_loss_is_the_heads_attention_share_on_the_source_token():
    q = torch.zeros(1, 256, 2, 4)  # two query heads on one KV head
    k = torch.zeros(1, 256, 1, 4)
    k[0, 70, 0, 0] = 3.0  # token 70 (chunk 1, offset 6) answers direction 0
    q[0, 200, 0, 0] = 2.0  # head 0 looks for it, head 1 looks nowhere
    targets = torch.full((1, 256), -1)
    targets[0, 200] = 70
    logits = torch.zeros(2, 64)
    logits[0, 6] = 2.0 * 3.0 / 2  # q . k / sqrt(D)
    share = logits.softmax(dim=-1)[:, 6].mean()
    torch.testing.assert_close(copy_loss(q, k, targets, chunk_size=64), -share.log())
    assert copy_loss(q, k, torch.full((1, 256), -1), chunk_size=64) == 0  # no source: no loss


def test_train_only_leaves_every_other_weight_as_it_was(corpus_dir, tmp_path):
    torch.manual_seed(0)
    args = parse_args(["--out", str(tmp_path / "run"), "--corpus", str(corpus_dir), *TINY, "--seq-len", "512",
                       "--batch-tokens", "1024", "--task-share", "1", "--retrieval-weight", "1",
                       "--train-only", "w_retrieval|w_landmark"])
    trainer = Trainer(args)
    before = {name: p.detach().clone() for name, p in trainer.model.named_parameters()}
    batch, _ = trainer.prefetcher.next()
    trainer.prefetcher.close()
    trainer.train_step(batch)
    changed = {name for name, p in trainer.model.named_parameters() if not torch.equal(p, before[name])}
    assert changed == {"encoder.w_landmark.weight", "upper.0.w_retrieval.weight"}
    with pytest.raises(SystemExit, match="matches no parameter"):
        Trainer(parse_args(["--out", str(tmp_path / "other"), "--corpus", str(corpus_dir), *TINY,
                            "--train-only", "no_such_weight"]))


def test_resume_continues_exactly_and_the_export_loads(corpus_dir, tmp_path):
    plan = ["--corpus", str(corpus_dir), "--plan-steps", "4", *TINY]
    torch.manual_seed(0)
    main(["--out", str(tmp_path / "whole"), "--max-steps", "4", *plan])
    torch.manual_seed(0)
    main(["--out", str(tmp_path / "cut"), "--max-steps", "2", "--export", str(tmp_path / "export"), *plan])
    main(["--out", str(tmp_path / "cut"), "--max-steps", "4", "--resume", str(tmp_path / "cut"), *plan])
    whole, cut = steps_logged(tmp_path / "whole"), steps_logged(tmp_path / "cut")
    assert sorted(whole) == sorted(cut) == [1, 2, 3, 4]
    for step in (3, 4):  # after the resume, and across the change to 512-token rows (the 4th batch)
        assert cut[step] == pytest.approx(whole[step], abs=1e-6)
    assert [e["phase"] for e in events(tmp_path / "whole", "phase")] == ["sparse-256", "sparse-512"]

    model, _ = checkpoint.load(tmp_path / "export")
    state = load_file(str(tmp_path / "cut" / "state" / "tensors.safetensors"))  # overwritten by the resume
    trainer = json.loads((tmp_path / "export" / "trainer.json").read_text())
    assert trainer["step"] == 2 and trainer["stream"]["seq_len"] == 256
    assert (tmp_path / "export" / "train-log.jsonl").is_file()
    assert set(state) >= {f"model/{name}" for name in model.state_dict()}


def test_resume_from_an_export_on_a_fresh_machine(corpus_dir, tmp_path):
    plan = ["--corpus", str(corpus_dir), "--plan-steps", "8", *TINY]
    main(["--out", str(tmp_path / "first"), "--max-steps", "2", "--export", str(tmp_path / "export"), *plan])
    exported, _ = checkpoint.load(tmp_path / "export")
    assert events(tmp_path / "first", "end")[0]["phase"] == "full-k"
    assert exported.cfg == ModelConfig.from_name("hsa-tiny")  # the model's own top-k, not the warm-up's
    main(["--out", str(tmp_path / "second"), "--max-steps", "3", "--resume", str(tmp_path / "export"), *plan])
    resumed = events(tmp_path / "second", "resumed")
    assert resumed and resumed[0]["optimizer"] == "restarted"
    assert sorted(steps_logged(tmp_path / "second")) == [1, 2, 3]  # the exported log, then step 3
    final = load_file(str(tmp_path / "second" / "state" / "tensors.safetensors"))
    assert not torch.equal(final["model/embed.weight"], exported.embed.weight)  # it trained on


def test_init_starts_a_new_run_from_trained_weights(corpus_dir, tmp_path):
    plan = ["--corpus", str(corpus_dir), *TINY, "--lr", "3e-3", "--seq-len", "256", "--batch-tokens", "256"]
    main(["--out", str(tmp_path / "first"), "--max-steps", "8", "--export", str(tmp_path / "export"), *plan])
    main(["--out", str(tmp_path / "fresh"), "--max-steps", "1", *plan])
    main(["--out", str(tmp_path / "tuned"), "--max-steps", "1", "--init", str(tmp_path / "export"),
          "--answer-weight", "1", *plan])
    assert events(tmp_path / "tuned", "init")
    assert sorted(steps_logged(tmp_path / "tuned")) == [1]  # counted from step 0 again
    # the same first batch: the trained weights already predict it better than fresh ones
    assert steps_logged(tmp_path / "tuned")[1] < steps_logged(tmp_path / "fresh")[1] - 0.3
    with pytest.raises(SystemExit, match="different model"):
        main(["--out", str(tmp_path / "other"), "--max-steps", "1", "--init", str(tmp_path / "export"),
              *plan, "--variant", "dense"])


def test_sparse_top_k_is_what_the_exported_model_reads_and_a_later_stretch_keeps(corpus_dir, tmp_path):
    plan = ["--corpus", str(corpus_dir), *TINY, "--seq-len", "512", "--batch-tokens", "512",
            "--full-share", "0", "--max-steps", "1"]
    main(["--out", str(tmp_path / "first"), *plan])  # hsa-tiny reads 2 chunks a layer
    main(["--out", str(tmp_path / "wide"), "--init", str(tmp_path / "first" / "model"),
          "--sparse-top-k", "3", *plan])
    main(["--out", str(tmp_path / "on"), "--init", str(tmp_path / "wide" / "model"), *plan])
    for run, top_k in (("first", 2), ("wide", 3), ("on", 3)):
        assert [r["top_k"] for r in events(tmp_path / run, "step")] == [top_k]
        assert checkpoint.load(tmp_path / run / "model")[0].cfg.hsa_top_k == top_k


def test_a_deadline_before_the_first_step_still_leaves_a_resumable_run(corpus_dir, tmp_path):
    main(["--out", str(tmp_path / "run"), "--corpus", str(corpus_dir), "--until", str(time.time()), *TINY])
    assert events(tmp_path / "run", "end")[0]["step"] == 0 and not steps_logged(tmp_path / "run")
    meta = json.loads((tmp_path / "run" / "state" / "meta.json").read_text())
    assert meta["step"] == 0 and (tmp_path / "run" / "model" / "trainer.json").is_file()


def test_monitor_asks_needles_beyond_the_training_length(corpus_dir, tmp_path):
    main(["--out", str(tmp_path / "run"), "--corpus", str(corpus_dir), "--max-steps", "1", *TINY,
          "--seq-len", "512", "--monitor-every", "1", "--monitor-samples", "2"])
    (monitor,) = events(tmp_path / "run", "monitor")  # once: at step 1, not again at the end
    assert monitor["step"] == 1 and {"needle_acc@512", "needle_acc@2048"} <= set(monitor)
    assert 0 <= monitor["needle_acc@2048"] <= 1 and 0 < monitor["needle_loss@2048"] < 20  # held-out json text


@pytest.mark.parametrize("variant", ["moe", "dense"])
def test_comparison_variants_train(corpus_dir, tmp_path, variant):
    monitor = ["--monitor-every", "1"] if variant == "dense" else []
    main(["--out", str(tmp_path / variant), "--corpus", str(corpus_dir), "--variant", variant,
          "--max-steps", "2", *TINY, *monitor])
    state = load_file(str(tmp_path / variant / "state" / "tensors.safetensors"))
    assert len(steps_logged(tmp_path / variant)) == 2
    if variant == "moe":
        biases = [t for name, t in state.items() if name.endswith("route_bias")]
        assert biases and all(b.abs().sum() > 0 for b in biases)  # update_moe_biases ran after the steps
    else:
        assert not any("encoder" in name for name in state)
        assert not events(tmp_path / variant, "monitor")  # the dense baseline has no memory to ask


def test_heldout_loss_compares_models_on_the_same_rows(corpus_dir, tmp_path):
    torch.manual_seed(0)
    tokenizer = Tokenizer.load()
    for name, variant in (("hsa", "hsa"), ("dense", "dense")):
        checkpoint.save(Transformer(variant_config("hsa-tiny", variant)), tmp_path / name, tokenizer)
    out = tmp_path / "loss.md"
    train_loss.main(["--models", str(tmp_path / "hsa"), str(tmp_path / "dense"), "--corpus", str(corpus_dir),
                     "--seq-len", "256", "--tokens", "512", "--batch-tokens", "512", "--device", "cpu",
                     "--out", str(out)])
    table, by_position = out.read_text().split("By the target token's position")
    rows = [line for line in table.splitlines() if line.startswith(f"| {tmp_path}")]
    assert [row.split(" | ")[1] for row in rows] == ["hsa", "dense"]
    assert rows[0].endswith("| +0.00% |")
    losses = [float(row.split(" | ")[4]) for row in rows]
    assert all(8 < loss < 11 for loss in losses)  # untrained: about ln(16384) = 9.7 on real held-out text
    assert "| model | 0-511 | 512-2,047 | 2,048+ |" in by_position
    assert by_position.count(f"| {tmp_path}") == 2


def test_heldout_loss_is_the_models_own_and_splits_by_position(corpus_dir):
    torch.manual_seed(0)
    tokenizer = Tokenizer.load()
    model = Transformer(variant_config("hsa-tiny", "hsa")).eval()

    def stream():
        return TrainStream(Corpus.load(corpus_dir / "heldout"), tokenizer, seq_len=2048, seed=1,
                           task_share=0.0, qa_share=0.0)

    loss, count, parts = train_loss.heldout_loss(model, stream(), 4096, 2)  # one batch of two rows
    idx, doc_ids, targets = stream().next_batch(2)
    with torch.no_grad():
        _, want = model(idx, doc_ids, targets)  # the model's own mean over the same rows
    assert loss == pytest.approx(float(want), rel=1e-5) and count == int((targets != -100).sum())
    assert parts[0][1] > 0 and parts[1][1] > 0  # files longer than 512 tokens: both spans counted


def test_a_step_with_a_nan_gradient_is_skipped_and_the_weights_stay_usable(corpus_dir, tmp_path):
    # a NaN in one step's gradients (session 6: one stretch turned every weight into NaN) leaves the model
    # as it was, is logged, and training goes on
    args = parse_args(["--out", str(tmp_path / "run"), "--corpus", str(corpus_dir), *TINY])
    trainer = Trainer(args)
    batch, _ = trainer.prefetcher.next()
    trainer.prefetcher.close()
    before = {name: p.detach().clone() for name, p in trainer.model.named_parameters()}
    hook = trainer.model.embed.weight.register_hook(lambda grad: grad * float("nan"))
    trainer.train_step(batch)
    hook.remove()
    assert all(torch.equal(p, before[name]) for name, p in trainer.model.named_parameters())
    assert "skipped" in (tmp_path / "run" / "log.jsonl").read_text()
    trainer.train_step(batch)
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    assert not torch.equal(trainer.model.embed.weight, before["embed.weight"])


def test_short_window_reads_the_warm_up_and_a_share_of_later_steps_shorter(corpus_dir, tmp_path):
    run, export = tmp_path / "run", tmp_path / "export"
    main(["--out", str(run), "--corpus", str(corpus_dir), "--plan-steps", "12", "--max-steps", "12", *TINY,
          "--short-window", "16", "--short-share", "0.5", "--export", str(export)])
    short = {e["step"]: e["short_window_steps"] for e in events(run, "step")}
    assert [short[s] for s in (1, 2, 3)] == [1, 1, 1]  # the full-k warm-up: the first quarter of 12 steps
    assert 0 < sum(short[s] for s in range(4, 13)) < 9  # some of the later steps, not all
    model, _ = checkpoint.load(export)
    assert model.cfg.window == 32  # the model keeps (and answers with) its own window
    assert {m.window for m in model.modules() if getattr(m, "window", None)} == {32}
    with pytest.raises(SystemExit, match="under the model's window"):
        main(["--out", str(tmp_path / "bad"), "--corpus", str(corpus_dir), "--max-steps", "1", *TINY,
              "--short-window", "32"])
    assert not (tmp_path / "bad").exists()


def test_a_run_can_take_another_depth_and_more_memory_heads_and_a_bad_shape_is_refused(corpus_dir, tmp_path):
    export = tmp_path / "export"
    main(["--out", str(tmp_path / "run"), "--corpus", str(corpus_dir), "--plan-steps", "2",
          "--max-steps", "2", *TINY, "--n-layers", "8", "--kv-heads", "2", "--export", str(export)])
    model, _ = checkpoint.load(export)
    assert (model.cfg.n_layers, model.cfg.n_lower, model.cfg.hsa_kv_heads) == (8, 4, 2)
    assert len(model.cfg.hsa_layers) == 2  # two groups above the encoder, where hsa-tiny has one
    assert model.cfg.memory_bytes_per_token == 2 * ModelConfig.from_name("hsa-tiny").memory_bytes_per_token
    with pytest.raises(SystemExit, match="not whole groups of 2"):
        main(["--out", str(tmp_path / "bad"), "--corpus", str(corpus_dir), "--max-steps", "1", *TINY,
              "--n-layers", "6"])
    assert not (tmp_path / "bad").exists()  # a refused shape leaves no run folder behind
