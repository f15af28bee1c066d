import pymupdf

from benchmarks.eval_contract import CONTRACT, QUESTIONS, SAMPLE, flat, holds, repeats


def test_every_contract_question_names_a_clause_the_contract_holds():
    # a phrase the PDF does not hold (a typo, a reworded clause) would make its question unwinnable
    with pymupdf.open(SAMPLE / CONTRACT) as pdf:
        text = flat(" ".join(page.get_text() for page in pdf))
    assert len(QUESTIONS) >= 12
    for question, phrases in QUESTIONS.items():
        assert all(flat(phrase) in text for phrase in phrases), question
        assert not holds(question, phrases)  # the answer must come from the contract, not the question


def test_a_clause_counts_as_quoted_whatever_its_line_breaks_and_case():
    phrases = ("payable within thirty (30) days",)
    assert holds("Invoices are PAYABLE within thirty\n(30)   days of receipt.", phrases)
    assert not holds("Invoices are payable within fifteen (15) days.", phrases)


def test_a_follow_up_repeats_when_it_equals_any_earlier_answer_of_the_chat():
    chat = ["Within thirty days.", "England and Wales.", "within  THIRTY\ndays.", "Five years.",
            "England and Wales", "England and Wales.", ""]
    assert repeats(chat) == [False, False, True, False, False, True, False]
    assert repeats(["The same answer.", "The same answer."]) == [False, True]
    assert repeats(["Only one answer."]) == [False]  # the first answer of a chat has nothing to repeat
    assert repeats(["", ""]) == [False, False]  # nor does an empty one
