"""Sliding-window attention: query blocks as long as the window against blocks of 512 (model/layers.py).

    python benchmarks/window_attention.py [--tokens 16384] [--windows 512,1024,2048] [--repeats 3]

For each window, the forward (and on CUDA, forward + backward) of `windowed_attention` over one row of
hsa-mini's shape (6 heads of 64), with query blocks of the window's length (how it was computed until
session 18: each block against itself and the block before, half of the scores masked) and of 512 (each
block against the `window` keys before it), side by side in one run; the outputs are checked to agree.
Prints a table and rewrites the "## Window attention" section of docs/benchmarks.md.
"""

import argparse
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.sections import replace_section  # noqa: E402
from model.layers import windowed_attention  # noqa: E402

SECTION = "## Window attention"
HEADS, HEAD_DIM, BLOCK = 6, 64, 512


def best_ms(fn, device: torch.device, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - t0)
    return 1000 * min(times)


def measure(window: int, tokens: int, device: torch.device, repeats: int) -> tuple[float, float, float]:
    """(ms with blocks of the window, ms with blocks of 512, largest difference of the outputs)."""
    g = torch.Generator().manual_seed(0)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    q, k, v = (torch.randn(1, tokens, HEADS, HEAD_DIM, generator=g).to(device, dtype) for _ in range(3))
    doc_ids = torch.zeros(1, tokens, dtype=torch.long, device=device)
    doc_ids[:, tokens // 3:] = 1  # two documents
    train = device.type == "cuda"
    for t in (q, k, v):
        t.requires_grad_(train)

    def run(block: int):
        def step():
            y = windowed_attention(q, k, v, doc_ids, window, block=block)
            if train:
                y.float().square().mean().backward()
            return y
        return step

    with torch.set_grad_enabled(train):
        old, new = run(window), run(BLOCK)
        diff = float((old().float() - new().float()).abs().max())
        return best_ms(old, device, repeats), best_ms(new, device, repeats), diff


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tokens", type=int, default=16384)
    p.add_argument("--windows", default="512,1024,2048")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = p.parse_args(argv)
    device = torch.device(args.device)
    what = "forward + backward, bf16" if device.type == "cuda" else "forward, fp32"
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else \
        f"CPU ({torch.get_num_threads()} threads)"
    rows = [f"| window | blocks of the window (ms) | blocks of {BLOCK} (ms) | speed-up | largest difference "
            "|", "|---|---|---|---|---|"]
    for window in (int(w) for w in args.windows.split(",")):
        old, new, diff = measure(window, args.tokens, device, args.repeats)
        rows.append(f"| {window:,} | {old:.1f} | {new:.1f} | {old / new:.2f}x | {diff:.1e} |")
        print(rows[-1], flush=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = f"{SECTION}, {'GPU' if device.type == 'cuda' else 'CPU'}"  # a CPU run keeps the GPU's table
    body = (f"{title}\n\n`python benchmarks/window_attention.py`, {stamp}, {name}, Python "
            f"{platform.python_version()}, torch {torch.__version__}: `windowed_attention` over one row of "
            f"{args.tokens:,} tokens in two documents, {HEADS} heads of {HEAD_DIM} ({what}), best of "
            f"{args.repeats}. Query blocks as long as the window (until session 18) against blocks of "
            f"{BLOCK} that attend to the window's keys before them, side by side in one run; at a window of "
            "512 the two are the same computation.\n\n" + "\n".join(rows) + "\n")
    replace_section(args.out, title, body)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
