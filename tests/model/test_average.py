"""Weight averages of model folders (model/average.py): the mean of the weights, or a clear refusal."""

import pytest
import torch

from model import average, checkpoint
from model.config import ModelConfig
from model.tokenizer import Tokenizer
from model.transformer import Transformer


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer.load()


def tiny(seed: int, **overrides) -> Transformer:
    torch.manual_seed(seed)
    return Transformer(ModelConfig.from_name("hsa-tiny", **overrides)).eval()


def test_the_average_is_the_weighted_sum_and_loads_as_a_model(tokenizer, tmp_path, capsys):
    a = checkpoint.save(tiny(0), tmp_path / "a", tokenizer, dtype=torch.bfloat16)
    b = checkpoint.save(tiny(1), tmp_path / "b", tokenizer, dtype=torch.bfloat16)
    (a / "trainer.json").write_text("{}")  # a training run's state: not the average's
    out = tmp_path / "soup" / "model"
    assert average.main(["--models", str(a), str(b), "--shares", "0.25", "0.75", "--out", str(out)]) == 0
    assert "0.25 x" in capsys.readouterr().out
    soup, _ = checkpoint.load(out)
    first, _ = checkpoint.load(a)
    second, _ = checkpoint.load(b)
    for name, tensor in soup.state_dict().items():
        expected = 0.25 * first.state_dict()[name] + 0.75 * second.state_dict()[name]
        assert torch.allclose(tensor, expected.to(torch.bfloat16).float()), name
    assert not (out / "trainer.json").exists()
    assert checkpoint.fingerprint(out) not in (checkpoint.fingerprint(a), checkpoint.fingerprint(b))


def test_a_model_averaged_with_itself_answers_as_before():
    model = tiny(0)
    same = average.average([model, model], [0.5, 0.5])
    idx = torch.randint(0, model.cfg.vocab_size, (1, 256))
    doc_ids = torch.zeros_like(idx)
    with torch.no_grad():
        assert torch.allclose(same(idx, doc_ids)[0], model(idx, doc_ids)[0], atol=1e-5)


def test_models_of_other_shapes_or_bad_shares_are_refused(tokenizer, tmp_path, capsys):
    a = checkpoint.save(tiny(0), tmp_path / "a", tokenizer)
    longer = ModelConfig.from_name("hsa-tiny").window * 2
    wide = checkpoint.save(tiny(1, window=longer), tmp_path / "w", tokenizer)
    out = tmp_path / "soup"
    assert average.main(["--models", str(a), str(wide), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("average: the models differ in window") and "\n" not in err
    assert average.main(["--models", str(a), str(a), "--shares", "0.5", "0.6", "--out", str(out)]) == 1
    assert "sum to 1" in capsys.readouterr().err
    assert not out.exists()
