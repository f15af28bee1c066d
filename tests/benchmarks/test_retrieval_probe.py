import torch

from benchmarks.retrieval_probe import Scorer, accuracy, collect, main, train_scorer
from model import checkpoint
from model.data.stream import TrainStream
from model.train_monitor import training_corpus


def test_the_models_own_scorer_is_its_chunk_choice_and_a_trained_one_fits_better(tiny_model_dir, corpus_dir,
                                                                                  tokenizer):
    model, _ = checkpoint.load(tiny_model_dir)
    def stream():
        return TrainStream(training_corpus(corpus_dir), tokenizer, seq_len=1024, seed=0, task_share=0.0,
                           qa_share=1.0, questions_per_row=1, namesake_share=1.0)

    data = collect(model, stream(), rows=4, device=torch.device("cpu"))
    again = stream()  # the first row with a chunk to retrieve: its CLS states are what the landmarks read
    while not bool(((row := again.next_batch(1, answers=True))[4] >= 0).any()):
        pass
    with torch.no_grad():
        landmarks = model.encode_lower(row[0], row[1])[2].landmarks[0, :, 0]
        torch.testing.assert_close(model.encoder.w_landmark(data.chunks[0]), landmarks)
    assert data.queries and all(len(q[0]) == len(t) for q, t in zip(data.queries, data.targets, strict=True))
    assert all(bool((t < v).all()) for t, v in zip(data.targets, data.visible, strict=True))  # visible chunks
    layer = model.upper[0]
    own = Scorer(layer.w_retrieval.weight.detach(), model.encoder.w_landmark.weight.detach(), 16)
    # the own scorer is the model's own score: rq . landmark / sqrt(Dl)
    q, c = data.queries[0][0], data.chunks[0]
    rq, lm = layer.w_retrieval(q), model.encoder.w_landmark(c)
    torch.testing.assert_close(own(q, c), rq @ lm.T / 4)
    before, _ = accuracy(own, data, 0)
    wide = Scorer(layer.w_retrieval.weight.detach(), model.encoder.w_landmark.weight.detach(), 64)
    after, _ = accuracy(train_scorer(wide, data, 0, epochs=30, lr=1e-2), data, 0)
    assert after > before  # an untrained model's chunk choice, fitted on its own rows


def test_the_cli_writes_its_table(tiny_model_dir, corpus_dir, tmp_path):
    out = tmp_path / "probe.md"
    assert main(["--model", str(tiny_model_dir), "--corpus", str(corpus_dir), "--seq-len", "256",
                 "--train-rows", "2", "--eval-rows", "2", "--device", "cpu"]) == 1  # too short to ask
    # one corpus folder as both splits (the test corpus's held-out files are too small to ask about)
    assert main(["--model", str(tiny_model_dir), "--corpus", str(corpus_dir / "train"), "--seq-len", "4096",
                 "--train-rows", "2", "--eval-rows", "2", "--epochs", "1", "--device", "cpu",
                 "--out", str(out)]) == 0
    table = out.read_text()
    assert "| 0 | trained, rank 64 |" in table and "held-out positions" in table
    assert main(["--model", str(tmp_path / "none"), "--corpus", str(corpus_dir)]) == 1
