"""Sliding-window attention (blocked SDPA) against dense masked attention, across document boundaries."""

import pytest
import torch

from model.layers import windowed_attention


def dense_mask(doc_ids: torch.Tensor, window: int) -> torch.Tensor:
    """(B, T) -> (B, T, T): token i sees token j iff same document and 0 <= i - j < window."""
    i = torch.arange(doc_ids.shape[1], device=doc_ids.device)
    offset = i[:, None] - i[None, :]
    return (offset >= 0) & (offset < window) & (doc_ids[:, :, None] == doc_ids[:, None, :])


def reference(q, k, v, doc_ids, window):
    """Plain masked softmax attention over the whole sequence, in float64."""
    scores = torch.einsum("bqhd,bkhd->bhqk", q.double(), k.double()) / q.shape[-1] ** 0.5
    scores = scores.masked_fill(~dense_mask(doc_ids, window)[:, None], float("-inf"))
    return torch.einsum("bhqk,bkhd->bqhd", scores.softmax(-1), v.double())


def doc_ids_with_boundaries(B: int, T: int, cuts: list[list[int]], device="cpu") -> torch.Tensor:
    doc_ids = torch.zeros(B, T, dtype=torch.long, device=device)
    for b, row in enumerate(cuts):
        for n, cut in enumerate(row, start=1):
            doc_ids[b, cut:] = n
    return doc_ids


CASES = [  # (T, window, document starts per row): odd lengths, boundaries mid-block and on block edges
    (1, 4, [[]]),
    (37, 8, [[5, 6, 20], [36]]),
    (129, 16, [[16, 17, 100], []]),
    (300, 100, [[90, 250], [200]]),
    (517, 128, [[128, 129, 383], [1, 512]]),
    (777, 512, [[300, 700], [511, 512, 513]]),
]


def inputs(T, window, cuts, device="cpu", dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    B, H, D = len(cuts), 2, 16
    q, k, v = (torch.randn(B, T, H, D, generator=g).to(device, dtype) for _ in range(3))
    return q, k, v, doc_ids_with_boundaries(B, T, cuts, device)


@pytest.mark.parametrize("T,window,cuts", CASES)
def test_window_attention_matches_dense_reference(T, window, cuts):
    q, k, v, doc_ids = inputs(T, window, cuts)
    want = reference(q, k, v, doc_ids, window)
    got = windowed_attention(q, k, v, doc_ids, window)
    assert got.shape == q.shape and got.dtype == q.dtype
    torch.testing.assert_close(got.double(), want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("T,window,block,cuts", [
    (300, 100, 32, [[90, 250], [200]]),  # blocks shorter than the window, a window no multiple of them
    (777, 512, 128, [[300, 700], [511, 512, 513]]),
    (1100, 1024, 512, [[5, 1030], []]),  # a long window: the same tokens seen as by the dense reference
])
def test_query_blocks_shorter_than_the_window_see_the_same_tokens(T, window, block, cuts):
    q, k, v, doc_ids = inputs(T, window, cuts, seed=1)
    want = reference(q, k, v, doc_ids, window)
    got = windowed_attention(q, k, v, doc_ids, window, block=block)
    torch.testing.assert_close(got.double(), want, atol=1e-5, rtol=1e-5)


def test_a_document_computes_the_same_whatever_follows_it():
    q, k, v, doc_ids = inputs(700, 600, [[]], seed=2)  # one row, one document, blocks of 512 < the window
    whole = windowed_attention(q, k, v, doc_ids, 600)
    cut = windowed_attention(q[:, :450], k[:, :450], v[:, :450], doc_ids[:, :450], 600)
    torch.testing.assert_close(cut, whole[:, :450], rtol=0, atol=0)
