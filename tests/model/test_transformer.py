import pytest
import torch

from model.config import ConfigError, ModelConfig
from model.transformer import Transformer, document_positions, pack_documents


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return Transformer(ModelConfig.from_name("hsa-tiny")).eval()


def random_docs(lengths, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(8, 16000, (n,), generator=g).tolist() for n in lengths]


def test_presets():
    tiny = ModelConfig.from_name("hsa-tiny")
    assert (tiny.d_model, tiny.n_layers, tiny.vocab_size, tiny.tie_embeddings) == (64, 4, 16384, True)
    mini = ModelConfig.from_name("hsa-mini")
    assert mini.hsa_layers == [4, 6] and mini.n_lower == 4
    assert mini.hsa_heads // mini.hsa_kv_heads == 16
    assert mini.memory_bytes_per_token <= 512
    n = Transformer(mini).num_params()
    assert 20e6 <= n <= 40e6
    assert ModelConfig.from_dict(mini.to_dict()) == mini
    with pytest.raises(ConfigError, match="unknown model preset"):
        ModelConfig.from_name("hsa-huge")
    with pytest.raises(ConfigError, match="hsa_heads"):
        ModelConfig.from_name("hsa-tiny", hsa_heads=6, hsa_kv_heads=4)
    # more layers below the chunk encoder than above (model/widen.py grows a trained model so)
    deep = ModelConfig.from_name("hsa-mini", n_layers=10, lower_layers=6)
    assert (deep.n_lower, deep.hsa_layers) == (6, [6, 8]) and ModelConfig.from_dict(deep.to_dict()) == deep
    assert 20e6 <= Transformer(deep).num_params() <= 40e6
    for bad, match in ((dict(n_layers=9), "even"), (dict(n_layers=10, lower_layers=10), "lower_layers"),
                       (dict(n_layers=10, lower_layers=5), "whole groups")):
        with pytest.raises(ConfigError, match=match):
            ModelConfig.from_name("hsa-mini", **bad)


def test_document_positions_restart():
    doc_ids = torch.tensor([[0, 0, 0, 1, 1, 2, 2, 2]])
    assert document_positions(doc_ids).tolist() == [[0, 1, 2, 0, 1, 0, 1, 2]]


def test_forward_shapes_loss_and_gradients(model):
    ids, doc_ids = pack_documents(random_docs([100, 70]), 64, 0)
    idx, docs = torch.tensor([ids]), torch.tensor([doc_ids])
    model.train()
    targets = torch.randint(8, 16000, idx.shape, generator=torch.Generator().manual_seed(3))
    logits, loss = model(idx, docs, targets)
    model.eval()
    assert logits.shape == (1, len(ids), 16384)
    assert abs(loss.item() - torch.log(torch.tensor(16384.0)).item()) < 1.0  # near uniform at init
    loss.backward()
    hsa = model.upper[0]
    for p in (hsa.wq.weight, hsa.w_retrieval.weight, model.encoder.w_landmark.weight, model.encoder.cls):
        assert p.grad is not None and p.grad.abs().sum() > 0
    model.zero_grad()


def test_documents_interact_only_through_hsa(model):
    """Changing an earlier document changes a later one's logits only via HSA; with HSA cut, not at all."""
    a, b, c = random_docs([128, 128, 90], seed=1)
    ids1, doc_ids = pack_documents([a, c], 64, 0)
    ids2, _ = pack_documents([b, c], 64, 0)
    docs = torch.tensor([doc_ids])
    with torch.no_grad():
        out1, _ = model(torch.tensor([ids1]), docs)
        out2, _ = model(torch.tensor([ids2]), docs)
        assert not torch.allclose(out1[0, 128:], out2[0, 128:])  # HSA reads the other document's chunks
        # the first chunk of c sees no chunk of its own and the window stops at the boundary, but HSA sees a/b
        hsa = model.upper[0]
        saved = hsa.wo.weight.clone()
        hsa.wo.weight.zero_()
        try:
            cut1, _ = model(torch.tensor([ids1]), docs)
            cut2, _ = model(torch.tensor([ids2]), docs)
        finally:
            hsa.wo.weight.copy_(saved)
    torch.testing.assert_close(cut1[0, 128:], cut2[0, 128:], rtol=0, atol=1e-5)


def test_window_is_causal_and_local(model):
    (doc,) = random_docs([128], seed=2)
    changed = list(doc)
    changed[100] = (changed[100] + 1) % 16000 + 8
    docs = torch.zeros(1, 128, dtype=torch.long)
    with torch.no_grad():
        out1, _ = model(torch.tensor([doc]), docs)
        out2, _ = model(torch.tensor([changed]), docs)
    torch.testing.assert_close(out1[0, :100], out2[0, :100], rtol=0, atol=0)  # the future never leaks back
    assert not torch.allclose(out1[0, 100:], out2[0, 100:])


def test_set_window_reads_with_a_shorter_window_and_back():
    torch.manual_seed(0)
    model = Transformer(ModelConfig.from_name("hsa-tiny")).eval()  # window 32
    (doc,) = random_docs([128], seed=3)
    idx, docs = torch.tensor([doc]), torch.zeros(1, 128, dtype=torch.long)
    with torch.no_grad():
        own, _ = model(idx, docs)
        model.set_window(8)
        short, _ = model(idx, docs)
        model.set_window(model.cfg.window)
        again, _ = model(idx, docs)
    torch.testing.assert_close(short[0, :8], own[0, :8], rtol=1e-5, atol=1e-5)  # the same tokens seen
    assert not torch.allclose(short[0, 8:], own[0, 8:], atol=1e-3)  # beyond 8 tokens back: less seen
    torch.testing.assert_close(again, own, rtol=0, atol=0)
