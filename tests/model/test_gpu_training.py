"""The model on the H200: a packed bf16 training step through the Triton kernels, compared with fp32."""

import pytest
import torch

from model.config import ModelConfig
from model.transformer import Transformer, pack_documents

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


def packed_batch(cfg: ModelConfig, lengths: list[int], seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    docs = [torch.randint(8, cfg.vocab_size, (n,), generator=g).tolist() for n in lengths]
    ids, doc_ids = pack_documents(docs, cfg.chunk_size, pad_id=0)
    return torch.tensor([ids], device="cuda"), torch.tensor([doc_ids], device="cuda")


def test_bf16_training_step_matches_fp32_and_reaches_every_hsa_parameter() -> None:
    torch.manual_seed(0)
    cfg = ModelConfig.from_name("hsa-mini")
    model = Transformer(cfg).cuda()
    idx, doc_ids = packed_batch(cfg, [1500, 700, 1900], seed=1)  # 4,096 tokens after padding
    targets = idx.roll(-1, dims=1)

    with torch.autocast("cuda", dtype=torch.bfloat16):
        logits, loss = model(idx, doc_ids, targets)
    loss.backward()
    assert torch.isfinite(loss)
    grads = {name: p.grad for name, p in model.named_parameters()}
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values())
    # The retrieval query and the landmark projection learn only through the fusion weights.
    hsa_grads = [name for name, g in grads.items() if ("retrieval" in name or "landmark" in name)]
    assert hsa_grads and all(grads[name].abs().sum() > 0 for name in hsa_grads)

    with torch.no_grad():
        reference, _ = model.float()(idx, doc_ids)  # fp32, no autocast: same model, full precision
    error = (logits.float() - reference).norm() / reference.norm()
    assert error < 3e-2, f"bf16 logits differ from fp32 by {error:.3e}"
