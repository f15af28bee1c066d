"""The lexical check of summaries, without a model: which passages count for a topic, and where they are."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from app.core.answer import Citation, CitedDocument, spans_for
from app.core.summarize import _definitions, find_topic
from app.core.summary_passages import DocumentMap
from app.core.summary_topics import CONTRACT_TOPICS, NONE, STRONG, WEAK, topic_by_name
from benchmarks.contract300 import TOPICS
from ingest.parse import parse_file
from ingest.pdf import parse_pdf
from ingest.scan import Root
from ingest.store import Store


def store_document(tmp_path: Path, path: Path, parsed):
    store = Store(tmp_path / "project.db")
    [root_id] = store.set_roots([Root(path, True, True)])
    store.put_document(root_id, path.name, path.stat().st_size, 0, "hash", parsed)
    doc = store.document(path.name)
    return doc, store.headings(doc.id), store.definitions(doc.id)


@pytest.fixture(scope="module")
def contract(contract_files, tmp_path_factory):
    path, generated = contract_files["toc"]
    parsed = parse_pdf(path.read_bytes(), path.name)
    doc, headings, _ = store_document(tmp_path_factory.mktemp("db"), path, parsed)
    return DocumentMap(doc, headings), generated, str(path)


def page_citation(document_map: DocumentMap, page: int, contains: str, score: float,
                  abspath: str) -> Citation:
    """A citation of the lines of `page` from the first one containing `contains` (what retrieval returns)."""
    doc = document_map.doc
    rows = [i for i in range(len(document_map)) if document_map.pages[i] == page]
    first = next(i for i in rows if contains in document_map.span_text(i))
    start, end = int(doc.span_index[first, 0]), int(doc.span_index[min(first + 3, rows[-1]), 1])
    [citation] = spans_for(CitedDocument(doc, abspath, ()), start, end, score)
    return citation


@pytest.mark.parametrize(("topic", "text", "evidence"), [
    ("payment", "Invoices are payable within thirty (30) days of receipt.", WEAK),
    ("payment", "The Provider shall publish the release plan each calendar month.", NONE),
    ("assignment", "Neither Party may assign this Agreement without the prior written consent of the other.",
     WEAK),
    ("assignment", "The Provider hereby assigns those rights to the Client with full title guarantee.", NONE),
    ("notices", "Either Party may end it on ninety (90) days' written notice.", NONE),
    ("notices", "Notices under this Agreement must be in writing.", WEAK),
    ("parties", "made on 3 March 2025 between Lumen Ltd (the \"Provider\") and Northwind GmbH", WEAK),
    ("confidentiality", "subject to Article 9 (Confidentiality)", NONE),
])
def test_text_patterns_tell_a_clause_from_a_mention(topic, text, evidence):
    assert topic_by_name(topic).evidence(text, []) == evidence


def test_a_section_heading_naming_the_topic_is_strong_evidence():
    topic = topic_by_name("liability and its limits")
    assert topic.evidence("Each Party shall keep records.", ["Article 14. Limitation of Liability"]) == STRONG
    assert topic.evidence("Each Party shall keep records.", ["Article 3. Service Levels"]) == NONE


def test_headings_are_placed_on_their_printed_lines(contract):
    document_map, _, abspath = contract
    assert len(document_map.headings) == len(pymupdf.open(abspath).get_toc()) >= 8
    for span, heading in zip(document_map.heading_spans, document_map.headings, strict=True):
        assert document_map.span_text(span).startswith(heading.title[:20])
        assert document_map.pages[span] == heading.page


def test_every_clause_present_is_found_on_its_page_and_a_missing_one_is_not(contract):
    document_map, generated, abspath = contract
    for topic in CONTRACT_TOPICS:
        result = find_topic(topic, document_map, abspath, [], lexical=True)
        if topic.name not in generated.truth:
            assert not result.found and result.citations == []
            continue
        assert result.found, topic.name
        first, last = generated.truth[topic.name][0]
        assert first <= result.citations[0].page <= last, topic.name
        assert result.citations[0].rects and result.citations[0].text.strip()
    assert set(generated.truth) == set(TOPICS) - {"indemnification"}


def test_a_retrieved_passage_from_another_clause_is_rejected(contract):
    document_map, generated, abspath = contract
    law_page = generated.truth["governing law and jurisdiction"][0][0]
    retrieved = [page_citation(document_map, law_page, "governed by", 0.8, abspath)]
    payment = find_topic(topic_by_name("payment"), document_map, abspath, retrieved, lexical=False)
    assert not payment.found and payment.citations == []
    law = find_topic(topic_by_name("governing law and jurisdiction"), document_map, abspath, retrieved,
                     lexical=False)
    assert law.found and law.retrieved and law.citations == retrieved


def test_a_missing_clause_stays_missing_whatever_retrieval_offers(contract):
    document_map, generated, abspath = contract
    offered = [page_citation(document_map, page, "", 0.1, abspath) for page in range(1, generated.pages + 1)]
    result = find_topic(topic_by_name("indemnification"), document_map, abspath, offered, lexical=True)
    assert not result.found and result.citations == []


def test_the_clause_section_ranks_above_a_higher_scored_mention(contract):
    document_map, generated, abspath = contract
    payment_page = generated.truth["payment"][0][0]
    filler_page = next(p for p in range(1, generated.pages + 1)
                       if all(not a <= p <= b for ranges in generated.truth.values() for a, b in ranges))
    mention = page_citation(document_map, filler_page, "shall", 0.9, abspath)
    mention = Citation(mention.path, None, None, mention.page, mention.rects, 0.9,
                       "Invoices are payable within thirty (30) days.", abspath)  # only mentions payment
    result = find_topic(topic_by_name("payment"), document_map, abspath, [mention], lexical=True)
    assert [c.page for c in result.citations][:2] == [payment_page, filler_page]
    assert result.citations[0].score == 0.0 and result.citations[1].score == 0.9
    assert not result.retrieved


SOURCE = '''"""A module."""

import os


# Reads the settings file.
# Second line of the comment.
@staticmethod
def load(path):
    return open(path).read()


class Parser:
    """Turns text into tokens. More detail here."""

    def feed(
        self, text,
    ):
        """Feed one chunk of text
        that spans two lines. And more."""
        return text

    def bare(self):
        return None
'''


def test_code_definitions_say_what_they_do_with_the_lines_that_say_it(tmp_path):
    path = tmp_path / "mod.py"
    path.write_text(SOURCE)
    doc, _, definitions = store_document(tmp_path, path, parse_file(SOURCE.encode(), "mod.py"))
    found = {d.qualified_name.removeprefix("mod."): d for d in _definitions(doc, definitions, str(path))}
    lines = SOURCE.splitlines()
    assert found["load"].summary == "Reads the settings file."
    assert (found["load"].citation.start_line, found["load"].citation.end_line) == (6, 9)
    assert found["Parser"].summary == "Turns text into tokens."
    assert found["Parser"].citation.text.splitlines()[-1] == lines[13]
    feed = found["Parser.feed"]
    assert feed.summary == "Feed one chunk of text that spans two lines."
    assert (feed.citation.start_line, feed.citation.end_line) == (16, 20)  # signature to docstring end
    assert lines[feed.start_line - 1].strip().startswith("def feed(")
    bare = found["Parser.bare"]
    assert bare.summary == "" and bare.signature == "def bare(self):"


def test_comments_above_definitions_in_other_languages(tmp_path):
    source = ("// Package-level helper.\n"
              "/**\n * Adds two numbers. Returns the sum.\n */\n"
              "function add(a, b) {\n  return a + b;\n}\n\n"
              "function bare() {}\n")
    path = tmp_path / "util.js"
    path.write_text(source)
    doc, _, definitions = store_document(tmp_path, path, parse_file(source.encode(), "util.js"))
    found = {d.name: d for d in _definitions(doc, definitions, str(path))}
    assert found["add"].summary == "Adds two numbers."  # the doc block right above, not the comment before it
    assert (found["add"].citation.start_line, found["add"].citation.end_line) == (2, 5)
    assert found["bare"].summary == ""
