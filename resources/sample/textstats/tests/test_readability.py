import pytest
from textstats import analyze
from textstats.readability import count_syllables


@pytest.mark.parametrize("word, expected", [("cat", 1), ("make", 1), ("table", 2), ("reading", 2)])
def test_count_syllables(word, expected):
    assert count_syllables(word) == expected


def test_empty_text_has_no_scores():
    report = analyze("")
    assert report.reading_ease is None and report.grade_level is None


def test_text_without_punctuation_is_one_sentence():
    assert analyze("just some words here").sentences == 1
