"""Triton kernels for the memory-pool (inference) path of HSA.

Layouts (one sequence, no batch):
  retrieval_q (Tq, H_kv, Dl), landmarks (N, H_kv, Dl), q (Tq, H, D), chunk_k / chunk_v (M, S, H_kv, D),
  indices (Tq, H_kv, K) int64 rows of chunk_k (-1 = empty slot), scores (Tq, H_kv, K) fp32.

Selection is two launches over packed keys, (order-preserving int32 of the fp32 score) << 32 | chunk id, so
one int64 sort moves scores and ids together:
  1. `_select_scan_kernel`: each program scores a tile of BT queries against one contiguous split of the
     pool, BN landmarks at a time, and keeps each query's best KP keys sorted in registers. A tile is merged
     only if one of its keys beats its row's current k-th best; a merge sorts the tile, takes its best KP
     and combines them with the running list by one bitonic step (elementwise max of the descending list and
     the ascending tile top, then a sort). It writes each split's sorted top KP keys.
  2. `_select_merge_kernel`: one program per (query, kv head) merges the splits' keys the same way and writes
     the final top-k, highest score first.
The (Tq, N) score matrix never exists; the extra memory is Tq * H_kv * n_splits * KP keys.

`_attend_kernel`: one program per (query token, kv head): the fp32 softmax over the chosen scores, then for
each chosen chunk the G query heads of that kv head attend to its S keys (own softmax), weighted and summed.
"""

from __future__ import annotations

import functools

import torch
import triton
import triton.language as tl

_NEG_INF = tl.constexpr(float("-inf"))
_EMPTY_KEY = tl.constexpr(-(2**63))  # below every packed key: pads the running lists
POISON_OUTPUTS = False  # tests set it: outputs start as NaN / -7 so an element never written fails loudly


@triton.jit
def _pack(score, ids):
    """(score fp32, id int32) -> int64 key whose signed order is the score's order (ties: larger id first)."""
    bits = score.to(tl.int32, bitcast=True)
    key = tl.where(bits < 0, bits ^ 0x7FFFFFFF, bits)  # negative floats count down: flip their magnitude
    return (key.to(tl.int64) << 32) | (ids.to(tl.int64) & 0xFFFFFFFF)


@triton.jit
def _unpack(packed):
    key = (packed >> 32).to(tl.int32)
    score = tl.where(key < 0, key ^ 0x7FFFFFFF, key).to(tl.float32, bitcast=True)
    ids = (packed & 0xFFFFFFFF).to(tl.int32)
    return score, ids


@triton.jit
def _merge_tile(run, keys, top_k, BT: tl.constexpr, BN: tl.constexpr, KP: tl.constexpr):
    """run (BT, KP) sorted descending; keys (BT, BN), BN >= KP. Returns the best KP of both, descending.

    Skipped (run returned as is) when no key of the tile beats its row's k-th best key.
    """
    cols = tl.arange(0, KP)[None, :]
    kth = tl.max(tl.where(cols == top_k - 1, run, _EMPTY_KEY), axis=1)  # (BT,)
    if tl.max((keys > kth[:, None]).to(tl.int32)) > 0:
        ascending = tl.sort(keys, dim=1)
        if BN > KP:  # the tile's best KP are its last KP, still ascending
            groups = tl.reshape(ascending, (BT, BN // KP, KP))
            last = tl.arange(0, BN // KP)[None, :, None] == BN // KP - 1
            ascending = tl.max(tl.where(last, groups, _EMPTY_KEY), axis=1)
        # descending run against ascending tile top: the elementwise max holds the best KP of the union
        run = tl.sort(tl.maximum(run, ascending), dim=1, descending=True)
    return run


@triton.jit
def _select_scan_kernel(
    rq_ptr, lm_ptr, vis_ptr, cand_ptr,
    Tq, N, H_kv, split_len, n_splits, top_k, scale,
    HAS_VISIBLE: tl.constexpr, USE_DOT: tl.constexpr, PRECISION: tl.constexpr,
    BT: tl.constexpr, BN: tl.constexpr, DL: tl.constexpr, KP: tl.constexpr,
):
    pid_t = tl.program_id(0)
    pid_split = tl.program_id(1)
    h = tl.program_id(2)
    rows = pid_t * BT + tl.arange(0, BT)
    row_ok = rows < Tq
    d = tl.arange(0, DL)
    q_off = (rows[:, None].to(tl.int64) * H_kv + h) * DL + d[None, :]
    q = tl.load(rq_ptr + q_off, mask=row_ok[:, None], other=0.0)
    lo = pid_split * split_len
    hi = tl.minimum(lo + split_len, N)
    if HAS_VISIBLE:
        vis = tl.load(vis_ptr + rows, mask=row_ok, other=0).to(tl.int32)
        # no row of this tile sees past max(vis): skip reading those landmarks
        hi = tl.minimum(hi, tl.max(vis))
    else:
        vis = tl.zeros((BT,), tl.int32) + N
    run = tl.full((BT, KP), _EMPTY_KEY, tl.int64)
    for n0 in range(lo, hi, BN):
        n = n0 + tl.arange(0, BN)
        lm_off = (n[:, None].to(tl.int64) * H_kv + h) * DL + d[None, :]
        lm = tl.load(lm_ptr + lm_off, mask=(n < hi)[:, None], other=0.0)
        if USE_DOT:
            s = tl.dot(q, tl.trans(lm), input_precision=PRECISION)
        else:
            s = tl.sum(lm.to(tl.float32) * q.to(tl.float32), axis=1)[None, :]  # BT == 1: (1, DL) row of q
        ok = (n[None, :] < hi) & (n[None, :] < vis[:, None]) & row_ok[:, None]
        keys = _pack(tl.where(ok, s * scale, _NEG_INF), n[None, :])
        run = _merge_tile(run, tl.where(ok, keys, _EMPTY_KEY), top_k, BT, BN, KP)
    out = ((rows[:, None].to(tl.int64) * H_kv + h) * n_splits + pid_split) * KP + tl.arange(0, KP)[None, :]
    tl.store(cand_ptr + out, run, mask=row_ok[:, None])


@triton.jit
def _select_merge_kernel(cand_ptr, out_s_ptr, out_i_ptr, width, top_k, BN: tl.constexpr, KP: tl.constexpr):
    r = tl.program_id(0).to(tl.int64)  # row = token * H_kv + kv head
    run = tl.full((1, KP), _EMPTY_KEY, tl.int64)
    for c0 in range(0, width, BN):
        c = c0 + tl.arange(0, BN)
        keys = tl.load(cand_ptr + r * width + c, mask=c < width, other=_EMPTY_KEY)[None, :]
        run = _merge_tile(run, keys, top_k, 1, BN, KP)
    score, ids = _unpack(run)
    empty = (run == _EMPTY_KEY) | (score == _NEG_INF)
    cols = tl.arange(0, KP)[None, :]
    tl.store(out_s_ptr + r * top_k + cols, tl.where(empty, _NEG_INF, score), mask=cols < top_k)
    tl.store(out_i_ptr + r * top_k + cols, tl.where(empty, -1, ids).to(tl.int64), mask=cols < top_k)


def _next_pow2(x: int) -> int:
    return 1 << max(0, (x - 1).bit_length())


@functools.cache
def _programs_wanted(device: torch.device) -> int:
    """Programs per wave unit: the SM count on CUDA; 0 under the interpreter, where fewest is fastest."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).multi_processor_count
    return 0


def _output(shape, device, dtype) -> torch.Tensor:
    if not POISON_OUTPUTS:
        return torch.empty(shape, device=device, dtype=dtype)
    return torch.full(shape, float("nan") if dtype.is_floating_point else -7, device=device, dtype=dtype)


def select_triton(
    retrieval_q: torch.Tensor, landmarks: torch.Tensor, top_k: int, visible: torch.Tensor | None,
    split_len: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Streaming top-k of retrieval_q . landmark * Dl**-0.5 over the pool; see pool.pool_select."""
    Tq, H_kv, Dl = retrieval_q.shape
    N = landmarks.shape[0]
    if Dl < 16 or Dl & (Dl - 1):
        raise ValueError(f"landmark dim must be a power of two >= 16, got {Dl}")
    if retrieval_q.dtype != landmarks.dtype:
        raise ValueError(f"retrieval_q is {retrieval_q.dtype} but landmarks are {landmarks.dtype}")
    if N >= 2**31:
        raise ValueError(f"pool of {N} chunks: chunk ids must fit in int32")
    device = retrieval_q.device
    retrieval_q, landmarks = retrieval_q.contiguous(), landmarks.contiguous()
    KP = max(2, _next_pow2(top_k))
    # A decode step (a few queries) scans row by row on the CUDA cores; more queries share each landmark tile
    # through tl.dot, 64 rows at a time (wgmma's tile height: fewer rows would only pad it).
    use_dot = Tq >= 4
    BT, BN = (64, max(64, KP)) if use_dot else (1, max(128, KP))
    warps = 4 if use_dot or KP <= 16 else 8
    row_tiles = triton.cdiv(Tq, BT)
    if split_len is None:
        wanted = _programs_wanted(device) * (3 if use_dot else 4)
        n_splits = max(1, min(triton.cdiv(wanted, row_tiles * H_kv), triton.cdiv(N, BN)))
        split_len = triton.cdiv(triton.cdiv(max(N, 1), n_splits), BN) * BN
    n_splits = max(1, triton.cdiv(N, split_len))
    candidates = _output((Tq, H_kv, n_splits, KP), device, torch.int64)
    vis = visible.to(device=device, dtype=torch.int64).contiguous() if visible is not None else candidates
    precision = "ieee" if retrieval_q.dtype == torch.float32 else "tf32"
    _select_scan_kernel[(row_tiles, n_splits, H_kv)](
        retrieval_q, landmarks, vis, candidates,
        Tq, N, H_kv, split_len, n_splits, top_k, Dl**-0.5,
        HAS_VISIBLE=visible is not None, USE_DOT=use_dot, PRECISION=precision,
        BT=BT, BN=BN, DL=Dl, KP=KP, num_warps=warps,
    )
    width = n_splits * KP
    scores = _output((Tq, H_kv, top_k), device, torch.float32)
    indices = _output((Tq, H_kv, top_k), device, torch.int64)
    if Tq * H_kv:
        _select_merge_kernel[(Tq * H_kv,)](
            candidates, scores, indices, width, top_k, BN=min(1024, max(KP, _next_pow2(width))), KP=KP,
            num_warps=4,
        )
    return indices, scores


@triton.jit
def _attend_kernel(
    q_ptr, k_ptr, v_ptr, idx_ptr, sc_ptr, out_ptr, w_ptr,
    H_kv, top_k, scale,
    G: tl.constexpr, G_PAD: tl.constexpr, S: tl.constexpr, D: tl.constexpr, KP: tl.constexpr,
    PRECISION: tl.constexpr,
):
    t = tl.program_id(0).to(tl.int64)
    h = tl.program_id(1)
    slots = tl.arange(0, KP)
    slot_ok = slots < top_k
    row = (t * H_kv + h) * top_k
    ids = tl.load(idx_ptr + row + slots, mask=slot_ok, other=-1)
    sc = tl.load(sc_ptr + row + slots, mask=slot_ok, other=_NEG_INF)
    valid = ids >= 0
    sc = tl.where(valid, sc, _NEG_INF)
    top = tl.max(sc, axis=0)
    e = tl.where(valid, tl.exp(sc - tl.where(top > _NEG_INF, top, 0.0)), 0.0)
    total = tl.sum(e, axis=0)
    w = e / tl.where(total > 0, total, 1.0)
    tl.store(w_ptr + row + slots, w, mask=slot_ok)

    g = tl.arange(0, G_PAD)
    dd = tl.arange(0, D)
    ss = tl.arange(0, S)
    g_ok = g < G
    q_off = (t * (H_kv * G) + h * G + g[:, None]) * D + dd[None, :]  # (G_PAD, D)
    q = tl.load(q_ptr + q_off, mask=g_ok[:, None], other=0.0)
    acc = tl.zeros((G_PAD, D), dtype=tl.float32)
    # chunk j+1's K/V are loaded before chunk j is used, so two chunk reads are in flight, not one
    cid = tl.load(idx_ptr + row)
    kv_off = ((cid.to(tl.int64) * S + ss[:, None]) * H_kv + h) * D + dd[None, :]  # (S, D)
    k_next = tl.load(k_ptr + kv_off, mask=cid >= 0, other=0.0)
    v_next = tl.load(v_ptr + kv_off, mask=cid >= 0, other=0.0)
    for j in range(top_k):
        kc, vc = k_next, v_next
        cid = tl.load(idx_ptr + row + j + 1, mask=j + 1 < top_k, other=-1)
        kv_off = ((cid.to(tl.int64) * S + ss[:, None]) * H_kv + h) * D + dd[None, :]
        k_next = tl.load(k_ptr + kv_off, mask=cid >= 0, other=0.0)
        v_next = tl.load(v_ptr + kv_off, mask=cid >= 0, other=0.0)
        wj = tl.sum(tl.where(slots == j, w, 0.0), axis=0)
        logits = tl.dot(q, tl.trans(kc), input_precision=PRECISION) * scale  # (G_PAD, S)
        p = tl.exp(logits - tl.max(logits, axis=1)[:, None])
        p = p / tl.sum(p, axis=1)[:, None]
        acc += wj * tl.dot(p.to(vc.dtype), vc, input_precision=PRECISION)
    tl.store(out_ptr + q_off, acc.to(out_ptr.dtype.element_ty), mask=g_ok[:, None])


def attend_triton(
    q: torch.Tensor, chunk_k: torch.Tensor, chunk_v: torch.Tensor, indices: torch.Tensor,
    scores: torch.Tensor, scale: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-chunk attention over the chosen rows of chunk_k/chunk_v and fp32 fusion; see pool.attend_rows."""
    Tq, H, D = q.shape
    M, S, H_kv, Dk = chunk_k.shape
    top_k = indices.shape[-1]
    if D != Dk or chunk_v.shape != chunk_k.shape:
        raise ValueError(f"q {tuple(q.shape)}, chunk_k {tuple(chunk_k.shape)}, "
                         f"chunk_v {tuple(chunk_v.shape)} do not fit")
    if D < 16 or D & (D - 1) or S < 16 or S & (S - 1):
        raise ValueError(f"head dim and chunk size must be powers of two >= 16, got D={D}, S={S}")
    if H % H_kv:
        raise ValueError(f"{H} query heads do not split over {H_kv} kv heads")
    if not (q.dtype == chunk_k.dtype == chunk_v.dtype):
        raise ValueError(f"q, chunk_k, chunk_v dtypes differ: {q.dtype}, {chunk_k.dtype}, {chunk_v.dtype}")
    G = H // H_kv
    q, chunk_k, chunk_v = q.contiguous(), chunk_k.contiguous(), chunk_v.contiguous()
    indices = indices.contiguous()
    scores = scores.to(torch.float32).contiguous()
    out = _output(q.shape, q.device, q.dtype)
    weights = _output((Tq, H_kv, top_k), q.device, torch.float32)
    if Tq == 0 or top_k == 0:
        return out.zero_(), weights
    precision = "ieee" if q.dtype == torch.float32 else "tf32"
    _attend_kernel[(Tq, H_kv)](
        q, chunk_k, chunk_v, indices, scores, out, weights, H_kv, top_k, scale,
        G=G, G_PAD=max(16, _next_pow2(G)), S=S, D=D, KP=max(2, _next_pow2(top_k)),
        PRECISION=precision, num_warps=8,
    )
    return out, weights
