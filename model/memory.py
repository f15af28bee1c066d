"""Project memory: every document's chunk landmarks and K/V behind one narrow interface, ChunkMemory.

Two implementations: InMemoryMemory (tensors; tests) and DiskMemory (memory-mapped page files plus an SQLite
index, see model/memory_disk.py). Layouts, S = chunk_size:
  landmarks (n, H_kv, Dl) and keys / values (n, S, H_kv, D) per document of n chunks.
The pool is every chunk of every document, ordered by (doc key, chunk index); landmarks() returns it as a
PoolView whose landmarks stay resident (on the GPU when asked); read_chunks(rows) reads just those rows' K/V.

    mem = DiskMemory.open(folder, fingerprint=fp, chunk_size=64, kv_heads=1, head_dim=64, landmark_dim=64)
    mem.put("src/a.py", landmarks, keys, values)       # adds or replaces, atomically
    view = mem.landmarks(device="cuda")                # PoolView
    k, v = mem.read_chunks(rows, device="cuda")        # rows index view's order
    k, v = mem.resident_chunks(device="cuda")          # all of the view's K/V, kept there (cached)
"""

import shutil
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from model.memory_disk import INDEX_NAME, PAGES_DIR, MemoryChanged, MemoryCorrupt, MemoryMismatch, PageStore

__all__ = ["ChunkMemory", "DiskMemory", "InMemoryMemory", "MemoryChanged", "MemoryCorrupt", "MemoryMismatch",
           "PoolView"]

# Chunk data is stored as raw words of the same width: bf16/fp16 bits as int16, fp32 bits as int32.
_RAW_DTYPES = {torch.bfloat16: torch.int16, torch.float16: torch.int16, torch.float32: torch.int32}


@dataclass(frozen=True)
class PoolView:
    """Every chunk in the memory, ordered by (doc key, chunk index). doc_index, chunk_index are on the CPU."""

    landmarks: Tensor  # (N, H_kv, Dl) on the device asked for
    doc_index: Tensor  # (N,) int64: row -> position in doc_keys
    chunk_index: Tensor  # (N,) int64: row -> chunk inside its document
    doc_keys: list[str]  # sorted
    generation: int  # changes with every committed put/remove

    def __len__(self) -> int:
        return len(self.doc_index)


@dataclass
class _State:
    """One committed state as the implementations load it (CPU tensors) plus what reads its chunks."""

    generation: int
    doc_keys: list[str]
    doc_index: Tensor
    chunk_index: Tensor
    landmarks: Tensor
    source: object  # InMemoryMemory: (keys, values) tensors; DiskMemory: the store's Snapshot
    resident: dict[str, Tensor] = field(default_factory=dict)  # landmarks per device
    resident_kv: dict[str, tuple[Tensor, Tensor]] = field(default_factory=dict)  # all chunks' K/V per device


class ChunkMemory(ABC):
    """The project memory interface. Thread-safe; a write is all-or-nothing."""

    def __init__(self, *, fingerprint: str, chunk_size: int, kv_heads: int, head_dim: int, landmark_dim: int,
                 dtype: torch.dtype = torch.bfloat16):
        if dtype not in _RAW_DTYPES:
            raise ValueError(f"memory dtype must be one of {list(_RAW_DTYPES)}, not {dtype}")
        self.fingerprint, self.dtype = fingerprint, dtype
        self.chunk_size, self.kv_heads = chunk_size, kv_heads
        self.head_dim, self.landmark_dim = head_dim, landmark_dim
        self._lock = threading.RLock()
        self._state: _State | None = None
        self._pinned: _State | None = None  # the state the last landmarks() handed out; read_chunks reads it

    # ---- writing -------------------------------------------------------------------------------------------
    def put_many(
        self, items: Iterable[tuple[str, Tensor, Tensor, Tensor]], remove: Iterable[str] = ()
    ) -> None:
        """Add or replace documents (doc_key, landmarks, keys, values) and drop the documents `remove`; all of
        it becomes live together (e.g. a changed file's new version replaces its old key in one commit)."""
        checked = [self._checked(*item) for item in items]
        if len({key for key, *_ in checked}) < len(checked):
            raise ValueError("put_many: a document key appears twice in one call")
        if isinstance(remove, str):
            raise TypeError("put_many(remove=...) takes a list of document keys, not one string")
        dropped = [str(k) for k in remove if str(k) not in {key for key, *_ in checked}]
        if checked or dropped:
            with self._lock:
                self._put_many(checked, dropped)

    def put(self, doc_key: str, landmarks: Tensor, keys: Tensor, values: Tensor) -> None:
        self.put_many([(doc_key, landmarks, keys, values)])

    def remove(self, doc_keys: Iterable[str]) -> None:
        """Drop these documents atomically; keys not in the memory are ignored."""
        if isinstance(doc_keys, str):
            raise TypeError("remove() takes a list of document keys, not one string")
        with self._lock:
            self._remove([str(k) for k in doc_keys])

    def clear(self) -> None:
        self.remove(self.doc_keys())

    def _checked(self, doc_key: str, landmarks: Tensor, keys: Tensor, values: Tensor):
        """Shapes checked; tensors as contiguous CPU tensors of the memory's dtype."""
        n = landmarks.shape[0] if landmarks.dim() == 3 else -1
        kv_shape = (n, self.chunk_size, self.kv_heads, self.head_dim)
        expected = {"landmarks": (landmarks, (n, self.kv_heads, self.landmark_dim)), "keys": (keys, kv_shape),
                    "values": (values, kv_shape)}
        for name, (tensor, shape) in expected.items():
            if tuple(tensor.shape) != shape or not tensor.is_floating_point():
                raise ValueError(f"{doc_key!r}: {name} are {tensor.dtype}{list(tensor.shape)}, expected a "
                                 f"float tensor of shape {list(shape)} (n, H_kv, Dl) / (n, S, H_kv, D)")
        tensors = (t.detach().to("cpu", self.dtype).contiguous() for t in (landmarks, keys, values))
        return (str(doc_key), *tensors)

    # ---- reading -------------------------------------------------------------------------------------------
    def doc_keys(self) -> list[str]:
        with self._lock:
            return list(self._current().doc_keys)

    def landmarks(self, device=None) -> PoolView:
        """The resident pool (cached; reloaded once the memory changed, also by another process)."""
        with self._lock:
            state = self._pin(self._current())
            where = str(torch.device(device)) if device is not None else "cpu"
            if where not in state.resident:
                state.resident[where] = state.landmarks.to(where)
            return PoolView(state.resident[where], state.doc_index, state.chunk_index, state.doc_keys,
                            state.generation)

    def read_chunks(self, rows: Tensor, device=None) -> tuple[Tensor, Tensor]:
        """K and V (U, S, H_kv, D) of pool rows `rows` (the order of the last landmarks() call), read for
        exactly those chunks. Writes since that call do not disturb it: it reads the view it handed out."""
        with self._lock:
            state = self._pinned or self._pin(self._current())
            index = torch.as_tensor(rows).to("cpu", torch.int64).reshape(-1)
            if len(index) and not (0 <= int(index.min()) and int(index.max()) < len(state.doc_index)):
                raise IndexError(f"chunk rows must lie in [0, {len(state.doc_index)}); "
                                 f"got {index.tolist()[:8]}")
            keys, values = self._read(state, index.numpy())
        if device is not None:
            keys, values = keys.to(device), values.to(device)
        return keys, values

    def resident_chunks(self, device=None) -> tuple[Tensor, Tensor]:
        """K and V (N, S, H_kv, D) of every pool row of the last landmarks() view, on `device`, cached with
        the view like its landmarks (until the memory changes): a device-resident pool that decoding indexes
        without host reads. The first call per device reads (and checks) the whole memory."""
        with self._lock:
            state = self._pinned or self._pin(self._current())
            where = str(torch.device(device)) if device is not None else "cpu"
            if where not in state.resident_kv:
                keys, values = self._read(state, np.arange(len(state.doc_index), dtype=np.int64))
                state.resident_kv[where] = (keys.to(where), values.to(where))
            return state.resident_kv[where]

    def read_document(self, doc_key: str) -> tuple[Tensor, Tensor, Tensor]:
        """One document's (landmarks, keys, values) as stored, on the CPU; KeyError if absent."""
        with self._lock:
            state = self._current()
            if doc_key not in state.doc_keys:
                raise KeyError(doc_key)
            rows = torch.nonzero(state.doc_index == state.doc_keys.index(doc_key)).reshape(-1)
            keys, values = self._read(state, rows.numpy())
            return state.landmarks[rows], keys, values

    @property
    def chunk_count(self) -> int:
        with self._lock:
            return self._chunk_count()

    @property
    def token_count(self) -> int:
        return self.chunk_count * self.chunk_size

    @property
    @abstractmethod
    def bytes_on_disk(self) -> int: ...

    def close(self) -> None:  # noqa: B027 - only DiskMemory holds files
        """Release files; the object is unusable afterwards."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _current(self) -> _State:
        if self._state is None or self._state.generation != self._generation():
            self._state = self._load_state()
        return self._state

    def _pin(self, state: _State) -> _State:
        self._pinned = state
        return state

    # ---- what an implementation provides (called under the lock) -------------------------------------------
    @abstractmethod
    def _put_many(self, items: list[tuple[str, Tensor, Tensor, Tensor]], remove: list[str]) -> None: ...

    @abstractmethod
    def _remove(self, doc_keys: list[str]) -> None: ...

    @abstractmethod
    def _generation(self) -> int: ...

    @abstractmethod
    def _load_state(self) -> _State: ...

    @abstractmethod
    def _read(self, state: _State, rows: np.ndarray) -> tuple[Tensor, Tensor]: ...

    @abstractmethod
    def _chunk_count(self) -> int: ...


class InMemoryMemory(ChunkMemory):
    """The interface backed by tensors in RAM (tests, and a reference for DiskMemory)."""

    def __init__(self, *, fingerprint: str = "in-memory", chunk_size: int, kv_heads: int, head_dim: int,
                 landmark_dim: int, dtype: torch.dtype = torch.bfloat16):
        super().__init__(fingerprint=fingerprint, chunk_size=chunk_size, kv_heads=kv_heads, head_dim=head_dim,
                         landmark_dim=landmark_dim, dtype=dtype)
        self._docs: dict[str, tuple[Tensor, Tensor, Tensor]] = {}
        self._gen = 0

    def _put_many(self, items, remove: list[str]) -> None:
        for key in remove:
            self._docs.pop(key, None)
        for key, landmarks, keys, values in items:
            self._docs[key] = (landmarks.clone(), keys.clone(), values.clone())
        self._gen += 1

    def _remove(self, doc_keys: list[str]) -> None:
        removed = [self._docs.pop(key) for key in doc_keys if key in self._docs]
        if removed:
            self._gen += 1

    def _generation(self) -> int:
        return self._gen

    def _load_state(self) -> _State:
        keys = sorted(self._docs)
        docs = [self._docs[k] for k in keys]
        counts = torch.tensor([len(d[0]) for d in docs], dtype=torch.int64)
        doc_index = torch.repeat_interleave(torch.arange(len(keys)), counts)
        starts = torch.cumsum(counts, 0) - counts
        chunk_index = torch.arange(len(doc_index)) - starts[doc_index]
        kv_shape = (0, self.chunk_size, self.kv_heads, self.head_dim)
        empty = (torch.empty(0, self.kv_heads, self.landmark_dim, dtype=self.dtype),
                 torch.empty(kv_shape, dtype=self.dtype), torch.empty(kv_shape, dtype=self.dtype))
        landmarks, all_keys, all_values = (torch.cat([empty[i], *[d[i] for d in docs]]) for i in range(3))
        return _State(self._gen, keys, doc_index, chunk_index, landmarks, (all_keys, all_values))

    def _read(self, state: _State, rows: np.ndarray) -> tuple[Tensor, Tensor]:
        all_keys, all_values = state.source
        index = torch.from_numpy(rows)
        return all_keys[index], all_values[index]

    def _chunk_count(self) -> int:
        return sum(len(d[0]) for d in self._docs.values())

    @property
    def bytes_on_disk(self) -> int:
        return 0


class DiskMemory(ChunkMemory):
    """The interface over a memory folder (page files + SQLite index); see model/memory_disk.py."""

    def __init__(self, store: PageStore, *, dtype: torch.dtype):
        lay = store.layout
        super().__init__(fingerprint=store.fingerprint, chunk_size=lay.chunk_size, kv_heads=lay.kv_heads,
                         head_dim=lay.head_dim, landmark_dim=lay.landmark_dim, dtype=dtype)
        self.folder = store.folder
        self._store = store

    @classmethod
    def open(cls, folder, *, fingerprint: str, chunk_size: int, kv_heads: int, head_dim: int,
             landmark_dim: int, dtype: torch.dtype = torch.bfloat16, create: bool = True,
             chunks_per_page: int | None = None) -> "DiskMemory":
        """Open (or, with create, start) the memory in `folder`. MemoryMismatch when another model or format
        made it, MemoryCorrupt when it is damaged: then destroy() it and encode again."""
        if dtype not in _RAW_DTYPES:
            raise ValueError(f"memory dtype must be one of {list(_RAW_DTYPES)}, not {dtype}")
        store = PageStore.open(folder, fingerprint=fingerprint, dtype=str(dtype).removeprefix("torch."),
                               itemsize=dtype.itemsize, chunk_size=chunk_size, kv_heads=kv_heads,
                               head_dim=head_dim, landmark_dim=landmark_dim, create=create,
                               chunks_per_page=chunks_per_page)
        return cls(store, dtype=dtype)

    @staticmethod
    def destroy(folder) -> None:
        """Delete the memory files in `folder` (only those), e.g. before rebuilding a mismatched memory."""
        folder = Path(folder)
        for suffix in ("", "-wal", "-shm"):
            (folder / (INDEX_NAME + suffix)).unlink(missing_ok=True)
        shutil.rmtree(folder / PAGES_DIR, ignore_errors=True)

    @property
    def chunks_per_page(self) -> int:
        return self._store.layout.chunks_per_page

    def _raw(self, tensor: Tensor) -> np.ndarray:
        return tensor.view(_RAW_DTYPES[self.dtype]).numpy()

    def _tensor(self, raw: np.ndarray) -> Tensor:
        return torch.from_numpy(raw).view(self.dtype)

    def _put_many(self, items, remove: list[str]) -> None:
        self._store.put_many([(key, *(self._raw(t) for t in tensors)) for key, *tensors in items], remove)

    def _remove(self, doc_keys: list[str]) -> None:
        self._store.remove(doc_keys)

    def _generation(self) -> int:
        return self._store.generation()

    def _load_state(self) -> _State:
        snap = self._store.snapshot()
        return _State(snap.generation, snap.doc_keys, torch.from_numpy(snap.doc_index),
                      torch.from_numpy(snap.chunk_index), self._tensor(snap.landmarks), snap)

    def _pin(self, state: _State) -> _State:
        self._store.pin(state.source)  # this handle's writes leave the view's slots alone while it is read
        return super()._pin(state)

    def _read(self, state: _State, rows: np.ndarray) -> tuple[Tensor, Tensor]:
        keys, values = self._store.read_rows(state.source, rows)
        return self._tensor(keys), self._tensor(values)

    def _chunk_count(self) -> int:
        return self._store.chunk_count()

    @property
    def bytes_on_disk(self) -> int:
        """Bytes of the index and page files (their full size, free slots included)."""
        return self._store.bytes_on_disk()

    def close(self) -> None:
        with self._lock:
            self._state = self._pinned = None
            self._store.close()
