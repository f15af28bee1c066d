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


def test_a_clause_among_the_later_citations_counts_only_there():
    # the chips a user can click: a later chip holding the clause counts as "among the citations", not as
    # the first; the generator script that holds the same words is not the contract
    from app.core.answer import Answer, Citation
    from benchmarks.eval_contract import score

    phrases = ("payable within thirty (30) days",)

    def chip(path, text, page):
        return Citation(path, None, None, page, None, 0.3, text, path)

    chips = [chip(CONTRACT, "Article 1. Definitions", 1), chip("make_contract.py", phrases[0], None),
             chip(CONTRACT, "Invoices are payable within thirty\n(30) days.", 2)]
    answer = Answer("Invoices are due.", chips)
    sample = score("How many days?", phrases, answer)
    assert sample["clause_cited"] and not sample["cited"] and not sample["quoted"]
    assert sample["clause_shown"]  # quoted under the answer: it holds the question's "days"
    answer.citations.pop()
    assert not score("How many days?", phrases, answer)["clause_cited"]


def test_the_clause_counts_as_shown_only_in_the_lines_quoted_under_the_answer():
    # a long page cited: the window quotes four of its lines, those holding the question's rarer words
    from app.core.answer import Answer, Citation
    from benchmarks.eval_contract import score

    phrases = ("payable within thirty (30) days",)
    page = "\n".join([f"The Provider shall keep records of item {i}." for i in range(12)]
                     + ["Invoices are payable within thirty (30) days of receipt."])
    cited = [Citation(CONTRACT, None, None, 2, None, 0.5, page, CONTRACT)]
    assert score("When are invoices payable?", phrases, Answer("Soon.", cited))["clause_shown"]
    # a question none of whose words the page holds quotes its first lines, without the clause
    sample = score("How long is the term?", phrases, Answer("Soon.", cited))
    assert sample["clause_cited"] and not sample["clause_shown"]
