"""Citation mapping with hand-built chunk weights: chunk -> tokens -> characters -> lines or PDF boxes."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from app.core.answer import GAP, CitedDocument, build_citations, chunk_chars
from ingest.paths import project_db_path
from ingest.pipeline import ingest
from ingest.store import Store
from model.chunk_runs import merge_runs
from model.tokenizer import Tokenizer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ingest"))
from pdf_fixtures import KNOWN_LINES, make_known_pdf  # noqa: E402

S = 64
SAMPLE_PDF = Path(__file__).resolve().parents[2] / "resources" / "sample" / "services-agreement.pdf"


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer.load()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "pkg").mkdir(parents=True)
    lines = [f"def function_number_{i}(value):\n    return value * {i} + {i * 7}\n\n" for i in range(60)]
    (root / "pkg" / "many.py").write_text("".join(lines))
    (root / "contract.pdf").write_bytes(make_known_pdf())
    ingest([str(root)])
    return root


def cited(store: Store, tokenizer: Tokenizer, path: str) -> CitedDocument:
    doc = store.document(path)
    return CitedDocument(doc, f"/abs/{path}", tokenizer.document(doc.text).offsets)


def lines_of(text: str, start: int, end: int) -> tuple[int, int]:
    """Source lines of characters [start, end) of a code document (its first line is the path header)."""
    return text.count("\n", 0, start), text.count("\n", 0, end - 1)


def test_a_chunk_cites_exactly_the_source_lines_its_tokens_came_from(project, tokenizer):
    with Store(project_db_path(project)) as store:
        doc = cited(store, tokenizer, "pkg/many.py")
        start, end = chunk_chars(doc.offsets, 5, 5, S)
        [citation] = build_citations({("key-many", 5): 2.0}, lambda key: doc, S)
    first, last = lines_of(doc.document.text, start, end)
    assert (citation.path, citation.start_line, citation.end_line) == ("pkg/many.py", first, last)
    assert citation.page is None and citation.rects is None and citation.score == pytest.approx(1.0)
    source = (project / "pkg" / "many.py").read_text().splitlines()
    assert citation.text == "\n".join(source[first - 1 : last])  # whole lines, exactly the file's text
    assert citation.label == f"pkg/many.py:{first}-{last}"


def test_adjacent_chunks_merge_and_scores_rank(project, tokenizer):
    with Store(project_db_path(project)) as store:
        doc = cited(store, tokenizer, "pkg/many.py")
        last = len(doc.offsets) // S - 1
        weights = {("k", 2): 0.25, ("k", 3): 0.25, ("k", 6): 0.125, ("k", last): 0.375}
        citations = build_citations(weights, lambda key: doc, S)
    assert [round(c.score, 3) for c in citations] == [0.5, 0.375, 0.125]
    merged = citations[0]
    start, _ = chunk_chars(doc.offsets, 2, 2, S)
    _, end = chunk_chars(doc.offsets, 3, 3, S)
    assert (merged.start_line, merged.end_line) == lines_of(doc.document.text, start, end)
    assert merge_runs({4: 1.0, 2: 1.0, 3: 0.5, 7: 1.0}) == [(2, 4, 2.5), (7, 7, 1.0)]


def test_pdf_chunk_cites_pages_and_line_rectangles(project, tokenizer):
    with Store(project_db_path(project)) as store:
        doc = cited(store, tokenizer, "contract.pdf")
        n_chunks = -(-len(doc.offsets) // S)
        citations = build_citations({("c", i): 1.0 for i in range(n_chunks)}, lambda key: doc, S, min_share=0)
    assert sorted(c.page for c in citations) == [1, 2, 3]  # one citation per page, never across pages
    by_page = {c.page: c for c in citations}
    for page, baseline, _size, text in KNOWN_LINES:
        citation = by_page[page]
        assert text in citation.text
        assert citation.start_line is None and citation.label == f"contract.pdf p.{page}"
        # the line's rectangle: starts at x = 72 and contains its baseline
        assert any(abs(x0 - 72) < 1.5 and y0 < baseline <= y1 + 1 for x0, y0, _x1, y1 in citation.rects)
    assert sum(c.score for c in citations) == pytest.approx(1.0)


def test_two_runs_on_one_pdf_page_are_one_citation_marking_the_lines_between(tmp_path, tokenizer):
    # the chunks read on page 3 of the sample contract, with an unread chunk between: one chip for the page,
    # its text not running the two passages together as if they were one
    root = tmp_path / "proj"
    root.mkdir()
    shutil.copy(SAMPLE_PDF, root / "services-agreement.pdf")
    ingest([str(root)])
    with Store(project_db_path(root)) as store:
        doc = cited(store, tokenizer, "services-agreement.pdf")
    index = doc.document.span_index
    pages = [{int(index[i, 3]) for i in range(len(index))
              if index[i, 1] > chunk_chars(doc.offsets, c, c, S)[0]
              and index[i, 0] < chunk_chars(doc.offsets, c, c, S)[1]} for c in range(len(doc.offsets) // S)]
    first = next(c for c in range(len(pages) - 2) if pages[c] == pages[c + 1] == pages[c + 2] == {3})
    [citation] = build_citations({("k", first): 0.6, ("k", first + 2): 0.4}, lambda key: doc, S)
    assert citation.page == 3 and citation.score == pytest.approx(1.0)
    lines = citation.text.split("\n")
    assert GAP in lines[1:-1] and lines.count(GAP) == 1
    assert len(citation.rects) == len(lines) - 1  # a rectangle for every line read, none for the gap
    unread = doc.document.text[slice(*chunk_chars(doc.offsets, first + 1, first + 1, S))]
    between = unread.split("\n")[1]  # a whole line of the unread chunk
    assert between.strip() and between not in citation.text
    # the two runs read alone: their lines are the citation's, in order
    alone = [build_citations({("k", c): 1.0}, lambda key: doc, S)[0].text for c in (first, first + 2)]
    assert citation.text == f"{alone[0]}\n{GAP}\n{alone[1]}"


def test_gone_documents_and_tiny_shares_are_not_cited(project, tokenizer):
    with Store(project_db_path(project)) as store:
        doc = cited(store, tokenizer, "pkg/many.py")
        weights = {("live", 1): 0.9, ("deleted", 0): 5.0, ("live", 30): 0.01}
        citations = build_citations(weights, lambda key: doc if key == "live" else None, S)
    assert len(citations) == 1
    assert citations[0].score == pytest.approx(0.9 / 5.91)  # the share of all the answer's weight
    assert build_citations({}, lambda key: doc, S) == []


def test_offsets_kept_as_an_array_cite_the_same_spans_as_the_tokenizers_pairs(project, tokenizer):
    with Store(project_db_path(project)) as store:  # the engine keeps cited documents' offsets as (n, 2)
        for path in ("pkg/many.py", "contract.pdf"):
            pairs = cited(store, tokenizer, path)
            array = CitedDocument(pairs.document, pairs.abspath, np.array(pairs.offsets, dtype=np.int32))
            last = -(-len(pairs.offsets) // S) - 1
            weights = {("k", 0): 1.0, ("k", 1): 0.5, ("k", 4): 0.75, ("k", last): 0.25, ("k", last + 3): 0.1}
            expected = build_citations(weights, lambda key, doc=pairs: doc, S, min_share=0)
            got = build_citations(weights, lambda key, doc=array: doc, S, min_share=0)
            assert expected and got == expected
            beyond = (last + 3, last + 3, S)  # a chunk with no tokens covers no characters
            assert chunk_chars(array.offsets, *beyond) == chunk_chars(pairs.offsets, *beyond) == (0, 0)
