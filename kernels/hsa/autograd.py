"""HSA training operator on the Triton kernels: chunk choice in PyTorch, attention in Triton, autograd glue.

Pipeline (same function as ``kernels.hsa.reference.hsa_reference``):

1. ``choose_and_score``: scores against every landmark, top-k without gradient, and the k chosen scores
   with gradient. Small problems build the (B, T, H_kv, N) score matrix once; large ones choose over blocks
   of tokens (``select_chunks_blockwise``) and gather the chosen landmarks (``score_chosen``).
2. ``chunk_weights`` (PyTorch autograd): fp32 softmax of the chosen scores (plus beta times the in-chunk
   log-sum-exp with ``fusion_beta``), so gradients reach retrieval_q and landmarks (and q, k, beta) through
   the weights and nothing flows through the choice.
3. ``HSAAttendFunction``: the Triton forward/backward of the attention inside the chosen chunks.
"""

from __future__ import annotations

import torch

from kernels.hsa.fused import hsa_attend_bwd, hsa_attend_fwd
from kernels.hsa.reference import chunk_weights, fused_scores, score_chosen, visible_chunk_count

LN2 = 0.6931471805599453
SELECT_BLOCK_BYTES = 256 * 2**20  # bound on one block of the fp32 score matrix
# Up to this size the whole (B, T, H_kv, N) fp32 score matrix is built once, under autograd: the choice is
# taken from it and the chosen scores gathered from it, so the backward is one scatter into the matrix and
# two small matmuls. Beyond it, the blockwise choice plus a gather of the chosen landmarks bounds memory.
DENSE_SCORE_BYTES = 2**30


@torch.no_grad()
def select_chunks_blockwise(
    retrieval_q: torch.Tensor,
    landmarks: torch.Tensor,
    top_k: int,
    chunk_size: int = 64,
    block_bytes: int = SELECT_BLOCK_BYTES,
) -> torch.Tensor:
    """Indices of ``reference.select_chunks`` (B, T, H_kv, top_k) int64, -1 = empty, computed in fp32 over
    blocks of tokens whose score matrix takes at most ``block_bytes``."""
    batch, num_tokens, num_kv_heads, landmark_dim = retrieval_q.shape
    num_chunks = landmarks.shape[1]
    shape = (batch, num_tokens, num_kv_heads, top_k)
    indices = torch.full(shape, -1, dtype=torch.int64, device=retrieval_q.device)
    if num_chunks == 0 or num_tokens == 0:
        return indices
    kept = min(top_k, num_chunks)
    landmarks32 = landmarks.float()
    visible = visible_chunk_count(num_tokens, chunk_size, retrieval_q.device)
    chunk_ids = torch.arange(num_chunks, device=retrieval_q.device)
    block = max(1, block_bytes // (4 * batch * num_kv_heads * num_chunks))
    for start in range(0, num_tokens, block):
        stop = min(num_tokens, start + block)
        scores = torch.einsum("bthd,bnhd->bthn", retrieval_q[:, start:stop].float(), landmarks32)
        scores *= landmark_dim**-0.5
        hidden = chunk_ids[None, :] >= visible[start:stop, None]
        scores.masked_fill_(hidden[None, :, None, :], float("-inf"))
        top_scores, top_indices = torch.topk(scores, kept, dim=-1, sorted=True)
        indices[:, start:stop, :, :kept] = top_indices.masked_fill(torch.isneginf(top_scores), -1)
    return indices


class HSAAttendFunction(torch.autograd.Function):
    """out = sum_j weights[..., j] * softmax(q . K_{c_j}^T * scale) @ V_{c_j}; grads to q, k, v, weights."""

    @staticmethod
    def forward(ctx, q, k, v, indices, weights, chunk_size, scale, dkv):
        out, lse = hsa_attend_fwd(q, k, v, indices, weights, chunk_size=chunk_size, scale=scale)
        ctx.save_for_backward(q, k, v, indices, weights, lse)
        ctx.chunk_size, ctx.scale, ctx.dkv = chunk_size, scale, dkv
        return out

    @staticmethod
    def backward(ctx, dout):
        q, k, v, indices, weights, lse = ctx.saved_tensors
        dq, dk, dv, dweights = hsa_attend_bwd(
            q, k, v, indices, weights, lse, dout, chunk_size=ctx.chunk_size, scale=ctx.scale, dkv=ctx.dkv
        )
        return dq, dk, dv, None, dweights, None, None, None


class HSALseFunction(torch.autograd.Function):
    """``reference.chunk_lse`` on the kernels: the forward kernel's per-slot log-sum-exp of every query head
    (its output unused, weights zero), in natural units; the backward is the attention backward with
    dlogits = p * dL/dlse (``hsa_attend_bwd(lse_grad=...)``). Gradients to q and k."""

    @staticmethod
    def forward(ctx, q, k, v, indices, chunk_size, scale):
        zero = torch.zeros(indices.shape, dtype=torch.float32, device=q.device)
        _, lse = hsa_attend_fwd(q, k, v, indices, zero, chunk_size=chunk_size, scale=scale)  # log2 units
        ctx.save_for_backward(q, k, v, indices, lse)
        ctx.chunk_size, ctx.scale = chunk_size, scale
        return lse * LN2

    @staticmethod
    def backward(ctx, dlse):
        q, k, v, indices, lse = ctx.saved_tensors
        ones = torch.ones(indices.shape, dtype=torch.float32, device=q.device)
        dq, dk, _, _ = hsa_attend_bwd(q, k, v, indices, ones, lse, torch.zeros_like(q),
                                      chunk_size=ctx.chunk_size, scale=ctx.scale, lse_grad=dlse.float())
        return dq, dk, None, None, None, None


def hsa_attend(q, k, v, indices, weights, *, chunk_size=64, scale=None, dkv="sorted"):
    """Attention inside the chosen chunks and fusion with the given fp32 weights (Triton, differentiable)."""
    return HSAAttendFunction.apply(q, k, v, indices, weights.float(), chunk_size, scale, dkv)


def check_operator_shapes(q, k, v, retrieval_q, landmarks, top_k, chunk_size):
    """Raise ValueError with the expected shapes when the operator's inputs disagree."""
    if q.dim() != 4 or k.dim() != 4 or retrieval_q.dim() != 4 or landmarks.dim() != 4:
        raise ValueError("q, k, v, retrieval_q and landmarks must all be 4-D (B, T|N, heads, dim)")
    batch, num_tokens, _, _ = q.shape
    num_kv_heads = k.shape[2]
    if retrieval_q.shape[:3] != (batch, num_tokens, num_kv_heads):
        raise ValueError(
            f"retrieval_q must be (B, T, H_kv, Dl) = ({batch}, {num_tokens}, {num_kv_heads}, Dl); "
            f"got {tuple(retrieval_q.shape)}"
        )
    expected = (batch, num_tokens // chunk_size, num_kv_heads, retrieval_q.shape[3])
    if tuple(landmarks.shape) != expected:
        raise ValueError(
            f"landmarks must be (B, T // chunk_size, H_kv, Dl) = {expected}; got {tuple(landmarks.shape)}"
        )
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")


def choose_and_score(retrieval_q, landmarks, top_k, chunk_size=64):
    """(indices, scores) as ``reference.select_chunks`` in fp32: scores differentiable, the choice not."""
    batch, num_tokens, num_kv_heads, landmark_dim = retrieval_q.shape
    num_chunks = landmarks.shape[1]
    if num_chunks == 0 or 4 * batch * num_tokens * num_kv_heads * num_chunks > DENSE_SCORE_BYTES:
        indices = select_chunks_blockwise(retrieval_q, landmarks, top_k, chunk_size)
        return indices, score_chosen(retrieval_q.float(), landmarks.float(), indices)
    all_scores = torch.einsum("bthd,bnhd->bthn", retrieval_q.float(), landmarks.float()) * landmark_dim**-0.5
    with torch.no_grad():
        visible = visible_chunk_count(num_tokens, chunk_size, retrieval_q.device)
        hidden = torch.arange(num_chunks, device=retrieval_q.device)[None, :] >= visible[:, None]
        masked = all_scores.detach().masked_fill(hidden[None, :, None, :], float("-inf"))
        top_scores, top_indices = torch.topk(masked, min(top_k, num_chunks), dim=-1, sorted=True)
        del masked
        indices = torch.full(
            (batch, num_tokens, num_kv_heads, top_k), -1, dtype=torch.int64, device=retrieval_q.device
        )
        indices[..., : top_indices.shape[-1]] = top_indices.masked_fill(torch.isneginf(top_scores), -1)
    scores = all_scores.gather(-1, indices.clamp(min=0))
    return indices, scores.masked_fill(indices < 0, float("-inf"))


def hsa_triton(q, k, v, retrieval_q, landmarks, top_k, *, chunk_size=64, scale=None, dkv="sorted",
               fusion_beta=None):
    """The operator of ``kernels.hsa.hsa_attention`` on the Triton kernels: (out, indices, weights). With
    ``fusion_beta`` the weights' in-chunk log-sum-exp term comes from ``HSALseFunction``."""
    check_operator_shapes(q, k, v, retrieval_q, landmarks, top_k, chunk_size)
    indices, scores = choose_and_score(retrieval_q, landmarks, top_k, chunk_size)
    if fusion_beta is not None:
        lse = HSALseFunction.apply(q, k, v, indices, chunk_size, scale)
        scores = fused_scores(scores, lse, fusion_beta)
    weights = chunk_weights(scores)
    out = hsa_attend(q, k, v, indices, weights, chunk_size=chunk_size, scale=scale, dkv=dkv)
    return out, indices, weights
