"""Readability scores: syllable estimate, Flesch reading ease, Flesch-Kincaid grade."""

import re
from dataclasses import dataclass

from textstats.tokenize import sentences, words

VOWEL_GROUPS = re.compile(r"[aeiouy]+")


def count_syllables(word: str) -> int:
    """Estimate the syllables of one English word (at least 1).

    Counts vowel groups and drops a silent final "e" ("make" -> 1, "table" -> 2).
    """
    word = word.lower()
    count = len(VOWEL_GROUPS.findall(word))
    if word.endswith("e") and not word.endswith(("le", "ee")) and count > 1:
        count -= 1
    return max(count, 1)


def flesch_reading_ease(n_words: int, n_sentences: int, n_syllables: int) -> float | None:
    """206.835 - 1.015 * words/sentence - 84.6 * syllables/word; None for an empty text."""
    if n_words == 0 or n_sentences == 0:
        return None
    return 206.835 - 1.015 * (n_words / n_sentences) - 84.6 * (n_syllables / n_words)


def flesch_kincaid_grade(n_words: int, n_sentences: int, n_syllables: int) -> float | None:
    """0.39 * words/sentence + 11.8 * syllables/word - 15.59; None for an empty text."""
    if n_words == 0 or n_sentences == 0:
        return None
    return 0.39 * (n_words / n_sentences) + 11.8 * (n_syllables / n_words) - 15.59


@dataclass(frozen=True)
class Report:
    """Everything `analyze` measures about one text."""

    words: int
    sentences: int
    syllables: int
    reading_ease: float | None
    grade_level: float | None

    @property
    def words_per_sentence(self) -> float:
        return self.words / self.sentences if self.sentences else 0.0


def analyze(text: str) -> Report:
    """Measure `text`. A text without sentence punctuation counts as one sentence."""
    found = words(text)
    n_sentences = len(sentences(text)) or (1 if found else 0)
    n_syllables = sum(count_syllables(word) for word in found)
    return Report(
        words=len(found),
        sentences=n_sentences,
        syllables=n_syllables,
        reading_ease=flesch_reading_ease(len(found), n_sentences, n_syllables),
        grade_level=flesch_kincaid_grade(len(found), n_sentences, n_syllables),
    )
