"""Triton kernels for HSA training: attention inside the chosen chunks, forward and backward.

The chunk choice (indices) and the fusion weights come from PyTorch (``kernels.hsa.autograd``); these
kernels compute ``out[t, h] = sum_j w[t, h//G, j] * softmax(q[t, h] . K_c^T * scale) @ V_c`` over the chosen
chunks c = indices[t, h//G, j], and its gradients to q, k, v and w. See ``kernels.hsa.reference`` for the
specification.

Kernels
-------
* ``_hsa_fwd_kernel``: one program per (token, KV head). Its G query heads are the rows of a tile padded
  to ``BLOCK_G >= 16`` rows (``tl.dot`` needs 16); for each chosen chunk it loads the S keys and values,
  does one softmax over them and accumulates the weighted output. Stores the per-slot log-sum-exp.
* ``_hsa_bwd_dq_kernel``: one program per (token, KV head); recomputes each slot's probabilities from
  the stored log-sum-exp and produces dq, the per-row softmax delta ``rowsum(p * dO V^T)`` and
  ``d weights``. With ``ATOMIC_DKV`` it also adds dK/dV into fp32 buffers with atomics.
* ``_hsa_bwd_dkv_kernel``: key-centric dK/dV from a sorted reverse index (which (token, slot) chose each
  chunk): one program per segment of one chunk's readers, rows = (reader, query head) pairs packed
  ``BLOCK_R`` at a time whatever G is, so the tile stays full for small G. Segments bound the work per
  program (popular early chunks are split); their partial sums meet in fp32 atomics, one per segment.

Offsets are int64 throughout, so sequences far past 2**31 / (H * D) elements are safe.
"""

from __future__ import annotations

import itertools
import os

import torch
import triton
import triton.language as tl

INTERPRET = os.environ.get("TRITON_INTERPRET", "0") == "1"
LOG2E = 1.4426950408889634
SUPPORTED_DTYPES = (torch.float16, torch.bfloat16, torch.float32)
MAX_HEAD_DIM = 256
# Work bound of one dK/dV program, in (reader token, query head) rows; popular chunks get several programs.
ROWS_PER_SEGMENT = 2048
# Tests set this so every kernel output starts as NaN: an element a kernel fails to write then fails loudly.
POISON_OUTPUTS = False


def _new_output(shape, dtype, device) -> torch.Tensor:
    if POISON_OUTPUTS:
        return torch.full(shape, float("nan"), dtype=dtype, device=device)
    return torch.empty(shape, dtype=dtype, device=device)


def _configs(options: list[tuple[int, int]], meta: dict | None = None) -> list[triton.Config]:
    """Autotune configs (num_warps, num_stages) for each value set in ``meta`` (a dict of lists of block
    sizes); the interpreter gets the first only, so it never benchmarks."""
    meta = meta or {}
    names = list(meta)
    combos = [dict(zip(names, values, strict=True)) for values in itertools.product(*meta.values())]
    if INTERPRET:
        return [triton.Config(combos[0], num_warps=4, num_stages=1)]
    return [triton.Config(combo, num_warps=w, num_stages=st) for combo in combos for w, st in options]


@triton.autotune(configs=_configs([(2, 1), (4, 1), (4, 2), (4, 3), (8, 2)]), key=["G", "HEAD_DIM", "CHUNK"])
@triton.jit
def _hsa_fwd_kernel(
    Q, K, V, IDX, W, OUT, LSE,
    T, TOP_K, scale,
    H_KV: tl.constexpr, G: tl.constexpr, HEAD_DIM: tl.constexpr, CHUNK: tl.constexpr,
    BLOCK_G: tl.constexpr, BLOCK_D: tl.constexpr, DOT_PRECISION: tl.constexpr,
):
    t = tl.program_id(0).to(tl.int64)
    bh = tl.program_id(1).to(tl.int64)
    b = bh // H_KV
    h = bh % H_KV
    rows = tl.arange(0, BLOCK_G)
    row_mask = rows < G
    cols = tl.arange(0, BLOCK_D)
    col_mask = cols < HEAD_DIM
    keys = tl.arange(0, CHUNK)
    token = b * T + t
    q_rows = token * (H_KV * G) + h * G + rows  # global (token, head) row ids
    q_offsets = q_rows[:, None] * HEAD_DIM + cols[None, :]
    q_mask = row_mask[:, None] & col_mask[None, :]
    q = tl.load(Q + q_offsets, mask=q_mask, other=0.0)
    selection = (token * H_KV + h) * TOP_K
    qk_scale = scale * 1.4426950408889634  # work in log2 units: exp2 is the fast path
    acc = tl.zeros([BLOCK_G, BLOCK_D], dtype=tl.float32)
    # The loop body has no branch, so the compiler can prefetch the next chunk while this one computes: an
    # empty slot (index -1) reads nothing (masked loads of zeros) and weighs 0.
    for slot in range(TOP_K):
        chunk = tl.load(IDX + selection + slot)
        chosen = chunk >= 0
        weight = tl.where(chosen, tl.load(W + selection + slot), 0.0)
        kv_rows = (b * T + tl.maximum(chunk, 0) * CHUNK + keys) * H_KV + h
        kv_offsets = kv_rows[:, None] * HEAD_DIM + cols[None, :]
        k = tl.load(K + kv_offsets, mask=col_mask[None, :] & chosen, other=0.0)
        v = tl.load(V + kv_offsets, mask=col_mask[None, :] & chosen, other=0.0)
        logits = tl.dot(q, tl.trans(k), input_precision=DOT_PRECISION) * qk_scale
        row_max = tl.max(logits, 1)
        probs = tl.exp2(logits - row_max[:, None])
        row_sum = tl.sum(probs, 1)
        chunk_out = tl.dot(probs.to(v.dtype), v, input_precision=DOT_PRECISION)
        acc += chunk_out * (weight / row_sum)[:, None]
        lse = tl.where(chosen, row_max + tl.log2(row_sum), 0.0)
        tl.store(LSE + q_rows * TOP_K + slot, lse, mask=row_mask)
    tl.store(OUT + q_offsets, acc.to(OUT.dtype.element_ty), mask=q_mask)


@triton.autotune(
    configs=_configs([(2, 1), (4, 1), (4, 2), (4, 3), (8, 2)]),
    key=["G", "HEAD_DIM", "CHUNK", "ATOMIC_DKV", "GIVEN_DELTA"],
    reset_to_zero=["DK", "DV"],
)
@triton.jit
def _hsa_bwd_dq_kernel(
    Q, K, V, IDX, W, DO, LSE, DQ, DELTA, DW, DK, DV,
    T, TOP_K, scale,
    H_KV: tl.constexpr, G: tl.constexpr, HEAD_DIM: tl.constexpr, CHUNK: tl.constexpr,
    BLOCK_G: tl.constexpr, BLOCK_D: tl.constexpr, DOT_PRECISION: tl.constexpr, ATOMIC_DKV: tl.constexpr,
    GIVEN_DELTA: tl.constexpr,
):
    t = tl.program_id(0).to(tl.int64)
    bh = tl.program_id(1).to(tl.int64)
    b = bh // H_KV
    h = bh % H_KV
    rows = tl.arange(0, BLOCK_G)
    row_mask = rows < G
    cols = tl.arange(0, BLOCK_D)
    col_mask = cols < HEAD_DIM
    keys = tl.arange(0, CHUNK)
    token = b * T + t
    q_rows = token * (H_KV * G) + h * G + rows
    q_offsets = q_rows[:, None] * HEAD_DIM + cols[None, :]
    q_mask = row_mask[:, None] & col_mask[None, :]
    q = tl.load(Q + q_offsets, mask=q_mask, other=0.0)
    do = tl.load(DO + q_offsets, mask=q_mask, other=0.0)
    selection = (token * H_KV + h) * TOP_K
    qk_scale = scale * 1.4426950408889634
    dq = tl.zeros([BLOCK_G, BLOCK_D], dtype=tl.float32)
    for slot in range(TOP_K):  # branch-free like the forward; an empty slot contributes zeros
        chunk = tl.load(IDX + selection + slot)
        chosen = chunk >= 0
        weight = tl.where(chosen, tl.load(W + selection + slot), 0.0)
        kv_rows = (b * T + tl.maximum(chunk, 0) * CHUNK + keys) * H_KV + h
        kv_offsets = kv_rows[:, None] * HEAD_DIM + cols[None, :]
        k = tl.load(K + kv_offsets, mask=col_mask[None, :] & chosen, other=0.0)
        v = tl.load(V + kv_offsets, mask=col_mask[None, :] & chosen, other=0.0)
        lse = tl.load(LSE + q_rows * TOP_K + slot, mask=row_mask, other=0.0)
        logits = tl.dot(q, tl.trans(k), input_precision=DOT_PRECISION) * qk_scale
        probs = tl.where(row_mask[:, None] & chosen, tl.exp2(logits - lse[:, None]), 0.0)
        if GIVEN_DELTA:  # the log-sum-exp's backward (autograd.HSALseFunction): dlogits = p * dL/dlse
            delta = tl.load(DELTA + q_rows * TOP_K + slot, mask=row_mask, other=0.0)  # = -dL/dlse
            dlogits = -probs * delta[:, None] * weight
        else:
            dprobs = tl.dot(do, tl.trans(v), input_precision=DOT_PRECISION)  # dO V^T, unweighted
            delta = tl.sum(probs * dprobs, 1)  # = dO . chunk_out per row
            # d out / d weight = sum over the G heads of dO . chunk_out
            tl.store(DW + selection + slot, tl.sum(delta, 0))
            tl.store(DELTA + q_rows * TOP_K + slot, delta, mask=row_mask)
            dlogits = probs * (dprobs - delta[:, None]) * weight
        dq += tl.dot(dlogits.to(k.dtype), k, input_precision=DOT_PRECISION)
        if ATOMIC_DKV:
            dk_part = tl.dot(tl.trans(dlogits.to(q.dtype)), q, input_precision=DOT_PRECISION) * scale
            dv_part = tl.dot(tl.trans((probs * weight).to(do.dtype)), do, input_precision=DOT_PRECISION)
            tl.atomic_add(DK + kv_offsets, dk_part, mask=col_mask[None, :] & chosen)
            tl.atomic_add(DV + kv_offsets, dv_part, mask=col_mask[None, :] & chosen)
    tl.store(DQ + q_offsets, (dq * scale).to(DQ.dtype.element_ty), mask=q_mask)


@triton.autotune(
    configs=_configs([(4, 1), (4, 2), (8, 1), (8, 2)], {"BLOCK_R": [64, 128]}),
    key=["G", "HEAD_DIM", "CHUNK"],
    reset_to_zero=["DK", "DV"],
)
@triton.jit
def _hsa_bwd_dkv_kernel(
    Q, K, V, W, DO, LSE, DELTA, DK, DV, PAIRS, SEG_GROUP, SEG_START, SEG_END,
    T, TOP_K, NUM_CHUNKS, scale,
    H_KV: tl.constexpr, G: tl.constexpr, HEAD_DIM: tl.constexpr, CHUNK: tl.constexpr,
    BLOCK_R: tl.constexpr, BLOCK_D: tl.constexpr, DOT_PRECISION: tl.constexpr,
):
    segment = tl.program_id(0).to(tl.int64)
    group = tl.load(SEG_GROUP + segment)  # = (b * H_KV + h) * NUM_CHUNKS + chunk
    start = tl.load(SEG_START + segment)
    end = tl.load(SEG_END + segment)
    bh = group // NUM_CHUNKS
    chunk = group % NUM_CHUNKS
    b = bh // H_KV
    h = bh % H_KV
    cols = tl.arange(0, BLOCK_D)
    col_mask = cols < HEAD_DIM
    keys = tl.arange(0, CHUNK)
    kv_rows = (b * T + chunk * CHUNK + keys) * H_KV + h
    kv_offsets = kv_rows[:, None] * HEAD_DIM + cols[None, :]
    k = tl.load(K + kv_offsets, mask=col_mask[None, :], other=0.0)
    v = tl.load(V + kv_offsets, mask=col_mask[None, :], other=0.0)
    qk_scale = scale * 1.4426950408889634
    dk = tl.zeros([CHUNK, BLOCK_D], dtype=tl.float32)
    dv = tl.zeros([CHUNK, BLOCK_D], dtype=tl.float32)
    num_rows = (end - start) * G  # one row per (reader, query head of this KV head)
    for first in range(0, num_rows, BLOCK_R):
        rows = first + tl.arange(0, BLOCK_R)
        row_mask = rows < num_rows
        # flat selection id of the reader: ((b * T + t) * H_KV + h) * TOP_K + slot
        selection = tl.load(PAIRS + start + rows // G, mask=row_mask, other=0)
        slot = selection % TOP_K
        token = selection // TOP_K // H_KV
        q_rows = token * (H_KV * G) + h * G + rows % G
        q_offsets = q_rows[:, None] * HEAD_DIM + cols[None, :]
        q_mask = row_mask[:, None] & col_mask[None, :]
        q = tl.load(Q + q_offsets, mask=q_mask, other=0.0)
        do = tl.load(DO + q_offsets, mask=q_mask, other=0.0)
        lse = tl.load(LSE + q_rows * TOP_K + slot, mask=row_mask, other=0.0)
        delta = tl.load(DELTA + q_rows * TOP_K + slot, mask=row_mask, other=0.0)
        weight = tl.load(W + selection, mask=row_mask, other=0.0)
        logits = tl.dot(q, tl.trans(k), input_precision=DOT_PRECISION) * qk_scale
        probs = tl.where(row_mask[:, None], tl.exp2(logits - lse[:, None]), 0.0) * weight[:, None]
        dprobs = tl.dot(do, tl.trans(v), input_precision=DOT_PRECISION)
        dlogits = probs * (dprobs - delta[:, None])
        dv += tl.dot(tl.trans(probs.to(do.dtype)), do, input_precision=DOT_PRECISION)
        dk += tl.dot(tl.trans(dlogits.to(q.dtype)), q, input_precision=DOT_PRECISION)
    if end > start:  # the segment table is sized for the worst case; unused entries add nothing
        tl.atomic_add(DK + kv_offsets, dk * scale, mask=col_mask[None, :])
        tl.atomic_add(DV + kv_offsets, dv, mask=col_mask[None, :])


def _check_inputs(q, k, v, indices, weights, chunk_size):
    """Validate the launch arguments; raise ValueError/TypeError with what is wrong and what is expected."""
    if q.dim() != 4 or k.dim() != 4 or v.dim() != 4:
        raise ValueError(f"q, k, v must be 4-D (B, T, heads, D); got {q.dim()}, {k.dim()}, {v.dim()} dims")
    batch, num_tokens, num_heads, head_dim = q.shape
    num_kv_heads = k.shape[2]
    if k.shape != (batch, num_tokens, num_kv_heads, head_dim) or v.shape != k.shape:
        raise ValueError(
            f"k and v must be (B, T, H_kv, D) matching q {tuple(q.shape)}; "
            f"got {tuple(k.shape)}, {tuple(v.shape)}"
        )
    if num_heads % num_kv_heads:
        raise ValueError(f"query heads ({num_heads}) must be a multiple of KV heads ({num_kv_heads})")
    if q.dtype not in SUPPORTED_DTYPES or k.dtype != q.dtype or v.dtype != q.dtype:
        raise TypeError(
            f"q, k, v must share one dtype of {SUPPORTED_DTYPES}; got {q.dtype}, {k.dtype}, {v.dtype}"
        )
    if head_dim > MAX_HEAD_DIM:
        raise ValueError(f"head dim {head_dim} exceeds the kernels' maximum {MAX_HEAD_DIM}")
    if chunk_size < 16 or chunk_size & (chunk_size - 1):
        raise ValueError(f"chunk_size must be a power of two >= 16, got {chunk_size}")
    if indices.dtype != torch.int64 or indices.shape[:3] != (batch, num_tokens, num_kv_heads):
        raise ValueError(f"indices must be int64 (B, T, H_kv, K); got {indices.dtype} {tuple(indices.shape)}")
    if weights.dtype != torch.float32 or weights.shape != indices.shape:
        raise ValueError(
            f"weights must be fp32 shaped like indices; got {weights.dtype} {tuple(weights.shape)}"
        )
    devices = {x.device for x in (q, k, v, indices, weights)}
    if len(devices) != 1:
        raise ValueError(f"all inputs must be on one device; got {sorted(map(str, devices))}")
    if not q.is_cuda and not INTERPRET:
        raise RuntimeError("the Triton HSA kernels need CUDA tensors (or TRITON_INTERPRET=1 on CPU)")


def _meta(q, k, chunk_size):
    head_dim = q.shape[3]
    group = q.shape[2] // k.shape[2]
    return dict(
        H_KV=k.shape[2],
        G=group,
        HEAD_DIM=head_dim,
        CHUNK=chunk_size,
        BLOCK_D=max(16, triton.next_power_of_2(head_dim)),
        DOT_PRECISION="ieee" if q.dtype == torch.float32 else "tf32",
    )


def hsa_attend_fwd(q, k, v, indices, weights, *, chunk_size=64, scale=None):
    """Forward: returns out (B, T, H, D) in q's dtype and lse (B, T, H, K) fp32 (log2 units) for backward."""
    _check_inputs(q, k, v, indices, weights, chunk_size)
    q, k, v, indices, weights = (x.contiguous() for x in (q, k, v, indices, weights))
    batch, num_tokens, num_heads, head_dim = q.shape
    top_k = indices.shape[3]
    scale = head_dim**-0.5 if scale is None else float(scale)
    meta = _meta(q, k, chunk_size)
    out = _new_output(q.shape, q.dtype, q.device)
    lse = _new_output((batch, num_tokens, num_heads, top_k), torch.float32, q.device)
    grid = (num_tokens, batch * meta["H_KV"])
    if num_tokens and batch:
        _hsa_fwd_kernel[grid](
            q, k, v, indices, weights, out, lse, num_tokens, top_k, scale,
            BLOCK_G=max(16, triton.next_power_of_2(meta["G"])), **meta,
        )
    return out, lse


def build_reverse_index(indices, num_chunks, rows_per_segment):
    """Which (token, slot) chose each chunk, sorted by chunk and cut into segments of bounded work.

    Returns ``pairs`` (B*T*H_kv*K,) int64 flat selection ids ``((b*T + t)*H_kv + h)*K + slot`` grouped by
    ``(b*H_kv + h)*N + chunk`` in token order (empty slots last), and a segment table: group id, first and
    end position in ``pairs``, at most ``rows_per_segment`` pairs each. The table has a fixed upper-bound
    length so nothing waits for the GPU; unused entries are empty (start == end).
    """
    batch, num_tokens, num_kv_heads, top_k = indices.shape
    device = indices.device
    num_groups = batch * num_kv_heads * num_chunks
    flat = indices.reshape(-1)
    if num_groups == 0 or flat.numel() == 0:
        empty = torch.zeros(0, dtype=torch.int64, device=device)
        return empty, empty, empty, empty
    selection = torch.arange(flat.numel(), device=device, dtype=torch.int64)
    batch_of = selection // (top_k * num_kv_heads * num_tokens)
    batch_head = batch_of * num_kv_heads + (selection // top_k) % num_kv_heads
    group_of = torch.where(flat >= 0, batch_head * num_chunks + flat, num_groups)  # empty slots sort last
    pairs = torch.sort(group_of, stable=True).indices  # = selection ids, as selection is arange
    counts = torch.bincount(group_of, minlength=num_groups + 1)[:num_groups]
    starts = torch.cumsum(counts, 0) - counts
    per_group = (counts + rows_per_segment - 1) // rows_per_segment
    segments_through = torch.cumsum(per_group, 0)
    max_segments = (flat.numel() + rows_per_segment - 1) // rows_per_segment + num_groups
    segment_ids = torch.arange(max_segments, device=device)
    seg_group = torch.searchsorted(segments_through, segment_ids, right=True)
    in_use = seg_group < num_groups
    seg_group = seg_group.clamp(max=num_groups - 1)
    local = segment_ids - (segments_through - per_group)[seg_group]
    seg_start = starts[seg_group] + local * rows_per_segment
    seg_end = torch.minimum(seg_start + rows_per_segment, starts[seg_group] + counts[seg_group])
    seg_start = torch.where(in_use, seg_start, 0)
    seg_end = torch.where(in_use, seg_end, 0)
    return pairs, seg_group, seg_start, seg_end


def hsa_attend_bwd(q, k, v, indices, weights, lse, dout, *, chunk_size=64, scale=None, dkv="sorted",
                   rows_per_segment=None, lse_grad=None):
    """Backward: returns dq, dk, dv (input dtypes) and dweights (B, T, H_kv, K) fp32.

    dkv="sorted" (key-centric kernel over a sorted reverse index) or "atomic" (fp32 atomics from the
    query-centric kernel); "skip" leaves dk and dv zero (to time the dq kernel alone).
    ``rows_per_segment`` bounds one dK/dV program's work, in (reader, head) rows.
    ``lse_grad`` (B, T, H, K) fp32: instead, the gradient of the per-slot natural log-sum-exp (dlogits =
    p * lse_grad); pass weights of ones and a zero dout (dv and dweights are then meaningless).
    """
    if dkv not in ("sorted", "atomic", "skip"):
        raise ValueError(f"dkv must be 'sorted', 'atomic' or 'skip', got {dkv!r}")
    _check_inputs(q, k, v, indices, weights, chunk_size)
    q, k, v, indices, weights, lse, dout = (x.contiguous() for x in (q, k, v, indices, weights, lse, dout))
    if dout.shape != q.shape:
        raise ValueError(f"dout must be shaped like q {tuple(q.shape)}, got {tuple(dout.shape)}")
    dout = dout.to(q.dtype)
    batch, num_tokens, num_heads, head_dim = q.shape
    top_k = indices.shape[3]
    scale = head_dim**-0.5 if scale is None else float(scale)
    meta = _meta(q, k, chunk_size)
    dq = _new_output(q.shape, q.dtype, q.device)
    if lse_grad is not None and lse_grad.shape != lse.shape:
        raise ValueError(f"lse_grad must be shaped like lse {tuple(lse.shape)}, got {tuple(lse_grad.shape)}")
    delta = _new_output(lse.shape, torch.float32, q.device) if lse_grad is None else \
        (-lse_grad.float()).contiguous()
    dweights = _new_output(weights.shape, torch.float32, q.device)
    dk = torch.zeros(k.shape, device=k.device, dtype=torch.float32)
    dv = torch.zeros(v.shape, device=v.device, dtype=torch.float32)
    if num_tokens == 0 or batch == 0:
        return dq, dk.to(k.dtype), dv.to(v.dtype), dweights
    grid = (num_tokens, batch * meta["H_KV"])
    _hsa_bwd_dq_kernel[grid](
        q, k, v, indices, weights, dout, lse, dq, delta, dweights, dk, dv, num_tokens, top_k, scale,
        BLOCK_G=max(16, triton.next_power_of_2(meta["G"])), ATOMIC_DKV=dkv == "atomic",
        GIVEN_DELTA=lse_grad is not None, **meta,
    )
    if dkv == "sorted":
        num_chunks = num_tokens // chunk_size
        rows_per_segment = ROWS_PER_SEGMENT if rows_per_segment is None else rows_per_segment
        pairs_per_segment = max(1, rows_per_segment // meta["G"])
        pairs, seg_group, seg_start, seg_end = build_reverse_index(indices, num_chunks, pairs_per_segment)
        if seg_group.numel():
            _hsa_bwd_dkv_kernel[(seg_group.numel(),)](
                q, k, v, weights, dout, lse, delta, dk, dv, pairs, seg_group, seg_start, seg_end,
                num_tokens, top_k, num_chunks, scale, **meta,
            )
    return dq, dk.to(k.dtype), dv.to(v.dtype), dweights
