"""Hierarchical sparse attention (HSA), plain PyTorch: the specification the kernels are tested against.

Layout is (B, T, heads, dim) throughout; S = ``chunk_size`` (64 in the model).

Notation
--------
* ``q``: (B, T, H, D) attention queries (already RMS-normalised, no position encoding).
* ``k``, ``v``: (B, T, H_kv, D) per-token chunk keys and values. Chunk ``i`` is tokens ``[i*S, (i+1)*S)``.
* ``retrieval_q``: (B, T, H_kv, Dl) one retrieval query per token and KV head.
* ``landmarks``: (B, N, H_kv, Dl), one per chunk, ``N = T // S``.
* ``G = H // H_kv`` query heads share one KV head and its chunk choice (query head ``h`` reads KV head
  ``h // G``).

T need not be a multiple of S: the ``T % S`` trailing tokens form a partial chunk that has no landmark
and is never visible to any token (a token of that tail would be its only possible reader, and a chunk is
never visible to its own tokens), so it contributes nothing and receives no gradient.

The operator, for every token ``t`` and KV head:

1. ``select_chunks``: chunk ``i`` is visible to ``t`` iff ``(i+1)*S <= t``. Score every visible chunk by
   ``retrieval_q[t] . landmarks[i] * Dl**-0.5`` and keep the ``top_k`` best (descending score). Slots past the
   number of visible chunks get index -1 and score -inf.
2. ``attend_chunks``: for each chosen chunk, ordinary softmax attention of each of the G query heads over
   all S keys of that chunk, ``softmax(q . k * scale) @ v`` with ``scale = D**-0.5`` by default.
3. ``fuse``: weights = fp32 softmax of the chosen scores over the ``top_k`` slots (empty slots weight 0);
   the output is the weighted sum of the per-chunk outputs. A token with no visible chunk outputs 0.
   With ``fusion_beta`` (the model's ``lse_fusion``; one beta per query head), the softmax is over
   ``score + sum_g beta_g * lse_g`` instead, where ``lse_g`` is the chunk's in-chunk log-sum-exp for query
   head g of the KV head (``chunk_lse``): the weight then also rises with how well the chunk's tokens match
   the query, not only its landmark.

Gradients flow to q, k, v and, through the weights, to retrieval_q and landmarks; the top-k choice itself
is a discrete decision and carries no gradient.

Every function computes in the dtype of its inputs, so the same code serves as the fp32/fp64 reference
and, run on bf16/fp16 inputs, as the "PyTorch in low precision" baseline for the kernels' error budget.
``hsa_reference`` upcasts to fp32 by default.
"""

from __future__ import annotations

import torch
from torch.utils.checkpoint import checkpoint


def visible_chunk_count(num_tokens: int, chunk_size: int, device: torch.device | None = None) -> torch.Tensor:
    """Number of chunks visible to each token: (T,) int64, ``floor(t / S)`` for token t."""
    return torch.arange(num_tokens, device=device, dtype=torch.int64) // chunk_size


def select_chunks(
    retrieval_q: torch.Tensor, landmarks: torch.Tensor, top_k: int, chunk_size: int = 64
) -> tuple[torch.Tensor, torch.Tensor]:
    """Stage 1: score every visible chunk and keep the ``top_k`` best for each token and KV head.

    Args:
        retrieval_q: (B, T, H_kv, Dl).
        landmarks: (B, N, H_kv, Dl) with ``N == T // chunk_size``.
        top_k: number of slots per token (may exceed the number of visible chunks).
        chunk_size: S, tokens per chunk.

    Returns:
        indices: (B, T, H_kv, top_k) int64 chunk ids in descending score order; -1 marks an empty slot.
        scores: (B, T, H_kv, top_k) in the inputs' dtype, ``retrieval_q . landmark * Dl**-0.5`` for each
            chosen chunk, -inf for an empty slot. Differentiable with respect to retrieval_q and landmarks
            (the choice of indices is not).
    """
    batch, num_tokens, num_kv_heads, landmark_dim = retrieval_q.shape
    num_chunks = landmarks.shape[1]
    if landmarks.shape != (batch, num_tokens // chunk_size, num_kv_heads, landmark_dim):
        raise ValueError(
            f"landmarks must be (B, T // chunk_size, H_kv, Dl) = "
            f"{(batch, num_tokens // chunk_size, num_kv_heads, landmark_dim)}, got {tuple(landmarks.shape)}"
        )
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    indices = torch.full(
        (batch, num_tokens, num_kv_heads, top_k), -1, dtype=torch.int64, device=retrieval_q.device
    )
    scores = torch.full(
        (batch, num_tokens, num_kv_heads, top_k),
        float("-inf"),
        dtype=retrieval_q.dtype,
        device=retrieval_q.device,
    )
    if num_chunks == 0:
        return indices, scores
    # all_scores[b, t, h, i] = retrieval_q[b, t, h] . landmarks[b, i, h] / sqrt(Dl)
    all_scores = torch.einsum("bthd,bnhd->bthn", retrieval_q, landmarks) * landmark_dim**-0.5
    visible = visible_chunk_count(num_tokens, chunk_size, retrieval_q.device)
    is_visible = torch.arange(num_chunks, device=retrieval_q.device)[None, :] < visible[:, None]  # (T, N)
    masked = all_scores.masked_fill(~is_visible[None, :, None, :], float("-inf"))
    kept = min(top_k, num_chunks)
    top_scores, top_indices = torch.topk(masked, kept, dim=-1, sorted=True)
    empty = torch.isinf(top_scores) & (top_scores < 0)
    indices[..., :kept] = top_indices.masked_fill(empty, -1)
    scores = torch.cat([top_scores, scores[..., kept:]], dim=-1) if kept < top_k else top_scores
    return indices, scores


def score_chosen(retrieval_q: torch.Tensor, landmarks: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """Scores of already chosen chunks: (B, T, H_kv, K), -inf where ``indices == -1``.

    Same value as the ``scores`` of ``select_chunks`` for the same indices; used where the choice is made
    elsewhere (without gradient) and only the chosen scores need gradients.
    """
    batch, num_tokens, num_kv_heads, landmark_dim = retrieval_q.shape
    top_k = indices.shape[-1]
    if landmarks.shape[1] == 0:  # no whole chunk: every slot is empty
        return retrieval_q.new_full((batch, num_tokens, num_kv_heads, top_k), float("-inf"))
    safe = indices.clamp(min=0)
    # gathered[b, t, h, j] = landmarks[b, indices[b, t, h, j], h]
    flat = safe.permute(0, 2, 1, 3).reshape(batch, num_kv_heads, num_tokens * top_k)  # (B, H_kv, T*K)
    lm = landmarks.permute(0, 2, 1, 3)  # (B, H_kv, N, Dl)
    gathered = torch.gather(lm, 2, flat[..., None].expand(-1, -1, -1, landmark_dim))
    gathered = gathered.reshape(batch, num_kv_heads, num_tokens, top_k, landmark_dim).permute(0, 2, 1, 3, 4)
    scores = (retrieval_q[:, :, :, None, :] * gathered).sum(-1) * landmark_dim**-0.5
    return scores.masked_fill(indices < 0, float("-inf"))


def attend_chunks(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    indices: torch.Tensor,
    chunk_size: int = 64,
    scale: float | None = None,
) -> torch.Tensor:
    """Stage 2: attention of every query head over all keys of each chosen chunk, one softmax per chunk.

    Args:
        q: (B, T, H, D).
        k, v: (B, T, H_kv, D); H must be a multiple of H_kv.
        indices: (B, T, H_kv, K) int64 chunk ids, -1 = empty slot. Every id must be a whole chunk
            (``(id + 1) * chunk_size <= T``).
        chunk_size: S.
        scale: softmax scale, default ``D**-0.5``.

    Returns:
        (B, T, H, K, D) in q's dtype: ``out[b, t, h, j] = softmax(q[b,t,h] . K_c^T * scale) @ V_c`` with
        ``c = indices[b, t, h // G, j]`` and ``K_c = k[b, c*S:(c+1)*S, h // G]``; zero for an empty slot.
    """
    batch, num_tokens, num_heads, head_dim = q.shape
    num_kv_heads = k.shape[2]
    group = num_heads // num_kv_heads
    top_k = indices.shape[-1]
    scale = head_dim**-0.5 if scale is None else scale
    num_chunks = num_tokens // chunk_size
    if num_chunks == 0:  # no whole chunk: every slot is empty (keeps q, k, v in the graph, zero gradient)
        zero = (q.sum() + k.sum() + v.sum()) * 0
        return zero + q.new_zeros(batch, num_tokens, num_heads, top_k, head_dim)
    # (B, N, S, H_kv, D) views of the whole chunks; the partial tail is never addressed.
    k_chunks = k[:, : num_chunks * chunk_size].reshape(batch, num_chunks, chunk_size, num_kv_heads, head_dim)
    v_chunks = v[:, : num_chunks * chunk_size].reshape(batch, num_chunks, chunk_size, num_kv_heads, head_dim)
    q_grouped = q.reshape(batch, num_tokens, num_kv_heads, group, head_dim)
    batch_ids = torch.arange(batch, device=q.device)[:, None, None]
    head_ids = torch.arange(num_kv_heads, device=q.device)[None, None, :]
    slot_outputs = []
    for slot in range(top_k):  # one slot at a time bounds memory to (B, T, H_kv, S, D)
        chunk_ids = indices[..., slot]  # (B, T, H_kv)
        safe = chunk_ids.clamp(min=0)
        keys = k_chunks[batch_ids, safe, :, head_ids]  # (B, T, H_kv, S, D)
        values = v_chunks[batch_ids, safe, :, head_ids]
        logits = torch.einsum("btkgd,btksd->btkgs", q_grouped, keys) * scale
        probs = torch.softmax(logits, dim=-1)
        out = torch.einsum("btkgs,btksd->btkgd", probs, values)
        out = out.masked_fill((chunk_ids < 0)[..., None, None], 0.0)
        slot_outputs.append(out.reshape(batch, num_tokens, num_heads, head_dim))
    if not slot_outputs:
        return q.new_zeros(batch, num_tokens, num_heads, 0, head_dim)
    return torch.stack(slot_outputs, dim=3)


def chunk_lse(
    q: torch.Tensor,
    k: torch.Tensor,
    indices: torch.Tensor,
    chunk_size: int = 64,
    scale: float | None = None,
) -> torch.Tensor:
    """In-chunk log-sum-exp of each chosen chunk for each query head.

    q (B, T, H, D), k (B, T, H_kv, D), indices (B, T, H_kv, K) as for ``attend_chunks``. Returns (B, T, H, K)
    fp32 (fp64 for fp64 inputs): ``logsumexp_s(q[b, t, h] . k[c*S + s, h // G] * scale)`` for chunk
    ``c = indices[b, t, h // G, j]``, 0 on an empty slot. Differentiable to q and k; one slot at a time, and
    under autograd each slot is recomputed in the backward (activation checkpointing), so the gathered keys
    (B, T, H_kv, S, D) of one slot are the most this holds at once.
    """
    batch, num_tokens, num_heads, head_dim = q.shape
    num_kv_heads = k.shape[2]
    group = num_heads // num_kv_heads
    top_k = indices.shape[-1]
    scale = head_dim**-0.5 if scale is None else scale
    out_dtype = torch.promote_types(q.dtype, torch.float32)
    num_chunks = num_tokens // chunk_size
    if num_chunks == 0:
        return (q.sum() + k.sum()).to(out_dtype) * 0 + q.new_zeros(
            (batch, num_tokens, num_heads, top_k), dtype=out_dtype)
    k_chunks = k[:, : num_chunks * chunk_size].reshape(batch, num_chunks, chunk_size, num_kv_heads, head_dim)
    q_grouped = q.reshape(batch, num_tokens, num_kv_heads, group, head_dim)
    batch_ids = torch.arange(batch, device=q.device)[:, None, None]
    head_ids = torch.arange(num_kv_heads, device=q.device)[None, None, :]

    def slot_lse(q_grouped: torch.Tensor, k_chunks: torch.Tensor, chunk_ids: torch.Tensor) -> torch.Tensor:
        keys = k_chunks[batch_ids, chunk_ids.clamp(min=0), :, head_ids]  # (B, T, H_kv, S, D)
        logits = torch.einsum("btkgd,btksd->btkgs", q_grouped, keys).to(out_dtype) * scale
        lse = torch.logsumexp(logits, dim=-1)  # (B, T, H_kv, G)
        return lse.masked_fill((chunk_ids < 0)[..., None], 0.0).flatten(2)  # (B, T, H)

    checkpointed = torch.is_grad_enabled() and (q.requires_grad or k.requires_grad)
    slots = []
    for slot in range(top_k):
        chunk_ids = indices[..., slot]
        if checkpointed:
            slots.append(checkpoint(slot_lse, q_grouped, k_chunks, chunk_ids, use_reentrant=False))
        else:
            slots.append(slot_lse(q_grouped, k_chunks, chunk_ids))
    return torch.stack(slots, dim=-1)


def fused_scores(scores: torch.Tensor, lse: torch.Tensor, fusion_beta: torch.Tensor | None) -> torch.Tensor:
    """The scores the fusion softmax reads: ``scores + sum_g beta_g * lse_g`` over each KV head's G query
    heads (scores (..., H_kv, K), lse (..., H, K), beta (H,)), or the scores themselves without
    ``fusion_beta``. Empty slots keep -inf."""
    if fusion_beta is None:
        return scores
    beta = fusion_beta.to(torch.promote_types(scores.dtype, torch.float32))
    weighted = (beta[:, None] * lse.to(beta.dtype)).unflatten(-2, (scores.shape[-2], -1)).sum(dim=-2)
    return scores.to(beta.dtype) + weighted


def chunk_weights(scores: torch.Tensor) -> torch.Tensor:
    """Fusion weights: softmax over the K slots of (…, K) scores; -inf slots weigh 0, all-empty rows 0.

    Computed in fp32 at least (fp64 scores stay fp64, for references). Written so that the gradient is
    finite everywhere (no NaN from an all -inf row).
    """
    scores = scores.to(torch.promote_types(scores.dtype, torch.float32))
    valid = ~(torch.isinf(scores) & (scores < 0))
    finite = scores.masked_fill(~valid, 0.0)
    row_max = finite.masked_fill(~valid, float("-inf")).amax(dim=-1, keepdim=True)
    row_max = torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max)).detach()
    # empty slots are shifted to 0, not to -row_max: exp(-row_max) overflows to inf once the best score is
    # below -88 (fp32), and inf * 0 is NaN (session 6: the weights of a 16K training row)
    exp = torch.exp((finite - row_max).masked_fill(~valid, 0.0)) * valid
    return exp / exp.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(scores.dtype).tiny)


def fuse(chunk_out: torch.Tensor, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Stage 3: weighted sum of the per-chunk outputs.

    Args:
        chunk_out: (B, T, H, K, D) from ``attend_chunks``.
        scores: (B, T, H_kv, K) chosen scores, -inf for empty slots.

    Returns:
        out: (B, T, H, D) in chunk_out's dtype, ``sum_j weights[b, t, h // G, j] * chunk_out[b, t, h, j]``.
        weights: (B, T, H_kv, K) from ``chunk_weights(scores)``: fp32, or fp64 for fp64 scores.
    """
    weights = chunk_weights(scores)
    batch, num_tokens, num_heads, _, head_dim = chunk_out.shape
    group = num_heads // scores.shape[2]
    per_head = weights.repeat_interleave(group, dim=2)  # (B, T, H, K)
    compute_dtype = torch.promote_types(chunk_out.dtype, torch.float32)
    out = torch.einsum("bthkd,bthk->bthd", chunk_out.to(compute_dtype), per_head.to(compute_dtype))
    return out.to(chunk_out.dtype), weights


def hsa_reference(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    retrieval_q: torch.Tensor,
    landmarks: torch.Tensor,
    top_k: int,
    *,
    chunk_size: int = 64,
    scale: float | None = None,
    upcast: bool = True,
    fusion_beta: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The whole operator: ``select_chunks`` -> ``attend_chunks`` -> ``fuse``.

    Shapes as in the module docstring. With ``upcast`` (default) every stage runs in fp32 (fp64 inputs stay
    fp64); otherwise in the inputs' dtype, which is the low-precision baseline of the kernel tests.
    ``fusion_beta`` (H,): fuse by ``softmax(score + sum_g beta_g * chunk_lse_g)`` (module docstring, step 3).

    Returns:
        out: (B, T, H, D) in q's dtype; indices: (B, T, H_kv, top_k) int64 (-1 = empty);
        weights: (B, T, H_kv, top_k) fp32.
    """
    out_dtype = q.dtype
    if upcast:
        def up(x: torch.Tensor) -> torch.Tensor:
            return x.to(torch.promote_types(x.dtype, torch.float32))

        q, k, v, retrieval_q, landmarks = (up(x) for x in (q, k, v, retrieval_q, landmarks))
    indices, scores = select_chunks(retrieval_q, landmarks, top_k, chunk_size)
    chunk_out = attend_chunks(q, k, v, indices, chunk_size, scale)
    if fusion_beta is not None:
        scores = fused_scores(scores, chunk_lse(q, k, indices, chunk_size, scale), fusion_beta)
    out, weights = fuse(chunk_out, scores)
    return out.to(out_dtype), indices, weights.float()
