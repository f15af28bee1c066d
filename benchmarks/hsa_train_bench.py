"""Training speed of HSA (Triton) against dense causal attention (SDPA, flash backend), forward + backward.

Run on a CUDA machine: ``python3 -m benchmarks.hsa_train_bench`` prints a table; ``bench_training`` returns
the rows for ``benchmarks/hsa_kernels.py``. Times are medians of ``triton.testing.do_bench`` (CUDA events),
after a warm-up call that also runs the kernels' autotuning.

FLOP counts follow flash-attention's convention (forward = 2 matmuls, forward+backward = 3.5 x forward):
dense causal forward = 2 * B * H * T^2 * D; HSA forward = 4 * B * H * D * S * (chosen slots per token summed
over tokens), counted from the actual choice. HSA's own backward does 7 matmuls (it recomputes the chunk
logits in both backward kernels), so its achieved rate by this convention understates the work done.
"""

from __future__ import annotations

import argparse
import math

import torch

S = 64


def _bench(fn, grad_to_none=None) -> float:
    import triton.testing

    fn()  # warm-up: compilation and autotuning stay out of the numbers
    torch.cuda.synchronize()
    median_ms = triton.testing.do_bench(fn, warmup=25, rep=100, grad_to_none=grad_to_none,
                                        return_mode="median")
    return float(median_ms)


def _inputs(batch, tokens, heads, kv_heads, head_dim, landmark_dim, dtype, seed=0):
    gen = torch.Generator(device="cuda").manual_seed(seed)

    def rand(*shape):
        values = torch.randn(*shape, generator=gen, device="cuda", dtype=torch.float32)
        return values.to(dtype).requires_grad_()

    return (
        rand(batch, tokens, heads, head_dim),
        rand(batch, tokens, kv_heads, head_dim),
        rand(batch, tokens, kv_heads, head_dim),
        rand(batch, tokens, kv_heads, landmark_dim),
        rand(batch, tokens // S, kv_heads, landmark_dim),
    )


def bench_dense(tokens, *, batch=1, heads=16, head_dim=64, dtype=torch.bfloat16) -> dict:
    """Dense causal SDPA (flash backend), all H heads for K/V too (the flash kernel's cost barely depends on
    the KV head count). Returns fwd and fwd+bwd ms and TFLOP/s."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    gen = torch.Generator(device="cuda").manual_seed(0)
    shape = (batch, heads, tokens, head_dim)
    q, k, v = (torch.randn(shape, generator=gen, device="cuda").to(dtype).requires_grad_() for _ in range(3))
    grad = torch.randn_like(q)

    def forward():
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)

    def forward_backward():
        forward().backward(grad)

    with torch.no_grad():
        fwd_ms = _bench(forward)
    fwd_bwd_ms = _bench(forward_backward, grad_to_none=[q, k, v])
    flops = 2.0 * batch * heads * tokens * tokens * head_dim
    return dict(impl="dense", tokens=tokens, top_k=None, kv_heads=heads, fwd_ms=fwd_ms, fwd_bwd_ms=fwd_bwd_ms,
                fwd_tflops=flops / fwd_ms * 1e-9, fwd_bwd_tflops=3.5 * flops / fwd_bwd_ms * 1e-9)


def bench_hsa(tokens, top_k, *, batch=1, heads=16, kv_heads=1, head_dim=64, landmark_dim=64,
              dtype=torch.bfloat16, dkv="sorted", breakdown=False) -> dict:
    """HSA through ``hsa_triton``: chunk choice + scores (PyTorch) + Triton attention, fwd and bwd."""
    from kernels.hsa.autograd import hsa_triton, select_chunks_blockwise
    from kernels.hsa.fused import hsa_attend_bwd, hsa_attend_fwd
    from kernels.hsa.reference import chunk_weights, score_chosen

    inputs = _inputs(batch, tokens, heads, kv_heads, head_dim, landmark_dim, dtype)
    grad = torch.randn(inputs[0].shape, device="cuda", dtype=dtype)

    def forward():
        return hsa_triton(*inputs, top_k, dkv=dkv)[0]

    def forward_backward():
        forward().backward(grad)

    with torch.no_grad():
        fwd_ms = _bench(forward)
    fwd_bwd_ms = _bench(forward_backward, grad_to_none=list(inputs))
    indices = select_chunks_blockwise(inputs[3], inputs[4], top_k, S)
    slots = int((indices >= 0).sum())
    flops = 4.0 * heads // kv_heads * head_dim * S * slots
    row = dict(impl=f"hsa[{dkv}]", tokens=tokens, top_k=top_k, kv_heads=kv_heads, fwd_ms=fwd_ms,
               fwd_bwd_ms=fwd_bwd_ms, fwd_tflops=flops / fwd_ms * 1e-9,
               fwd_bwd_tflops=3.5 * flops / fwd_bwd_ms * 1e-9)
    if breakdown:
        q, k, v, retrieval_q, landmarks = (x.detach() for x in inputs)
        weights = chunk_weights(score_chosen(retrieval_q.float(), landmarks.float(), indices))
        _, lse = hsa_attend_fwd(q, k, v, indices, weights)
        row["select_ms"] = _bench(lambda: select_chunks_blockwise(retrieval_q, landmarks, top_k, S))
        row["attend_fwd_ms"] = _bench(lambda: hsa_attend_fwd(q, k, v, indices, weights))
        for method in ("sorted", "atomic", "skip"):  # skip = the dq kernel alone
            row[f"attend_bwd_{method}_ms"] = _bench(
                lambda method=method: hsa_attend_bwd(q, k, v, indices, weights, lse, grad, dkv=method)
            )
    return row


def bench_training(tokens=(4096, 16384, 32768, 65536), top_ks=(8, 64), *, heads=16, kv_heads=1, head_dim=64,
                   batch=1, dtype=torch.bfloat16, group_sweep=True, breakdown=True,
                   progress=None) -> list[dict]:
    """Rows of forward / forward+backward times for dense and HSA at each length (and, with ``group_sweep``,
    HSA at 16K with k=8 for G = 16, 4, 1 query heads per KV head: the cost of small G)."""
    rows = []

    def add(row):
        rows.append(row)
        if progress is not None:
            progress(row)

    for length in tokens:
        add(bench_dense(length, batch=batch, heads=heads, head_dim=head_dim, dtype=dtype))
        for top_k in top_ks:
            add(bench_hsa(length, top_k, batch=batch, heads=heads, kv_heads=kv_heads, head_dim=head_dim,
                          dtype=dtype, breakdown=breakdown))
        torch.cuda.empty_cache()
    if group_sweep:
        for sweep_kv_heads in (4, 16):
            add(bench_hsa(16384, 8, batch=batch, heads=heads, kv_heads=sweep_kv_heads, head_dim=head_dim,
                          dtype=dtype))
    return rows


def format_rows(rows: list[dict]) -> str:
    main_keys = ("fwd_ms", "fwd_bwd_ms")
    extra = sorted({key for row in rows for key in row if key.endswith("_ms") and key not in main_keys})
    header = ["impl", "T", "k", "H_kv", "fwd ms", "fwd+bwd ms", "fwd TF/s", "f+b TF/s", *extra]
    lines = [" | ".join(header), " | ".join("---" for _ in header)]
    for row in rows:
        cells = [row["impl"], str(row["tokens"]), str(row["top_k"] or "-"), str(row["kv_heads"]),
                 f"{row['fwd_ms']:.3f}", f"{row['fwd_bwd_ms']:.3f}", f"{row['fwd_tflops']:.0f}",
                 f"{row['fwd_bwd_tflops']:.0f}"]
        cells += [f"{row[key]:.3f}" if key in row and not math.isnan(row[key]) else "" for key in extra]
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, nargs="+", default=[4096, 16384, 32768, 65536])
    parser.add_argument("--top-k", type=int, nargs="+", default=[8, 64])
    parser.add_argument("--no-group-sweep", action="store_true")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("this benchmark needs a CUDA GPU")
    print(torch.cuda.get_device_name(), "torch", torch.__version__)
    rows = bench_training(tuple(args.tokens), tuple(args.top_k), group_sweep=not args.no_group_sweep,
                          progress=lambda row: print(row, flush=True))
    print(format_rows(rows))


if __name__ == "__main__":
    main()
