"""Extractive "passage" questions about real prose: find the one sentence that answers, and copy it.

A user asks a contract "How many days does the client have to pay an invoice?"; the model has to find the
sentence that says so among its retrieved chunks and quote it. These questions teach that on real text:
the sentences of prose files (Markdown, reStructuredText, plain text, licenses) and of Python docstrings
(sentences.py finds them and their source lines).
A question names 2-3 distinctive words of its sentence, or a short phrase of it, chosen so that no other
sentence of the file holds them all: the answer is then that one sentence, and the chunk holding its
start_line the retrieval target. A sentence that opens a section can instead be asked by its heading
("What does the section on Limitation of Liability say?"). Words are sometimes asked without their plural
"s", as a user might type them, so that an exact match is not needed. With `varied` (the training stream's
questions) half of them take a form a user types instead: another frame ("How does it handle late payment
and interest?", "Which part covers invoice and receipt?", bare keywords), the words in any order, and for a
sentence that counts a unit ("within thirty (30) days"), "How many days ...?". The answer is the sentence as
written, its whitespace collapsed, so that every token of it can be copied from the source: code, tables,
headings and sentences heavy with markup are left out rather than cleaned up.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict

from model.data.codeqa import QA
from model.data.sentences import (
    CONTENT_WORD,
    SMALL_WORDS,
    STOP_WORDS,
    Sentence,
    docstring_sentences,
    prose_sentences,
)

MAX_QUESTIONS = 64  # per file, spread over it
MIN_WORDS, MAX_WORDS = 8, 40
MAX_SENTENCE_CHARS = 220
PLAIN_SHARE = 0.7  # of a sentence's words that must be plain words
PROSE_SUFFIXES = (".md", ".markdown", ".rst", ".txt")
HASH_HEADINGS = (".md", ".markdown", ".txt")  # where "# Title" is a heading (and ~~~ a fence)
LICENSE_NAMES = ("LICENSE", "LICENCE", "COPYING")
_PLAIN = re.compile(r"(?<!\S)[(\"']?[A-Za-z]+(?:['’-][A-Za-z]+)*[.,;:!?)\"']*(?!\S)")  # a plain word
_CANDIDATE = re.compile(r"(?<![^\s\"'(\[“])[A-Za-z]{4,}(?=[\"')\],.;:!?’”]*(?:\s|$))")
_UNDERSCORED = re.compile(r"[A-Za-z0-9]_|_[A-Za-z0-9]")
_NEVER = ("::", ">>>", "http", "www.", "\\", "|", "](", "..")
_MARKUP = "{}=`"
_HEADING_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9 ,'&/-]*")

_TWO_WORDS = ("What does it say about {words}?", "What is said about {words}?",
              "Find the passage about {words}.", "What does the text say about {words}?")
_THREE_WORDS = ("What is said about {words}?", "What does it say about {words}?",
                "Find the passage about {words}.")
_PHRASE = ("What does the text say about {words}?", "What does it say about {words}?",
           "Find the passage about {words}.", "What is said about {words}?")
_IN_FILE = "What does {basename} say about {words}?"
_USER = ("How does it handle {words}?", "What are the rules on {words}?", "What happens with {words}?",
         "Is there anything on {words}?", "Tell me about {words}.", "Where does it talk about {words}?",
         "What is the rule for {words}?", "Which part covers {words}?",
         "What do I need to know about {words}?", "Anything about {words}?",
         "What does it say regarding {words}?", "Explain {words}.", "{words}?")
_HOW_MANY = ("How many {unit} for {words}?", "How many {unit} does it give for {words}?",
             "Within how many {unit} {words}?", "How many {unit}: {words}?")
_UNITS = ("seconds minutes hours days weeks months years times percent bytes characters lines items entries "
          "copies attempts retries levels").split()
_COUNTED = re.compile(r"\b(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                      r"fifteen|twenty|thirty|forty|fifty|sixty|ninety|hundred)(?:-\w+)?\)?\s+(?:\(\d+\)\s+)?"
                      r"(" + "|".join(_UNITS) + r")\b", re.IGNORECASE)
_SECTION = ("What does the section on {heading} say?", "What does it say about {lower}?",
            "What does the {heading} section say?")


def _keep(text: str) -> bool:
    """A sentence worth asking about: plain prose of a sensible length, copied as written."""
    if len(text) > MAX_SENTENCE_CHARS or not (text[0].isupper() or text[0] in "\"'“"):
        return False
    words = text.count(" ") + 1  # its whitespace is collapsed
    if not MIN_WORDS <= words <= MAX_WORDS or not text.rstrip("\"')”’").endswith("."):
        return False
    if any(s in text for s in _NEVER) or sum(text.count(c) for c in _MARKUP) > 2:
        return False
    if _UNDERSCORED.search(text) or sum(text.count(c) for c in "*[]<>") > 4:
        return False
    return len(_PLAIN.findall(text)) >= PLAIN_SHARE * words


def _shown(word: str, first: bool, shouting: bool) -> str:
    """A word as a user would type it: lowercase, unless a name or acronym within the sentence."""
    if shouting or (first and word[1:] == word[1:].lower()):
        return word.lower()
    return word


def _singular(word: str) -> str | None:
    """The word without a plural "s", as a user might type it ("invoices" -> "invoice")."""
    if len(word) >= 5 and word.endswith("s") and not word.endswith(("ss", "us", "is", "ies", "xes", "zes",
                                                                   "ches", "shes")):
        return word[:-1]
    return None


def _and_list(words: list[str]) -> str:
    """"a and b", "a, b and c"."""
    return f"{', '.join(words[:-1])} and {words[-1]}"


def _user_form(shown: list[str], text: str, rng: random.Random, phrase: bool = False) -> str:
    """The words in a frame a user might type: any order (a phrase keeps its own), joined by "and", commas
    or nothing; "How many days ...?" when the sentence counts a unit the words leave out."""
    counted = {m.group(1).lower() for m in _COUNTED.finditer(text)} - {w.lower() for w in shown}
    if not phrase:
        shown = rng.sample(shown, len(shown)) if rng.random() < 0.5 else shown
        joiner = rng.choice((" and ", ", ", " "))
        words = _and_list(shown) if joiner == " and " else joiner.join(shown)
    else:
        words = " ".join(shown)
    if counted and rng.random() < 0.7:
        return rng.choice(_HOW_MANY).format(unit=rng.choice(sorted(counted)), words=words)
    frame = rng.choice(_USER)
    return frame.format(words=words[:1].upper() + words[1:] if frame.startswith("{") else words)


def _passage_question(index: int, sentence: Sentence, occurs: dict[str, set[int]], basename: str,
                      rng: random.Random, varied: bool = False) -> str | None:
    """A question naming words (or a phrase) of the sentence that no other sentence of the file holds."""
    text = sentence.text
    candidates: dict[str, tuple[int, str]] = {}  # lowercase word -> (character offset, word as written)
    for match in _CANDIDATE.finditer(text):
        word = match.group()
        key = word.lower()
        if key not in STOP_WORDS and key not in candidates:
            candidates[key] = (match.start(), word)
    if len(candidates) < 2:
        return None
    tokens = text.split()
    shouting = sum(1 for t in tokens if t.isupper() and len(t) > 1) > len(tokens) / 2

    def others(keys: list[str]) -> set[int]:
        """The other sentences that hold all these words."""
        left = occurs[keys[0]] - {index}
        for key in keys[1:]:
            left &= occurs[key]
        return left

    if rng.random() < 0.3:  # a phrase: 2-4 words of the sentence, from a content word to a content word
        phrases = []
        for i, token in enumerate(tokens):
            if token.lower() not in candidates:
                continue
            for j in range(i + 1, min(i + 4, len(tokens))):
                last = tokens[j].rstrip(".,;:)\"'")
                if not last.isalpha() or last.lower() not in candidates and last.lower() not in SMALL_WORDS:
                    break  # a phrase reads on through content and small words: "limitation of liability"
                if last.lower() in candidates:
                    keys = [t.lower() for t in (*tokens[i:j], last) if t.lower() in candidates]
                    if not others(keys):
                        phrases.append((i, [*tokens[i:j], last]))
                if last != tokens[j]:
                    break
        if phrases:
            start, phrase = rng.choice(phrases)
            shown = [_shown(w, start + k == 0, shouting) for k, w in enumerate(phrase)]
            if rng.random() < 0.25 and (singular := _singular(shown[-1])):
                shown[-1] = singular
            if varied and rng.random() < 0.5:
                return _user_form(shown, text, rng, phrase=True)
            return rng.choice(_PHRASE).format(words=" ".join(shown))

    wanted = 3 if rng.random() < 0.3 else 2
    tie = {key: rng.random() for key in candidates}
    chosen = [min(candidates, key=lambda key: (len(occurs[key]), tie[key]))]  # the rarest word first
    left = occurs[chosen[0]] - {index}  # the other sentences holding all chosen words
    while len(chosen) < min(3, len(candidates)) and (left or len(chosen) < wanted):
        best = min((key for key in candidates if key not in chosen),
                   key=lambda key: (len(left & occurs[key]), len(occurs[key]), tie[key]))
        chosen.append(best)
        left &= occurs[best]
    if left:
        return None
    chosen.sort(key=lambda key: candidates[key][0])
    shown = [_shown(candidates[key][1], candidates[key][0] <= 1, shouting) for key in chosen]
    if rng.random() < 0.25:
        plural = [k for k, w in enumerate(shown) if _singular(w)]
        if plural:
            k = rng.choice(plural)
            shown[k] = _singular(shown[k]) or shown[k]
    if varied and rng.random() < 0.5:
        return _user_form(shown, text, rng)
    words = _and_list(shown)
    if rng.random() < 0.08:
        return _IN_FILE.format(basename=basename, words=words)
    return rng.choice(_TWO_WORDS if len(shown) == 2 else _THREE_WORDS).format(words=words)


def _placed(sentence: Sentence, lines: list[str]) -> bool:
    """Whether the sentence's first and last words are on its first and last source lines."""
    words = sentence.text.split()
    return words[0] in lines[sentence.start_line - 1] and words[-1] in lines[sentence.end_line - 1]


def _questions(sentences: list[Sentence], headings: list[str], lines: list[str], basename: str,
               rng: random.Random, varied: bool) -> list[QA]:
    """One question for each sentence worth asking that can be told apart; the first one of a section with
    a heading of its own is asked by that heading."""
    occurs: defaultdict[str, set[int]] = defaultdict(set)  # word -> the sentences holding it
    for i, sentence in enumerate(sentences):
        for word in sentence.words:
            occurs[word].add(i)
    for h, heading in enumerate(headings[1:], start=1):  # a heading holding the words would do as well
        for word in CONTENT_WORD.findall(heading.lower()):
            occurs[word].add(-h)
    heading_counts: dict[str, int] = {}
    for heading in headings[1:]:
        heading_counts[heading.lower()] = heading_counts.get(heading.lower(), 0) + 1
    found: list[QA] = []
    names: set[str] = set()
    asked_sections: set[int] = set()
    for i, sentence in enumerate(sentences):
        if not _keep(sentence.text) or not _placed(sentence, lines):
            continue
        question = None
        if sentence.section and sentence.section not in asked_sections:
            asked_sections.add(sentence.section)
            heading = headings[sentence.section]
            if (2 <= len(heading.split()) <= 8 and _HEADING_TEXT.fullmatch(heading)
                    and heading_counts[heading.lower()] == 1):
                shown = heading.lower() if heading.isupper() else heading
                question = rng.choice(_SECTION).format(heading=shown, lower=heading.lower())
        if question is None:
            question = _passage_question(i, sentence, occurs, basename, rng, varied)
        if question is None:
            continue
        name = f"L{sentence.start_line}"
        n = 2
        while name in names:
            name, n = f"L{sentence.start_line}.{n}", n + 1
        names.add(name)
        found.append(QA(question, sentence.text, "passage", name, sentence.start_line, sentence.end_line))
    if len(found) > MAX_QUESTIONS:
        found = found[::-(-len(found) // MAX_QUESTIONS)]
    return found


def _name_and_suffix(path: str) -> tuple[str, str]:
    basename = path.replace("\\", "/").rsplit("/", 1)[-1]
    return basename, "." + basename.rsplit(".", 1)[-1].lower() if "." in basename else ""


def is_prose(path: str) -> bool:
    """Whether passage_questions reads the file as prose: Markdown, reStructuredText, text, a license."""
    basename, suffix = _name_and_suffix(path)
    return suffix in PROSE_SUFFIXES or basename.upper().startswith(LICENSE_NAMES)


def passage_questions(source: str, path: str, rng: random.Random, varied: bool = False) -> list[QA]:
    """Questions answered by one sentence of a prose file (is_prose) or of a .py file's docstrings, at most
    one per sentence and MAX_QUESTIONS per file, in source order; phrasing varies with `rng`, and with
    `varied` half the questions take a user's forms (_user_form). [] for other files and for anything that
    cannot be read."""
    basename, suffix = _name_and_suffix(path)
    try:
        if is_prose(path):
            sentences, headings = prose_sentences(source, suffix in HASH_HEADINGS)
        elif suffix == ".py":
            sentences, headings = docstring_sentences(source), [""]
        else:
            return []
        return _questions(sentences, headings, source.split("\n"), basename, rng, varied)
    except Exception:  # a data loader must not stop on one odd file
        return []
