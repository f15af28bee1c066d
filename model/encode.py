"""Ingest-time model work: run the lower half and the chunk encoder over documents, store their memory.

A document's memory depends on that document alone: each document is padded to whole chunks, attention never
leaves it, and every document sits in its own batch row starting at position 0, so the result is bitwise the
same whatever it is batched with (see tests/model/test_encode_generate.py).
"""

from collections.abc import Callable, Iterator, Sequence

import torch

from model.memory import ChunkMemory
from model.transformer import PackedChunks, Transformer


def check_memory_layout(model: Transformer, memory: ChunkMemory) -> None:
    cfg = model.cfg
    want = (cfg.chunk_size, cfg.hsa_kv_heads, cfg.hsa_head_dim, cfg.landmark_dim)
    have = (memory.chunk_size, memory.kv_heads, memory.head_dim, memory.landmark_dim)
    if want != have:
        raise ValueError(f"memory layout (chunk, kv heads, head dim, landmark dim) {have} does not fit model "
                         f"{cfg.name!r} {want}")


def batches(lengths: Sequence[int], chunk_size: int, max_batch_tokens: int) -> list[list[int]]:
    """Group document indices into batches of rows of one padded length, longest first."""
    padded = [n + (-n) % chunk_size for n in lengths]
    order = sorted(range(len(lengths)), key=lambda i: -padded[i])
    groups: list[list[int]] = []
    for i in order:
        if groups and (len(groups[-1]) + 1) * padded[groups[-1][0]] <= max_batch_tokens:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


@torch.no_grad()
def encode_packed(model: Transformer, docs: Sequence[Sequence[int]]) -> tuple[PackedChunks, list[int]]:
    """Run the lower half and the chunk encoder over documents, one row each: (PackedChunks on the model's
    device, chunks per document). Every row is padded with the pad token to whole chunks and then to the
    longest row."""
    cfg, device = model.cfg, model.embed.weight.device
    S = cfg.chunk_size
    chunks = [-(-len(d) // S) for d in docs]
    T = max(max(chunks) * S, S)
    idx = torch.full((len(docs), T), cfg.pad_id, dtype=torch.long)
    doc_ids = torch.ones((len(docs), T), dtype=torch.long)  # filler after a document is another document
    for r, doc in enumerate(docs):
        idx[r, :len(doc)] = torch.as_tensor(doc, dtype=torch.long)
        doc_ids[r, :chunks[r] * S] = 0
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        _, _, packed = model.encode_lower(idx.to(device), doc_ids.to(device))
    return packed, chunks


def split_rows(packed: PackedChunks, chunks: Sequence[int], chunk_size: int
               ) -> list[tuple[torch.Tensor, ...]]:
    """Per document (landmarks (n, H_kv, Dl), keys (n, S, H_kv, D), values) from encode_packed's rows."""
    out = []
    for r, n in enumerate(chunks):
        k = packed.k[r, :n * chunk_size].view(n, chunk_size, *packed.k.shape[2:])
        v = packed.v[r, :n * chunk_size].view(n, chunk_size, *packed.v.shape[2:])
        out.append((packed.landmarks[r, :n], k, v))
    return out


def encode_batch(model: Transformer, docs: Sequence[Sequence[int]]) -> list[tuple[torch.Tensor, ...]]:
    """Memory of each document: (landmarks (n, H_kv, Dl), keys (n, S, H_kv, D), values) in compute dtype,
    on the model's device. Every document gets its own row, so the result does not depend on the batch."""
    packed, chunks = encode_packed(model, docs)
    return split_rows(packed, chunks, model.cfg.chunk_size)


class _HostCopy:
    """A batch's chunk memory on its way to host memory: on CUDA one non-blocking copy per tensor into pinned
    buffers, so that the device computes the next batch while this one is stored."""

    def __init__(self, packed: PackedChunks):
        self.packed, self.event = packed, None
        if packed.k.device.type == "cuda":
            host = [torch.empty(t.shape, dtype=t.dtype, pin_memory=True) for t in (packed.k, packed.v,
                                                                                   packed.landmarks)]
            for dst, src in zip(host, (packed.k, packed.v, packed.landmarks), strict=True):
                dst.copy_(src, non_blocking=True)
            self.packed, self.event = PackedChunks(*host), torch.cuda.Event()
            self.event.record()

    def wait(self) -> PackedChunks:
        if self.event is not None:
            self.event.synchronize()
        return self.packed


def encoded_batches(model: Transformer, docs: Sequence[Sequence[int]], max_batch_tokens: int,
                    should_stop: Callable[[], bool] | None = None
                    ) -> Iterator[tuple[list[int], list[tuple[torch.Tensor, ...]]]]:
    """Encode documents batch by batch (`batches`): yields (the batch's document indices, their memory as
    encode_batch gives it, on the host when the model is on CUDA). On CUDA the device works one batch ahead
    of the consumer, so storing a batch overlaps the next one's encoding. should_stop() is asked before each
    batch is started; once it says yes, the batches already computed are yielded and nothing more."""
    waiting = None
    for group in batches([len(d) for d in docs], model.cfg.chunk_size, max_batch_tokens):
        if should_stop is not None and should_stop():
            break
        packed, chunks = encode_packed(model, [docs[i] for i in group])
        copy = _HostCopy(packed)
        if waiting is not None:
            yield waiting[0], split_rows(waiting[1].wait(), waiting[2], model.cfg.chunk_size)
            waiting = None
        if copy.event is None:  # computed already (CPU): nothing to overlap
            yield group, split_rows(copy.wait(), chunks, model.cfg.chunk_size)
        else:
            waiting = (group, copy, chunks)
    if waiting is not None:
        yield waiting[0], split_rows(waiting[1].wait(), waiting[2], model.cfg.chunk_size)


def encode_documents(model: Transformer, docs: Sequence[Sequence[int]], memory: ChunkMemory,
                     keys: Sequence[str], *, max_batch_tokens: int = 16384,
                     progress: Callable[[int], None] | None = None) -> None:
    """Encode documents (token id lists) and write their memory under `keys`, adding or replacing them.

    Batches hold up to max_batch_tokens padded tokens (one document may exceed it on its own); each batch is
    written in one memory transaction. progress(n) is called with the number of documents finished so far.
    """
    if len(docs) != len(keys):
        raise ValueError(f"{len(docs)} documents but {len(keys)} keys")
    check_memory_layout(model, memory)
    was_training = model.training
    model.eval()
    try:
        done = 0
        for group, encoded in encoded_batches(model, docs, max_batch_tokens):
            memory.put_many((keys[i], *enc) for i, enc in zip(group, encoded, strict=True))
            done += len(group)
            if progress is not None:
                progress(done)
    finally:
        model.train(was_training)
