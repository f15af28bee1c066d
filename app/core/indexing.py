"""Keep a project's model memory in step with its ingest store: encode new and changed documents, drop
the rest.

The memory holds each document under the key `path NUL content-hash`, so the store and the memory agree on
a document exactly when its key is there. `sync_memory` compares the two and encodes only what is missing,
in batches that each commit on their own: an interrupted run keeps every committed batch and the next run
goes on from there, and a changed document's new version replaces the old one in the same commit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.core.memory_index import doc_key, key_path, memory_folder
from ingest.store import DocumentVersion, Store
from model.encode import encoded_batches
from model.memory import DiskMemory, MemoryCorrupt, MemoryMismatch
from model.tokenizer import Tokenizer
from model.transformer import Transformer

# padded tokens per encode batch; Cancel takes effect between batches (one of hsa-mini on the CPU: seconds)
BATCH_TOKENS = {"cpu": 4096, "cuda": 262144}


@dataclass(frozen=True)
class EncodeProgress:
    documents_done: int
    documents_total: int
    tokens_done: int
    tokens_total: int
    elapsed_s: float

    @property
    def tokens_per_s(self) -> float:
        return self.tokens_done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        rate = self.tokens_per_s
        return (self.tokens_total - self.tokens_done) / rate if rate > 0 else None


@dataclass
class EncodeReport:
    encoded_documents: int = 0
    encoded_tokens: int = 0
    removed_documents: int = 0
    documents: int = 0  # in the memory now
    tokens: int = 0  # token slots in the memory now (whole chunks)
    chunks: int = 0
    memory_bytes: int = 0
    elapsed_s: float = 0.0
    cancelled: bool = False
    notices: list[str] = field(default_factory=list)
    # the store's documents as this run read them (None: it did not read them); when not cancelled they
    # are what the memory holds now, so `Engine.ask` answers with them instead of reading them again
    versions: list[DocumentVersion] | None = field(default=None, repr=False)


def open_memory(db_path: str | Path, model: Transformer, fingerprint: str, notices: list[str]) -> DiskMemory:
    """The project's memory for this model. One made by another model or damaged is deleted and started
    again (its documents are encoded again), with a notice saying so."""
    cfg = model.cfg
    folder = memory_folder(db_path)
    shape = dict(
        fingerprint=fingerprint,
        chunk_size=cfg.chunk_size,
        kv_heads=cfg.hsa_kv_heads,
        head_dim=cfg.hsa_head_dim,
        landmark_dim=cfg.landmark_dim,
    )
    try:
        return DiskMemory.open(folder, **shape)
    except (MemoryMismatch, MemoryCorrupt) as error:
        notices.append(f"rebuilding the project memory, every document is encoded again ({error})")
        DiskMemory.destroy(folder)
        return DiskMemory.open(folder, **shape)


def sync_memory(
    store: Store,
    memory: DiskMemory,
    model: Transformer,
    tokenizer: Tokenizer,
    *,
    progress: Callable[[EncodeProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    batch_tokens: int | None = None,
) -> EncodeReport:
    """Encode every stored document the memory lacks (new or changed); drop what the store no longer has."""
    started = time.monotonic()
    device = model.embed.weight.device.type
    batch_tokens = batch_tokens or BATCH_TOKENS.get(device, 16384)
    versions = store.document_versions()
    report = EncodeReport(versions=versions)
    wanted = {doc_key(v.path, v.content_hash): v for v in versions}
    have = memory.doc_keys()
    live_paths = {v.path for v in versions}
    gone = [k for k in have if k not in wanted and key_path(k) not in live_paths]
    if gone:  # deleted documents leave retrieval first, in one commit
        memory.remove(gone)
        report.removed_documents += len(gone)
    old_by_path: dict[str, list[str]] = {}
    for key in have:
        if key not in wanted and key_path(key) in live_paths:
            old_by_path.setdefault(key_path(key), []).append(key)
    have_set = set(have)
    todo: list[tuple[str, DocumentVersion]] = [(k, v) for k, v in wanted.items() if k not in have_set]
    if todo:
        texts = []
        for _, version in todo:
            stored = store.document_by_id(version.id)
            texts.append(stored.text if stored is not None else "")
        encodings = tokenizer.encode_batch(texts)
        docs = [[tokenizer.doc_start_id, *e.ids, tokenizer.doc_end_id] for e in encodings]
        del texts, encodings
        total = sum(len(d) for d in docs)
        done_docs = done_tokens = 0
        for group, encoded in encoded_batches(model, docs, batch_tokens, should_stop):
            items = [(todo[i][0], *enc) for i, enc in zip(group, encoded, strict=True)]
            stale = [old for i in group for old in old_by_path.get(todo[i][1].path, [])]
            memory.put_many(items, remove=stale)
            report.removed_documents += len(stale)
            done_docs += len(group)
            done_tokens += sum(len(docs[i]) for i in group)
            report.encoded_documents, report.encoded_tokens = done_docs, done_tokens
            if progress is not None:
                progress(EncodeProgress(done_docs, len(docs), done_tokens, total, time.monotonic() - started))
        report.cancelled = done_docs < len(docs)  # encoded_batches stopped early: should_stop said so
    if not report.cancelled:  # versions the store replaced while nothing of theirs needed encoding
        leftovers = [k for k in memory.doc_keys() if k not in wanted]
        if leftovers:
            memory.remove(leftovers)
            report.removed_documents += len(leftovers)
    report.documents = len(memory.doc_keys())
    report.chunks = memory.chunk_count
    report.tokens = memory.token_count
    report.memory_bytes = memory.bytes_on_disk
    report.elapsed_s = time.monotonic() - started
    return report

