"""The PyTorch reference (the specification) against explicit per-token loops and its stated properties."""

from __future__ import annotations

import math

import pytest
import torch

from kernels.hsa import hsa_attention
from kernels.hsa.reference import (
    attend_chunks,
    chunk_weights,
    fuse,
    hsa_reference,
    score_chosen,
    select_chunks,
)

S = 64


def make_inputs(batch, tokens, heads, kv_heads, dim, landmark_dim, dtype=torch.float64, seed=0):
    gen = torch.Generator().manual_seed(seed)

    def rand(*shape):
        return torch.randn(*shape, generator=gen, dtype=dtype).requires_grad_()

    return (
        rand(batch, tokens, heads, dim),
        rand(batch, tokens, kv_heads, dim),
        rand(batch, tokens, kv_heads, dim),
        rand(batch, tokens, kv_heads, landmark_dim),
        rand(batch, tokens // S, kv_heads, landmark_dim),
    )


def loop_hsa(q, k, v, retrieval_q, landmarks, top_k, beta=None):
    """The operator written token by token, head by head, straight from the issue's words; with beta (H,),
    LSE fusion: the chunks' softmax also reads, summed over the KV head's query heads, each head's beta times
    its in-chunk log-sum-exp."""
    batch, tokens, heads, dim = q.shape
    kv_heads, landmark_dim = k.shape[2], retrieval_q.shape[3]
    group = heads // kv_heads
    out = torch.zeros_like(q)
    for b in range(batch):
        for t in range(tokens):
            for h in range(kv_heads):
                visible = [i for i in range(landmarks.shape[1]) if (i + 1) * S <= t]
                scored = [(float(retrieval_q[b, t, h].detach() @ landmarks[b, i, h].detach()), i)
                          for i in visible]
                chosen = [i for _, i in sorted(scored, reverse=True)[:top_k]]
                if not chosen:
                    continue
                logits = [[k[b, i * S:(i + 1) * S, h] @ q[b, t, h * group + g] / math.sqrt(dim)
                           for g in range(group)] for i in chosen]
                scores = torch.stack([retrieval_q[b, t, h] @ landmarks[b, i, h] for i in chosen])
                scores = scores / math.sqrt(landmark_dim)
                if beta is not None:
                    scores = scores + torch.stack([sum(beta[h * group + g] * x.logsumexp(0)
                                                       for g, x in enumerate(row)) for row in logits])
                weights = torch.softmax(scores, 0)
                for g in range(group):
                    head = h * group + g
                    for weight, i, row in zip(weights, chosen, logits, strict=True):
                        values = v[b, i * S:(i + 1) * S, h]
                        out[b, t, head] = out[b, t, head] + weight * (torch.softmax(row[g], 0) @ values)
    return out


@pytest.mark.parametrize("tokens,heads,kv_heads,top_k", [(130, 4, 2, 3), (193, 1, 1, 2), (65, 1, 1, 4)])
def test_reference_matches_token_loop(tokens, heads, kv_heads, top_k):
    inputs = make_inputs(2, tokens, heads, kv_heads, 8, 6)
    out, _, _ = hsa_reference(*inputs, top_k)
    expected = loop_hsa(*inputs, top_k)
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-10)
    probe = torch.randn_like(out)
    grads = torch.autograd.grad((out * probe).sum(), inputs)
    expected_grads = torch.autograd.grad((expected * probe).sum(), inputs)
    for grad, expected_grad in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(grad, expected_grad, rtol=1e-9, atol=1e-10)


def test_selection_respects_visibility_and_pads_empty_slots():
    _, _, _, retrieval_q, landmarks = make_inputs(1, 4 * S + 5, 1, 2, 8, 6)
    indices, scores = select_chunks(retrieval_q, landmarks, top_k=6, chunk_size=S)
    for t in range(indices.shape[1]):
        visible = t // S
        chosen = indices[0, t]
        assert (chosen[:, :min(visible, 6)] >= 0).all(), t
        assert (chosen[:, visible:] == -1).all(), t
        assert (chosen[chosen >= 0] < visible).all(), t  # never the token's own chunk or a later one
        assert torch.isneginf(scores[0, t][chosen < 0]).all()
    # descending order of the chosen scores
    finite = scores.masked_fill(torch.isneginf(scores), -1e30)
    assert (finite[..., :-1] >= finite[..., 1:]).all()


def test_selection_keeps_the_best_scores():
    _, _, _, retrieval_q, landmarks = make_inputs(1, 20 * S, 1, 1, 8, 6)
    indices, scores = select_chunks(retrieval_q, landmarks, top_k=3, chunk_size=S)
    t = 20 * S - 1
    all_scores = (landmarks[0, :, 0] @ retrieval_q[0, t, 0]) / math.sqrt(6)
    best = torch.topk(all_scores[: t // S], 3)
    assert indices[0, t, 0].tolist() == best.indices.tolist()
    torch.testing.assert_close(scores[0, t, 0], best.values)
    torch.testing.assert_close(score_chosen(retrieval_q, landmarks, indices), scores)


def test_token_without_visible_chunk_outputs_zero_and_weights_are_a_distribution():
    inputs = make_inputs(2, 3 * S, 4, 1, 8, 6)
    out, indices, weights = hsa_reference(*inputs, top_k=5)
    assert (out[:, :S] == 0).all()  # tokens 0..63 see no chunk; token 64 sees chunk 0 (it ends at 64)
    assert (out[:, S] != 0).any()
    torch.testing.assert_close(weights[:, S:].sum(-1), torch.ones_like(weights[:, S:, :, 0]))
    assert (weights[:, :S] == 0).all() and (weights[indices < 0] == 0).all()
    assert weights.dtype == torch.float32 and indices.dtype == torch.int64


def test_partial_last_chunk_is_never_visible_and_gets_no_gradient():
    q, k, v, retrieval_q, landmarks = make_inputs(1, 2 * S + 37, 2, 1, 8, 6)
    out, indices, _ = hsa_reference(q, k, v, retrieval_q, landmarks, top_k=4)
    assert indices.max() <= 1
    out.square().sum().backward()
    assert (k.grad[:, 2 * S:] == 0).all() and (v.grad[:, 2 * S:] == 0).all()
    assert k.grad[:, :S].abs().sum() > 0


def test_no_gradient_through_the_choice_but_through_the_weights():
    q, k, v, retrieval_q, landmarks = make_inputs(1, 3 * S, 2, 1, 8, 6)
    out, indices, weights = hsa_reference(q, k, v, retrieval_q, landmarks, top_k=2)
    grad_rq, grad_lm = torch.autograd.grad(out.sum(), (retrieval_q, landmarks))
    # a token with a single visible chunk has weight 1 whatever its score: no gradient to its retrieval query
    assert (grad_rq[:, :2 * S] == 0).all()
    assert grad_rq[:, 2 * S:].abs().amax(dim=-1).gt(0).all()  # two chunks: the weights depend on it
    # chunk 2 is never chosen (visible to no token of 3 chunks): no gradient to its landmark
    assert (grad_lm[:, 2] == 0).all()


def test_gradcheck_of_stages_in_float64():
    q, k, v, retrieval_q, landmarks = make_inputs(1, 3 * S + 3, 4, 2, 4, 3)
    indices, _ = select_chunks(retrieval_q, landmarks, 2, S)

    def stages(q, k, v, retrieval_q, landmarks):
        scores = score_chosen(retrieval_q, landmarks, indices)
        return fuse(attend_chunks(q, k, v, indices, S, None), scores)[0]

    inputs = (q, k, v, retrieval_q, landmarks)
    assert torch.autograd.gradcheck(stages, inputs, eps=1e-6, atol=1e-6, fast_mode=True)


def test_chunk_weights_gradient_is_finite_on_empty_rows():
    scores = torch.full((2, 3), float("-inf"), dtype=torch.float64)
    scores[1, 0] = 0.5
    scores.requires_grad_()
    weights = chunk_weights(scores)
    assert weights.tolist() == [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    weights.sum().backward()
    assert torch.isfinite(scores.grad).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_chunk_weights_stay_finite_when_every_score_is_far_below_zero(dtype):
    # a trained model's landmarks reach norms of ~200: a token that sees one chunk scored -90 got NaN weights
    # (exp(90) overflows, times the 0 of an empty slot), and its NaN spread through the row
    inf = float("inf")
    scores = torch.tensor([[-90.8, -inf, -inf], [-500.0, -502.0, -inf]], dtype=dtype)
    scores.requires_grad_()
    weights = chunk_weights(scores)
    expected = torch.tensor([[1.0, 0.0, 0.0], [1 / (1 + math.exp(-2)), 1 / (1 + math.exp(2)), 0.0]])
    torch.testing.assert_close(weights, expected)
    weights[:, 0].sum().backward()
    assert torch.isfinite(scores.grad).all()


def test_dispatch_uses_reference_on_cpu_and_rejects_unknown_impl():
    inputs = [x.detach().float() for x in make_inputs(1, 2 * S, 2, 1, 8, 6)]
    out, indices, weights = hsa_attention(*inputs, 2)
    ref_out, ref_indices, _ = hsa_reference(*inputs, 2)
    assert torch.equal(out, ref_out) and torch.equal(indices, ref_indices)
    with pytest.raises(ValueError, match="impl must be one of"):
        hsa_attention(*inputs, 2, impl="cuda")


def test_low_precision_reference_stays_close():
    inputs64 = make_inputs(1, 2 * S + 9, 4, 1, 16, 8)
    indices, scores = select_chunks(inputs64[3], inputs64[4], 3, S)
    high = fuse(attend_chunks(*inputs64[:3], indices, S, None), scores)[0]
    low = fuse(attend_chunks(*(x.half() for x in inputs64[:3]), indices, S, None), scores.float())[0]
    assert low.dtype == torch.float16
    error = (low.double() - high).abs().max().item()
    assert 0 < error < 1e-2
