"""RULER-style synthetic retrieval tasks over real text: needles hidden in a haystack, then a question.

Used for training (model/data/stream.py places the needles in token space) and for evaluation
(benchmarks/eval_long.py calls make_task on held-out text). Keys and values are random pseudo-words and
numbers, so the answer can only come from the needles; needles are whole lines inserted at line boundaries.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass

KINDS: tuple[str, ...] = ("single", "multikey", "multivalue", "multiquery", "vartrack")

_ONSETS = "b c d f g h j k l m n p r s t v z br cr dr gr kr pr tr st sp".split()
_VOWELS = "a e i o u ai ou".split()
_LETTERS = "ABCDEFGHJKLMNPQRSTVWXZ"


def pseudo_word(rng: random.Random, syllables: int = 3) -> str:
    return "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables))


def random_key(rng: random.Random) -> str:
    return f"{pseudo_word(rng, 2)}-{pseudo_word(rng, 2)}"


def random_number(rng: random.Random) -> str:
    return str(rng.randrange(1_000_000, 10_000_000))


@dataclass
class Task:
    documents: list[str]  # the haystack with the needles inserted
    question: str
    answer: str
    kind: str
    needle_doc: int  # the document holding the needle placed at `depth`
    depth: float
    needle_docs: list[int]  # every document holding a needle, ascending
    values: list[str]  # what the answer must hold, in the asked order


@dataclass
class NeedlePlan:
    """What to hide and where: sentence i goes at relative haystack position positions[i] (0..1)."""
    kind: str
    sentences: list[str]
    positions: list[float]
    primary: int  # the sentence at the requested depth
    question: str
    answer: str
    answer_parts: list[str]  # each must come from a needle (copied from it in training), in answer order
    secrets: list[str]  # keys and values that must not occur in the haystack
    values: list[str]  # what the answer must hold, in the asked order (RULER scores these)


def _ordered_positions(rng: random.Random, count: int, primary: int, depth: float) -> list[float]:
    """Ascending positions with positions[primary] == depth (chains and value lists keep their order)."""
    before = sorted(rng.uniform(0.0, depth) for _ in range(primary))
    after = sorted(rng.uniform(depth, 1.0) for _ in range(count - primary - 1))
    return [*before, depth, *after]


def _magic(rng: random.Random, count: int) -> tuple[str, list[str], list[str]]:
    """(noun, keys, values) with distinct keys and values; a third of the tasks use word values."""
    words = rng.random() < 0.3
    noun = "special magic word" if words else "special magic number"
    keys: list[str] = []
    values: list[str] = []
    while len(keys) < count:
        key = random_key(rng)
        value = pseudo_word(rng, 3) if words else random_number(rng)
        if key not in keys and value not in values:
            keys.append(key)
            values.append(value)
    return noun, keys, values


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def plan_needles(kind: str, rng: random.Random, depth: float) -> NeedlePlan:
    if kind in ("single", "multikey", "multiquery"):
        count = {"single": 1, "multikey": 4, "multiquery": 4}[kind]
        noun, keys, values = _magic(rng, count)
        sentences = [f"The {noun} for {k} is: {v}." for k, v in zip(keys, values, strict=True)]
        positions = [depth] + [rng.random() for _ in range(count - 1)]
        asked = list(range(rng.randint(2, count))) if kind == "multiquery" else [0]
        rng.shuffle(asked)
        parts = [values[i] for i in asked]
        if kind != "multiquery":
            question = f"What is the {noun} for {keys[0]}?"
            return NeedlePlan(kind, sentences, positions, 0, question, parts[0], parts, keys + values, parts)
        # the answer names each key before its value ("kibo-sapa: 4417385, ..."): the key just written is
        # what the next value's retrieval query reads, as a single needle's question is
        question = f"What are the {noun}s for {_join([keys[i] for i in asked])}?"
        answer = ", ".join(f"{keys[i]}: {values[i]}" for i in asked)
        named = [part for i in asked for part in (keys[i], values[i])]
        return NeedlePlan(kind, sentences, positions, 0, question, answer, named, keys + values, parts)
    if kind == "multivalue":
        noun, keys, values = _magic(rng, 4)
        key = keys[0]
        sentences = [f"One of the {noun}s for {key} is: {v}." for v in values]
        primary = rng.randrange(len(values))
        return NeedlePlan(kind, sentences, _ordered_positions(rng, len(values), primary, depth), primary,
                          f"What are all the {noun}s for {key}? List them in order.", ", ".join(values),
                          list(values), [key, *values], list(values))
    if kind == "vartrack":
        names: list[str] = []
        while len(names) < 6:
            name = "".join(rng.choice(_LETTERS) for _ in range(5))
            if name not in names:
                names.append(name)
        value, noise_value = random_number(rng), random_number(rng)
        chain, noise = names[:4], names[4:]
        copies = [f"VAR {b} = {a}." for a, b in zip(chain, chain[1:], strict=False)]
        main = [f"VAR {chain[0]} = {value}.", *copies]
        distract = [f"VAR {noise[0]} = {noise_value}.", f"VAR {noise[1]} = {noise[0]}."]
        # interleave the two chains at random, each keeping its own order
        slots = sorted(rng.sample(range(len(main) + len(distract)), len(distract)))
        sentences, is_main, m, d = [], [], iter(main), iter(distract)
        for i in range(len(main) + len(distract)):
            sentences.append(next(d) if i in slots else next(m))
            is_main.append(i not in slots)
        primary = rng.choice([i for i, flag in enumerate(is_main) if flag])
        return NeedlePlan(kind, sentences, _ordered_positions(rng, len(sentences), primary, depth), primary,
                          f"Which variables are assigned the value {value}? List them in order.",
                          ", ".join(chain), list(chain), [*names, value, noise_value], list(chain))
    raise ValueError(f"unknown task kind {kind!r}; known: {', '.join(KINDS)}")


def line_starts(text: str) -> list[int]:
    """Character offsets where a line may be inserted: 0 and after every newline."""
    starts = [0]
    at = text.find("\n")
    while at != -1:
        starts.append(at + 1)
        at = text.find("\n", at + 1)
    return starts


def _nearest(sorted_values: list[int], target: float) -> int:
    i = bisect.bisect_left(sorted_values, target)
    if i == 0:
        return sorted_values[0]
    if i == len(sorted_values):
        return sorted_values[-1]
    lo, hi = sorted_values[i - 1], sorted_values[i]
    return lo if target - lo <= hi - target else hi


def make_task(kind: str, haystack: list[str], rng: random.Random, depth: float | None = None) -> Task:
    """Hide the needles of a `kind` task in copies of `haystack` (depth 0..1 over all its characters)."""
    if not haystack:
        raise ValueError("make_task needs at least one haystack document")
    depth = rng.random() if depth is None else min(max(depth, 0.0), 1.0)
    for _ in range(20):
        plan = plan_needles(kind, rng, depth)
        if not any(secret in text for secret in plan.secrets for text in haystack):
            break
    starts = [0]
    for text in haystack:
        starts.append(starts[-1] + len(text))
    total = max(starts[-1], 1)
    inserts = []  # (doc, offset, sequence, sentence)
    for seq, (sentence, pos) in enumerate(zip(plan.sentences, plan.positions, strict=True)):
        target = pos * total
        doc = min(max(bisect.bisect_right(starts, target) - 1, 0), len(haystack) - 1)
        offset = _nearest(line_starts(haystack[doc]), target - starts[doc])
        inserts.append((doc, offset, seq, sentence))
    documents = list(haystack)
    for doc, offset, _, sentence in sorted(inserts, reverse=True):  # back to front keeps offsets valid
        text = documents[doc]
        documents[doc] = text[:offset] + sentence + "\n" + text[offset:]
    needle_doc = inserts[plan.primary][0]
    return Task(documents, plan.question, plan.answer, kind, needle_doc, depth,
                sorted({doc for doc, _, _, _ in inserts}), plan.values)
