import json

import pytest
import torch

from model import checkpoint
from model.checkpoint import CheckpointError
from model.config import ModelConfig
from model.tokenizer import Tokenizer
from model.transformer import Transformer


@pytest.fixture(scope="module")
def tokenizer():
    return Tokenizer.load()


@pytest.fixture
def saved(tmp_path, tokenizer):
    torch.manual_seed(0)
    model = Transformer(ModelConfig.from_name("hsa-tiny", ffn="moe"))
    with torch.no_grad():
        model.moe_layers()[0].route_bias.fill_(0.25)  # buffers travel with the weights
    # a small shard limit forces several shards and a split embedding (16384 x 64 fp32 = 4 MiB)
    folder = checkpoint.save(model, tmp_path / "model", tokenizer, shard_bytes=1 << 20)
    return model, folder


def test_round_trip(saved):
    model, folder = saved
    loaded, tok = checkpoint.load(folder)
    assert loaded.cfg == model.cfg and tok.vocab_size == 16384
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    idx = torch.randint(8, 16000, (1, 64))
    with torch.no_grad():
        assert torch.equal(model.eval()(idx, torch.zeros_like(idx))[0], loaded(idx, torch.zeros_like(idx))[0])
    assert checkpoint.fingerprint(model) == checkpoint.fingerprint(folder) == checkpoint.fingerprint(loaded)


def test_shards_at_most_16_mib_and_no_pickle(tmp_path, tokenizer):
    model = Transformer(ModelConfig.from_name("hsa-mini"))  # 70 MB of fp32, a 32 MiB embedding
    folder = checkpoint.save(model, tmp_path / "mini", tokenizer)
    shards = sorted(folder.glob("*.safetensors"))
    assert len(shards) >= 5
    assert all(p.stat().st_size <= 16 * 1024 * 1024 for p in shards)
    assert not list(folder.glob("*.bin")) and not list(folder.glob("*.pt"))
    assert checkpoint.fingerprint(folder) == checkpoint.fingerprint(model)


def test_fingerprint_tracks_weights(saved):
    model, _ = saved
    before = checkpoint.fingerprint(model)
    with torch.no_grad():
        model.embed.weight[0, 0] += 1e-3
    assert checkpoint.fingerprint(model) != before


def damage(folder, how):
    shard = sorted(folder.glob("*.safetensors"))[1]
    if how == "missing folder":
        return folder.parent / "nowhere"
    if how == "missing shard":
        shard.unlink()
    elif how == "flipped byte":
        data = bytearray(shard.read_bytes())
        data[len(data) // 2] ^= 0xFF
        shard.write_bytes(bytes(data))
    elif how == "truncated shard":
        shard.write_bytes(shard.read_bytes()[:1000])
    elif how == "bad config":
        (folder / "config.json").write_text("{not json")
    elif how == "wrong config":
        cfg = json.loads((folder / "config.json").read_text())
        cfg["d_model"] = 96
        (folder / "config.json").write_text(json.dumps(cfg))
    elif how == "no tokenizer":
        (folder / "tokenizer.json").unlink()
    elif how == "no index":
        (folder / checkpoint.INDEX_NAME).unlink()
    return folder


@pytest.mark.parametrize("how,message", [
    ("missing folder", "does not exist"),
    ("missing shard", "is missing"),
    ("flipped byte", "damaged"),
    ("truncated shard", "damaged"),
    ("bad config", "config.json is invalid"),
    ("wrong config", "shape"),
    ("no tokenizer", "tokenizer.json"),
    ("no index", "model.index.json"),
])
def test_damaged_folder_gives_one_clear_line(saved, how, message):
    folder = damage(saved[1], how)
    with pytest.raises(CheckpointError) as info:
        checkpoint.load(folder)
    text = str(info.value)
    assert message in text and str(folder) in text and "\n" not in text
