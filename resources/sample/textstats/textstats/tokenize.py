"""Split text into sentences and words.

The rules are deliberately simple: a sentence ends at ".", "!" or "?" followed by
whitespace, and a word is a run of letters, digits and inner apostrophes or hyphens.
"""

import re

SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
WORD = re.compile(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*")
ABBREVIATIONS = frozenset({"e.g.", "i.e.", "mr.", "mrs.", "dr.", "etc.", "vs."})


def sentences(text: str) -> list[str]:
    """Return the sentences of `text`, without empty ones.

    Abbreviations such as "e.g." do not end a sentence.
    """
    parts = SENTENCE_END.split(text.strip())
    merged: list[str] = []
    for part in parts:
        if merged and merged[-1].split()[-1].lower() in ABBREVIATIONS:
            merged[-1] = f"{merged[-1]} {part}"
        elif part:
            merged.append(part)
    return merged


def words(text: str) -> list[str]:
    """Return the words of `text` in order, lower-cased."""
    return [match.group(0).lower() for match in WORD.finditer(text)]
