"""Triton HSA kernels against the reference stages: outputs and gradients, flash-attention's tolerance style.

The kernel's error against a high-precision reference (fp64 on CPU, fp32 on the GPU) must stay within 2x
(+ a rounding-sized atol) of the error of the same PyTorch reference run in the kernel's dtype. Every
reference pass uses the kernel's own chunk choice (checked separately to be a true top-k), so a near-tie
decided differently in different precisions cannot make the comparison flaky. On CPU the kernels run under
TRITON_INTERPRET=1 (see conftest.py) at tiny shapes; the `gpu` tests run at full shapes in bf16.
"""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("triton")

from kernels.hsa import autograd, fused, hsa_attention  # noqa: E402
from kernels.hsa.autograd import hsa_attend, hsa_triton, select_chunks_blockwise  # noqa: E402
from kernels.hsa.reference import attend_chunks, chunk_weights, fuse, score_chosen, select_chunks  # noqa: E402

S = 64
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
HIGH = torch.float32 if DEVICE.type == "cuda" else torch.float64
NAMES = ("q", "k", "v", "retrieval_q", "landmarks")


def make_inputs(batch, tokens, heads, kv_heads, dim, landmark_dim, dtype, seed, chunk_size=S):
    gen = torch.Generator(device=DEVICE).manual_seed(seed)

    def rand(*shape):
        values = torch.randn(*shape, generator=gen, device=DEVICE, dtype=torch.float32)
        return values.to(dtype).requires_grad_()

    return (
        rand(batch, tokens, heads, dim),
        rand(batch, tokens, kv_heads, dim),
        rand(batch, tokens, kv_heads, dim),
        rand(batch, tokens, kv_heads, landmark_dim),
        rand(batch, tokens // chunk_size, kv_heads, landmark_dim),
    )


def gradients(out, leaves, probe):
    """d(out . probe)/d leaves; zeros for a leaf out of reach (no visible chunk: no path to the landmarks)."""
    return torch.autograd.grad(out, leaves, probe.to(out.dtype), allow_unused=True, materialize_grads=True)


def reference_pass(inputs, indices, dtype, probe, chunk_size=S):
    """Reference stages on the given chunk choice, computed in `dtype`: output and the five gradients."""
    leaves = [x.detach().to(dtype).requires_grad_() for x in inputs]
    q, k, v, retrieval_q, landmarks = leaves
    scores = score_chosen(retrieval_q, landmarks, indices)
    out, _ = fuse(attend_chunks(q, k, v, indices, chunk_size, None), scores)
    grads = gradients(out, leaves, probe)
    return out, grads


def assert_within_budget(name, kernel, low, high):
    """flash-attention's rule: |kernel - high| <= 2 |low - high| + a few ulps of the kernel's dtype."""
    assert torch.isfinite(kernel).all(), f"{name}: non-finite values (an element was not written?)"
    if high.numel() == 0:
        return
    kernel_error = (kernel.to(HIGH) - high).abs().max().item()
    low_error = (low.to(HIGH) - high).abs().max().item()
    atol = 4 * torch.finfo(kernel.dtype).eps * max(high.abs().max().item(), 1e-3)
    assert kernel_error <= 2 * low_error + atol, (
        f"{name}: kernel error {kernel_error:.3e} > 2 x reference error {low_error:.3e} + {atol:.1e}"
    )


def assert_true_top_k(indices, retrieval_q, landmarks, top_k, chunk_size):
    """The kernel path's choice has the reference's scores (up to rounding): same top-k up to near-ties."""
    ref_indices, ref_scores = select_chunks(
        retrieval_q.detach().to(HIGH), landmarks.detach().to(HIGH), top_k, chunk_size
    )
    assert torch.equal(indices < 0, ref_indices < 0)
    scores = score_chosen(retrieval_q.detach().to(HIGH), landmarks.detach().to(HIGH), indices)
    finite = ref_indices >= 0
    torch.testing.assert_close(scores[finite], ref_scores[finite], rtol=0, atol=1e-4)
    agree = (indices == ref_indices).float().mean().item()
    assert agree > 0.99, f"only {agree:.3%} of the slots agree with the reference choice"


def run_and_compare(batch, tokens, heads, kv_heads, dim, top_k, dtype, dkv="sorted", seed=0, chunk_size=S):
    inputs = make_inputs(batch, tokens, heads, kv_heads, dim, 16, dtype, seed, chunk_size)
    out, indices, weights = hsa_triton(*inputs, top_k, chunk_size=chunk_size, dkv=dkv)
    assert out.dtype == dtype and out.shape == inputs[0].shape
    assert indices.shape == (batch, tokens, kv_heads, top_k) and weights.dtype == torch.float32
    assert_true_top_k(indices, inputs[3], inputs[4], top_k, chunk_size)
    probe = torch.randn(out.shape, device=DEVICE, dtype=torch.float32)
    grads = gradients(out, inputs, probe)
    high_out, high_grads = reference_pass(inputs, indices, HIGH, probe, chunk_size)
    low_out, low_grads = reference_pass(inputs, indices, dtype, probe, chunk_size)
    assert_within_budget("out", out, low_out, high_out)
    for name, grad, low, high in zip(NAMES, grads, low_grads, high_grads, strict=True):
        assert_within_budget(f"d{name}", grad, low, high)
    return out, indices


# ---------------------------------------------------------------- CPU (interpreter) and GPU, small shapes
# The interpreter runs each program in Python, so the CPU shapes are tiny; chunk_size 16 reaches several
# visible chunks within a few dozen tokens. The S = 64 cases cover the odd lengths around one chunk.

@pytest.mark.parametrize(
    "batch,tokens,heads,kv_heads,dim,top_k,chunk_size",
    [
        (2, 34, 4, 1, 16, 3, 16),  # G=4, batch 2, odd length, top_k > visible chunks for early tokens
        (1, 50, 16, 1, 32, 4, 16),  # G=16, top_k > every token's visible chunks
        (1, 40, 8, 1, 16, 2, 16),  # G=8
        (1, 37, 2, 2, 24, 2, 16),  # G=1, two KV heads, head dim not a power of two
        (1, 63, 4, 1, 16, 2, 64),  # no chunk visible to anyone: output and gradients zero
        (1, 64, 4, 1, 16, 2, 64),
        (1, 65, 4, 1, 16, 2, 64),  # only the last token sees a chunk
        (1, 97, 4, 1, 16, 2, 64),
    ],
)
def test_operator_matches_reference(batch, tokens, heads, kv_heads, dim, top_k, chunk_size):
    out, _ = run_and_compare(batch, tokens, heads, kv_heads, dim, top_k, torch.float32, chunk_size=chunk_size)
    assert (out[:, : min(tokens, chunk_size)] == 0).all()
    assert (out[:, chunk_size:] != 0).any(dim=-1).all()
    if tokens <= chunk_size:
        assert (out == 0).all()


def test_blockwise_choice_path_matches_reference(monkeypatch):
    """Past DENSE_SCORE_BYTES the choice is made over token blocks and the chosen landmarks gathered."""
    monkeypatch.setattr(autograd, "DENSE_SCORE_BYTES", 0)
    monkeypatch.setattr(autograd, "SELECT_BLOCK_BYTES", 256)
    run_and_compare(2, 33, 4, 1, 16, 3, torch.float32, seed=7, chunk_size=16)


def test_atomic_dkv_and_split_segments_match_reference(monkeypatch):
    run_and_compare(1, 36, 4, 1, 16, 3, torch.float32, dkv="atomic", seed=1, chunk_size=16)
    monkeypatch.setattr(fused, "ROWS_PER_SEGMENT", 8)  # several programs per chunk, meeting in atomics
    run_and_compare(1, 36, 4, 1, 16, 3, torch.float32, dkv="sorted", seed=1, chunk_size=16)


def test_attend_stage_in_half_precision_within_budget():
    """The Triton stage alone in fp16 (the interpreter cannot do bf16), weights from fp32 scores."""
    dtype = torch.float16 if DEVICE.type == "cpu" else torch.bfloat16
    chunk_size = 16 if DEVICE.type == "cpu" else S
    tokens = 40 if DEVICE.type == "cpu" else 2048
    q, k, v, retrieval_q, landmarks = make_inputs(1, tokens, 16, 1, 32, 16, dtype, 2, chunk_size)
    indices, _ = select_chunks(retrieval_q.detach().float(), landmarks.detach().float(), 3, chunk_size)
    scores = score_chosen(retrieval_q.detach().float(), landmarks.detach().float(), indices).requires_grad_()
    out = hsa_attend(q, k, v, indices, chunk_weights(scores), chunk_size=chunk_size)
    probe = torch.randn(out.shape, device=DEVICE)
    grads = torch.autograd.grad(out, (q, k, v, scores), probe.to(dtype))
    results = {}
    for name, precision in (("high", HIGH), ("low", dtype)):
        leaves = [x.detach().to(precision).requires_grad_() for x in (q, k, v)]
        ref_scores = scores.detach().to(torch.promote_types(precision, torch.float32)).requires_grad_()
        ref_out, _ = fuse(attend_chunks(*leaves, indices, chunk_size, None), ref_scores)
        ref_grads = torch.autograd.grad(ref_out, (*leaves, ref_scores), probe.to(ref_out.dtype))
        results[name] = (ref_out, ref_grads)
    assert_within_budget("out", out, results["low"][0], results["high"][0])
    for name, grad, low, high in zip(("q", "k", "v", "scores"), grads, results["low"][1], results["high"][1],
                                     strict=True):
        assert_within_budget(f"d{name}", grad.nan_to_num(0.0), low.nan_to_num(0.0), high.nan_to_num(0.0))


def test_blockwise_selection_equals_reference_selection():
    _, _, _, retrieval_q, landmarks = make_inputs(2, 1025, 1, 3, 16, 8, torch.float32, seed=3)
    expected, _ = select_chunks(retrieval_q.detach(), landmarks.detach(), 5, S)
    # a block budget of ~1 KiB forces many token blocks
    got = select_chunks_blockwise(retrieval_q.detach(), landmarks.detach(), 5, S, block_bytes=1024)
    assert torch.equal(got, expected)


def test_reverse_index_lists_every_reader_once_in_bounded_segments():
    _, _, _, retrieval_q, landmarks = make_inputs(2, 1025, 1, 2, 16, 8, torch.float32, seed=4)
    indices = select_chunks_blockwise(retrieval_q.detach(), landmarks.detach(), 4, S)
    num_chunks = 1025 // S
    pairs, seg_group, seg_start, seg_end = fused.build_reverse_index(indices, num_chunks, rows_per_segment=7)
    flat = indices.reshape(-1)
    used = seg_end > seg_start
    seg_group, seg_start, seg_end = seg_group[used], seg_start[used], seg_end[used]
    assert ((seg_end - seg_start) <= 7).all()
    # the used segments tile the chosen pairs exactly, in order
    assert seg_start[0] == 0 and torch.equal(seg_start[1:], seg_end[:-1])
    chosen = int((flat >= 0).sum())
    assert seg_end[-1] == chosen
    assert torch.equal(torch.sort(pairs[:chosen]).values, torch.nonzero(flat >= 0).squeeze(1))
    batch_head = (pairs[:chosen] // (4 * 2 * 1025)) * 2 + (pairs[:chosen] // 4) % 2
    group_of_pair = batch_head * num_chunks + flat[pairs[:chosen]]
    seg_of_pair = torch.repeat_interleave(torch.arange(seg_group.numel()), seg_end - seg_start)
    assert torch.equal(group_of_pair, seg_group[seg_of_pair])
    assert (torch.diff(group_of_pair) >= 0).all()


def test_launcher_rejects_bad_inputs_with_clear_errors():
    q = torch.randn(1, 128, 4, 16, device=DEVICE)
    k = torch.randn(1, 128, 1, 16, device=DEVICE)
    indices = torch.zeros(1, 128, 1, 2, dtype=torch.int64, device=DEVICE)
    weights = torch.zeros(1, 128, 1, 2, device=DEVICE)
    with pytest.raises(TypeError, match="share one dtype"):
        fused.hsa_attend_fwd(q, k.half(), k.half(), indices, weights)
    with pytest.raises(ValueError, match="multiple of KV heads"):
        three = torch.randn(1, 128, 3, 16, device=DEVICE)
        fused.hsa_attend_fwd(q, three, three, torch.zeros(1, 128, 3, 2, dtype=torch.int64, device=DEVICE),
                             torch.zeros(1, 128, 3, 2, device=DEVICE))
    with pytest.raises(ValueError, match="indices must be int64"):
        fused.hsa_attend_fwd(q, k, k, indices.int(), weights)
    with pytest.raises(ValueError, match="weights must be fp32"):
        fused.hsa_attend_fwd(q, k, k, indices, weights.half())
    with pytest.raises(ValueError, match="landmarks must be"):
        hsa_attention(q, k, k, torch.randn(1, 128, 1, 8), torch.randn(1, 3, 1, 8), 2, impl="triton")


# ---------------------------------------------------------------- GPU, full shapes, bf16

@pytest.mark.gpu
@pytest.mark.parametrize(
    "batch,tokens,heads,kv_heads,dim,top_k",
    [
        (2, 4096, 16, 1, 64, 8),  # G=16
        (2, 4096, 16, 2, 128, 16),  # G=8, D=128
        (1, 4096, 16, 4, 64, 8),  # G=4
        (1, 4096, 16, 16, 64, 8),  # G=1
        (2, 1025, 16, 1, 64, 32),  # odd length, top_k > visible chunks
        (2, 97, 8, 2, 64, 4),
        (1, 32768, 16, 1, 64, 8),
    ],
)
def test_gpu_operator_matches_reference_bf16(batch, tokens, heads, kv_heads, dim, top_k):
    run_and_compare(batch, tokens, heads, kv_heads, dim, top_k, torch.bfloat16)


@pytest.mark.gpu
def test_gpu_atomic_dkv_matches_reference_bf16():
    run_and_compare(2, 4096, 16, 4, 64, 16, torch.bfloat16, dkv="atomic", seed=5)


@pytest.mark.gpu
def test_gpu_dispatch_picks_triton():
    inputs = [x.detach() for x in make_inputs(1, 1024, 16, 1, 64, 16, torch.bfloat16, seed=6)]
    out, indices, _ = hsa_attention(*inputs, 8)
    expected, expected_indices, _ = hsa_triton(*inputs, 8)
    assert torch.equal(indices, expected_indices) and torch.equal(out, expected)
