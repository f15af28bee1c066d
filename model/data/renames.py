"""Owners renamed: a package's classes given other names for one training row (TrainStream rename_share).

A model that meets the same packages stretch after stretch can learn their class names, and tell
`BaseRequest.post` from its namesakes by knowing BaseRequest, where a held-out project's classes must be
matched by their spelling alone (the question's owner against the chunk's scope comment). On this machine,
renaming the classes of four packages F3 trained on cost it 8 of 120 definition lookups, of four held-out
packages 3 of 120 (docs/lab-notes.md, session 25): a small edge from known names, inside the noise. A renamed
row shows a package's files with each class the package defines spelt anew, word by word
(`ClientWebSocketResponse` and `WebSocketResponse` keep their shared tail), consistently in every file, scope
comment, question and answer of the row, so only matching the names as written answers it.
"""

from __future__ import annotations

import builtins
import keyword
import random
import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from model.data.codeqa import QA
from model.data.corpus import Corpus
from model.tokenizer import Tokenizer

CLASS_LINE = re.compile(r"^[ \t]*class[ \t]+(_*[A-Z]\w*)", re.MULTILINE)  # CamelCase ones: the words renamed
NAME = re.compile(r"\b_*[A-Z]\w*")  # where a class name can be (a dictionary then says whether it is one)
WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z][a-z0-9]*|[a-z0-9]+")
MIN_NAME = 3  # shorter class names (`A`, `T` in tests) are left as they are


def class_names(text: str) -> set[str]:
    """The names of the classes a Python text defines (any depth)."""
    return {name for name in CLASS_LINE.findall(text) if len(name.lstrip("_")) >= MIN_NAME}


def word_pool(tokenizer: Tokenizer) -> list[str]:
    """Capitalised words the tokenizer spells as one token (`Stream`, `Buffer`): the parts of new names."""
    reserved = set(keyword.kwlist) | set(dir(builtins)) | {"This", "That", "These", "Those"}
    spellings = (tokenizer.hf.id_to_token(i) or "" for i in range(tokenizer.vocab_size))
    return sorted({s for s in spellings if re.fullmatch(r"[A-Z][a-z]{3,}", s) and s not in reserved})


def renaming(names: Sequence[str], pool: Sequence[str], rng: random.Random) -> dict[str, str]:
    """{old: new} for the class names: each capitalised word of them mapped to a pool word (one map for all
    the names, so shared words stay shared), leading underscores and lower-case parts kept; a name whose new
    spelling is its own, an old one's or another new one's keeps its own (a package with more words than the
    pool, as torch, draws them with repeats and keeps a few more)."""
    words = sorted({w for name in names for w in WORD.findall(name.lstrip("_")) if w[:1].isupper()})
    if not pool:
        return {}
    many = len(words) > len(pool)
    word_map = dict(zip(words, rng.choices(pool, k=len(words)) if many else rng.sample(pool, len(words)),
                        strict=True))
    taken, mapping = set(names), {}
    for name in sorted(names):
        bare = name.lstrip("_")
        new = name[:len(name) - len(bare)] + "".join(word_map.get(w, w) for w in WORD.findall(bare))
        if new not in taken:
            mapping[name] = new
            taken.add(new)
    return mapping


def rename_text(text: str, mapping: dict[str, str]) -> str:
    """text with every whole-word class name of mapping replaced."""
    return NAME.sub(lambda m: mapping.get(m.group(), m.group()), text)


class RenamedCorpus:
    """A Corpus read with one package's class names replaced (whole words) in its documents, which are
    tokenized anew when first read; every other document, and every index, is the corpus's own."""

    def __init__(self, corpus: Corpus, tokenizer: Tokenizer, package: str, mapping: dict[str, str],
                 line_end: np.ndarray, token_bytes: np.ndarray):
        """line_end, token_bytes: per token id, whether its spelling ends a line and its bytes of text (as
        TrainStream has them)."""
        self.base, self.tokenizer, self.renamed_package, self.mapping = corpus, tokenizer, package, mapping
        self.line_end, self.token_bytes = line_end, token_bytes
        self._texts: dict[int, str] = {}
        self._docs: dict[int, np.ndarray] = {}
        self.lengths = _Lengths(self)

    def __len__(self) -> int:
        return len(self.base)

    def package(self, i: int) -> str:
        return self.base.package(i)

    def path(self, i: int) -> str:
        return self.base.path(i)

    def text(self, i: int) -> str:
        if self.base.package(i) != self.renamed_package:
            return self.base.text(i)
        if i not in self._texts:
            self._texts[i] = self._rename(self.base.text(i))
        return self._texts[i]

    def rename_questions(self, i: int, questions: list[QA]) -> list[QA]:
        """Questions about document i's own text, asked of this corpus: for the renamed package's documents
        their names replaced as the text's are (the lines stay where they were: a rename adds none)."""
        if self.base.package(i) != self.renamed_package:
            return questions
        return [replace(qa, question=self._rename(qa.question), answer=self._rename(qa.answer),
                        name=self._rename(qa.name)) for qa in questions]

    def _rename(self, text: str) -> str:
        return rename_text(text, self.mapping)

    def doc(self, i: int) -> np.ndarray:
        """Token ids <|doc_start|> ... <|doc_end|>, as Corpus.build would encode the renamed text."""
        if self.base.package(i) != self.renamed_package:
            return self.base.doc(i)
        if i not in self._docs:
            base = np.asarray(self.base.doc(i), dtype=np.int64)
            self._docs[i] = self._renamed_tokens(base, self.base.text(i))
        return self._docs[i]

    def _renamed_tokens(self, ids: np.ndarray, text: str) -> np.ndarray:
        """The document's tokens with the lines that hold a renamed name encoded anew, the rest kept (a
        line ends in a token that ends in a newline, so a line's tokens are those of its text alone)."""
        body = ids[1:-1]
        cuts = np.flatnonzero(self.line_end[body]) + 1
        bounds = np.unique(np.concatenate([[0], cuts, [len(body)]]))  # token index of each line's start
        byte_at = np.concatenate([[0], np.cumsum(self.token_bytes[body])])[bounds]
        raw = text.encode("utf-8")
        hits = np.array([m.start() for m in NAME.finditer(text) if m.group() in self.mapping], dtype=np.int64)
        if len(raw) != len(text) and len(hits):  # characters -> the byte each starts at
            hits = np.flatnonzero((np.frombuffer(raw, dtype=np.uint8) & 0xC0) != 0x80)[hits]
        lines = sorted(set((np.searchsorted(byte_at, hits, side="right") - 1).tolist()))
        encoded = dict(zip(lines, self.tokenizer.encode_batch(
            [self._rename(raw[byte_at[n]:byte_at[n + 1]].decode("utf-8")) for n in lines]), strict=True))
        pieces, kept = [ids[:1]], 0  # kept: the first body token not yet in pieces
        for n, line in encoded.items():
            pieces += [body[kept:bounds[n]], np.array(line.ids, dtype=np.int64)]
            kept = bounds[n + 1]
        pieces += [body[kept:], ids[-1:]]
        return np.concatenate(pieces).astype(np.uint16)


class _Lengths:
    """corpus.lengths[i] of a RenamedCorpus: the renamed package's documents counted as re-tokenized."""

    def __init__(self, corpus: RenamedCorpus):
        self.corpus = corpus

    def __getitem__(self, i: int) -> int:
        if self.corpus.base.package(i) != self.corpus.renamed_package:
            return int(self.corpus.base.lengths[i])
        return len(self.corpus.doc(i))
