"""The ask pipeline: ingest joined to the model. One Engine holds a loaded model and the projects' memories.

    engine = Engine()                                   # the embedded model, CUDA when there is one
    report = engine.refresh(["~/src/proj"])             # ingest + encode what changed
    answer = engine.ask(["~/src/proj"], "Where is the config parsed?", on_token=print)

`ask` refreshes the project first (a scan that finds nothing changed costs milliseconds and encodes nothing),
then runs the question document through the whole model against the project memory and cites the chunks
the answer tokens retrieved (app/core/answer.py).
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from app.core.answer import Answer, Citation, CitedDocument, build_citations
from app.core.indexing import EncodeProgress, EncodeReport, open_memory, sync_memory
from app.core.lock import project_lock
from app.core.memory_index import doc_key
from app.core.project import project_paths
from app.core.sessions import append_turn, load_turns
from ingest.paths import project_db_path
from ingest.pipeline import IngestReport, Progress, ingest
from ingest.scan import DEFAULT_SIZE_LIMIT
from ingest.store import DocumentVersion, Store
from model.checkpoint import CheckpointError, fingerprint, load
from model.generate import add_chunk_weights, generate
from model.memory import DiskMemory

EMBEDDED_MODEL = Path(__file__).resolve().parents[2] / "resources" / "model"
HISTORY_TOKENS = 1536  # earlier turns kept in a follow-up's question document
MAX_QUESTION_TOKENS = 8192
# token offsets of cited documents kept between answers (a follow-up cites the same files; tokenizing a long
# one again costs tens of ms on the CPU): at most this many documents and this many tokens (8 bytes each)
CITED_OFFSETS_DOCUMENTS = 256
CITED_OFFSETS_TOKENS = 8_000_000


class ModelError(Exception):
    """The model folder is missing or damaged, or the device asked for is not there."""


class AskError(Exception):
    """A question that cannot be answered as asked (empty project, every file failed, ...)."""


def resolve_device(preference: str) -> str:
    if preference not in ("auto", "cpu", "cuda"):
        raise ModelError(f"unknown device {preference!r}: use auto, cpu or cuda")
    if preference == "cuda" and not torch.cuda.is_available():
        raise ModelError("--device cuda was asked for, but PyTorch sees no CUDA GPU here: use --device cpu")
    if preference == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return preference


@dataclass
class ProjectReport:
    """An ingest run and the encoding after it: `ingest --json`."""

    ingest: IngestReport
    encode: EncodeReport

    def to_json(self) -> dict:
        data = self.ingest.to_json()
        data.update(
            tokens=self.encode.tokens, chunks=self.encode.chunks, memory_bytes=self.encode.memory_bytes
        )
        data["elapsed_s"] = round(self.ingest.elapsed_s + self.encode.elapsed_s, 3)
        return data


class Engine:
    """A loaded model plus the memories of the projects it has opened. Thread-safe: one question or refresh
    at a time runs the model."""

    def __init__(self, model_dir: str | os.PathLike[str] | None = None, device: str = "auto"):
        """model_dir None: $FOLIO_MODEL if set, else the embedded model (resources/model)."""
        model_dir = model_dir or os.environ.get("FOLIO_MODEL") or None
        self.model_dir = Path(model_dir) if model_dir else EMBEDDED_MODEL
        self.device = resolve_device(device)
        if not self.model_dir.is_dir():
            hint = (
                " (the embedded model has not been built into this copy of Folio)"
                if model_dir is None
                else ""
            )
            raise ModelError(f"model folder {self.model_dir} does not exist{hint}")
        try:
            self.model, self.tokenizer = load(self.model_dir, device=self.device)
        except CheckpointError as error:
            raise ModelError(str(error)) from None
        self.fingerprint = fingerprint(self.model)
        self.model_name = self.model.cfg.name
        self._memories: dict[Path, DiskMemory] = {}
        self._lock = threading.RLock()
        # memory key (path and content hash: the exact text) -> its tokens' characters (n, 2), LRU order
        self._cited_offsets: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cited_offsets_tokens = 0

    # ---- projects ------------------------------------------------------------------------------------------
    def memory(self, db_path: Path, notices: list[str] | None = None) -> DiskMemory:
        """The project's memory, opened once and kept (its landmarks stay resident between questions)."""
        with self._lock:
            if db_path not in self._memories:
                self._memories[db_path] = open_memory(
                    db_path, self.model, self.fingerprint, notices if notices is not None else []
                )
            return self._memories[db_path]

    def refresh(
        self,
        paths: Sequence[str],
        *,
        progress: Callable[[Progress], None] | None = None,
        encode_progress: Callable[[EncodeProgress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        size_limit: int = DEFAULT_SIZE_LIMIT,
        waiting: Callable[[str], None] | None = None,
    ) -> ProjectReport:
        """Ingest the project named by paths (scan, parse, store) and encode what changed into its memory."""
        roots = project_paths(paths)
        db_path = project_db_path(roots[0])
        with project_lock(db_path.parent, "ingest", waiting=waiting), self._lock:
            report = ingest(
                roots, size_limit=size_limit, progress=progress, should_stop=should_stop, db_path=db_path
            )
            notices: list[str] = []
            memory = self.memory(db_path, notices)
            if report.cancelled:
                encoded = EncodeReport(
                    cancelled=True,
                    documents=len(memory.doc_keys()),
                    chunks=memory.chunk_count,
                    tokens=memory.token_count,
                    memory_bytes=memory.bytes_on_disk,
                )
            else:
                with Store(db_path) as store:
                    encoded = sync_memory(
                        store,
                        memory,
                        self.model,
                        self.tokenizer,
                        progress=encode_progress,
                        should_stop=should_stop,
                    )
            encoded.notices[:0] = notices
        return ProjectReport(report, encoded)

    def sync(
        self,
        paths: Sequence[str],
        *,
        progress: Callable[[EncodeProgress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> EncodeReport:
        """Encode what the store has and the memory lacks, drop what the store lost (after a watcher's
        change)."""
        db_path = project_db_path(project_paths(paths)[0])
        with project_lock(db_path.parent, "encode"), self._lock, Store(db_path) as store:
            notices: list[str] = []
            report = sync_memory(
                store,
                self.memory(db_path, notices),
                self.model,
                self.tokenizer,
                progress=progress,
                should_stop=should_stop,
            )
            report.notices[:0] = notices
            return report

    def forget(self, paths: Sequence[str]) -> None:
        """Close a project's memory (e.g. before its folder is deleted)."""
        db_path = project_db_path(project_paths(paths)[0])
        with self._lock:
            memory = self._memories.pop(db_path, None)
            if memory is not None:
                memory.close()

    # ---- questions -----------------------------------------------------------------------------------------
    def ask(
        self,
        paths: Sequence[str],
        question: str,
        *,
        session: str | None = None,
        max_new_tokens: int = 64,
        top_k: int | None = None,
        on_token: Callable[[str], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        refresh: bool = True,
        progress: Callable[[Progress], None] | None = None,
        encode_progress: Callable[[EncodeProgress], None] | None = None,
    ) -> Answer:
        """Answer from the whole project. refresh=False skips the scan (a watcher keeps the project fresh)."""
        question = question.strip()
        if not question:
            raise AskError("the question is empty")
        if max_new_tokens < 1:
            raise AskError("--max-new-tokens must be at least 1")
        started = time.perf_counter()
        roots = project_paths(paths)
        db_path = project_db_path(roots[0])
        notices: list[str] = []
        reused = True
        documents: list[DocumentVersion] | None = None  # the store's documents, once read
        if refresh or not db_path.exists():
            report = self.refresh(
                roots, progress=progress, encode_progress=encode_progress, should_stop=should_stop
            )
            documents = report.encode.versions
            notices += report.encode.notices
            reused = report.encode.encoded_documents == 0
            if report.ingest.cancelled or report.encode.cancelled:  # stopped while the project was read
                elapsed = round((time.perf_counter() - started) * 1000, 1)
                info = {"documents": report.encode.documents, "tokens": report.encode.tokens,
                        "chunks": report.encode.chunks, "reused": reused}
                return Answer("", [], {"ttft_ms": elapsed, "total_ms": elapsed}, info, True, notices)
        with self._lock, Store(db_path) as store:
            if documents is None:
                documents = store.document_versions()
            versions = {doc_key(v.path, v.content_hash): v for v in documents}
            if not versions:
                raise AskError(_empty_reason(store))
            memory = self.memory(db_path, notices)
            if memory.chunk_count == 0:
                raise AskError("the project memory is empty: run `ingest` on the project first")
            prompt = self._prompt(db_path, session, question)
            answer, weights, ttft, stopped = self._generate(
                memory, prompt, max_new_tokens, top_k, on_token, should_stop, started
            )
            # the store as it is now: a document changed while the answer ran is not cited with old lines
            current = {v.id: v.content_hash for v in store.document_versions()}
            citations = build_citations(
                weights, lambda key: self._cited(store, versions, current, key), self.model.cfg.chunk_size
            )
            timing = {
                "ttft_ms": round(ttft * 1000, 1),
                "total_ms": round((time.perf_counter() - started) * 1000, 1),
            }
            info = {
                "documents": len(memory.doc_keys()),
                "tokens": memory.token_count,
                "chunks": memory.chunk_count,
                "reused": reused,
            }
        if session:
            append_turn(db_path, session, question, answer, citations)
        return Answer(answer, citations, timing, info, stopped, notices)

    def retrieve(
        self,
        paths: Sequence[str],
        question: str,
        *,
        max_new_tokens: int = 8,
        limit: int = 5,
        refresh: bool = True,
    ) -> list[Citation]:
        """The spans the model reads for this question: the citations of a short answer."""
        return self.ask(paths, question, max_new_tokens=max_new_tokens, refresh=refresh).citations[:limit]

    def fallback_to_cpu(self) -> None:
        """After CUDA ran out of memory: the same model on the CPU (memories reload their landmarks there)."""
        with self._lock:
            self.model = self.model.to("cpu")
            self.device = "cpu"
            if torch.cuda.is_available():
                torch.cuda.empty_cache()

    def _prompt(self, db_path: Path, session: str | None, question: str) -> list[int]:
        tok = self.tokenizer
        turns = load_turns(db_path, session) if session else []
        prompt = tok.chat([("user", question)])
        if len(prompt) > MAX_QUESTION_TOKENS:
            raise AskError(f"the question is {len(prompt):,} tokens long; at most {MAX_QUESTION_TOKENS:,} "
                           "fit (put long text in a file of the project instead)")
        limit = len(prompt) + HISTORY_TOKENS
        for turn in reversed(turns):  # the latest turns first, while they fit
            earlier = tok.chat(
                [("user", turn.question), ("assistant", turn.answer)], add_generation_prompt=False
            )
            if len(prompt) + len(earlier) - 1 > limit:
                break
            prompt = earlier + prompt[1:]  # one <|doc_start|>
        return prompt

    def _generate(self, memory, prompt, max_new_tokens, top_k, on_token, should_stop, started):
        tok = self.tokenizer
        decoder = tok.stream_decoder()
        weights: dict[tuple[str, int], float] = {}
        pieces: list[str] = []
        ttft, stopped = None, False
        stop_ids = {tok.end_turn_id, tok.doc_end_id}
        for token in generate(
            self.model, memory, prompt, max_new_tokens=max_new_tokens, top_k_chunks=top_k, stop_ids=stop_ids
        ):
            if ttft is None:
                ttft = time.perf_counter() - started
            add_chunk_weights(weights, token)
            if token.token_id in stop_ids:
                break
            piece = decoder.step(token.token_id)
            if piece:
                pieces.append(piece)
                if on_token is not None:
                    on_token(piece)
            if should_stop is not None and should_stop():
                stopped = True
                break
        return "".join(pieces), weights, ttft or (time.perf_counter() - started), stopped

    def _cited(self, store: Store, versions: dict, current: dict[int, str], key: str) -> CitedDocument | None:
        """The document behind a memory key, if the store (`current`: id -> content hash) still holds that
        version of it and its file is still there."""
        version = versions.get(key)
        if version is None or current.get(version.id) != version.content_hash:
            return None  # deleted or changed while the question ran: its lines may have moved
        stored = store.document_by_id(version.id)
        if stored is None or not os.path.exists(version.abspath):
            return None
        return CitedDocument(stored, version.abspath, self._offsets(key, stored.text))

    def _offsets(self, key: str, text: str) -> np.ndarray:
        """The characters of each token of the document under memory key `key` (whose text is `text`), (n, 2).
        The key names one exact text, so its offsets never change: they are kept for the next answers."""
        with self._lock:
            cache = self._cited_offsets
            offsets = cache.get(key)
            if offsets is not None:
                cache.move_to_end(key)
                return offsets
            offsets = np.array(self.tokenizer.document(text).offsets, dtype=np.int32)  # (n, 2)
            cache[key] = offsets
            self._cited_offsets_tokens += len(offsets)
            while len(cache) > CITED_OFFSETS_DOCUMENTS or (
                self._cited_offsets_tokens > CITED_OFFSETS_TOKENS and len(cache) > 1
            ):
                _, dropped = cache.popitem(last=False)  # the least recently cited
                self._cited_offsets_tokens -= len(dropped)
            return offsets


def _empty_reason(store: Store) -> str:
    counts = store.counts()
    if counts["failed"] and not counts["parsed"]:
        first = store.problems()[0]
        return (
            f"every file of this project failed to parse ({counts['failed']} files; e.g. {first['path']}: "
            f"{first['reason']}), so there is nothing to answer from"
        )
    if counts["skipped"] and not counts["parsed"]:
        return f"every file of this project was skipped ({counts['skipped']} files): nothing to answer from"
    return "the project has no documents: add folders or files with text, code or PDFs, then ask again"
