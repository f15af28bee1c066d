"""Summarize one document: its outline, its key passages by topic (cited), or a code file's definitions.

    summary = summarize(engine, "contract.pdf")          # the file is its own project (paths=[file])
    print(json.dumps(summary.to_json()))                 # `summarize --json` (DESIGN.md section 6)

The outline is what ingest stored: the PDF's own table of contents, else the headings detected from font
size and numbering (ingest/pdf_headings.py), or a Markdown file's headings. Nothing is parsed again.

Each topic (app/core/summary_topics.py) is found by asking the project memory: `engine.retrieve` runs the
topic's question through the whole model, whose retrieval reads every chunk of the document and picks
the ones it attends to. The embedded model is small, so its picks are checked lexically: a picked passage
counts only if it, or the heading of its section, names the topic. With `lexical=True` (the default) the
sections whose heading names the topic, or else the densest place its phrases occur, are added as
candidates too (score 0.0: the model's retrieval did not weigh them). Candidates rank by evidence (the
passage's own section is about the topic > it only mentions it), then by the model's retrieval score.
A topic with no candidate is `found: false` with no citations: nothing is invented.

A code file gets its definitions instead, each with what its docstring or leading comment says it does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.core.answer import Citation, CitedDocument, spans_for
from app.core.project import project_paths
from app.core.summary_code import describe
from app.core.summary_passages import DocumentMap, Located
from app.core.summary_topics import CONTRACT_TOPICS, STRONG, Topic
from ingest.paths import project_db_path
from ingest.store import Store, StoredDocument

TOPIC_CITATIONS = 3  # passages shown per topic
RETRIEVED = 6  # chunks the model's retrieval offers per topic question


class SummarizeError(Exception):
    """The document cannot be summarized (not a file, failed to parse, ...): one line for the user."""


@dataclass(frozen=True)
class OutlineEntry:
    title: str
    level: int  # 1 = top level
    page: int | None  # PDFs
    line: int | None = None  # Markdown and text

    @property
    def where(self) -> str:
        return f"p.{self.page}" if self.page is not None else (f"line {self.line}" if self.line else "")

    def to_json(self) -> dict:
        return {"title": self.title, "page": self.page, "level": self.level}


@dataclass
class TopicResult:
    topic: str
    found: bool
    citations: list[Citation]  # strongest evidence first; empty when not found
    retrieved: bool = False  # the first citation came from the model's retrieval (not the section search)

    def to_json(self) -> dict:
        return {"topic": self.topic, "found": self.found, "citations": [c.to_json() for c in self.citations]}


@dataclass(frozen=True)
class DefinitionSummary:
    name: str
    kind: str
    qualified_name: str
    start_line: int
    end_line: int
    summary: str  # first sentence of its docstring / leading comment; "" when it has none
    signature: str
    citation: Citation  # the lines that say what it does (comment, signature, docstring)

    def to_json(self) -> dict:
        return {"name": self.name, "kind": self.kind, "qualified_name": self.qualified_name,
                "start_line": self.start_line, "end_line": self.end_line, "summary": self.summary,
                "citation": self.citation.to_json()}


@dataclass(frozen=True)
class SummaryProgress:
    step: int
    total: int
    label: str  # e.g. "payment"


@dataclass
class Summary:
    path: str  # the document path as cited ("contract.pdf")
    abspath: str
    kind: str  # "pdf" | "text" | "code"
    pages: int
    outline: list[OutlineEntry] = field(default_factory=list)
    topics: list[TopicResult] = field(default_factory=list)
    definitions: list[DefinitionSummary] | None = None  # code files only
    text: str = ""  # a written summary (by an answer model), citing [n] = text_citations[n - 1]
    text_citations: list[Citation] = field(default_factory=list)
    stopped: bool = False
    timing: dict = field(default_factory=dict)  # total_ms

    def to_json(self) -> dict:
        data: dict = {"path": self.path, "outline": [e.to_json() for e in self.outline],
                      "topics": [t.to_json() for t in self.topics]}
        if self.definitions is not None:
            data["definitions"] = [d.to_json() for d in self.definitions]
        if self.text:
            data["summary"] = {"text": self.text, "citations": [c.to_json() for c in self.text_citations]}
        return data


def summarize(engine, path: str | Path, *, topics: Sequence[Topic] = CONTRACT_TOPICS, lexical: bool = True,
              should_stop: Callable[[], bool] | None = None,
              progress: Callable[[SummaryProgress], None] | None = None,
              file_progress: Callable | None = None, encode_progress: Callable | None = None) -> Summary:
    """Outline and cited key passages of one document (or a code file's definitions); see the module doc.
    file_progress / encode_progress go to `engine.refresh` (reading and encoding a long document)."""
    started = time.perf_counter()
    file = Path(path).expanduser()
    if not file.is_file():
        raise SummarizeError(f"{path}: not a file (summarize takes one document)")
    file = file.resolve()
    paths = [str(file)]
    report = engine.refresh(paths, should_stop=should_stop, progress=file_progress,
                            encode_progress=encode_progress)
    with Store(project_db_path(project_paths(paths)[0])) as store:
        doc = store.document(file.name)
        if doc is None:
            raise SummarizeError(_why_missing(store, file.name, report.ingest.cancelled))
        headings = store.headings(doc.id)
        definitions = store.definitions(doc.id)
    summary = Summary(doc.path, str(file), doc.kind, doc.pages,
                      outline=[OutlineEntry(h.title, h.level, h.page, h.line) for h in headings])
    if doc.kind == "code":
        summary.definitions = _definitions(doc, definitions, str(file))
    elif report.ingest.cancelled or report.encode.cancelled:
        summary.stopped = True  # the memory does not hold the whole document: asking it would mislead
    else:
        document_map = DocumentMap(doc, headings)
        for step, topic in enumerate(topics):
            if should_stop is not None and should_stop():
                summary.stopped = True
                break
            if progress is not None:
                progress(SummaryProgress(step, len(topics), topic.name))
            retrieved = engine.retrieve(paths, topic.question, limit=RETRIEVED, refresh=False)
            summary.topics.append(find_topic(topic, document_map, str(file), retrieved, lexical=lexical))
    summary.timing = {"total_ms": round((time.perf_counter() - started) * 1000, 1)}
    return summary


def find_topic(topic: Topic, document_map: DocumentMap, abspath: str, retrieved: Sequence[Citation], *,
               lexical: bool = True) -> TopicResult:
    """The passages of the document about `topic`: the model's picks that pass the lexical check, plus (with
    `lexical`) the sections named after the topic; strongest evidence first, then the model's score."""
    doc = document_map.doc
    # (evidence, retrieval score, order, citation, its spans)
    candidates: list[tuple[int, float, int, Citation, Located]] = []
    for order, citation in enumerate(retrieved):
        if citation.path != doc.path:
            continue
        located = document_map.locate_citation(citation.page, citation.rects, citation.start_line,
                                               citation.end_line)
        if located is None:
            continue
        evidence = topic.evidence(citation.text, document_map.section_headings(located))
        if evidence:
            candidates.append((evidence, citation.score, order, citation, located))
    if lexical:
        passages = list(document_map.section_passages(topic))
        if not passages and not any(evidence == STRONG for evidence, *_ in candidates):
            passages = [p for p in [document_map.text_passage(topic)] if p is not None]
        for located in passages:
            if any(_overlap(located, other) for *_, other in candidates):
                continue  # the model picked this passage already
            evidence = topic.evidence(document_map.text_of(located), document_map.section_headings(located))
            for citation in _cite(doc, abspath, located):
                candidates.append((evidence, 0.0, len(candidates) + len(retrieved), citation, located))
    candidates.sort(key=lambda c: (-c[0], -c[1], c[2]))
    kept = [citation for *_, citation, _ in candidates][:TOPIC_CITATIONS]
    return TopicResult(topic.name, bool(kept), kept, retrieved=bool(kept) and kept[0].score > 0)


def _overlap(a: Located, b: Located) -> bool:
    return a.first <= b.last and b.first <= a.last


def _cite(doc: StoredDocument, abspath: str, located: Located) -> list[Citation]:
    start = int(doc.span_index[located.first, 0])
    end = int(doc.span_index[located.last, 1])
    return spans_for(CitedDocument(doc, abspath, ()), start, end, 0.0)


def _definitions(doc: StoredDocument, definitions, abspath: str) -> list[DefinitionSummary]:
    out = []
    lines = {int(line): i for i, line in enumerate(doc.span_index[:, 2]) if line}
    for head in describe(doc, definitions):
        first, last = lines.get(head.first_line), lines.get(head.last_line)
        if first is None or last is None:
            continue
        cited = _cite(doc, abspath, Located(first, last))
        if not cited:
            continue
        d = head.definition
        out.append(DefinitionSummary(d.name, d.kind, d.qualified_name, d.start_line, d.end_line, head.summary,
                                     head.signature, cited[0]))
    return out


def _why_missing(store: Store, name: str, cancelled: bool) -> str:
    if cancelled:
        return "stopped before the document was read"
    for problem in store.problems():
        if problem["path"] == name:
            return f"{name}: {problem['status']}: {problem['reason']}"
    return f"{name}: no document was stored for this file"
