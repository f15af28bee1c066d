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


def test_only_the_named_tensors_are_averaged(tokenizer, tmp_path, capsys):
    a = checkpoint.save(tiny(0), tmp_path / "a", tokenizer, dtype=torch.bfloat16)
    b = checkpoint.save(tiny(1), tmp_path / "b", tokenizer, dtype=torch.bfloat16)
    out = tmp_path / "lower"
    assert average.main(["--models", str(a), str(b), "--shares", "0.5", "0.5", "--only", r"^(embed|lower)\.",
                         "--out", str(out)]) == 0
    assert "tensors matching" in capsys.readouterr().out
    soup, first, second = (checkpoint.load(p)[0].state_dict() for p in (out, a, b))
    mixed = [n for n in soup if n.startswith(("embed.", "lower."))]
    kept = [n for n in soup if n.startswith(("upper.", "encoder.")) and soup[n].is_floating_point()]
    assert mixed and kept
    for name in mixed:
        expected = (0.5 * first[name] + 0.5 * second[name]).to(torch.bfloat16).float()
        assert torch.allclose(soup[name], expected), name
    for name in kept:
        assert torch.equal(soup[name], first[name]), name
    assert average.main(["--models", str(a), str(b), "--only", "^nothing", "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("average: --only '^nothing' matches none") and "\n" not in err
    assert average.main(["--models", str(a), str(b), "--only", "(", "--out", str(tmp_path / "x")]) == 1
    assert capsys.readouterr().err.startswith("average: --only '(' is not a regular expression")
    assert not (tmp_path / "x").exists()
