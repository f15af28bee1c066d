"""Twins: a Python file shown twice in one training row, its classes spelt anew in the second copy.

Definition lookup misses mostly on namesakes: `BaseRequest.post` answered from another class's `post`
(docs/lab-notes.md, sessions 14-29). In real projects a method's namesakes differ from it in more than the
owner, and few of them share a training row, so the retrieval loss seldom meets a pair told apart by the
owner alone. A twin is that pair made on purpose, as the multi-key needles are for the needle tasks: the
asked file again, under a sibling path, with every class it defines renamed (renames.renaming), so that each
of its methods has a namesake whose lines, docstring and neighbours are the same and whose owner, in the
scope comment and the class line, is not. The questions about the pair name the owner (`Where is the method
post of StreamBuffer defined?`); the ones that cannot tell the two copies apart (a module-level function, a
description asked for its name) are not asked.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import replace

import numpy as np

from model.data.codeqa import QA
from model.data.renames import class_names, rename_text, renaming
from model.tokenizer import Tokenizer


def twin_path(path: str, folder: str) -> str:
    """The twin's path: the same file name in a sibling folder (`aiohttp/web.py` -> `aiohttp/stream/web.py`),
    as `_async/` and `_sync/` copies sit in real projects."""
    head, name = posixpath.split(path)
    return posixpath.join(head, folder, name)


class TwinCorpus:
    """A corpus with one more document, index len(base): document `of` again under `path`, with the classes
    it defines renamed by `mapping` ({old: new}). Every other document, and every index, is base's own."""

    def __init__(self, base, tokenizer: Tokenizer, of: int, path: str, mapping: dict[str, str]):
        self.base, self.of, self.twin, self.mapping = base, of, len(base), mapping
        self._path = path
        source = base.text(of).split("\n", 1)[1]  # (a RenamedCorpus has no source())
        self._text = f"{path}\n{rename_text(source, mapping)}"
        ids = tokenizer.encode(self._text)  # as Corpus.build encodes a document (corpus._encode_texts)
        self._doc = np.array([tokenizer.doc_start_id, *ids, tokenizer.doc_end_id], dtype=np.uint16)
        self.lengths = _Lengths(self)

    def __len__(self) -> int:
        return len(self.base) + 1

    def package(self, i: int) -> str:
        return self.base.package(self.of if i == self.twin else i)

    def path(self, i: int) -> str:
        return self._path if i == self.twin else self.base.path(i)

    def text(self, i: int) -> str:
        return self._text if i == self.twin else self.base.text(i)

    def source(self, i: int) -> str:
        return self.text(i).split("\n", 1)[1] if i == self.twin else self.base.source(i)

    def doc(self, i: int) -> np.ndarray:
        return self._doc if i == self.twin else self.base.doc(i)

    def pair(self, i: int) -> bool:
        """Whether document i is one of the twins."""
        return i in (self.of, self.twin)

    def twin_questions(self, questions: list[QA]) -> list[QA]:
        """The questions of `of` as the twin asks them: its names renamed (the lines stay where they were)."""
        return [replace(qa, question=rename_text(qa.question, self.mapping),
                        answer=rename_text(qa.answer, self.mapping), name=rename_text(qa.name, self.mapping))
                for qa in questions]

    def telling_apart(self, questions: list[QA]) -> list[QA]:
        """The questions about a twin that name what differs between the copies: a class or a member of one
        that the twin renamed (`StreamBuffer.post`). A module-level function or constant is the same in both,
        and a description asked for its name ("which") has two right answers."""
        renamed = set(self.mapping) | set(self.mapping.values())
        return [qa for qa in questions if qa.kind != "which" and qa.name.split(".")[0] in renamed]


def twin_mapping(text: str, pool, rng) -> dict[str, str]:
    """{old: new} for the classes a Python file defines (renames.renaming over that file alone)."""
    return renaming(sorted(class_names(text)), pool, rng)


def folder_word(pool, rng) -> str:
    """A folder name for a twin: a pool word in lower case (`stream`)."""
    return re.sub(r"\W", "", rng.choice(pool).lower()) or "copy"


class _Lengths:
    def __init__(self, corpus: TwinCorpus):
        self.corpus = corpus

    def __getitem__(self, i: int) -> int:
        if i == self.corpus.twin:
            return len(self.corpus.doc(i))
        return int(self.corpus.base.lengths[i])
