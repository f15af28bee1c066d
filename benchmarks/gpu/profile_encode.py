"""Where does encode time go on the GPU? One 64K-token batch of hsa-mini (random weights), eager.

    PYTHONPATH=. python benchmarks/gpu/profile_encode.py   (CUDA only; prints tables, writes nothing)
"""

import time

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

from model.config import ModelConfig
from model.encode import encode_packed
from model.layers import windowed_attention
from model.transformer import Transformer


def ms_per_call(fn, n: int = 10) -> float:
    fn()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / n * 1e3


def main() -> None:
    torch.manual_seed(0)
    cfg = ModelConfig.from_name("hsa-mini")
    model = Transformer(cfg).cuda().eval()
    docs = torch.randint(8, cfg.vocab_size, (32, 2048)).tolist()
    dt = ms_per_call(lambda: encode_packed(model, docs), n=5) / 1e3
    print(f"encode_packed, 64K tokens: {dt * 1e3:.1f} ms = {65536 / dt / 1e6:.2f} M tokens/s (no copy-out)")
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        encode_packed(model, docs)
        torch.cuda.synchronize()
    print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=22, max_name_column_width=60))
    # the window attention alone, against flash attention over the same tokens (a lower bound)
    B, T, H, D = 32, 2048, cfg.n_heads, cfg.head_dim
    q, k, v = (torch.randn(B, T, H, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    doc = torch.zeros(B, T, dtype=torch.long, device="cuda")
    print(f"windowed_attention: {ms_per_call(lambda: windowed_attention(q, k, v, doc, cfg.window)):.2f} ms")
    full = (q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
    flash = ms_per_call(lambda: F.scaled_dot_product_attention(*full, is_causal=True))
    print(f"flash, causal over T: {flash:.2f} ms")
    x = torch.randn(B, T, cfg.d_model, device="cuda")
    with torch.autocast("cuda", torch.bfloat16):
        print(f"one SwiGLU: {ms_per_call(lambda: model.lower[0].ffn(x)):.2f} ms; "
              f"one wqkv: {ms_per_call(lambda: model.lower[0].attn.wqkv(x)):.2f} ms; "
              f"one RMSNorm: {ms_per_call(lambda: model.lower[0].attn_norm(x)):.2f} ms")


if __name__ == "__main__":
    main()
