"""textstats: word counts, frequent words and readability scores for plain text."""

from textstats.counter import WordCounter
from textstats.readability import Report, analyze, flesch_kincaid_grade, flesch_reading_ease

__all__ = ["Report", "WordCounter", "analyze", "flesch_kincaid_grade", "flesch_reading_ease"]
__version__ = "0.3.1"
