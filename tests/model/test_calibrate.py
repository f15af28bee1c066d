"""The landmark centre (model/calibrate.py): same answers in exact arithmetic, sharper chunk scores in bf16,
and a folder that is replaced whole or not at all."""

import json

import pytest
import torch

from model import calibrate, checkpoint
from model.config import ModelConfig
from model.data.stream import TrainStream
from model.tokenizer import Tokenizer
from model.train import main as train
from model.train_monitor import training_corpus
from model.transformer import Transformer
from tests.benchmarks.conftest import build_corpus
from tests.model.test_train import TINY


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer.load()


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory, tokenizer):
    return build_corpus(tmp_path_factory.mktemp("calibrate"), tokenizer)


def shared_state_model() -> Transformer:
    """A random hsa-tiny whose CLS states share most of their length, as hsa-mini's do (norm 65, 8 apart)."""
    torch.manual_seed(0)
    model = Transformer(ModelConfig.from_name("hsa-tiny")).eval()
    with torch.no_grad():
        model.encoder.cls.mul_(400.0)  # the CLS row then dominates each chunk's encoder state
    return model


def rows(tokenizer, corpus_dir, n=2, seq_len=512, seed=3):
    stream = TrainStream(training_corpus(corpus_dir), tokenizer, seq_len=seq_len, seed=seed,
                         task_share=0.0, qa_share=0.0)
    return stream, stream.next_batch(n)[:2]


def landmarks(model, idx, doc_ids, bf16: bool) -> torch.Tensor:
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        return model.encode_lower(idx, doc_ids)[2].landmarks.float()


def test_centring_changes_no_answer_in_fp32_and_keeps_chunk_differences_in_bf16(tokenizer, corpus_dir):
    model = shared_state_model()
    stream, (idx, doc_ids) = rows(tokenizer, corpus_dir)
    centred = calibrate.with_center(model)
    assert calibrate.calibrate(centred, stream, rows=4) > 0
    assert centred.encoder.landmark_center.norm() > 1.0
    with torch.no_grad():  # in float64: fp32 rounding alone can flip a near tie of two chunks' scores
        plain_logits, _ = model.double()(idx, doc_ids)
        centred_logits, _ = centred.double()(idx, doc_ids)
    model.float()
    centred.float()
    # one vector off every landmark: the chunk scores of a query all move together, so nothing changes
    torch.testing.assert_close(centred_logits, plain_logits, atol=1e-6, rtol=1e-6)

    def spread_error(m):  # how far bf16 moves the landmarks' differences from chunk 0 (what scores compare)
        exact, rounded = landmarks(m, idx, doc_ids, False), landmarks(m, idx, doc_ids, True)
        return ((rounded - rounded[:, :1]) - (exact - exact[:, :1])).abs().mean() / (
            exact - exact[:, :1]).abs().mean()

    assert spread_error(centred) * 4 < spread_error(model)


def test_calibrate_cli_replaces_the_folder_and_leaves_it_alone_on_bad_input(tokenizer, corpus_dir, tmp_path,
                                                                           capsys):
    folder = checkpoint.save(shared_state_model(), tmp_path / "m", tokenizer, dtype=torch.bfloat16)
    (folder / "trainer.json").write_text('{"step": 7}')
    assert "landmark_center" not in json.loads((folder / "config.json").read_text())
    before = checkpoint.fingerprint(folder)

    assert calibrate.main(["--model", str(tmp_path / "nowhere"), "--corpus", str(corpus_dir)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("calibrate: ") and "\n" not in err
    assert calibrate.main(["--model", str(folder), "--corpus", str(corpus_dir), "--tokens", "0",
                           "--seq-len", "100"]) == 1
    assert "seq_len" in capsys.readouterr().err
    assert checkpoint.fingerprint(folder) == before  # a failed run leaves the folder as it was

    assert calibrate.main(["--model", str(folder), "--corpus", str(corpus_dir), "--tokens", "1024",
                           "--seq-len", "512", "--device", "cpu"]) == 0
    assert checkpoint.fingerprint(folder) != before  # memories built with the old landmarks are rebuilt
    model, _ = checkpoint.load(folder)
    assert model.cfg.landmark_center and model.encoder.landmark_center.norm() > 1.0
    assert json.loads((folder / "trainer.json").read_text()) == {"step": 7}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no staging folder left behind


def test_training_from_a_centred_model_keeps_its_centre_and_resumes(tokenizer, corpus_dir, tmp_path):
    model = calibrate.with_center(shared_state_model())
    stream, _ = rows(tokenizer, corpus_dir)
    calibrate.calibrate(model, stream, rows=2)
    start = checkpoint.save(model, tmp_path / "start", tokenizer)
    train(["--out", str(tmp_path / "run"), "--corpus", str(corpus_dir), "--init", str(start),
           "--max-steps", "2", "--plan-steps", "4", *TINY])
    tuned, _ = checkpoint.load(tmp_path / "run" / "model")
    assert tuned.cfg.landmark_center
    torch.testing.assert_close(tuned.encoder.landmark_center,
                               model.encoder.landmark_center.bfloat16().float())
    before = model.encoder.w_landmark.weight.bfloat16().float()
    assert not torch.equal(tuned.encoder.w_landmark.weight, before)  # it did train
    # a later stretch of the same run resumes from its state with nothing said about the centre
    train(["--out", str(tmp_path / "run"), "--corpus", str(corpus_dir), "--resume", str(tmp_path / "run"),
           "--max-steps", "3", "--plan-steps", "4", *TINY])
    resumed, _ = checkpoint.load(tmp_path / "run" / "model")
    assert resumed.cfg.landmark_center
    torch.testing.assert_close(resumed.encoder.landmark_center, tuned.encoder.landmark_center)
    assert json.loads((tmp_path / "run" / "model" / "trainer.json").read_text())["step"] == 3
