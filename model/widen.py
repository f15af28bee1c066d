"""Reshape a trained model folder to train on from: a wider landmark, more layers, a window, LSE fusion.

    python -m model.widen --model resources/model --out .train/wide/model --landmark-dim 128 \\
        [--window 1024] [--encoder-layers 2] [--lower-layers 6] [--lse-fusion]

A wider landmark keeps every chunk score as it was: HSA ranks chunks by rq . landmark / sqrt(Dl), so the old
rows of both projections (w_landmark in the chunk encoder, w_retrieval in each HSA layer) are scaled by
(new Dl / old Dl) ** 0.25, the new landmark rows are random (the size of the old ones) and the new retrieval
rows zero. The scores, the chunk choice and every output stay the same until training moves the new
retrieval rows, which get a gradient through the random landmark rows from the first step (two zero halves
would both stay zero). With several KV heads each head's rows are widened in place.

More chunk-encoder layers (--encoder-layers) start as the identity: each new layer's two output
projections (attention wo, feed-forward w_out) are zero, the rest random, so the landmarks and keys are
those of the old encoder until training moves them. More lower layers (--lower-layers, the SWA layers
below the chunk encoder) start the same way, added after the old ones: n_layers grows by as many, the upper
half stays as it was, and every output is unchanged until training moves them.

--lse-fusion turns on the config's lse_fusion: every HSA layer gets its fusion weights (a beta per query
head), zero, so the chunks are fused by softmax(score + 0 * lse), the old weights, until training moves them.

--window changes only config.json: the window layers' weights do not depend on it, but a model trained
with one window reads text worse with another until it is trained on it (docs/lab-notes.md, session 17).

The folder is written beside the target and renamed into place (model/calibrate.replace_folder), without
the source's trainer.json: the new shape is a new run (model.train --init). Chunk memories built with the
old model no longer match: the fingerprint changes and the app re-encodes.
"""

import argparse
import dataclasses
import sys
from pathlib import Path

import torch

from model import checkpoint
from model.calibrate import replace_folder
from model.transformer import Transformer


def _widened(weight: torch.Tensor, kv_heads: int, old: int, new: int, fill: str,
             generator: torch.Generator) -> torch.Tensor:
    """A (kv_heads * old, C) projection as (kv_heads * new, C): old rows scaled, new rows random or zero."""
    C = weight.shape[1]
    rows = weight.detach().float().view(kv_heads, old, C) * (new / old) ** 0.25
    extra = torch.zeros(kv_heads, new - old, C)
    if fill == "random":
        rms = rows.pow(2).mean().sqrt()
        extra = torch.randn(kv_heads, new - old, C, generator=generator) * rms
    return torch.cat([rows, extra], dim=1).view(kv_heads * new, C)


def widen(model: Transformer, *, landmark_dim: int | None = None, window: int | None = None,
          encoder_layers: int | None = None, lower_layers: int | None = None, lse_fusion: bool = False,
          seed: int = 0) -> Transformer:
    """The same model with a wider landmark, another window, more chunk-encoder layers, more layers below the
    chunk encoder and/or LSE fusion (betas 0) (a new Transformer, fp32, on the CPU)."""
    cfg = model.cfg
    if model.encoder is None:
        raise ValueError("a dense model has no landmark to widen")
    new_dim = cfg.landmark_dim if landmark_dim is None else landmark_dim
    if new_dim < cfg.landmark_dim:
        raise ValueError(f"the landmark can only grow: {cfg.landmark_dim} -> {new_dim}")
    if new_dim < 16 or new_dim & (new_dim - 1):
        raise ValueError(f"landmark dim must be a power of two >= 16 (the kernels' tiles), got {new_dim}")
    if window is not None and window < 1:
        raise ValueError(f"window must be positive, got {window}")
    layers = cfg.encoder_layers if encoder_layers is None else encoder_layers
    if layers < cfg.encoder_layers:
        raise ValueError(f"the chunk encoder can only grow: {cfg.encoder_layers} -> {layers} layers")
    lower = cfg.n_lower if lower_layers is None else lower_layers
    if lower < cfg.n_lower:
        raise ValueError(f"the lower half can only grow: {cfg.n_lower} -> {lower} layers")
    n_layers = cfg.n_layers + lower - cfg.n_lower
    new_cfg = dataclasses.replace(cfg, landmark_dim=new_dim, window=cfg.window if window is None else window,
                                  encoder_layers=layers, n_layers=n_layers,
                                  lower_layers=0 if lower == n_layers // 2 else lower,
                                  lse_fusion=cfg.lse_fusion or lse_fusion)
    state = {k: v.detach().float().cpu() for k, v in model.state_dict().items()}
    if new_dim != cfg.landmark_dim:
        generator, old_dim = torch.Generator().manual_seed(seed), cfg.landmark_dim
        for name in state:
            if name == "encoder.w_landmark.weight" or name.endswith("w_retrieval.weight"):
                fill = "random" if name.startswith("encoder.") else "zero"
                state[name] = _widened(state[name], cfg.hsa_kv_heads, old_dim, new_dim, fill, generator)
    with torch.random.fork_rng(devices=[]):  # new layers from `seed`; the caller's RNG as it was
        torch.manual_seed(seed)
        wide = Transformer(new_cfg)
    for name, tensor in wide.state_dict().items():  # new layers: random, their outputs zero; new betas zero
        if name not in state:
            zero = name.endswith(("wo.weight", "w_out.weight", "w_out", "fusion_beta"))
            state[name] = torch.zeros_like(tensor) if zero else tensor
    wide.load_state_dict(state)
    return wide.eval()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, required=True, help="model folder")
    p.add_argument("--out", type=Path, required=True, help="the new model folder")
    p.add_argument("--landmark-dim", type=int, help="the new landmark width (default: as it is)")
    p.add_argument("--window", type=int, help="the new sliding window (default: as it is)")
    p.add_argument("--encoder-layers", type=int, help="chunk-encoder layers (default: as it is)")
    p.add_argument("--lower-layers", type=int, help="layers below the chunk encoder (default: as it is)")
    p.add_argument("--lse-fusion", action="store_true",
                   help="fuse the chosen chunks by softmax(score + sum of beta * in-chunk log-sum-exp over "
                        "the query heads); the betas start at 0")
    p.add_argument("--seed", type=int, default=0, help="for the new landmark rows and layers")
    args = p.parse_args(argv)
    try:
        model, tokenizer = checkpoint.load(args.model)
        wide = widen(model, landmark_dim=args.landmark_dim, window=args.window,
                     encoder_layers=args.encoder_layers, lower_layers=args.lower_layers,
                     lse_fusion=args.lse_fusion, seed=args.seed)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        fingerprint = replace_folder(args.model, args.out, wide, tokenizer)
        (args.out / "trainer.json").unlink(missing_ok=True)  # the old model's step and data position
    except (checkpoint.CheckpointError, ValueError, OSError) as e:
        print(f"widen: {e}", file=sys.stderr)
        return 1
    old, new = model.cfg, wide.cfg
    print(f"{args.out}: landmark {old.landmark_dim} -> {new.landmark_dim}, window {old.window} -> "
          f"{new.window}, encoder layers {old.encoder_layers} -> {new.encoder_layers}, lower layers "
          f"{old.n_lower} -> {new.n_lower}, lse fusion {old.lse_fusion} -> {new.lse_fusion}; "
          f"fingerprint {fingerprint}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
