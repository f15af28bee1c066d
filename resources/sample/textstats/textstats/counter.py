"""Word frequencies with an optional stop-word list."""

from collections import Counter
from collections.abc import Iterable

from textstats.tokenize import words

STOP_WORDS = frozenset(
    "a an and are as at be but by for from has have i in is it its of on or that the this to was "
    "were will with you your".split()
)


class WordCounter:
    """Counts words across one or more texts.

    >>> counter = WordCounter()
    >>> counter.add("The cat sat. The cat slept.")
    >>> counter.most_common(1)
    [('cat', 2)]
    """

    def __init__(self, stop_words: Iterable[str] = STOP_WORDS):
        self.stop_words = frozenset(stop_words)
        self.counts: Counter[str] = Counter()
        self.total = 0

    def add(self, text: str) -> None:
        """Count the words of `text`; stop words count towards `total` but are not ranked."""
        found = words(text)
        self.total += len(found)
        self.counts.update(word for word in found if word not in self.stop_words)

    def most_common(self, n: int = 10) -> list[tuple[str, int]]:
        """The `n` most frequent words, ties broken alphabetically so output is stable."""
        ranked = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))
        return ranked[:n]

    def share(self, word: str) -> float:
        """Fraction of all counted words that are `word` (0.0 for an empty counter)."""
        return self.counts[word.lower()] / self.total if self.total else 0.0
