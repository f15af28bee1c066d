"""In-domain loss on held-out text: the same packed rows of held-out documents for every model given.

    python -m model.train_loss --models .train/hsa/export .train/dense/export --corpus .train/corpus \\
        --seq-len 16384 --tokens 4000000 --device cuda --out docs/eval-loss.md

Rows are plain held-out documents (no synthetic tasks or questions), packed as in training (the model's
own top-k for HSA). Prints mean cross-entropy per target token and each model's gap to the first one, then
the same by the token's position in its document (where a sliding window ends and only HSA reaches back).
"""

import argparse
import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from model import checkpoint
from model.data.stream import IGNORE, TrainStream
from model.train_monitor import heldout_corpus
from model.transformer import Transformer, document_positions

POSITIONS = ((0, 512), (512, 2048), (2048, None))  # a token's position in its document: [lo, hi)


@torch.no_grad()
def heldout_loss(model: Transformer, stream: TrainStream, tokens: int, rows: int) -> tuple[float, int, list]:
    """(mean cross-entropy over target tokens, number of target tokens, [(mean, count) for each span of
    POSITIONS]) over `tokens` tokens of rows."""
    device = model.embed.weight.device
    edges = torch.tensor([lo for lo, _ in POSITIONS[1:]], device=device)
    sums = torch.zeros(len(POSITIONS), dtype=torch.float64)
    counts = torch.zeros(len(POSITIONS), dtype=torch.int64)
    seen = 0
    while seen < tokens:
        idx, doc_ids, targets = (t.to(device) for t in stream.next_batch(rows))
        with torch.autocast(device.type, torch.bfloat16, enabled=device.type == "cuda"):
            logits, _ = model(idx, doc_ids)
        losses = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), ignore_index=IGNORE,
                                 reduction="none").double()
        counted = targets.flatten() != IGNORE
        span = torch.bucketize(document_positions(doc_ids).flatten()[counted], edges, right=True)
        sums += torch.bincount(span, weights=losses[counted], minlength=len(POSITIONS)).cpu()
        counts += torch.bincount(span, minlength=len(POSITIONS)).cpu()
        seen += idx.numel()
    total = int(counts.sum())
    means = (sums / counts.clamp_min(1)).tolist()
    return float(sums.sum()) / max(total, 1), total, list(zip(means, counts.tolist(), strict=True))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m model.train_loss", description=__doc__.split("\n")[0])
    p.add_argument("--models", type=Path, nargs="+", required=True,
                   help="model folders; the first is the base")
    p.add_argument("--corpus", type=Path, required=True,
                   help="build folder (its heldout/) or a Corpus folder")
    p.add_argument("--seq-len", type=int, default=16384)
    p.add_argument("--tokens", type=int, default=4_000_000)
    p.add_argument("--batch-tokens", type=int, default=131072)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--out", type=Path, help="markdown table")
    args = p.parse_args(argv)
    corpus = heldout_corpus(args.corpus)
    if corpus is None:
        raise SystemExit(f"{args.corpus}: no held-out corpus (python -m model.data.build makes one)")
    rows = max(1, args.batch_tokens // args.seq_len)
    lines = ["| model | attention | ffn | params | held-out loss | perplexity | vs first |",
             "|---|---|---|---|---|---|---|"]
    spans = " | ".join(f"{lo:,}-{hi - 1:,}" if hi else f"{lo:,}+" for lo, hi in POSITIONS)
    by_position = [f"| model | {spans} |", "|---" * (len(POSITIONS) + 1) + "|"]
    base = base_parts = None
    for folder in args.models:
        model, tokenizer = checkpoint.load(folder, device=args.device)
        stream = TrainStream(corpus, tokenizer, seq_len=args.seq_len, seed=args.seed, task_share=0.0,
                             qa_share=0.0)
        loss, count, parts = heldout_loss(model, stream, args.tokens, rows)
        base = loss if base is None else base
        base_parts = parts if base_parts is None else base_parts
        cells = [f"{mean:.4f} ({100 * (mean / first - 1):+.1f}%)" if n and first else "-"
                 for (mean, n), (first, _) in zip(parts, base_parts, strict=True)]
        by_position.append(f"| {folder} | {' | '.join(cells)} |")
        cfg = model.cfg
        lines.append(f"| {folder} | {cfg.attention} | {cfg.ffn} | {model.num_params() / 1e6:.1f}M | "
                     f"{loss:.4f} | {math.exp(loss):.2f} | {100 * (loss / base - 1):+.2f}% |")
        print(lines[-1], f"({count:,} target tokens)", flush=True)
    counted = max(1, sum(n for _, n in base_parts))  # the same rows, so the same tokens, for every model
    shares = ", ".join(f"{100 * n / counted:.0f}%" for _, n in base_parts)
    text = "\n".join(lines) + ("\n\nBy the target token's position in its document (shares of the target "
                               f"tokens: {shares}):\n\n" + "\n".join(by_position))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(f"# In-domain loss on held-out text ({args.seq_len:,}-token rows, "
                            f"{args.tokens:,} tokens)\n\n{text}\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
