"""Twins: a Python file shown twice (or more) in one training row, its classes spelt anew in each copy.

Definition lookup misses mostly on namesakes: `BaseRequest.post` answered from another class's `post`
(docs/lab-notes.md, sessions 14-29). In real projects a method's namesakes differ from it in more than the
owner, and few of them share a training row, so the retrieval loss seldom meets a pair told apart by the
owner alone. A twin is that pair made on purpose, as the multi-key needles are for the needle tasks: the
asked file again, under a sibling path, with every class it defines renamed (renames.renaming), so that each
of its methods has a namesake whose lines, docstring and neighbours are the same and whose owner, in the
scope comment and the class line, is not. The questions about the pair name the owner (`Where is the method
post of StreamBuffer defined?`); the ones that cannot tell the two copies apart (a module-level function, a
description asked for its name) are not asked. With more copies (TrainStream twin_copies), each method has
that many namesakes, as a multi-key task has four needles.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from model.data.codeqa import QA
from model.data.renames import class_names, rename_text, renaming
from model.tokenizer import Tokenizer


def twin_path(path: str, folder: str) -> str:
    """The twin's path: the same file name in a new folder beside the file (`aiohttp/web.py` ->
    `aiohttp/stream/web.py`), as `_async/` and `_sync/` copies sit in real projects."""
    head, name = posixpath.split(path)
    return posixpath.join(head, folder, name)


class TwinCorpus:
    """A corpus with more documents, indices len(base) on: document `of` again, once per (path, mapping) of
    `copies`, with the classes it defines renamed by that mapping ({old: new}). Every other document, and
    every index, is base's own."""

    def __init__(self, base, tokenizer: Tokenizer, of: int, copies: Sequence[tuple[str, dict[str, str]]]):
        self.base, self.of = base, of
        self.twins = list(range(len(base), len(base) + len(copies)))
        self.mappings = {i: mapping for i, (_, mapping) in zip(self.twins, copies, strict=True)}
        source = base.text(of).split("\n", 1)[1]  # (a RenamedCorpus has no source())
        self._texts = {i: f"{path}\n{rename_text(source, mapping)}"
                       for i, (path, mapping) in zip(self.twins, copies, strict=True)}
        self.tokenizer = tokenizer
        self._docs: dict[int, np.ndarray] = {}  # each copy tokenized when first read
        # the classes every copy renamed: what tells all the copies apart
        self.told_apart = set.intersection(*(set(m) for m in self.mappings.values())) if copies else set()
        self.lengths = _Lengths(self)

    def __len__(self) -> int:
        return len(self.base) + len(self.twins)

    def package(self, i: int) -> str:
        return self.base.package(self.of if i in self._texts else i)

    def path(self, i: int) -> str:
        return self._texts[i].split("\n", 1)[0] if i in self._texts else self.base.path(i)

    def text(self, i: int) -> str:
        return self._texts[i] if i in self._texts else self.base.text(i)

    def source(self, i: int) -> str:
        return self._texts[i].split("\n", 1)[1] if i in self._texts else self.base.source(i)

    def doc(self, i: int) -> np.ndarray:
        """Token ids <|doc_start|> ... <|doc_end|>, as Corpus.build encodes a document (_encode_texts)."""
        if i not in self._texts:
            return self.base.doc(i)
        if i not in self._docs:
            ids = self.tokenizer.encode(self._texts[i])
            self._docs[i] = np.array([self.tokenizer.doc_start_id, *ids, self.tokenizer.doc_end_id],
                                     dtype=np.uint16)
        return self._docs[i]

    def is_copy(self, i: int) -> bool:
        """Whether document i is `of` or one of its twins."""
        return i == self.of or i in self._texts

    def questions_of(self, i: int, questions: list[QA]) -> list[QA]:
        """The questions of `of` as copy i asks them, of those that tell the copies apart: about a class every
        twin renamed, or a member of one (`StreamBuffer.post`), its names renamed as the copy's text has them
        (the lines stay where they were). A module-level function or constant is the same in every copy, and
        a description asked for its name ("which") has a right answer in each."""
        kept = [qa for qa in questions if qa.kind != "which" and qa.name.split(".")[0] in self.told_apart]
        if i == self.of:
            return kept
        mapping = self.mappings[i]
        return [replace(qa, question=rename_text(qa.question, mapping),
                        answer=rename_text(qa.answer, mapping), name=rename_text(qa.name, mapping))
                for qa in kept]


def twin_mappings(text: str, pool, rng, count: int) -> list[dict[str, str]]:
    """`count` {old: new} maps for the classes a Python file defines (renames.renaming over that file alone);
    a class one map would spell as an earlier map spells any class keeps its name in it, so every copy's
    names differ from every other's."""
    names = sorted(class_names(text))
    mappings: list[dict[str, str]] = []
    taken = set(names)
    for _ in range(count):
        mapping = {old: new for old, new in renaming(names, pool, rng).items() if new not in taken}
        taken |= set(mapping.values())
        mappings.append(mapping)
    return mappings


def folder_word(pool, rng) -> str:
    """A folder name for a twin: a pool word (renames.word_pool: letters only) in lower case (`stream`)."""
    return rng.choice(pool).lower()


class _Lengths:
    def __init__(self, corpus: TwinCorpus):
        self.corpus = corpus

    def __getitem__(self, i: int) -> int:
        if i in self.corpus.twins:
            return len(self.corpus.doc(i))
        return int(self.corpus.base.lengths[i])
