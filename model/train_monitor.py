"""What training reads besides its batches: the corpus folders, and the needle monitor.

A corpus folder of `python -m model.data.build` holds train/ and heldout/ (Corpus folders) and split.json.
The monitor asks single-needle questions against haystacks of held-out text at 1x and 4x the current
training length and logs exact-match accuracy, the share of answers whose top chunk holds the needle (the
retrieval behind citations), and the teacher-forced loss of the answer (a smooth signal while the accuracy is
still zero), in a few seconds on the GPU.
"""

import time
from collections.abc import Sequence
from pathlib import Path

from model.data.corpus import Corpus
from model.tokenizer import Tokenizer
from model.train_eval import Haystack, needle_samples
from model.transformer import Transformer


def is_corpus(folder: Path) -> bool:
    return (folder / "meta.json").is_file() and (folder / "tokens.npy").is_file()


def training_corpus(folder: Path) -> Corpus:
    """The train split of a build folder (or a Corpus folder given directly)."""
    folder = Path(folder)
    for candidate in (folder / "train", folder):
        if is_corpus(candidate):
            return Corpus.load(candidate)
    raise SystemExit(f"{folder} is neither a corpus folder nor a build folder with train/ "
                     f"(python -m model.data.build --out {folder})")


def heldout_corpus(folder: Path) -> Corpus | None:
    """The held-out split of a build folder, or a Corpus folder given directly; None if it has none."""
    folder = Path(folder)
    if is_corpus(folder / "heldout"):
        corpus = Corpus.load(folder / "heldout")
    elif is_corpus(folder) and not (folder / "train").is_dir():
        corpus = Corpus.load(folder)
    else:
        return None
    return corpus if len(corpus) else None


class NeedleMonitor:
    def __init__(self, corpus: Corpus, tokenizer: Tokenizer, samples: int, factors: Sequence[int] = (1, 4),
                 kinds: Sequence[str] = ("single",), seed: int = 0):
        self.corpus, self.tokenizer, self.samples = corpus, tokenizer, samples
        self.factors, self.kinds, self.seed = tuple(factors), tuple(kinds), seed
        self.haystacks: dict[int, Haystack] = {}

    def __call__(self, model: Transformer, seq_len: int) -> dict[str, float | None]:
        """needle_acc@N, needle_cited@N, needle_loss@N for N = factor x seq_len (None where no held-out
        document fits in N tokens), and monitor_s, the seconds it took."""
        if model.cfg.attention != "hsa":
            return {}
        start = time.monotonic()
        out: dict[str, float | None] = {}
        for factor in self.factors:
            length = seq_len * factor
            if length not in self.haystacks:
                try:
                    self.haystacks[length] = Haystack.from_corpus(self.corpus, length, model.cfg.chunk_size,
                                                                  self.seed)
                except ValueError:
                    out[f"needle_acc@{length}"] = out[f"needle_loss@{length}"] = None
                    out[f"needle_cited@{length}"] = None
                    continue
            samples = needle_samples(model, self.tokenizer, self.haystacks[length], self.kinds, self.samples,
                                     self.seed, with_loss=True)
            out[f"needle_acc@{length}"] = round(sum(s.correct for s in samples) / len(samples), 3)
            out[f"needle_loss@{length}"] = round(sum(s.loss for s in samples) / len(samples), 3)
            out[f"needle_cited@{length}"] = round(sum(s.cited for s in samples) / len(samples), 3)
        out["monitor_s"] = round(time.monotonic() - start, 2)
        return out
