"""The memory-pool (inference) path of HSA: pool_select / pool_attend against dense definitions and against
the training operator on the same chunks; the Triton kernels under TRITON_INTERPRET=1 on CPU (conftest.py
sets it) and at full shapes on the GPU (`gpu` marker)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kernels.hsa.pool import (
    HostChunkStore,
    _attend_torch,
    _select_torch,
    attend_rows,
    fetch_from_array,
    fetch_resident,
    pool_attend,
    pool_select,
)
from kernels.hsa.reference import hsa_reference

triton = pytest.importorskip("triton")
from kernels.hsa import pool_triton  # noqa: E402
from kernels.hsa.pool_triton import select_triton  # noqa: E402


@pytest.fixture(autouse=True)
def poison_pool_outputs(monkeypatch):
    """Kernel outputs start as NaN (indices as -7), so an element a kernel never writes fails the checks."""
    monkeypatch.setattr(pool_triton, "POISON_OUTPUTS", True)


def dense_topk(retrieval_q, landmarks, top_k, visible=None):
    """The definition: the full (Tq, H_kv, N) score matrix, visibility mask, torch.topk."""
    Dl = retrieval_q.shape[-1]
    s = torch.einsum("thd,nhd->thn", retrieval_q.double(), landmarks.double()) * Dl**-0.5
    if visible is not None:
        ids = torch.arange(landmarks.shape[0], device=s.device)
        s = s.masked_fill(ids[None, None, :] >= visible[:, None, None].to(s.device), float("-inf"))
    return s


def assert_same_choice(indices, scores, retrieval_q, landmarks, top_k, visible=None, tol=1e-5):
    """Chosen sets equal the dense top-k (ids whose score is within `tol` of the k-th best may swap: ties)."""
    s = dense_topk(retrieval_q, landmarks, top_k, visible)
    kept = min(top_k, s.shape[-1])
    ref_s = s.topk(kept, dim=-1).values if kept else s[..., :0]
    ref_s = torch.cat([ref_s, ref_s.new_full((*ref_s.shape[:2], top_k - kept), float("-inf"))], dim=-1)
    assert indices.shape == scores.shape == (*retrieval_q.shape[:2], top_k)
    assert indices.dtype == torch.int64 and scores.dtype == torch.float32
    empty = torch.isneginf(ref_s)
    assert torch.equal(indices < 0, empty.to(indices.device)), "empty slots differ from the visible count"
    assert torch.isneginf(scores[indices < 0]).all()
    torch.testing.assert_close(scores.double(), ref_s.to(scores.device), atol=tol, rtol=0, equal_nan=False)
    valid = indices >= 0
    # every chosen id's true score is at least the k-th best, and no id is chosen twice
    true = s.to(indices.device).gather(-1, indices.clamp_min(0))
    kth = ref_s.masked_fill(empty, float("inf")).amin(dim=-1, keepdim=True).to(indices.device)
    assert (true[valid] >= (kth.expand_as(true)[valid] - tol)).all()
    sorted_ids = indices.sort(dim=-1).values
    dup = (sorted_ids[..., 1:] == sorted_ids[..., :-1]) & (sorted_ids[..., 1:] >= 0)
    assert not dup.any()


SELECT_CASES = [  # (Tq, N, H_kv, Dl, top_k)
    (1, 1, 1, 16, 4),
    (5, 63, 2, 32, 8),
    (7, 1025, 1, 16, 8),
    (3, 100, 2, 16, 200),  # k > N
    (64, 64, 1, 32, 64),
]


@pytest.mark.parametrize("with_visible", [False, True])
@pytest.mark.parametrize("case", SELECT_CASES)
def test_select_reference_equals_dense_topk(case, with_visible):
    Tq, N, H_kv, Dl, top_k = case
    gen = torch.Generator().manual_seed(hash(case) % 2**31)
    rq, lm = torch.randn(Tq, H_kv, Dl, generator=gen), torch.randn(N, H_kv, Dl, generator=gen)
    visible = torch.randint(0, N + 1, (Tq,), generator=gen) if with_visible else None
    for block in (16, 1000, None):  # streaming merges across blocks must not change the answer
        indices, scores = pool_select(rq, lm, top_k, visible=visible, block=block, impl="reference")
        assert_same_choice(indices, scores, rq, lm, top_k, visible)
        assert (scores[..., :-1] >= scores[..., 1:]).all(), "slots are not sorted by score"


INTERPRET_SELECT = [  # (Tq, N, H_kv, Dl, top_k, split_len): split_len forces several splits to merge
    (1, 1, 1, 16, 4, None),
    (3, 63, 2, 32, 8, None),
    (2, 1025, 1, 16, 8, 256),  # per-query scan (no dot), five splits
    (17, 97, 1, 16, 5, 64),  # 64-row tiles through tl.dot, two splits
    (5, 130, 1, 16, 8, 64),  # tl.dot path with most rows of the tile empty, three splits
    (2, 40, 1, 16, 64, None),  # k > N
]


@pytest.mark.parametrize("case", INTERPRET_SELECT)
def test_select_triton_kernel_matches_dense_topk(case):
    Tq, N, H_kv, Dl, top_k, split_len = case
    gen = torch.Generator().manual_seed(Tq * 1000 + N)
    rq, lm = torch.randn(Tq, H_kv, Dl, generator=gen), torch.randn(N, H_kv, Dl, generator=gen)
    visible = torch.randint(0, N + 1, (Tq,), generator=gen)
    visible[0] = 0  # a token that sees nothing: all slots empty
    for vis in (None, visible):
        indices, scores = select_triton(rq, lm, top_k, vis, split_len=split_len)
        assert_same_choice(indices, scores, rq, lm, top_k, vis)
        ref_i, ref_s = _select_torch(rq, lm, top_k, vis, None)
        assert torch.equal(indices, ref_i), "order of the chosen chunks differs from the reference"
    assert (indices[0] == -1).all() and torch.isneginf(scores[0]).all()


def packed_problem(gen, *, n_memory, question, S, H, H_kv, D, Dl, dtype=torch.float32, device="cpu"):
    """A packed sequence [memory chunks..., question tokens] with random (never zero) inputs."""
    T = n_memory * S + question
    shapes = dict(q=(1, T, H, D), k=(1, T, H_kv, D), v=(1, T, H_kv, D), rq=(1, T, H_kv, Dl),
                  lm=(1, T // S, H_kv, Dl))
    x = {name: torch.randn(shape, generator=gen).to(device, dtype) for name, shape in shapes.items()}
    x["k"] = x["k"] / x["k"].float().pow(2).mean(-1, keepdim=True).sqrt().to(dtype)  # RMS-normalised keys
    return T, x


@pytest.mark.parametrize("impl", ["reference", "triton"])
@pytest.mark.parametrize("top_k,H,H_kv", [(3, 4, 1), (12, 8, 2), (5, 16, 1)])
def test_pool_equals_training_operator_on_the_same_chunks(impl, top_k, H, H_kv):
    """Question tokens after a memory: pool_select + pool_attend with visible counts == hsa_reference."""
    S, D, Dl, n_memory, question = 16, 16, 16, 9, 21
    gen = torch.Generator().manual_seed(top_k * 100 + H)
    T, x = packed_problem(gen, n_memory=n_memory, question=question, S=S, H=H, H_kv=H_kv, D=D, Dl=Dl)
    ref_out, ref_idx, ref_w = hsa_reference(x["q"], x["k"], x["v"], x["rq"], x["lm"], top_k, chunk_size=S)
    N = T // S  # complete chunks: the memory plus the question's own completed chunks
    chunk_k = x["k"][0, : N * S].reshape(N, S, H_kv, D)  # (N, S, H_kv, D)
    chunk_v = x["v"][0, : N * S].reshape(N, S, H_kv, D)
    positions = torch.arange(n_memory * S, T)
    visible = positions // S  # chunks that ended at or before each question token
    requested = []

    def fetch(ids):
        requested.append(ids.clone())
        return fetch_from_array(chunk_k, chunk_v, "cpu")(ids)

    indices, scores = pool_select(x["rq"][0, positions], x["lm"][0], top_k, visible=visible, impl=impl)
    assert torch.equal(indices, ref_idx[0, positions])
    out, weights = pool_attend(x["q"][0, positions], indices, scores, fetch, impl=impl)
    torch.testing.assert_close(out, ref_out[0, positions], atol=2e-6, rtol=1e-5)
    torch.testing.assert_close(weights, ref_w[0, positions], atol=1e-6, rtol=1e-5)
    # it read exactly the chosen chunks, each once
    assert len(requested) == 1 and torch.equal(requested[0], torch.unique(indices[indices >= 0]))
    assert requested[0].numel() < N or top_k * question >= N


@pytest.mark.parametrize("G,H_kv,D,top_k", [(1, 2, 16, 3), (4, 1, 32, 8), (16, 1, 16, 5), (8, 2, 64, 2)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_attend_triton_kernel_matches_reference(G, H_kv, D, top_k, dtype):
    Tq, M, S = 6, 11, 16
    gen = torch.Generator().manual_seed(G * 31 + D)
    q = torch.randn(Tq, G * H_kv, D, generator=gen)
    chunk_k, chunk_v = torch.randn(M, S, H_kv, D, generator=gen), torch.randn(M, S, H_kv, D, generator=gen)
    rows = torch.randint(0, M, (Tq, H_kv, top_k), generator=gen)
    rows[0] = -1  # no chunk at all: output 0, weights 0
    rows[1, :, -1] = -1  # one empty slot
    scores = torch.randn(Tq, H_kv, top_k, generator=gen).masked_fill(rows < 0, float("-inf"))
    ref_out, ref_w = _attend_torch(q, chunk_k, chunk_v, rows, scores, D**-0.5)
    args = (q.to(dtype), chunk_k.to(dtype), chunk_v.to(dtype), rows, scores)
    out, weights = attend_rows(*args, impl="triton")
    low, _ = _attend_torch(*args, D**-0.5, dtype=dtype)
    assert out.dtype == dtype and torch.isfinite(out).all() and torch.isfinite(weights).all()
    torch.testing.assert_close(weights, ref_w, atol=1e-6, rtol=1e-5)
    err, low_err = (out.float() - ref_out).abs().max(), (low.float() - ref_out).abs().max()
    assert err <= 2 * low_err + 1e-6, f"kernel error {err:.2e} vs PyTorch {dtype} error {low_err:.2e}"
    assert (out[0] == 0).all() and (weights[0] == 0).all() and (weights[1, :, -1] == 0).all()


def test_host_store_reads_a_memmap_and_validates(tmp_path):
    N, S, H_kv, D = 20, 16, 2, 16
    gen = torch.Generator().manual_seed(7)
    chunk_k = torch.randn(N, S, H_kv, D, generator=gen).to(torch.bfloat16)
    chunk_v = torch.randn(N, S, H_kv, D, generator=gen).to(torch.bfloat16)
    files = []
    for name, t in (("k", chunk_k), ("v", chunk_v)):  # bf16 on disk as raw uint16
        mm = np.memmap(tmp_path / f"{name}.bin", dtype=np.uint16, mode="w+", shape=tuple(t.shape))
        mm[:] = t.view(torch.uint16).numpy()
        mm.flush()
        files.append(np.memmap(tmp_path / f"{name}.bin", dtype=np.uint16, mode="r", shape=tuple(t.shape)))
    store = HostChunkStore(*files, "cpu", dtype=torch.bfloat16)
    ids = torch.tensor([0, 3, 19])
    k, v = store(ids)
    assert k.dtype == torch.bfloat16 and torch.equal(k, chunk_k[ids]) and torch.equal(v, chunk_v[ids])
    with pytest.raises(IndexError):
        store(torch.tensor([20]))
    with pytest.raises(ValueError, match="must both be"):
        HostChunkStore(chunk_k, chunk_v[:3], "cpu")


def test_bad_inputs_raise_clear_errors():
    rq, lm = torch.randn(4, 1, 16), torch.randn(10, 2, 16)
    with pytest.raises(ValueError, match="must be"):
        pool_select(rq, lm, 4)
    with pytest.raises(ValueError, match="top_k"):
        pool_select(rq, lm[:, :1], 0)
    with pytest.raises(ValueError, match="visible"):
        pool_select(rq, lm[:, :1], 4, visible=torch.zeros(3, dtype=torch.int64))
    with pytest.raises(ValueError, match="impl"):
        pool_select(rq, lm[:, :1], 4, impl="cuda")


# ---------------------------------------------------------------- GPU, full shapes, bf16

@pytest.mark.gpu
@pytest.mark.parametrize("Tq,top_k", [(1, 8), (64, 8), (64, 64), (1000, 8)])
def test_gpu_select_full_pool(Tq, top_k):
    """250K+ chunks (16M tokens) in bf16: the streaming kernel finds the dense top-k."""
    N, H_kv, Dl = 262_147, 1, 64
    gen = torch.Generator(device="cuda").manual_seed(Tq + top_k)
    rq = torch.randn(Tq, H_kv, Dl, device="cuda", generator=gen).bfloat16()
    lm = torch.randn(N, H_kv, Dl, device="cuda", generator=gen).bfloat16()
    visible = torch.randint(0, N + 1, (Tq,), device="cuda", generator=gen)
    for vis in (None, visible):
        indices, scores = pool_select(rq, lm, top_k, visible=vis)
        assert_same_choice(indices, scores, rq, lm, top_k, vis, tol=1e-4)


@pytest.mark.gpu
@pytest.mark.parametrize("D", [64, 128])
def test_gpu_attend_full_shapes(D):
    Tq, H, H_kv, S, N, top_k = 256, 16, 1, 64, 262_144, 8
    gen = torch.Generator(device="cuda").manual_seed(D)
    q = torch.randn(Tq, H, D, device="cuda", generator=gen).bfloat16()
    chunk_k = torch.randn(N, S, H_kv, D, device="cuda", generator=gen).bfloat16()
    chunk_v = torch.randn(N, S, H_kv, D, device="cuda", generator=gen).bfloat16()
    rows = torch.randint(0, N, (Tq, H_kv, top_k), device="cuda", generator=gen)
    rows[:3, :, 5:] = -1
    scores = torch.randn(Tq, H_kv, top_k, device="cuda", generator=gen).masked_fill(rows < 0, float("-inf"))
    ref, ref_w = _attend_torch(q, chunk_k, chunk_v, rows, scores, D**-0.5)
    low, _ = _attend_torch(q, chunk_k, chunk_v, rows, scores, D**-0.5, dtype=torch.bfloat16)
    out, weights = attend_rows(q, chunk_k, chunk_v, rows, scores)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(weights, ref_w, atol=1e-6, rtol=1e-5)
    err, low_err = (out.float() - ref.float()).abs().max(), (low.float() - ref.float()).abs().max()
    assert err <= 2 * low_err, f"kernel error {err:.2e} vs PyTorch bf16 error {low_err:.2e}"
    gathered, _ = pool_attend(q, rows, scores, fetch_resident(chunk_k, chunk_v))
    torch.testing.assert_close(gathered, out, atol=0, rtol=0)


@pytest.mark.gpu
def test_gpu_pool_equals_training_operator_bf16():
    """A 64K-token memory + a 256-token question on the GPU in bf16 against hsa_reference in fp32, with the
    chunk K/V read from pinned host memory."""
    S, H, H_kv, D, Dl, top_k = 64, 16, 1, 64, 64, 8
    gen = torch.Generator().manual_seed(3)
    T, x = packed_problem(gen, n_memory=1024, question=256, S=S, H=H, H_kv=H_kv, D=D, Dl=Dl,
                          dtype=torch.bfloat16, device="cuda")
    ref_out, ref_idx, ref_w = hsa_reference(x["q"], x["k"], x["v"], x["rq"], x["lm"], top_k, chunk_size=S)
    N = T // S
    positions = torch.arange(1024 * S, T, device="cuda")
    indices, scores = pool_select(x["rq"][0, positions], x["lm"][0], top_k, visible=positions // S)
    agree = (indices.sort(-1).values == ref_idx[0, positions].sort(-1).values).all(-1).float().mean()
    assert agree > 0.99, f"only {agree:.3f} of tokens chose the reference's chunks"
    host_k = x["k"][0].reshape(N, S, H_kv, D).cpu()  # (N, S, H_kv, D)
    host_v = x["v"][0].reshape(N, S, H_kv, D).cpu()
    store = HostChunkStore(host_k, host_v, "cuda")
    out, weights = pool_attend(x["q"][0, positions], indices, scores, store)
    same = (indices == ref_idx[0, positions]).all(-1).all(-1)
    expected = ref_out[0, positions][same].float()
    rel = (out[same].float() - expected).norm() / expected.norm()
    assert rel < 1e-2, f"relative error {rel:.2e}"
    torch.testing.assert_close(weights[same], ref_w[0, positions][same], atol=1e-3, rtol=1e-3)
