"""A training row of the stream (stream.py) and where its answers come from: the chunk each answer token
should retrieve and the row token it copies, for the retrieval and copy losses."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from model.data.codeqa import QA

CHUNK = 64


def verbatim_chars(answer: str, text: str, region: tuple[int, int], shortest: int = 4) -> dict[int, int]:
    """Characters of `answer` that `text` holds verbatim: answer index -> text index. The answer is matched
    greedily left to right in stretches of at least `shortest` characters, looked for in text[region] first,
    then anywhere in text; characters of no such stretch (a line number, a separator) are left out."""
    held: dict[int, int] = {}
    i = 0
    while i + shortest <= len(answer):
        piece = answer[i:i + shortest]
        at = text.find(piece, *region)
        if at < 0:
            at = text.find(piece)
        if at < 0:
            i += 1
            continue
        n = shortest
        while i + n < len(answer) and at + n < len(text) and answer[i + n] == text[at + n]:
            n += 1
        held.update((i + k, at + k) for k in range(n))
        i += n
    return held


def definition_chars(text: str, qa: QA) -> tuple[int, int]:
    """[start, end) characters of a QA's definition lines in its corpus document's text (text line 0 is the
    path, so source line n is text line n)."""
    lines = text.split("\n")
    start = sum(len(line) + 1 for line in lines[:qa.start_line])
    return start, start + sum(len(line) + 1 for line in lines[qa.start_line:qa.end_line + 1])


def visible_starts(text: str, offsets) -> list[tuple[int, int]]:
    """(token index, its first non-space character) for the tokens of `text` (character offsets) that have
    one: a token " 42" is copied from where "4" is."""
    out = []
    for j, (start, end) in enumerate(offsets):
        word = text[start:end]
        if word.strip():
            out.append((j, start + len(word) - len(word.lstrip())))
    return out


def padded(length: int) -> int:
    return length + (-length) % CHUNK


def namesake_names(names: Sequence[str]) -> set[str]:
    """The qualified names whose last part another of them ends in too (`Request.post`, `Client.post`)."""
    owners: dict[str, set[str]] = {}
    for name in names:
        owners.setdefault(name.rpartition(".")[2], set()).add(name)
    return {name for same in owners.values() if len(same) > 1 for name in same}


@dataclass
class Row:
    ids: np.ndarray  # (T,) int64
    doc_ids: np.ndarray  # (T,) int64, 0.. per document, padding included in its document
    mask: np.ndarray  # (T,) bool: this token is learnt as the target of the token before it
    kind: str
    question: str = ""
    answer: str = ""
    sources: list[int] = field(default_factory=list)  # corpus documents in the row, in order
    answer_from: int = -1  # where the question document starts (its learnt tokens are the answer); -1: none
    source_chunk: int = -1  # the chunk of the row that holds the answer (needle value, definition); -1: none
    # position of an answer token's input -> row position of the token it copies (a needle's, or the file's
    # for a code question)
    copy_sources: dict[int, int] = field(default_factory=dict)
    # qa rows: (input position of the answer's first token, the chunk of its definition) per question, in
    # row order; `question`/`answer` are the first's, `asked` lists every (question, answer)
    definitions: list[tuple[int, int]] = field(default_factory=list)
    asked: list[tuple[str, str]] = field(default_factory=list)
    renames: dict[str, str] = field(default_factory=dict)  # a renamed qa row's class names: {old: new}
    twins: list[dict[str, str]] = field(default_factory=list)  # a twin row's class names per copy {old: new}

    def retrieval_targets(self, positions) -> dict[int, int]:
        """Answer input position -> the chunk HSA should retrieve there (what --retrieval-weight teaches).

        A copied token's chunk is the one holding its text, so each value of a multi-part answer (multi-query,
        multi-value, variable tracking) points at its own needle. Tokens copied from nowhere: a code answer's
        (punctuation, words the file does not hold verbatim) point at its question's definition; a task
        answer's (", ", <|end_turn|>) at the chunk the answer read last."""
        if self.source_chunk < 0:
            return {}
        starts = [start for start, _ in self.definitions]
        wanted, last = {}, self.source_chunk
        for at in map(int, positions):
            if at in self.copy_sources:
                last = self.copy_sources[at] // CHUNK
                wanted[at] = last
            elif self.kind == "qa":
                wanted[at] = self.definitions[max(bisect.bisect_right(starts, at) - 1, 0)][1]
            else:
                wanted[at] = last
        return wanted
