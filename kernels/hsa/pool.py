"""HSA over a memory pool: the inference path.

The corpus has already been encoded into a pool of N chunks of S tokens: one landmark per chunk
(N, H_kv, Dl), resident on the device, and per-token chunk keys/values (N, S, H_kv, D) that may live in host
memory or a memory-mapped file. Query tokens (a question and its answer) attend to it in two stages:

  pool_select(retrieval_q, landmarks, top_k, visible=...)   -> (indices, scores)
      top_k chunks per (token, kv head) by retrieval_q . landmark * Dl**-0.5, streaming over the pool.
  pool_attend(q, indices, scores, fetch)                    -> (out, weights)
      reads only the chosen chunks through `fetch`, attends inside each chunk (softmax over its S keys,
      scale D**-0.5 by default), sums the chunk outputs with fp32 softmax weights over the chosen scores.

This is the training operator (kernels/hsa/reference.py) with the pool in place of the packed sequence's
earlier chunks: `visible[t]` = number of leading pool chunks token t may see (the question's own chunks join
the pool as they complete). One decode step costs O(N * Dl + top_k * S * D).

On CUDA both stages run Triton kernels (pool_triton.py); elsewhere the PyTorch code below, which is also the
specification. `impl="triton"` forces the kernels (CPU tensors need TRITON_INTERPRET=1), `impl="reference"`
the PyTorch code.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from kernels.hsa.reference import fused_scores

Fetch = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]

_SCORE_BUDGET = 1 << 24  # scores held at once by the reference scan (64 MB of fp32)


def _use_triton(impl: str, device: torch.device) -> bool:
    if impl not in ("auto", "reference", "triton"):
        raise ValueError(f"impl must be 'auto', 'reference' or 'triton', got {impl!r}")
    return impl == "triton" or (impl == "auto" and device.type == "cuda")


def pool_select(
    retrieval_q: torch.Tensor, landmarks: torch.Tensor, top_k: int, *, visible: torch.Tensor | None = None,
    block: int | None = None, impl: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k pool chunks per query token and kv head.

    retrieval_q: (Tq, H_kv, Dl); landmarks: (N, H_kv, Dl) on the same device, same dtype.
    visible: optional (Tq,) integer tensor, the number of leading pool chunks each token may see (None = all).
    block: landmarks scored per step of the PyTorch scan (default: about 16M scores at a time); the Triton
        path chooses its own split of the pool.
    Returns indices (Tq, H_kv, top_k) int64, highest score first, -1 for empty slots (fewer than top_k visible
    chunks), and scores (Tq, H_kv, top_k) fp32 = retrieval_q . landmark * Dl**-0.5, -inf for empty slots.
    """
    if retrieval_q.dim() != 3 or landmarks.dim() != 3 or retrieval_q.shape[1:] != landmarks.shape[1:]:
        raise ValueError(f"retrieval_q {tuple(retrieval_q.shape)} and landmarks {tuple(landmarks.shape)} "
                         "must be (Tq, H_kv, Dl) and (N, H_kv, Dl)")
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    if visible is not None and visible.shape != (retrieval_q.shape[0],):
        raise ValueError(f"visible must be ({retrieval_q.shape[0]},), got {tuple(visible.shape)}")
    if _use_triton(impl, retrieval_q.device):
        from kernels.hsa.pool_triton import select_triton

        return select_triton(retrieval_q, landmarks, top_k, visible)
    return _select_torch(retrieval_q, landmarks, top_k, visible, block)


def _select_torch(
    retrieval_q: torch.Tensor, landmarks: torch.Tensor, top_k: int, visible: torch.Tensor | None,
    block: int | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference scan: score `block` landmarks at a time, merge with the running top-k by torch.topk."""
    Tq, H_kv, Dl = retrieval_q.shape
    N = landmarks.shape[0]
    device = retrieval_q.device
    block = block or max(1024, _SCORE_BUDGET // max(1, Tq * H_kv))
    rq = retrieval_q.float()
    best_s = torch.empty(Tq, H_kv, 0, device=device)
    best_i = torch.empty(Tq, H_kv, 0, device=device, dtype=torch.int64)
    for start in range(0, N, block):
        ids = torch.arange(start, min(start + block, N), device=device)  # (nb,)
        lm = landmarks[start : start + block].float()  # (nb, H_kv, Dl)
        s = torch.einsum("thd,nhd->thn", rq, lm) * Dl**-0.5  # (Tq, H_kv, nb)
        if visible is not None:
            s.masked_fill_(ids[None, None, :] >= visible.to(device)[:, None, None], float("-inf"))
        cand_s = torch.cat([best_s, s], dim=-1)
        cand_i = torch.cat([best_i, ids.expand(Tq, H_kv, -1)], dim=-1)
        best_s, at = cand_s.topk(min(top_k, cand_s.shape[-1]), dim=-1)  # sorted, highest first
        best_i = cand_i.gather(-1, at)
    missing = top_k - best_s.shape[-1]  # pool smaller than top_k
    scores = torch.cat([best_s, best_s.new_full((Tq, H_kv, missing), float("-inf"))], dim=-1)
    indices = torch.cat([best_i, best_i.new_full((Tq, H_kv, missing), -1)], dim=-1)
    indices = indices.masked_fill(scores == float("-inf"), -1)
    return indices, scores


def pool_attend(
    q: torch.Tensor, indices: torch.Tensor, scores: torch.Tensor, fetch: Fetch, *, scale: float | None = None,
    impl: str = "auto", fusion_beta: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attend to the chosen pool chunks, reading only those through `fetch`.

    q: (Tq, H, D); indices, scores: from pool_select, (Tq, H_kv, top_k).
    fetch(ids) -> (k, v), each (U, S, H_kv, D) on q's device, for the sorted unique chunk ids (LongTensor on
        q's device), e.g. a HostChunkStore.
    fusion_beta: (H,) or None: weights = softmax(score + sum over the KV head's query heads of beta * their
        in-chunk log-sum-exp), as in training (kernels/hsa/reference.py, step 3).
    Returns out (Tq, H, D) in q's dtype (0 for a token with no chosen chunk) and weights (Tq, H_kv, top_k)
    fp32, the softmax of the scores over valid slots (0 on empty slots).
    """
    valid = indices >= 0
    ids = torch.unique(indices[valid])  # sorted; one device sync: U is data-dependent
    if ids.numel() == 0:
        Tq, H_kv, top_k = indices.shape
        return torch.zeros_like(q), torch.zeros(Tq, H_kv, top_k, device=q.device)
    chunk_k, chunk_v = fetch(ids)
    if chunk_k.shape[0] != ids.numel() or chunk_v.shape != chunk_k.shape:
        raise ValueError(f"fetch returned k {tuple(chunk_k.shape)}, v {tuple(chunk_v.shape)} "
                         f"for {ids.numel()} chunks")
    rows = torch.searchsorted(ids, indices.clamp_min(0)).masked_fill(~valid, -1)  # pool id -> fetched row
    return attend_rows(q, chunk_k, chunk_v, rows, scores, scale=scale, impl=impl, fusion_beta=fusion_beta)


def rows_lse(q: torch.Tensor, chunk_k: torch.Tensor, rows: torch.Tensor, scale: float,
             token_block: int = 256) -> torch.Tensor:
    """In-chunk log-sum-exp of each chosen row for each query head: (Tq, H, top_k) fp32, 0 on empty slots
    (reference.chunk_lse on the pool's layout)."""
    Tq, H, D = q.shape
    H_kv = rows.shape[1]
    k_heads = chunk_k.permute(2, 0, 1, 3)  # (H_kv, M, S, D), a view: only the chosen rows are copied
    head = torch.arange(H_kv, device=q.device)[None, :, None]
    out = []
    for t0 in range(0, Tq, token_block):
        r = rows[t0 : t0 + token_block]
        kc = k_heads[head, r.clamp_min(0)].float()  # (tb, H_kv, K, S, D)
        qg = q[t0 : t0 + token_block].float().reshape(-1, H_kv, H // H_kv, D)
        lse = (torch.einsum("thgd,thksd->thgks", qg, kc) * scale).logsumexp(dim=-1)  # (tb, H_kv, G, K)
        out.append(lse.masked_fill((r < 0)[:, :, None], 0.0).flatten(1, 2))
    return torch.cat(out) if out else q.new_zeros((Tq, H, rows.shape[2]), dtype=torch.float32)


def attend_rows(
    q: torch.Tensor, chunk_k: torch.Tensor, chunk_v: torch.Tensor, rows: torch.Tensor, scores: torch.Tensor,
    *, scale: float | None = None, impl: str = "auto", fusion_beta: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """pool_attend on chunk K/V already on q's device: rows (Tq, H_kv, top_k) index chunk_k's first dim.

    With the whole pool's chunk K/V resident on the GPU, pass indices from pool_select as rows: no gather,
    no device sync, so a decode step can be captured in a CUDA graph. fusion_beta: as in pool_attend.
    chunk_k, chunk_v: (M, S, H_kv, D). Returns (out (Tq, H, D), weights (Tq, H_kv, top_k) fp32).
    """
    Tq, H, D = q.shape
    if chunk_k.dim() != 4 or chunk_k.shape[2] != rows.shape[1] or chunk_k.shape[3] != D:
        raise ValueError(f"chunk_k {tuple(chunk_k.shape)} does not match q {tuple(q.shape)} "
                         f"and rows {tuple(rows.shape)}")
    scale = D**-0.5 if scale is None else scale
    if fusion_beta is not None:
        scores = fused_scores(scores.float(), rows_lse(q, chunk_k, rows, scale), fusion_beta)
    if _use_triton(impl, q.device):
        from kernels.hsa.pool_triton import attend_triton

        return attend_triton(q, chunk_k, chunk_v, rows, scores, scale)
    return _attend_torch(q, chunk_k, chunk_v, rows, scores, scale)


def _attend_torch(
    q: torch.Tensor, chunk_k: torch.Tensor, chunk_v: torch.Tensor, rows: torch.Tensor, scores: torch.Tensor,
    scale: float, token_block: int = 256, dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference: computes in `dtype` (fp32; bf16 gives the low-precision baseline of the kernel tests),
    `token_block` tokens at a time to bound the gathered (tb, H_kv, K, S, D) copies. Weights are fp32."""
    Tq, H, D = q.shape
    H_kv = rows.shape[1]
    G = H // H_kv
    valid = rows >= 0
    masked = scores.float().masked_fill(~valid, float("-inf"))
    top = masked.amax(dim=-1, keepdim=True).clamp_min(torch.finfo(torch.float32).min)  # finite if all empty
    e = (masked - top).exp()  # exp(-inf) = 0 on empty slots
    weights = e / e.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(torch.float32).tiny)
    k_heads = chunk_k.to(dtype).permute(2, 0, 1, 3)  # (H_kv, M, S, D)
    v_heads = chunk_v.to(dtype).permute(2, 0, 1, 3)
    head = torch.arange(H_kv, device=q.device)[None, :, None]
    out = torch.empty(Tq, H, D, device=q.device, dtype=dtype)
    for t0 in range(0, Tq, token_block):
        r = rows[t0 : t0 + token_block].clamp_min(0)  # (tb, H_kv, K)
        kc = k_heads[head, r]  # (tb, H_kv, K, S, D)
        vc = v_heads[head, r]
        qg = q[t0 : t0 + token_block].to(dtype).reshape(-1, H_kv, G, D)  # (tb, H_kv, G, D)
        p = (torch.einsum("thgd,thksd->thgks", qg, kc) * scale).softmax(dim=-1)  # (tb, H_kv, G, K, S)
        chunk_out = torch.einsum("thgks,thksd->thgkd", p, vc)  # (tb, H_kv, G, K, D)
        fused = torch.einsum("thk,thgkd->thgd", weights[t0 : t0 + token_block].to(dtype), chunk_out)
        out[t0 : t0 + token_block] = fused.reshape(-1, H, D)
    return out.to(q.dtype), weights


class HostChunkStore:
    """Chunk keys/values in host memory, read chunk by chunk: a `fetch` for pool_attend.

    chunk_k, chunk_v: (N, S, H_kv, D) CPU torch tensors, or numpy arrays / np.memmap (bf16 stored as
    uint16: pass dtype=torch.bfloat16). Calling the store with sorted unique chunk ids gathers those rows into
    a pinned staging buffer (reused across calls) and copies them to `device` without blocking the host.
    """

    def __init__(self, chunk_k, chunk_v, device: torch.device | str, dtype: torch.dtype | None = None):
        if chunk_k.shape != chunk_v.shape or len(chunk_k.shape) != 4:
            raise ValueError(f"chunk_k {tuple(chunk_k.shape)} and chunk_v {tuple(chunk_v.shape)} "
                             "must both be (N, S, H_kv, D)")
        if isinstance(chunk_k, torch.Tensor) and chunk_k.device.type != "cpu":
            raise ValueError("HostChunkStore holds host tensors; pass a device-resident pool to attend_rows")
        self.chunk_k, self.chunk_v = chunk_k, chunk_v
        self.device = torch.device(device)
        self.dtype = dtype
        self._pinned = self.device.type == "cuda"
        self._staging: list[torch.Tensor] = []
        self._copied: torch.cuda.Event | None = None

    def __len__(self) -> int:
        return self.chunk_k.shape[0]

    def _buffers(self, count: int) -> list[torch.Tensor]:
        if not self._pinned:  # a fresh tensor per call: the caller may keep what it was given
            return [self._empty(count) for _ in range(2)]
        if self._copied is not None:
            self._copied.synchronize()  # the last copy out of the staging buffers has finished
        if not self._staging or self._staging[0].shape[0] < count:
            grown = max(count, 2 * self._staging[0].shape[0] if self._staging else count)
            self._staging = [self._empty(grown, pin=True) for _ in range(2)]
        return [buf[:count] for buf in self._staging]

    def _empty(self, count: int, pin: bool = False) -> torch.Tensor:
        shape = (count, *self.chunk_k.shape[1:])
        if isinstance(self.chunk_k, torch.Tensor):
            return torch.empty(shape, dtype=self.chunk_k.dtype, pin_memory=pin)
        host_dtype = torch.from_numpy(np.empty(0, dtype=self.chunk_k.dtype)).dtype
        return torch.empty(shape, dtype=host_dtype, pin_memory=pin)

    def __call__(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ids_cpu = ids.to("cpu", torch.int64)
        if ids_cpu.numel() and (ids_cpu.min() < 0 or ids_cpu.max() >= len(self)):
            raise IndexError(f"chunk ids outside the store of {len(self)} chunks")
        staged = self._buffers(ids_cpu.numel())
        for src, buf in zip((self.chunk_k, self.chunk_v), staged, strict=True):
            if isinstance(src, torch.Tensor):
                torch.index_select(src, 0, ids_cpu, out=buf)
            else:
                np.take(src, ids_cpu.numpy(), axis=0, out=buf.numpy())
        if self.dtype is not None:
            staged = [buf.view(self.dtype) for buf in staged]
        out = [buf.to(self.device, non_blocking=self._pinned) for buf in staged]
        if self._pinned:
            self._copied = torch.cuda.Event()
            self._copied.record()
        return out[0], out[1]


def fetch_from_array(chunk_k, chunk_v, device: torch.device | str, dtype: torch.dtype | None = None) -> Fetch:
    """A fetch reading (N, S, H_kv, D) chunk K/V from host tensors or (memory-mapped) numpy arrays."""
    return HostChunkStore(chunk_k, chunk_v, device, dtype)


def fetch_resident(chunk_k: torch.Tensor, chunk_v: torch.Tensor) -> Fetch:
    """A fetch over chunk K/V already on the device (gathers the chosen rows)."""
    return lambda ids: (chunk_k.index_select(0, ids), chunk_v.index_select(0, ids))
