"""HSA kernels against dense attention on one GPU, side by side in one run.

    python benchmarks/hsa_kernels.py            # prints the tables, writes docs/benchmarks.md "HSA kernels"
    python benchmarks/hsa_kernels.py --no-docs  # prints only

(a) training forward+backward at 4K-64K tokens, HSA k=8 and k=64 (benchmarks/hsa_train_bench.py), beside
    dense causal SDPA (flash backend);
(b) inference: 64 query tokens against a memory pool of 32K-16M tokens. HSA scores every landmark and reads
    only the chosen chunks; dense attention (SDPA, flash backend) reads the whole KV;
(c) one decode step (one token) at 1M and 16M tokens against its memory-bandwidth floor: bytes of the
    landmarks plus the chosen chunks over the device-to-device copy bandwidth measured in the same run.
Head shapes are hsa-mini's: H=16 query heads, H_kv=1, D=64, Dl=64, S=64 (plus one row at D=128). Inputs are
random bf16 (never zeros); times are medians of triton.testing.do_bench after warm-up.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import sys
import traceback
from pathlib import Path

import torch
import torch.nn.functional as F
import triton
from torch.nn.attention import SDPBackend, sdpa_kernel

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kernels.hsa.pool import attend_rows, fetch_from_array, fetch_resident, pool_attend, pool_select  # noqa: E402

S, H, H_KV, DL = 64, 16, 1, 64
Q_TOKENS = 64
CONTEXTS = [32 << 10, 128 << 10, 1 << 20, 4 << 20, 16 << 20]
MID, LARGE = 1 << 20, 16 << 20  # the decode contexts; MID also carries the k=64, D=128 and host-RAM rows
SECTION = "## HSA kernels"
DEVICE = "cuda"


def ms(fn, graph: bool = False, rep: int = 100) -> float:
    """Median milliseconds; `graph` replays a CUDA graph of fn (no launch overhead)."""
    if graph:
        return triton.testing.do_bench_cudagraph(fn, rep=rep, return_mode="median")
    return triton.testing.do_bench(fn, warmup=25, rep=rep, return_mode="median")


def copy_bandwidth() -> float:
    """Device-to-device copy, bytes read + written per second (GB/s)."""
    src = torch.randn(1 << 29, device=DEVICE, dtype=torch.bfloat16)  # 1 GiB
    dst = torch.empty_like(src)
    t = ms(lambda: dst.copy_(src))
    return 2 * (1 << 30) / (t * 1e-3) / 1e9


class DenseRunner:
    """Non-causal SDPA of the query tokens over the whole context (flash backend), KV with H_kv heads."""

    def __init__(self):
        self.mode = "gqa"

    def __call__(self, q, k, v):  # q (1, H, Tq, D); k, v (1, H_kv, T, D)
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            if self.mode == "gqa":
                try:
                    return F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
                except RuntimeError:  # this build's flash kernel takes no grouped heads
                    self.mode = "expand"
            return F.scaled_dot_product_attention(
                q, k.expand(-1, q.shape[1], -1, -1), v.expand(-1, q.shape[1], -1, -1)
            )


def make_pool(tokens: int, D: int, gen: torch.Generator):
    N = tokens // S
    landmarks = torch.randn(N, H_KV, DL, device=DEVICE, generator=gen, dtype=torch.bfloat16)
    chunk_k = torch.randn(N, S, H_KV, D, device=DEVICE, generator=gen, dtype=torch.bfloat16)
    chunk_v = torch.randn(N, S, H_KV, D, device=DEVICE, generator=gen, dtype=torch.bfloat16)
    return landmarks, chunk_k, chunk_v


def inference_row(tokens: int, D: int, top_k: int, dense: DenseRunner, gen, host_fetch: bool = False) -> dict:
    landmarks, chunk_k, chunk_v = make_pool(tokens, D, gen)
    N = landmarks.shape[0]
    rq = torch.randn(Q_TOKENS, H_KV, DL, device=DEVICE, generator=gen, dtype=torch.bfloat16)
    q = torch.randn(Q_TOKENS, H, D, device=DEVICE, generator=gen, dtype=torch.bfloat16)

    def hsa():
        indices, scores = pool_select(rq, landmarks, top_k)
        return attend_rows(q, chunk_k, chunk_v, indices, scores)

    def select():
        return pool_select(rq, landmarks, top_k)

    def hsa_gather():  # unique ids -> fetch (gather on the device) -> attend: one device sync
        indices, scores = pool_select(rq, landmarks, top_k)
        return pool_attend(q, indices, scores, fetch_resident(chunk_k, chunk_v))

    row = dict(tokens=tokens, N=N, D=D, top_k=top_k)
    row["hsa_ms"] = ms(hsa)
    row["hsa_graph_ms"] = ms(hsa, graph=True)
    row["select_graph_ms"] = ms(select, graph=True)
    row["gather_ms"] = ms(hsa_gather)
    indices, _ = select()
    unique = torch.unique(indices[indices >= 0]).numel()
    row["hsa_bytes"] = N * H_KV * DL * 2 + unique * S * H_KV * D * 2 * 2
    row["hsa_flop"] = 2 * Q_TOKENS * N * H_KV * DL + 4 * Q_TOKENS * H * top_k * S * D
    if host_fetch:
        store = fetch_from_array(chunk_k.cpu(), chunk_v.cpu(), DEVICE)
        row["host_ms"] = ms(lambda: pool_attend(q, *select(), store))
    # dense: the same tokens as (1, heads, T, D); the pool's K/V are exactly the context's keys/values
    qd = q.transpose(0, 1)[None]  # (1, H, Tq, D)
    kd = chunk_k.view(1, tokens, H_KV, D).transpose(1, 2)  # (1, H_kv, T, D)
    vd = chunk_v.view(1, tokens, H_KV, D).transpose(1, 2)
    row["dense_flop"] = 4 * Q_TOKENS * tokens * H * D
    row["dense_bytes"] = tokens * H_KV * D * 2 * 2
    try:
        row["dense_ms"] = ms(lambda: dense(qd, kd, vd), rep=300)
        row["dense_how"] = "measured"
    except torch.OutOfMemoryError:
        row["dense_ms"], row["dense_how"] = None, "out of memory"
    except RuntimeError as err:  # e.g. no flash kernel for these shapes
        row["dense_ms"], row["dense_how"] = None, f"failed: {str(err).splitlines()[0][:60]}"
    return row


def decode_row(tokens: int, D: int, top_k: int, bandwidth: float, dense: DenseRunner, gen) -> dict:
    """One token. The graph runs R steps over R different landmark sets (>= 128 MB in all), so the landmarks
    come from HBM rather than the 60 MB L2, as they would for a pool of this size."""
    N = tokens // S
    R = max(1, min(64, (128 << 20) // (N * H_KV * DL * 2)))
    landmark_sets = torch.randn(R, N, H_KV, DL, device=DEVICE, generator=gen, dtype=torch.bfloat16)
    _, chunk_k, chunk_v = make_pool(tokens, D, gen)
    rq = torch.randn(R, 1, H_KV, DL, device=DEVICE, generator=gen, dtype=torch.bfloat16)
    q = torch.randn(R, 1, H, D, device=DEVICE, generator=gen, dtype=torch.bfloat16)

    def step(r: int):
        indices, scores = pool_select(rq[r], landmark_sets[r], top_k)
        return attend_rows(q[r], chunk_k, chunk_v, indices, scores)

    def steps():
        for r in range(R):
            step(r)

    floor_bytes = N * H_KV * DL * 2 + top_k * S * H_KV * D * 2 * 2
    row = dict(
        tokens=tokens,
        N=N,
        D=D,
        top_k=top_k,
        R=R,
        floor_bytes=floor_bytes,
        floor_us=floor_bytes / (bandwidth * 1e9) * 1e6,
    )
    row["eager_us"] = ms(lambda: step(0)) * 1e3
    row["graph_us"] = ms(steps, graph=True) * 1e3 / R
    qd = q[0].transpose(0, 1)[None]  # (1, H, 1, D)
    kd = chunk_k.view(1, tokens, H_KV, D).transpose(1, 2)
    vd = chunk_v.view(1, tokens, H_KV, D).transpose(1, 2)
    row["dense_us"] = ms(lambda: dense(qd, kd, vd)) * 1e3
    return row


def training_rows() -> list[str]:
    """Table lines from the training benchmark (benchmarks/hsa_train_bench.py), run in this process."""
    path = ROOT / "benchmarks" / "hsa_train_bench.py"
    if not path.exists():
        note = "Skipped: benchmarks/hsa_train_bench.py is not in this tree."
        print(note)
        return [note]
    spec = importlib.util.spec_from_file_location("hsa_train_bench", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        rows = module.bench_training(breakdown=False, progress=lambda row: print(row, flush=True))
    except Exception:  # a failure here must not lose the inference tables already measured
        traceback.print_exc()
        return [f"Failed: {traceback.format_exc().strip().splitlines()[-1]}"]
    return [
        "From `bench_training` (benchmarks/hsa_train_bench.py): dense causal SDPA (flash) beside HSA "
        "(Triton), forward and forward+backward, B=1, H=16:",
        "",
        *module.format_rows(rows).splitlines(),
    ]


def fmt(x, spec=".3f"):
    return "-" if x is None else format(x, spec)


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def inference_table(rows: list[dict]) -> list[str]:
    header = [
        "context",
        "chunks N",
        "D",
        "k",
        "dense ms",
        "dense TFLOP/s",
        "HSA ms eager",
        "HSA ms graph",
        "select ms graph",
        "HSA GB/s",
        "HSA TFLOP/s",
        "speedup graph",
        "speedup eager",
        "gather+sync ms",
    ]
    body = []
    for r in rows:
        dense, hsa = r["dense_ms"], r["hsa_graph_ms"]
        note = "" if r["dense_how"] == "measured" else f" ({r['dense_how']})"
        body.append(
            [
                f"{r['tokens'] >> 10}K",
                str(r["N"]),
                str(r["D"]),
                str(r["top_k"]),
                fmt(dense) + note,
                fmt(dense and r["dense_flop"] / dense / 1e9, ".0f"),
                f"{r['hsa_ms']:.3f}",
                f"{hsa:.3f}",
                f"{r['select_graph_ms']:.3f}",
                f"{r['hsa_bytes'] / hsa / 1e6:.0f}",
                f"{r['hsa_flop'] / hsa / 1e9:.1f}",
                fmt(dense and dense / hsa, ".3g") + "x",
                fmt(dense and dense / r["hsa_ms"], ".3g") + "x",
                f"{r['gather_ms']:.3f}",
            ]
        )
    return table(header, body)


def decode_table(rows: list[dict]) -> list[str]:
    header = [
        "context",
        "chunks N",
        "D",
        "k",
        "bytes read",
        "floor us",
        "HSA us graph",
        "x floor",
        "GB/s",
        "HSA us eager",
        "dense us eager",
    ]
    body = [
        [
            f"{r['tokens'] >> 10}K",
            str(r["N"]),
            str(r["D"]),
            str(r["top_k"]),
            f"{r['floor_bytes'] / 1e6:.2f} MB",
            f"{r['floor_us']:.2f}",
            f"{r['graph_us']:.1f}",
            f"{r['graph_us'] / r['floor_us']:.1f}",
            f"{r['floor_bytes'] / r['graph_us'] / 1e3:.0f}",
            f"{r['eager_us']:.1f}",
            f"{r['dense_us']:.0f}",
        ]
        for r in rows
    ]
    return table(header, body)


def write_section(text: str) -> None:
    """Replace (or add) the '## HSA kernels' section of docs/benchmarks.md, leaving other sections alone."""
    path = ROOT / "docs" / "benchmarks.md"
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    start = old.find(SECTION)
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        end = old.find("\n## ", start + len(SECTION))
        new = old[:start] + text + (old[end + 1 :] if end >= 0 else "")
    path.write_text(new.rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--skip-training", action="store_true")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("hsa_kernels.py needs a CUDA GPU")
    gen = torch.Generator(device=DEVICE).manual_seed(0)
    gpu = torch.cuda.get_device_name()
    bandwidth = copy_bandwidth()
    versions = f"torch {torch.__version__}, triton {triton.__version__}"
    print(f"{gpu}; device-to-device copy {bandwidth:.0f} GB/s; {versions}")
    dense = DenseRunner()
    inference, decode = [], []
    for tokens, D, top_k in [*((t, 64, 8) for t in CONTEXTS), (MID, 64, 64), (MID, 128, 8)]:
        host_fetch = (tokens, D, top_k) == (MID, 64, 8)
        inference.append(inference_row(tokens, D, top_k, dense, gen, host_fetch=host_fetch))
        print(inference_table(inference)[-1], flush=True)
        torch.cuda.empty_cache()
    for tokens, D, top_k in [(MID, 64, 8), (LARGE, 64, 8), (LARGE, 64, 64), (LARGE, 128, 8)]:
        decode.append(decode_row(tokens, D, top_k, bandwidth, dense, gen))
        print(decode_table(decode)[-1], flush=True)
        torch.cuda.empty_cache()
    host = next(r["host_ms"] for r in inference if "host_ms" in r)

    def section(training: list[str]) -> str:
        return "\n".join(lines_for(training))

    def lines_for(training: list[str]) -> list[str]:
        return [
            SECTION,
            "",
            f"`python benchmarks/hsa_kernels.py` on {gpu}, {datetime.date.today().isoformat()}; {versions}."
            f" Measured device-to-device copy bandwidth: {bandwidth:.0f} GB/s (read+write)."
            f" Shapes: H={H}, H_kv={H_KV}, D=64 (one row 128), Dl={DL}, S={S}; random bf16; medians of"
            " triton.testing.do_bench (eager: includes Python launch cost; graph: CUDA-graph replay).",
            "",
            "### Training forward+backward",
            "",
            *training,
            "",
            f"### Inference: {Q_TOKENS} query tokens against a memory pool",
            "",
            "Dense = `scaled_dot_product_attention` (flash backend, non-causal: every query token sees the "
            f"whole context; KV heads {dense.mode}). HSA = pool_select (streaming top-k over the landmarks) "
            "+ "
            "attend_rows on a device-resident chunk store; 'gather+sync' = pool_attend with a fetch (unique "
            "ids, device sync, gather). With the chunk K/V in host RAM (HostChunkStore, 1M tokens, k=8): "
            f"{host:.3f} ms.",
            "",
            *inference_table(inference),
            "",
            "### One decode step (one token)",
            "",
            "Floor = (landmark bytes + k chosen chunks' K and V) / measured copy bandwidth. The graph column "
            "replays steps over rotating landmark sets (>= 128 MB) so the landmarks come from HBM, not L2.",
            "",
            *decode_table(decode),
            "",
        ]

    pending = ["Not measured yet in this run (the training benchmark runs last)."]
    if not args.no_docs:
        write_section(section(pending))  # the inference tables survive a failure below
    training = ["Skipped (--skip-training)."] if args.skip_training else training_rows()
    text = section(training)
    print(text)
    if not args.no_docs:
        write_section(text)


if __name__ == "__main__":
    main()
