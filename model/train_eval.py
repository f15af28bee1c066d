"""Evaluation core shared by the training monitor and benchmarks/eval_long.py, eval_code.py.

A haystack of held-out documents is encoded once into a DeviceMemory (the chunk memory kept on the model's
device); a sample then re-encodes only the documents its needles went into, swaps them in (overlay), asks the
question as its own chat document and generates the answer greedily; exact match after normalisation, and
`cited`: whether the chunk the answer drew on most (what the app cites first) holds the needle.
"""

import random
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from model import checkpoint
from model.data.tasks import Task, make_task
from model.encode import encode_documents
from model.generate import GeneratedToken, QuestionState, generate, top_chunk
from model.memory import InMemoryMemory, _State
from model.tokenizer import Encoding, Tokenizer
from model.transformer import Transformer


class DeviceMemory(InMemoryMemory):
    """InMemoryMemory whose documents stay on `device`: a haystack of millions of tokens is written once, and
    a sample swaps a few documents in and out without host copies (rebuilding the pool is a device concat).
    Answer with generate(..., resident_chunks=True): the chunks are on the device already."""

    def __init__(self, model: Transformer, device: str | torch.device | None = None):
        cfg = model.cfg
        super().__init__(chunk_size=cfg.chunk_size, kv_heads=cfg.hsa_kv_heads, head_dim=cfg.hsa_head_dim,
                         landmark_dim=cfg.landmark_dim, dtype=torch.bfloat16)
        self.device = torch.device(device) if device is not None else model.embed.weight.device

    def _checked(self, doc_key, landmarks, keys, values):
        n = landmarks.shape[0]
        kv_shape = (n, self.chunk_size, self.kv_heads, self.head_dim)
        shapes = ((n, self.kv_heads, self.landmark_dim), kv_shape, kv_shape)
        if any(tuple(t.shape) != s for t, s in zip((landmarks, keys, values), shapes, strict=True)):
            got = [list(t.shape) for t in (landmarks, keys, values)]
            raise ValueError(f"{doc_key!r}: memory tensors {got}, expected {[list(s) for s in shapes]}")
        return str(doc_key), *(t.detach().to(self.device, self.dtype) for t in (landmarks, keys, values))

    def _load_state(self) -> _State:
        keys = sorted(self._docs)
        docs = [self._docs[k] for k in keys]
        counts = torch.tensor([len(d[0]) for d in docs], dtype=torch.int64)
        doc_index = torch.repeat_interleave(torch.arange(len(keys)), counts)
        chunk_index = torch.arange(len(doc_index)) - (torch.cumsum(counts, 0) - counts)[doc_index]
        kv_shape = (0, self.chunk_size, self.kv_heads, self.head_dim)
        shapes = ((0, self.kv_heads, self.landmark_dim), kv_shape, kv_shape)
        parts = [torch.cat([torch.empty(s, dtype=self.dtype, device=self.device), *[d[i] for d in docs]])
                 for i, s in enumerate(shapes)]
        return _State(self._gen, keys, doc_index, chunk_index, parts[0], (parts[1], parts[2]))

    def _read(self, state: _State, rows: np.ndarray):
        all_keys, all_values = state.source
        if len(rows) == len(all_keys) and (len(rows) == 0 or (rows == np.arange(len(rows))).all()):
            return all_keys, all_values  # the whole pool (resident_chunks): no copy
        index = torch.from_numpy(rows).to(self.device)
        return all_keys[index], all_values[index]

    @contextmanager
    def overlay(self, items: Sequence[tuple[str, torch.Tensor, ...]]) -> Iterator[None]:
        """Documents put for the duration of the block, then the memory is exactly as before."""
        with self._lock:
            saved = dict(self._docs)
        try:
            self.put_many(items)
            yield
        finally:
            with self._lock:
                self._docs = saved
                self._gen += 1


def encode_into(model: Transformer, memory: DeviceMemory, docs: Sequence[Sequence[int]], keys: Sequence[str],
                max_batch_tokens: int = 65536) -> None:
    encode_documents(model, docs, memory, keys, max_batch_tokens=max_batch_tokens)


def memory_items(model: Transformer, docs: Sequence[Sequence[int]], keys: Sequence[str]):
    """Encoded (key, landmarks, keys, values) of a few documents, for DeviceMemory.overlay."""
    scratch = DeviceMemory(model)
    encode_documents(model, docs, scratch, keys)
    return [(key, *scratch._docs[key]) for key in keys]


def normalise(text: str) -> str:
    """Whitespace collapsed, surrounding quotes/backticks and a final period dropped (in any order)."""
    text = " ".join(text.split())
    while True:
        stripped = re.sub(r"\.$", "", text.strip("`'\" "))
        if stripped == text:
            return text
        text = stripped


def answer(model: Transformer, tokenizer: Tokenizer, memory: DeviceMemory, question: str,
           max_new_tokens: int) -> tuple[str, list[GeneratedToken]]:
    """The greedy answer to `question` (its own chat document) against the memory, and its tokens."""
    prompt = tokenizer.chat([("user", question)])
    tokens = list(generate(model, memory, prompt, max_new_tokens=max_new_tokens,
                           stop_ids={tokenizer.end_turn_id, tokenizer.doc_end_id}, resident_chunks=True))
    ids = [t.token_id for t in tokens if t.token_id not in (tokenizer.end_turn_id, tokenizer.doc_end_id)]
    return tokenizer.decode(ids), tokens


@torch.no_grad()
def answer_loss(model: Transformer, tokenizer: Tokenizer, memory: DeviceMemory, question: str,
                expected: str) -> float:
    """Mean cross-entropy of the expected answer (then <|end_turn|>) given the question, teacher-forced: a
    smooth retrieval signal while exact-match accuracy is still zero."""
    prompt = tokenizer.chat([("user", question)])
    target = [*tokenizer.encode(expected), tokenizer.end_turn_id]
    was_training = model.training
    model.eval()
    try:
        state = QuestionState(model, memory, len(prompt) + len(target), resident_chunks=True)
        logits, _, _ = state.feed([*prompt, *target[:-1]])
    finally:
        model.train(was_training)
    predicted = logits[len(prompt) - 1:]
    return float(F.cross_entropy(predicted, torch.tensor(target, device=predicted.device)))


@dataclass
class Haystack:
    """Held-out documents filling a context of about `tokens` tokens: texts, token ids and memory keys."""
    texts: list[str]
    ids: list[list[int]]
    keys: list[str]
    tokens: int  # memory tokens (each document padded to whole chunks)
    repeats: int  # the most times one held-out document occurs beyond its first (0 = all distinct)

    @classmethod
    def from_corpus(cls, corpus, tokens: int, chunk_size: int, seed: int = 0,
                    reserve: int = 256) -> "Haystack":
        """Documents of the corpus in a seeded order until `tokens - reserve` memory tokens (reserve leaves
        room for the needles and the question); the corpus is cycled if it is too small."""
        if len(corpus) == 0:
            raise ValueError("the held-out corpus has no documents")
        order = np.random.default_rng(seed).permutation(len(corpus))
        padded = -(-corpus.lengths // chunk_size) * chunk_size
        texts, ids, keys, used, total, n = [], [], [], [], 0, 0
        target = max(tokens - reserve, chunk_size)
        while total < target:
            i = int(order[n % len(order)])
            if total + int(padded[i]) > target:  # would overshoot: the next document in order that fits
                fits = np.nonzero(padded[order] <= target - total)[0]
                if len(fits) == 0:
                    break
                i = int(order[fits[np.searchsorted(fits, n % len(order)) % len(fits)]])
            used.append(i)
            texts.append(corpus.text(i))
            ids.append(np.asarray(corpus.doc(i), dtype=np.int64).tolist())
            keys.append(f"h{n:08d}")
            total += int(padded[i])
            n += 1
        if not texts:
            raise ValueError(f"no held-out document fits in {target} tokens")
        return cls(texts, ids, keys, total, int(np.bincount(used).max()) - 1)


@dataclass
class Sample:
    kind: str
    depth: float
    question: str
    expected: str
    got: str
    correct: bool
    loss: float | None = None
    cited: bool = False  # the answer's top chunk (retrieval weight summed over its tokens) holds the needle
    ruler: float = 0.0  # share of the expected values the answer holds, in any order (ruler_score)


def ruler_score(got: str, values: Sequence[str]) -> float:
    """RULER's string_match_all: the share of the expected values found in the answer, case aside and in any
    order; RULER scores its multi-query and variable-tracking tasks this way."""
    return sum(value.lower() in got.lower() for value in values) / len(values)


def needle_chunks(task: Task, encoded: dict[int, Encoding], keys: Sequence[str],
                  chunk_size: int) -> set[tuple[str, int]]:
    """(memory key, chunk index) of every chunk holding the first expected value (the primary needle's value,
    or the first variable of a chain) in the task's needle documents; `encoded` maps each needle document to
    tokenizer.document of its text."""
    first = task.values[0]
    found = set()
    for i in task.needle_docs:
        at = task.documents[i].find(first)
        if at < 0:
            continue
        found.add((keys[i], encoded[i].token_at(at) // chunk_size))
    return found


def run_task(model: Transformer, tokenizer: Tokenizer, memory: DeviceMemory, haystack: Haystack, task: Task,
             *, with_loss: bool = False) -> Sample:
    """Swap the task's needle documents into the haystack memory, ask, restore."""
    encoded = {i: tokenizer.document(task.documents[i]) for i in task.needle_docs}
    changed = [i for i in task.needle_docs if task.documents[i] != haystack.texts[i]]
    docs = [encoded[i].ids for i in changed]
    with memory.overlay(memory_items(model, docs, [haystack.keys[i] for i in changed])):
        max_new = len(tokenizer.encode(task.answer)) + 8
        got, tokens = answer(model, tokenizer, memory, task.question, max_new)
        loss = answer_loss(model, tokenizer, memory, task.question, task.answer) if with_loss else None
    cited = top_chunk(tokens) in needle_chunks(task, encoded, haystack.keys, model.cfg.chunk_size)
    return Sample(task.kind, task.depth, task.question, task.answer, got,
                  normalise(got) == normalise(task.answer), loss, cited, ruler_score(got, task.values))


def needle_samples(model: Transformer, tokenizer: Tokenizer, haystack: Haystack, kinds: Sequence[str],
                   samples: int, seed: int = 0, with_loss: bool = False) -> list[Sample]:
    """`samples` tasks per kind, needle depths spread evenly over the context; the haystack encoded once."""
    memory = DeviceMemory(model)
    encode_into(model, memory, haystack.ids, haystack.keys)
    out = []
    for kind in kinds:
        rng = random.Random(f"{seed}:{kind}:{haystack.tokens}")
        for s in range(samples):
            task = make_task(kind, haystack.texts, rng, depth=(s + 0.5) / samples)
            out.append(run_task(model, tokenizer, memory, haystack, task, with_loss=with_loss))
    return out


def apply_smoke(args, argv, smoke: dict) -> None:
    """--cpu-smoke: the `smoke` values for every option the command line did not give (argparse dest names;
    the flag of `max_len` is `--max-len`)."""
    args.argv = list(argv)
    if getattr(args, "cpu_smoke", False):
        given = {arg.split("=")[0] for arg in args.argv}
        for name, value in smoke.items():
            if f"--{name.replace('_', '-')}" not in given:
                setattr(args, name, value)


def load_for_eval(model_dir, corpus_dir, device):
    """The model (an HSA one: the dense baseline has no memory to ask) and the held-out corpus an evaluation
    script reads; SystemExit with the reason otherwise."""
    from model.train_monitor import heldout_corpus  # it imports this module

    model, tokenizer = checkpoint.load(model_dir, device=device)
    if model.cfg.attention != "hsa":
        raise SystemExit(f"{model_dir} is the dense baseline: it has no chunk memory to ask (compare its "
                         f"in-domain loss with python -m model.train_loss)")
    corpus = heldout_corpus(corpus_dir)
    if corpus is None:
        raise SystemExit(f"{corpus_dir}: no held-out corpus (python -m model.data.build makes one)")
    return model, tokenizer, corpus
