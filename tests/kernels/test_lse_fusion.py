"""LSE fusion (the model's lse_fusion): chunks fused by softmax(score + sum_g beta_g * lse_g), lse_g the
in-chunk log-sum-exp of query head g.

Against a token-by-token loop (outputs and every gradient, beta's included), on the Triton training path
(under the interpreter on CPU, at tiny shapes) and on the inference pool path; and the property it is for:
two chunks whose landmarks score alike are told apart by which one holds the key the query matches.
"""

from __future__ import annotations

import pytest
import torch

from kernels.hsa import hsa_attention, pool_attend, pool_select
from kernels.hsa.pool import fetch_from_array
from kernels.hsa.reference import hsa_reference
from tests.kernels.test_reference import loop_hsa, make_inputs

S = 64


@pytest.mark.parametrize("tokens,heads,kv_heads,top_k", [(130, 4, 2, 3), (193, 2, 1, 2)])
def test_fused_reference_matches_token_loop_with_gradients(tokens, heads, kv_heads, top_k):
    inputs = make_inputs(2, tokens, heads, kv_heads, 8, 6)
    beta = torch.linspace(-0.5, 0.8, heads, dtype=torch.float64).requires_grad_()  # one per query head
    out, _, weights = hsa_reference(*inputs, top_k, fusion_beta=beta)
    expected = loop_hsa(*inputs, top_k, beta)
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-10)
    probe = torch.randn_like(out)
    leaves = (*inputs, beta)
    grads = torch.autograd.grad((out * probe).sum(), leaves)
    expected_grads = torch.autograd.grad((expected * probe).sum(), leaves)
    for grad, expected_grad in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(grad, expected_grad, rtol=1e-9, atol=1e-10)
    assert grads[-1].abs().min() > 0  # beta learns
    # beta 0 is the operator without fusion
    plain, _, _ = hsa_reference(*inputs, top_k)
    zero, _, _ = hsa_reference(*inputs, top_k, fusion_beta=torch.zeros(heads, dtype=torch.float64))
    torch.testing.assert_close(zero, plain, rtol=0, atol=0)
    assert not torch.allclose(out, plain)


def test_a_chunk_holding_the_matched_key_outweighs_a_namesake_with_the_same_landmark():
    """Two chunks score alike by their landmarks (the same vector); one holds a key along the query. Without
    fusion they weigh the same; with beta > 0 the one the query's attention finds weighs more."""
    D, Dl, H = 16, 8, 4
    torch.manual_seed(0)
    T = 3 * S
    q = torch.zeros(1, T, H, D)
    q[0, -1, :, 0] = 8.0  # every query head asks along dimension 0
    k = torch.randn(1, T, 1, D) * 0.1
    k[0, S + 10, 0, 0] = 4.0  # chunk 1 holds the matching key; chunk 0 does not
    v = torch.randn(1, T, 1, D)
    landmarks = torch.ones(1, T // S, 1, Dl)
    retrieval_q = torch.ones(1, T, 1, Dl)
    _, indices, plain = hsa_reference(q, k, v, retrieval_q, landmarks, 2)
    _, _, fused = hsa_reference(q, k, v, retrieval_q, landmarks, 2, fusion_beta=torch.full((H,), 0.25))
    chunk1 = indices[0, -1, 0] == 1
    torch.testing.assert_close(plain[0, -1, 0], torch.tensor([0.5, 0.5]))
    assert fused[0, -1, 0][chunk1].item() > 0.9


@pytest.mark.parametrize("tokens,heads,kv_heads,dim,top_k", [(50, 16, 1, 32, 4), (37, 4, 2, 16, 2)])
def test_triton_operator_with_fusion_matches_reference(tokens, heads, kv_heads, dim, top_k):
    pytest.importorskip("triton")
    chunk = 16
    gen = torch.Generator().manual_seed(tokens)
    shapes = [(1, tokens, heads, dim), (1, tokens, kv_heads, dim), (1, tokens, kv_heads, dim),
              (1, tokens, kv_heads, 16), (1, tokens // chunk, kv_heads, 16)]
    inputs = [torch.randn(*s, generator=gen).requires_grad_() for s in shapes]
    beta = torch.linspace(0.6, -0.3, heads).requires_grad_()
    out, idx, w = hsa_attention(*inputs, top_k, chunk_size=chunk, impl="triton", fusion_beta=beta)
    ref, ref_idx, ref_w = hsa_attention(*inputs, top_k, chunk_size=chunk, impl="reference", fusion_beta=beta)
    assert torch.equal(idx, ref_idx)
    torch.testing.assert_close(w, ref_w, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)
    probe = torch.randn_like(out)
    leaves = (*inputs, beta)
    grads = torch.autograd.grad((out * probe).sum(), leaves, allow_unused=True, materialize_grads=True)
    ref_grads = torch.autograd.grad((ref * probe).sum(), leaves, allow_unused=True, materialize_grads=True)
    for grad, ref_grad in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(grad, ref_grad, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("impl", ["reference", "triton"])
def test_pool_path_with_fusion_equals_training_operator(impl):
    """Question tokens after a memory: pool_select + pool_attend with beta == hsa_reference with beta."""
    if impl == "triton":
        pytest.importorskip("triton")
    chunk, H, H_kv, D, Dl, n_memory, question, top_k = 16, 8, 2, 16, 16, 9, 21, 4
    gen = torch.Generator().manual_seed(3)
    T = n_memory * chunk + question
    q, k, v = (torch.randn(1, T, h, D, generator=gen) for h in (H, H_kv, H_kv))
    rq, lm = torch.randn(1, T, H_kv, Dl, generator=gen), torch.randn(1, T // chunk, H_kv, Dl, generator=gen)
    beta = torch.linspace(0.8, -0.2, H)
    ref_out, ref_idx, ref_w = hsa_reference(q, k, v, rq, lm, top_k, chunk_size=chunk, fusion_beta=beta)
    N = T // chunk
    chunk_k, chunk_v = (x[0, : N * chunk].reshape(N, chunk, H_kv, D) for x in (k, v))
    positions = torch.arange(n_memory * chunk, T)
    indices, scores = pool_select(rq[0, positions], lm[0], top_k, visible=positions // chunk, impl=impl)
    out, weights = pool_attend(q[0, positions], indices, scores, fetch_from_array(chunk_k, chunk_v, "cpu"),
                               impl=impl, fusion_beta=beta)
    torch.testing.assert_close(weights, ref_w[0, positions], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(out, ref_out[0, positions], atol=2e-6, rtol=1e-5)
    _, plain = pool_attend(q[0, positions], indices, scores, fetch_from_array(chunk_k, chunk_v, "cpu"),
                           impl=impl)
    assert not torch.allclose(plain, weights)


@pytest.mark.gpu
def test_gpu_fused_operator_within_the_bf16_budget():
    """bf16 on the kernels against the fp32 reference: within twice the bf16 reference's own error, for the
    output and every gradient (beta's too)."""
    from tests.kernels.test_fused import assert_within_budget

    gen = torch.Generator(device="cuda").manual_seed(7)
    shapes = [(2, 4096, 16, 64), (2, 4096, 1, 64), (2, 4096, 1, 64), (2, 4096, 1, 64), (2, 64, 1, 64)]
    base = [torch.randn(*s, generator=gen, device="cuda").to(torch.bfloat16) for s in shapes]
    probe = torch.randn(shapes[0], generator=gen, device="cuda")

    def run(impl, dtype, upcast=True):
        leaves = [x.to(dtype).requires_grad_() for x in base]
        leaves.append(torch.linspace(0.7, -0.2, 16, device="cuda").requires_grad_())
        if impl == "triton":
            out, _, _ = hsa_attention(*leaves[:5], 8, impl="triton", fusion_beta=leaves[5])
        else:
            out, _, _ = hsa_reference(*leaves[:5], 8, upcast=upcast, fusion_beta=leaves[5])
        return out, torch.autograd.grad(out, leaves, probe.to(out.dtype), allow_unused=True,
                                        materialize_grads=True)

    out, grads = run("triton", torch.bfloat16)
    high_out, high_grads = run("reference", torch.float32)
    low_out, low_grads = run("reference", torch.bfloat16, upcast=False)
    assert_within_budget("out", out, low_out, high_out)
    for name, grad, low, high in zip(("q", "k", "v", "rq", "lm", "beta"), grads, low_grads, high_grads,
                                     strict=True):
        assert_within_budget(f"d{name}", grad, low, high)
