import torch

from model.config import ModelConfig
from model.layers import MoE
from model.transformer import Transformer


def make_moe(**overrides) -> MoE:
    torch.manual_seed(0)
    cfg = ModelConfig.from_name("hsa-tiny", ffn="moe", n_experts=4, expert_top_k=2, **overrides)
    moe = MoE(cfg)
    for p in (moe.w_in, moe.w_out):
        torch.nn.init.normal_(p, std=0.1)
    return moe


def test_each_token_reaches_exactly_k_experts():
    moe = make_moe().eval()
    x = torch.randn(3, 50, 64)
    chosen, gates = moe.route(x.reshape(-1, 64))
    assert chosen.shape == (150, 2)
    assert all(len(set(row)) == 2 for row in chosen.tolist())
    torch.testing.assert_close(gates.sum(-1), torch.ones(150))
    out = moe(x).reshape(-1, 64)
    # knocking out an expert changes exactly the tokens routed to it
    with torch.no_grad():
        moe.w_out[1].zero_()
    changed = (moe(x).reshape(-1, 64) - out).abs().amax(-1) > 0
    assert torch.equal(changed, (chosen == 1).any(-1))


def test_output_is_shared_expert_plus_gated_chosen_experts():
    moe = make_moe().eval()
    x = torch.randn(10, 64)
    chosen, gates = moe.route(x)
    expected = moe.shared(x)
    for t in range(10):
        for slot in range(2):
            e = chosen[t, slot]
            gate, up = (x[t] @ moe.w_in[e]).chunk(2)
            expected[t] += gates[t, slot] * (torch.nn.functional.silu(gate) * up) @ moe.w_out[e]
    torch.testing.assert_close(moe(x), expected, rtol=1e-5, atol=1e-6)


def test_bias_balancing_moves_load_to_underused_experts():
    moe = make_moe(bias_update_rate=0.02).train()
    with torch.no_grad():
        moe.router.weight[0] += 0.5  # expert 0 is everyone's favourite
    x = torch.randn(512, 64).abs()  # positive inputs: the shift above raises expert 0's affinity
    loads = []
    for _ in range(60):
        moe(x)
        loads.append(moe.expert_load.clone())
        moe.update_bias()
    first, last = loads[0], torch.stack(loads[-20:]).mean(0)  # balanced load oscillates: average it
    assert first[0] == 512  # at first every token picks expert 0
    assert last[0] < first[0]
    assert last.min() > first.min()
    assert (last.max() - last.min()) < (first.max() - first.min()) / 2
    assert moe.route_bias[0] < 0 < moe.route_bias[1:].max()


def test_model_level_update_and_bias_is_saved():
    model = Transformer(ModelConfig.from_name("hsa-tiny", ffn="moe"))
    assert len(model.moe_layers()) == 5  # 4 layers + the chunk encoder
    assert any(name.endswith("route_bias") for name in model.state_dict())
    assert not any(name.endswith("expert_load") for name in model.state_dict())
    model.train()
    idx = torch.randint(8, 16000, (1, 128))
    model(idx, torch.zeros_like(idx))
    model.update_moe_biases()
    assert all(m.route_bias.abs().sum() > 0 and m.expert_load.sum() == 0 for m in model.moe_layers())


def test_moe_model_trains_under_bf16_autocast():
    # the GPU trainer runs the forward under bf16 autocast: expert outputs (bf16) go into an fp32 buffer
    cfg = ModelConfig.from_name("hsa-tiny", ffn="moe")
    model = Transformer(cfg)
    idx = torch.randint(8, cfg.vocab_size, (1, 128))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        _, loss = model(idx, torch.zeros_like(idx), idx)
    loss.backward()
    assert torch.isfinite(loss) and model.embed.weight.grad is not None
