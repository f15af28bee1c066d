"""A model with LSE fusion (model.widen --lse-fusion): it starts as the old model, every path of the app
reads it as the packed forward does, and training moves its betas."""

import json

import torch

from model import checkpoint, widen
from model.transformer import HSABlock, Transformer
from tests.model.test_calibrate import rows
from tests.model.test_widen import (  # noqa: F401 (fixtures)
    assert_every_path_reads_it,
    corpus_dir,
    tokenizer,
    train_widened,
    trained_like,
)


def betas(model: Transformer) -> list[torch.Tensor]:
    return [layer.fusion_beta for layer in model.upper if isinstance(layer, HSABlock)]


def test_lse_fusion_starts_as_the_old_model_and_every_path_reads_it(tokenizer, corpus_dir, tmp_path):  # noqa: F811
    model = trained_like()
    _, (idx, doc_ids) = rows(tokenizer, corpus_dir)
    fused = widen.widen(model, lse_fusion=True)
    assert fused.cfg.lse_fusion and [b.tolist() for b in betas(fused)] == [[0.0] * 16]  # one per query head
    with torch.no_grad():
        torch.testing.assert_close(fused(idx, doc_ids)[0], model(idx, doc_ids)[0])

    # with beta moved, the answer's paths (prefill, eager and fixed-shape decode) match the packed forward
    with torch.no_grad():
        betas(fused)[0].copy_(torch.linspace(-0.2, 0.8, 16))
    assert_every_path_reads_it(fused, model)

    run = train_widened(widen.widen(model, lse_fusion=True), model, '"lse_fusion": true', tokenizer,
                        corpus_dir, tmp_path, "--lse-fusion", "--lr-scale", "fusion_beta=100", steps=3)
    steps = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()
             if '"event": "step"' in line]
    assert steps and len(steps[-1]["fusion_betas"]) == 1 and len(steps[-1]["fusion_betas"][0]) == 16  # logged
    tuned, _ = checkpoint.load(run / "model")
    assert tuned.cfg.lse_fusion and (betas(tuned)[0] != 0).all()  # every beta learned
