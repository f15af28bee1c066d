import random
import re

import pytest

from model.data.prose import _HOW_MANY, _USER, MAX_QUESTIONS, is_prose, passage_questions

SEEDS = range(12)

GUIDE_SENTENCES = [
    "This guide explains how the billing service handles invoices for every customer account.",
    "The client must pay each invoice within thirty days of the invoice date.",
    "Late payments accrue interest at two percent per month after the due date.",
    "Refunds are issued to the original payment method within five business days.",
    "Disputed charges are reviewed by the finance team before any refund is approved.",
    "Each customer account belongs to exactly one billing region, e.g. Europe or Asia.",
    "Regional managers may extend the payment deadline for customers in good standing.",
]
GUIDE = f"""# Billing Guide

{GUIDE_SENTENCES[0]}

## Payment Terms

The client must pay each invoice within thirty days of the
invoice date. Late payments accrue interest at two percent per
month after the due date.

```text
The service sends a reminder when an invoice is overdue by seven days in a row.

Reminders stop after the third one has been sent to the customer account.

```

  {GUIDE_SENTENCES[3]}
  {GUIDE_SENTENCES[4]}

## Regions

- {GUIDE_SENTENCES[5]}
- {GUIDE_SENTENCES[6]}

    This indented block is code as well, even though it reads like a sentence.

| Region | The table cell holds a long sentence about regional billing managers. |
"""
CODE_LIKE = ("reminder", "indented block", "table cell")

PYTHON = '''"""Tools for reading ledger files from the accounting export.

The exporter writes one ledger entry per line and never reorders entries.
"""

import re

# This comment mentions the ledger and explains that comments never become questions.
PATTERN = re.compile("x")


class Ledger:
    """An in-memory ledger that keeps entries sorted by their posting date.

    Entries with the same posting date keep the order in which they were added.

    >>> print(Ledger())  # Doctest lines are examples and never become answers here.
    The ledger holds no entries and no accounts in its current state yet.
    """

    def balance(self, account):
        """Sum the amounts posted to one account across the whole ledger.

        Args:
            account: The name of the account whose postings are summed up here.
        """
        text = "This string literal is plain code and not a docstring at all, honestly."
        return len(text)


def monthly(ledger, month):
    """Return the ledger entries that were posted during the given calendar month."""
    return [entry for entry in ledger if entry.month == month]
'''
PYTHON_SENTENCES = [
    "Tools for reading ledger files from the accounting export.",
    "The exporter writes one ledger entry per line and never reorders entries.",
    "An in-memory ledger that keeps entries sorted by their posting date.",
    "Entries with the same posting date keep the order in which they were added.",
    "Sum the amounts posted to one account across the whole ledger.",
    "Return the ledger entries that were posted during the given calendar month.",
]

LICENSE = """                          SAMPLE PUBLIC LICENSE
                            Version 1, May 2024

   1. Definitions.

      "Software" means the program and its documentation as provided by the
      Licensor under this agreement.

   2. Grant of Copyright License. Subject to these terms, the Licensor grants
      you a worldwide license to copy and modify the Software. You may not
      sublicense the rights granted to you under this section to anyone else.

   3. Limitation of Liability

      In no event shall the Licensor be liable for any indirect damages arising
      from the use of the Software.

   ARTICLE 4 - TERMINATION OF RIGHTS

      Your rights under this license end automatically if you fail to comply
      with any of its terms.
"""
LICENSE_SECTIONS = {
    "Grant of Copyright License":
        "Subject to these terms, the Licensor grants you a worldwide license to copy and modify the "
        "Software.",
    "Limitation of Liability":
        "In no event shall the Licensor be liable for any indirect damages arising from the use of the "
        "Software.",
    "termination of rights":
        "Your rights under this license end automatically if you fail to comply with any of its terms.",
}

RST = """Usage
=====

The command reads its settings from the project file before it starts any work.
Run it from the root of the repository like this::

  Then the literal block holds commands and not sentences at all, really.

.. note::

   Directive bodies are skipped as well, even when they hold full sentences.

+-------+-------------------------------------------------------------+
| Name  | The grid table also holds a sentence that must be skipped.   |
+-------+-------------------------------------------------------------+

The tool writes its report to standard output unless a file name is given.
"""


def collapse(text: str) -> str:
    return " ".join(text.split())


def words_of(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def asked_words(question: str) -> list[str]:
    """The words a passage question names: what follows "about", template words left out."""
    match = re.search(r" about (.+)[?.]$", question)
    assert match, question
    return re.findall(r"[A-Za-z]+", match.group(1).replace(" and ", " "))


def check_placed(qa, source: str) -> None:
    lines = source.split("\n")
    assert qa.kind == "passage"
    assert 1 <= qa.start_line <= qa.end_line <= len(lines)
    assert qa.answer == collapse(qa.answer)
    assert qa.answer in collapse("\n".join(lines[qa.start_line - 1:qa.end_line]))
    assert qa.answer.split()[0] in lines[qa.start_line - 1]
    assert qa.answer.split()[-1] in lines[qa.end_line - 1]


def check_identifies(qa, sentences: list[str]) -> None:
    """The question's words are the answer's (or lack a plural "s") and no other sentence holds them all."""
    answer_words = words_of(qa.answer)
    named = []
    for word in asked_words(qa.question):
        word = word.lower()
        assert word in answer_words or f"{word}s" in answer_words, (word, qa)
        named.append(word if word in answer_words else f"{word}s")
    content = [w for w in named if len(w) >= 4]
    assert len(content) >= 2, qa
    others = [s for s in sentences if s != qa.answer]
    assert not [s for s in others if set(content) <= words_of(s)], qa


def test_markdown_answers_are_sentences_of_the_prose_on_their_lines():
    headings = {"Payment Terms": GUIDE_SENTENCES[1], "Regions": None}
    for seed in SEEDS:
        found = passage_questions(GUIDE, "docs/billing.md", random.Random(seed))
        assert {qa.answer for qa in found} == set(GUIDE_SENTENCES)
        assert [qa.start_line for qa in found] == sorted(qa.start_line for qa in found)
        assert len({qa.name for qa in found}) == len(found)
        for qa in found:
            check_placed(qa, GUIDE)
            assert not any(code in qa.answer.lower() for code in CODE_LIKE)
        section = [qa for qa in found if "Payment Terms" in qa.question or "payment terms" in qa.question]
        assert [qa.answer for qa in section] == [headings["Payment Terms"]]
        assert "section" in section[0].question or "about payment terms" in section[0].question
        assert not any("Regions" in qa.question for qa in found)  # a one-word heading is not asked
        billing = next(qa for qa in found if qa.answer == GUIDE_SENTENCES[0])
        assert "Billing Guide" in billing.question or "billing guide" in billing.question
        for qa in found:
            if qa.answer not in (GUIDE_SENTENCES[0], GUIDE_SENTENCES[1]):
                check_identifies(qa, GUIDE_SENTENCES)


def test_sentences_that_cannot_be_told_apart_are_not_asked():
    first = "Invoices are numbered by the billing service in the order they are created."
    second = "Invoices are numbered by the billing service in the order they are created, in each region."
    for seed in SEEDS:  # every word of the first is in the second: no question names it alone
        found = passage_questions(f"{first}\n\n{second}\n", "numbering.md", random.Random(seed))
        assert [qa.answer for qa in found] == [second]
        assert "region" in found[0].question


def test_headings_that_repeat_are_not_asked():
    text = ("## Late Fees\n\nThe client is charged interest on any amount that is overdue for a month.\n\n"
            "## Late Fees\n\nThe supplier is charged a penalty for each delivery that arrives after noon.\n")
    for seed in SEEDS:
        found = passage_questions(text, "terms.md", random.Random(seed))
        assert len(found) == 2
        assert not any("late fees" in qa.question.lower() for qa in found)


def test_line_numbers_of_sentences_spanning_lines():
    found = passage_questions(GUIDE, "billing.md", random.Random(0))
    lines = {qa.answer: (qa.start_line, qa.end_line) for qa in found}
    assert lines[GUIDE_SENTENCES[1]] == (7, 8)
    assert lines[GUIDE_SENTENCES[2]] == (8, 9)
    assert lines[GUIDE_SENTENCES[3]] == (18, 18)
    assert lines[GUIDE_SENTENCES[5]] == (23, 23)


def test_python_answers_come_from_docstrings_on_their_lines():
    lines = PYTHON.split("\n")
    for seed in SEEDS:
        found = passage_questions(PYTHON, "pkg/ledger.py", random.Random(seed))
        assert [qa.answer for qa in found] == PYTHON_SENTENCES
        for qa in found:
            check_placed(qa, PYTHON)
            check_identifies(qa, PYTHON_SENTENCES)
    found = passage_questions(PYTHON, "pkg/ledger.py", random.Random(0))
    starts = [next(n for n, line in enumerate(lines, 1) if s.split()[1] in line and s.split()[0] in line)
              for s in PYTHON_SENTENCES]
    assert [qa.start_line for qa in found] == starts == [1, 3, 13, 15, 22, 32]
    assert all(qa.end_line == qa.start_line for qa in found)


def test_plain_words_stand_in_for_plurals_sometimes():
    seen = set()
    for seed in range(60):
        for qa in passage_questions(GUIDE, "billing.md", random.Random(seed)):
            if qa.answer not in GUIDE_SENTENCES[:2]:  # those two are asked by their section's heading
                answer = words_of(qa.answer)
                seen.update("exact" if w.lower() in answer else "plural" for w in asked_words(qa.question))
    assert seen == {"plural", "exact"}


def frame_words(question: str) -> tuple[str, str] | None:
    """(frame, the words it holds) when the question takes one of a user's forms; None for a plain form."""
    bare = "{words}?"  # tried last: it matches any question
    for frame in (*[f for f in _USER if f != bare], *_HOW_MANY, bare):
        if frame == bare and re.search(r"^What (does|is said).* about |^Find the passage about ", question):
            return None
        pattern = re.escape(frame).replace(r"\{words\}", "(?P<words>.+)")
        pattern = pattern.replace(r"\{unit\}", "(?P<unit>[a-z]+)")
        match = re.fullmatch(pattern, question, flags=re.IGNORECASE)
        if match:
            return frame, match.group("words")
    return None


def test_varied_questions_take_a_users_forms_and_still_name_their_sentence():
    # a user does not quote the sentence's words in order after "What does it say about": the stream's
    # questions (varied) take other frames, other orders, "How many days ...?", and still name the sentence
    frames, orders, plain = set(), set(), 0
    for seed in range(60):
        found = passage_questions(GUIDE, "billing.md", random.Random(seed), varied=True)
        assert {qa.answer for qa in found} == set(GUIDE_SENTENCES)
        for qa in found:
            if qa.answer in GUIDE_SENTENCES[:2]:
                continue  # asked by their section's heading
            form = frame_words(qa.question)
            if form is None:
                check_identifies(qa, GUIDE_SENTENCES)
                plain += 1
                continue
            frame, words = form
            frames.add(frame)
            named = re.findall(r"[a-z]+", words.lower().replace(" and ", " "))
            answer = words_of(qa.answer)
            assert named and all(w in answer or f"{w}s" in answer for w in named), qa
            assert not [s for s in GUIDE_SENTENCES if s != qa.answer and set(named) <= words_of(s)], qa
            positions = [qa.answer.lower().find(w) for w in named]
            orders.add(positions == sorted(positions))
            if frame in _HOW_MANY:
                # "two percent", "within five business days"
                counted = {GUIDE_SENTENCES[2]: "percent", GUIDE_SENTENCES[3]: "days"}
                assert f"many {counted[qa.answer]}" in qa.question.lower(), qa
    assert plain > 60 and len(frames) > len(_USER) // 2 and orders == {True, False}
    assert frames & set(_HOW_MANY)


def test_same_seed_same_questions():
    for source, path in ((GUIDE, "a.md"), (PYTHON, "a.py"), (LICENSE, "LICENSE")):
        first = passage_questions(source, path, random.Random(7))
        assert first == passage_questions(source, path, random.Random(7))
        assert first
    rng = random.Random(3)
    passage_questions(GUIDE, "a.md", rng)
    assert rng.random() != random.Random(3).random()  # it draws from the rng it is given


def test_license_sections_are_asked_by_their_headings():
    for seed in SEEDS:
        found = passage_questions(LICENSE, "vendor/LICENSE", random.Random(seed))
        for qa in found:
            check_placed(qa, LICENSE)
        asked = {}
        for qa in found:
            for heading in LICENSE_SECTIONS:
                if heading.lower() in qa.question.lower():
                    asked[heading] = qa.answer
        assert asked == LICENSE_SECTIONS
        grant = next(qa for qa in found if qa.answer == LICENSE_SECTIONS["Grant of Copyright License"])
        assert LICENSE.split("\n")[grant.start_line - 1].strip().startswith("2. Grant of Copyright License.")
        definition = next(qa for qa in found if qa.answer.startswith('"Software" means'))
        assert "definitions" not in definition.question.lower()  # a one-word heading is not asked


def test_rst_literal_blocks_directives_and_tables_are_skipped():
    found = passage_questions(RST, "docs/usage.rst", random.Random(0))
    assert [qa.answer for qa in found] == [
        "The command reads its settings from the project file before it starts any work.",
        "The tool writes its report to standard output unless a file name is given.",
    ]
    for qa in found:
        check_placed(qa, RST)


def test_questions_per_file_are_capped_and_spread():
    topics = [a + b for a in ("alpha", "bravo", "delta", "gamma", "kappa", "omega")
              for b in ("red", "blue", "green", "black", "white", "brown", "amber", "ivory", "olive", "coral",
                        "azure", "beige", "khaki", "mauve", "ochre", "peach", "slate")]
    sentences = [f"The clause number {i} covers the topic {topic} in full detail for every reader."
                 for i, topic in enumerate(topics)]
    text = "\n\n".join(sentences)  # sentence i on line 2i + 1
    assert len(passage_questions(text[:len(text) // 2], "notes.txt", random.Random(0))) == len(sentences) // 2
    found = passage_questions(text, "notes.txt", random.Random(0))
    assert MAX_QUESTIONS // 2 <= len(found) <= MAX_QUESTIONS
    assert found[0].start_line == 1 and found[-1].start_line > 2 * len(sentences) - 10
    assert [qa.start_line for qa in found] == sorted(qa.start_line for qa in found)
    gaps = {b.start_line - a.start_line for a, b in zip(found, found[1:], strict=False)}
    assert max(gaps) <= 2 * (len(sentences) // MAX_QUESTIONS + 1)


def test_prose_files_are_named_by_suffix_or_license_name():
    prose = ["README.md", "docs/Guide.RST", "notes.txt", "pkg-1.0.dist-info/licenses/LICENSE",
             "COPYING.LESSER", "LICENSE-APACHE", "a\\b\\license.txt"]
    assert all(is_prose(path) for path in prose)
    assert not any(is_prose(path) for path in ["a.py", "io.c", "README", "mdfile", "docs/md", "x.html"])


@pytest.mark.parametrize("source, path", [
    ("", "README.md"),
    ("", "a.py"),
    (bytes(range(256)).decode("latin-1") * 40, "blob.txt"),
    ("\x00\x01\x02 garbage \ufffd\ufffd" * 500, "LICENSE"),
    ("/* The function returns the number of bytes that were read from the stream. */\nint x;\n", "io.c"),
    (GUIDE, "billing.html"),
    ("def broken(:\n    '''A docstring that would be a fine sentence if the code parsed.'''\n", "bad.py"),
    ('"""' * 7 + "\n```\n::\n.. x::\n" * 50, "odd.rst"),
])
def test_junk_gives_nothing(source, path):
    assert passage_questions(source, path, random.Random(0)) == []


def test_random_text_never_raises():
    rng = random.Random(0)
    pieces = ["# T\n", "Title\n=====\n", "```\n", "    ", "\t", "1. Grant of Things. Foo.\n", ".. note::\n",
              "Example::\n", "The quick brown fox jumps over the lazy dog again and again. ", "e.g. ", "\n\n",
              "| a | b |\n", ">>> x\n", "ARTICLE 2 - FOO BAR\n", "Args:\n", '"""', "\r\n", "\x0c", "é"]
    for trial in range(300):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 60)))
        for path in ("x.md", "x.rst", "COPYING", "x.py"):
            for qa in passage_questions(text, path, random.Random(trial)):
                check_placed(qa, text)


def test_a_docstring_argument_does_not_join_the_sentence_before_it():
    # Google-style argument lines start a paragraph of their own: the sentence before one ends there
    source = '''def show(overflow=None):
    """Print the screen to the console without scrolling the terminal window at all.

    Args:
        justify (str, optional): Justify method for every line of the rendered screen. Defaults to None.
        overflow (OverflowMethod, optional): How to handle overflowing locals, or None to disable it.
    """
'''
    for seed in SEEDS:
        answers = [qa.answer for qa in passage_questions(source, "pkg/screen.py", random.Random(seed))]
        assert "Print the screen to the console without scrolling the terminal window at all." in answers
        assert not [a for a in answers if "Defaults to None" in a and "overflow" in a], answers
