"""Give a model folder a landmark centre: the chunk encoder's mean CLS state over training text.

    python -m model.calibrate --model resources/model --corpus .train/corpus [--out DIR] [--tokens 131072]

Every landmark is w_landmark . (CLS state - centre). Subtracting one vector from every state shifts every
landmark by one vector, so a query's scores all move by the same amount and no chunk choice or attention
weight changes in exact arithmetic. In bf16 it matters: the CLS states share ~99% of their length (hsa-mini
ZA: norm 65, 8 once the mean is taken off), and rounding the shared part to bf16 before the projection, as
autocast does on the GPU, blurred the small differences that tell chunks apart (docs/lab-notes.md,
session 12).

The folder is written anew beside the old one (NAME.calibrating), checked by loading it, and then put in
its place by two renames; a crash between them leaves the old folder as NAME.old, never a half-written one.
Chunk memories built with the old landmarks no longer match: the fingerprint changes and the app re-encodes.
"""

import argparse
import dataclasses
import shutil
import sys
from pathlib import Path

import torch

from model import checkpoint
from model.data.stream import TrainStream
from model.train_monitor import training_corpus
from model.transformer import Transformer


def with_center(model: Transformer) -> Transformer:
    """The same model with a landmark_center buffer (zero: nothing changes until calibrate fills it)."""
    if model.cfg.landmark_center:
        return model
    if model.encoder is None:
        raise ValueError("a dense model has no chunk encoder to centre")
    cfg = dataclasses.replace(model.cfg, landmark_center=True)
    centred = Transformer(cfg).to(next(model.parameters()).device)
    missing, unexpected = centred.load_state_dict(model.state_dict(), strict=False)
    assert missing == ["encoder.landmark_center"] and not unexpected, (missing, unexpected)
    return centred.eval()


@torch.no_grad()
def calibrate(model: Transformer, stream: TrainStream, rows: int, batch: int = 4) -> int:
    """Set model's landmark centre to the mean CLS state of the chunks of `rows` plain rows of the stream
    (chunks of padding only left out); returns how many chunks it averaged."""
    if not model.cfg.landmark_center:
        raise ValueError("the model has no landmark centre (calibrate with_center(model))")
    device = model.encoder.landmark_center.device
    total = torch.zeros_like(model.encoder.landmark_center, dtype=torch.float64)
    count = 0
    for start in range(0, rows, batch):
        idx, doc_ids, _ = stream.next_batch(min(batch, rows - start))
        idx, doc_ids = idx.to(device), doc_ids.to(device)
        states = model.chunk_states(idx, doc_ids).float()  # (B, N, C)
        chunks = idx.view(idx.shape[0], -1, model.cfg.chunk_size)
        real = (chunks != model.cfg.pad_id).any(dim=-1)  # (B, N)
        total += states[real].sum(dim=0, dtype=torch.float64)
        count += int(real.sum())
    if not count:
        raise ValueError("no text to calibrate on")
    model.encoder.landmark_center.copy_((total / count).to(model.encoder.landmark_center.dtype))
    return count


def replace_folder(source: Path, out: Path, model: Transformer, tokenizer) -> str:
    """Write model into out (which may be source) with source's other files; returns its fingerprint."""
    staging = out.with_name(out.name + ".calibrating")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)
    checkpoint.save(model, staging, tokenizer, dtype=torch.bfloat16)
    written, _ = checkpoint.load(staging)  # fails loudly before anything is replaced
    old = out.with_name(out.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return checkpoint.fingerprint(written)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, required=True, help="model folder")
    p.add_argument("--corpus", type=Path, required=True, help="build folder of python -m model.data.build")
    p.add_argument("--out", type=Path, help="where to write the centred model (default: --model itself)")
    p.add_argument("--tokens", type=int, default=131072, help="text tokens to average over")
    p.add_argument("--seq-len", type=int, default=4096)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args(argv)
    try:
        model, tokenizer = checkpoint.load(args.model, device=args.device)
        model = with_center(model)
        stream = TrainStream(training_corpus(args.corpus), tokenizer, seq_len=args.seq_len, seed=args.seed,
                             task_share=0.0, qa_share=0.0)
        before = model.encoder.landmark_center.clone()
        chunks = calibrate(model, stream, rows=max(1, args.tokens // args.seq_len))
        out = args.out or args.model
        fingerprint = replace_folder(args.model, out, model, tokenizer)
    except (checkpoint.CheckpointError, ValueError, OSError) as e:
        print(f"calibrate: {e}", file=sys.stderr)
        return 1
    center = model.encoder.landmark_center
    print(f"{out}: landmark centre from {chunks} chunks, norm {center.norm():.2f} "
          f"(was {before.norm():.2f}); fingerprint {fingerprint}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
