"""Do the model's states hold what tells the right chunk from its namesakes? A probe of the chunk choice.

    python -m benchmarks.retrieval_probe --model resources/model --corpus .train/corpus \\
        [--train-rows 200] [--eval-rows 50] [--out docs/eval/retrieval-probe.md]

HSA ranks the chunks for a token by w_retrieval(state) . w_landmark(CLS state - centre) / 8, a 64-dimension
bilinear score. This freezes the model, takes code-question rows (the training recipe's: a package read once
and asked 16 things, the questions first about same-named definitions) and, at every answer token that has a
chunk to retrieve (Row.retrieval_targets: the definition's chunk), the state each HSA layer scores with and
the CLS state of every chunk of the row. Then it trains new bilinear scorers on those frozen states, rows of
training packages only, and compares their first choice with the model's own on rows of held-out packages:
- rank 64: the model's shape, its two projections trained further alone;
- rank 384: every dimension of the states (d_model), from the model's projections plus new ones.
If the full-rank scorer chooses much better, the states hold what the model's scores miss (the projections'
width or training limit it); if not, the states themselves do not tell the chunks apart (session 17).
"""

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from model import checkpoint
from model.data.stream import TrainStream
from model.train_monitor import heldout_corpus, training_corpus
from model.transformer import HSABlock, Transformer


@dataclass
class Rows:
    """Per row: query states (layers, M, C), target chunks (M,), visible counts (M,), first-token flags (M,),
    CLS states (N, C) minus the centre."""
    queries: list[torch.Tensor]
    targets: list[torch.Tensor]
    visible: list[torch.Tensor]
    first: list[torch.Tensor]
    chunks: list[torch.Tensor]


@torch.no_grad()
def collect(model: Transformer, stream: TrainStream, rows: int, device: torch.device) -> Rows:
    """One forward per row; hooks keep what the scores read: each HSA layer's normalised state and the CLS
    states the landmark projection takes (already centred)."""
    S = model.cfg.chunk_size
    seen: list[torch.Tensor] = []
    cls: list[torch.Tensor] = []
    hooks = [layer.retrieval_norm.register_forward_hook(lambda _m, _i, out: seen.append(out.float()))
             for layer in model.upper if isinstance(layer, HSABlock)]
    hooks.append(model.encoder.w_landmark.register_forward_pre_hook(
        lambda _m, inputs: cls.append(inputs[0][:, S].float())))  # (chunks, S + 1, C): the CLS row
    out = Rows([], [], [], [], [])
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    try:
        for _ in range(rows):
            idx, docs, _, _, wanted, _ = stream.next_batch(1, answers=True)
            positions = torch.nonzero(wanted[0] >= 0).flatten()
            if not len(positions):
                continue
            seen.clear()
            cls.clear()
            with autocast:
                model(idx.to(device), docs.to(device))
            before = F.pad(wanted[0, :-1], (1, 0), value=-1)  # the target of the token before
            out.queries.append(torch.stack([s[0, positions.to(device)] for s in seen]))
            out.targets.append(wanted[0, positions].to(device))
            out.visible.append((positions // S).to(device))
            out.first.append((before[positions] < 0).to(device))
            out.chunks.append(cls[0])
    finally:
        for hook in hooks:
            hook.remove()
    return out


class Scorer(torch.nn.Module):
    """(q A) . (c B) / sqrt(64): the first 64 columns from the model's projections, the rest small random."""

    def __init__(self, w_retrieval: torch.Tensor, w_landmark: torch.Tensor, rank: int, seed: int = 0):
        super().__init__()
        C, Dl = w_retrieval.shape[1], w_retrieval.shape[0]
        g = torch.Generator().manual_seed(seed)
        extra = rank - Dl
        self.a = torch.nn.Parameter(torch.cat([w_retrieval.float().T.cpu(), torch.randn(C, extra, generator=g)
                                               * 1e-3], 1).to(w_retrieval.device))
        self.b = torch.nn.Parameter(torch.cat([w_landmark.float().T.cpu(), torch.randn(C, extra, generator=g)
                                               * 1e-3], 1).to(w_landmark.device))
        self.scale = Dl**-0.5

    def forward(self, q: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return (q @ self.a) @ (c @ self.b).T * self.scale


def row_logits(scores: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
    """scores (M, N) with the chunks each position cannot see at -inf."""
    hidden = torch.arange(scores.shape[1], device=scores.device)[None, :] >= visible[:, None]
    return scores.masked_fill(hidden, float("-inf"))


def accuracy(score, data: Rows, layer: int) -> tuple[float, float]:
    """Top-1 over every answer token, and over each answer's first token."""
    right = total = right_first = total_first = 0
    with torch.no_grad():
        rows = zip(data.queries, data.targets, data.visible, data.first, data.chunks, strict=True)
        for q, t, v, f, c in rows:
            hit = row_logits(score(q[layer], c), v).argmax(1) == t
            right, total = right + int(hit.sum()), total + len(t)
            right_first, total_first = right_first + int(hit[f].sum()), total_first + int(f.sum())
    return right / max(total, 1), right_first / max(total_first, 1)


def train_scorer(scorer: Scorer, data: Rows, layer: int, epochs: int, lr: float) -> Scorer:
    opt = torch.optim.Adam(scorer.parameters(), lr=lr)
    for _ in range(epochs):
        for n in torch.randperm(len(data.queries)).tolist():
            logits = row_logits(scorer(data.queries[n][layer], data.chunks[n]), data.visible[n])
            loss = F.cross_entropy(logits, data.targets[n])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return scorer


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--corpus", type=Path, required=True, help="build folder of python -m model.data.build")
    p.add_argument("--train-rows", type=int, default=200)
    p.add_argument("--eval-rows", type=int, default=50)
    p.add_argument("--seq-len", type=int, default=16384)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--out", type=Path, help="markdown table")
    args = p.parse_args(argv)
    start = time.monotonic()
    device = torch.device(args.device)
    try:
        model, tokenizer = checkpoint.load(args.model, device=device)
    except checkpoint.CheckpointError as e:
        print(f"retrieval_probe: {e}", file=sys.stderr)
        return 1
    held = heldout_corpus(args.corpus)
    if held is None:
        print(f"retrieval_probe: {args.corpus} has no held-out split", file=sys.stderr)
        return 1

    def stream(corpus, seed):
        return TrainStream(corpus, tokenizer, seq_len=args.seq_len, seed=seed, task_share=0.0, qa_share=1.0,
                           questions_per_row=max(1, min(16, args.seq_len // 1024)), namesake_share=1.0)

    train = collect(model, stream(training_corpus(args.corpus), args.seed), args.train_rows, device)
    test = collect(model, stream(held, args.seed + 1), args.eval_rows, device)
    n_train, n_test = sum(len(t) for t in train.targets), sum(len(t) for t in test.targets)
    n_first = sum(int(f.sum()) for f in test.first)
    print(f"collected {n_train} training and {n_test} held-out positions ({n_first} first answer tokens) in "
          f"{time.monotonic() - start:.0f} s")
    if not n_train or not n_test:
        print("retrieval_probe: no answer token with a chunk to retrieve in the "
              f"{'training' if not n_train else 'held-out'} rows (longer rows?)", file=sys.stderr)
        return 1
    layers = [m for m in model.upper if isinstance(m, HSABlock)]
    lines = ["| HSA layer | scorer | every answer token | first answer token | training rows, every token |",
             "|---|---|---|---|---|"]
    for i, layer in enumerate(layers):
        w_r, w_l = layer.w_retrieval.weight.detach(), model.encoder.w_landmark.weight.detach()
        own = Scorer(w_r, w_l, w_r.shape[0])
        rows = [("the model's own", own)]
        for rank in (w_r.shape[0], model.cfg.d_model):
            torch.manual_seed(args.seed)
            scorer = train_scorer(Scorer(w_r, w_l, rank, args.seed), train, i, args.epochs, args.lr)
            rows.append((f"trained, rank {rank}", scorer))
        for name, scorer in rows:
            (every, first), (fitted, _) = accuracy(scorer, test, i), accuracy(scorer, train, i)
            lines.append(f"| {i} | {name} | {every:.1%} | {first:.1%} | {fitted:.1%} |")
            print(lines[-1], flush=True)
    table = "\n".join(lines)
    print(table)
    print(f"{n_train} training positions ({args.train_rows} rows), {n_test} held-out ({args.eval_rows} "
          f"rows); {time.monotonic() - start:.0f} s")
    if args.out:
        args.out.write_text(f"{table}\n\n{n_train} training positions, {n_test} held-out positions "
                            f"({n_first} first answer tokens)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
