"""In-domain loss on held-out text: the same packed rows of held-out documents for every model given.

    python -m model.train_loss --models .train/hsa/export .train/dense/export --corpus .train/corpus \\
        --seq-len 16384 --tokens 4000000 --device cuda --out docs/eval-loss.md

Rows are plain held-out documents (no synthetic tasks or questions), packed as in training (the model's
own top-k for HSA). Prints mean cross-entropy per target token and each model's gap to the first one.
"""

import argparse
import math
import sys
from pathlib import Path

import torch

from model import checkpoint
from model.data.stream import IGNORE, TrainStream
from model.train_monitor import heldout_corpus
from model.transformer import Transformer


@torch.no_grad()
def heldout_loss(model: Transformer, stream: TrainStream, tokens: int, rows: int) -> tuple[float, int]:
    """(mean cross-entropy over target tokens, number of target tokens) over `tokens` tokens of rows."""
    device = model.embed.weight.device
    total, count, seen = 0.0, 0, 0
    while seen < tokens:
        idx, doc_ids, targets = (t.to(device) for t in stream.next_batch(rows))
        with torch.autocast(device.type, torch.bfloat16, enabled=device.type == "cuda"):
            _, loss = model(idx, doc_ids, targets)
        n = int((targets != IGNORE).sum())
        total += float(loss) * n
        count += n
        seen += idx.numel()
    return total / max(count, 1), count


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
    base = None
    for folder in args.models:
        model, tokenizer = checkpoint.load(folder, device=args.device)
        stream = TrainStream(corpus, tokenizer, seq_len=args.seq_len, seed=args.seed, task_share=0.0,
                             qa_share=0.0)
        loss, count = heldout_loss(model, stream, args.tokens, rows)
        base = loss if base is None else base
        cfg = model.cfg
        lines.append(f"| {folder} | {cfg.attention} | {cfg.ffn} | {model.num_params() / 1e6:.1f}M | "
                     f"{loss:.4f} | {math.exp(loss):.2f} | {100 * (loss / base - 1):+.2f}% |")
        print(lines[-1], f"({count:,} target tokens)", flush=True)
    text = "\n".join(lines)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(f"# In-domain loss on held-out text ({args.seq_len:,}-token rows, "
                            f"{args.tokens:,} tokens)\n\n{text}\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
