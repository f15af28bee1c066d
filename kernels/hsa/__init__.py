"""Hierarchical sparse attention: one dispatch over the PyTorch reference and the Triton kernels.

``hsa_attention`` is the training operator (packed sequence); see ``kernels.hsa.reference`` for the exact
definition, which both implementations follow. ``pool_select``/``pool_attend`` are the inference path
against a memory pool (``kernels.hsa.pool``).
"""

from __future__ import annotations

import torch

from kernels.hsa.pool import (
    HostChunkStore,
    attend_rows,
    fetch_from_array,
    fetch_resident,
    pool_attend,
    pool_select,
)
from kernels.hsa.reference import hsa_reference

IMPLEMENTATIONS = ("auto", "reference", "triton")


def triton_available() -> bool:
    """True when Triton is importable (kernels run on CUDA tensors, or on CPU under the interpreter)."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def hsa_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    retrieval_q: torch.Tensor,
    landmarks: torch.Tensor,
    top_k: int,
    *,
    chunk_size: int = 64,
    scale: float | None = None,
    impl: str = "auto",
    fusion_beta: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hierarchical sparse attention over a packed sequence.

    Args:
        q: (B, T, H, D) attention queries.
        k, v: (B, T, H_kv, D) chunk keys and values; chunk i is tokens [i*S, (i+1)*S). T need not be a
            multiple of S: a partial last chunk is never visible.
        retrieval_q: (B, T, H_kv, Dl); landmarks: (B, T // S, H_kv, Dl).
        top_k: chunks kept per token and KV head.
        chunk_size: S.
        scale: in-chunk softmax scale, default D**-0.5.
        impl: "triton" (CUDA tensors, or CPU under TRITON_INTERPRET=1), "reference" (PyTorch, fp32),
            or "auto" = Triton on CUDA tensors, the reference elsewhere.
        fusion_beta: (H,) or None: fuse the chunks by softmax(score + sum over the KV head's query heads of
            beta * their in-chunk log-sum-exp) (``reference.chunk_lse``; the model's ``lse_fusion``).

    Returns:
        out (B, T, H, D) in q's dtype, indices (B, T, H_kv, top_k) int64 (-1 = empty slot),
        weights (B, T, H_kv, top_k) fp32.
    """
    if impl not in IMPLEMENTATIONS:
        raise ValueError(f"impl must be one of {IMPLEMENTATIONS}, got {impl!r}")
    if impl == "auto":
        impl = "triton" if q.is_cuda and triton_available() else "reference"
    if impl == "reference":
        return hsa_reference(q, k, v, retrieval_q, landmarks, top_k, chunk_size=chunk_size, scale=scale,
                             fusion_beta=fusion_beta)
    from kernels.hsa.autograd import hsa_triton

    return hsa_triton(q, k, v, retrieval_q, landmarks, top_k, chunk_size=chunk_size, scale=scale,
                      fusion_beta=fusion_beta)


__all__ = [
    "IMPLEMENTATIONS",
    "HostChunkStore",
    "attend_rows",
    "fetch_from_array",
    "fetch_resident",
    "hsa_attention",
    "hsa_reference",
    "pool_attend",
    "pool_select",
    "triton_available",
]
