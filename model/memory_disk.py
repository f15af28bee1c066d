"""The on-disk page store behind DiskMemory: memory-mapped page files plus an SQLite index.

numpy and the standard library only (no torch), so a process that only writes or checks a memory starts fast.
Chunk data travels as raw little-endian words (bf16/fp16 as int16 bits, fp32 as int32 bits).

A memory folder holds:
  memory.sqlite                 the index (WAL): one header row; per document its chunk slots and checksums
  memory-pages/000000.page ...  page files of P chunk slots each, three regions of raw words:
                                landmarks (P, H_kv, Dl) | keys (P, S, H_kv, D) | values (P, S, H_kv, D)
A write fills FREE slots (never a live one), fsyncs them, then one SQLite transaction points the documents at
the new slots and frees their old ones, so a crash at any point leaves the previous state readable. Free
slots are reused first; the store grows by whole page files. Every chunk's K/V and every document's landmarks
carry a CRC-32 in the index, so damaged or torn data raises instead of being misread.
"""

import contextlib
import math
import mmap
import os
import sqlite3
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1
INDEX_NAME = "memory.sqlite"
PAGES_DIR = "memory-pages"
PAGE_TARGET_BYTES = 4 << 20  # a page of a few MB: few files, little slack per project

_SCHEMA = """
CREATE TABLE meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    format_version INTEGER NOT NULL, fingerprint TEXT NOT NULL, dtype TEXT NOT NULL,
    chunk_size INTEGER NOT NULL, kv_heads INTEGER NOT NULL, head_dim INTEGER NOT NULL,
    landmark_dim INTEGER NOT NULL, chunks_per_page INTEGER NOT NULL,
    pages INTEGER NOT NULL, generation INTEGER NOT NULL);
CREATE TABLE docs (
    key TEXT PRIMARY KEY, chunks INTEGER NOT NULL,
    slots BLOB NOT NULL,  -- chunk i lives in slot slots[i] (little-endian int64), slot = page * P + offset
    kv_crcs BLOB NOT NULL,  -- CRC-32 of chunk i's keys then values (little-endian uint32)
    landmark_crc INTEGER NOT NULL  -- CRC-32 of all the document's landmarks
);
"""
_SLOT_DTYPE, _CRC_DTYPE = np.dtype("<i8"), np.dtype("<u4")
_SHAPE_FIELDS = ("dtype", "chunk_size", "kv_heads", "head_dim", "landmark_dim")


class MemoryMismatch(Exception):
    """The memory was made by another model or format version; the caller rebuilds it."""


class MemoryCorrupt(Exception):
    """The index or a page file is damaged; the caller rebuilds the memory."""


class MemoryChanged(Exception):
    """Another process rewrote chunks of the pool view being read; call landmarks() again."""


@dataclass(frozen=True)
class Layout:
    """Shapes of one chunk slot and of a page file (sizes in raw words / bytes)."""

    chunk_size: int
    kv_heads: int
    head_dim: int
    landmark_dim: int
    itemsize: int
    chunks_per_page: int

    @property
    def raw_dtype(self) -> np.dtype:
        return np.dtype(f"<i{self.itemsize}")

    @property
    def landmark_shape(self) -> tuple[int, int]:
        return (self.kv_heads, self.landmark_dim)

    @property
    def kv_shape(self) -> tuple[int, int, int]:
        return (self.chunk_size, self.kv_heads, self.head_dim)

    @property
    def landmark_bytes(self) -> int:  # one chunk's landmark
        return math.prod(self.landmark_shape) * self.itemsize

    @property
    def kv_bytes(self) -> int:  # one chunk's keys (or values)
        return math.prod(self.kv_shape) * self.itemsize

    @property
    def page_bytes(self) -> int:
        return self.chunks_per_page * (self.landmark_bytes + 2 * self.kv_bytes)


def default_chunks_per_page(chunk_bytes: int) -> int:
    return max(1, PAGE_TARGET_BYTES // chunk_bytes)


@dataclass(frozen=True)
class Snapshot:
    """One committed state: rows ordered by (doc key, chunk index); landmarks already read and verified."""

    generation: int
    doc_keys: list[str]
    doc_index: np.ndarray  # (N,) int64 position in doc_keys
    chunk_index: np.ndarray  # (N,) int64 chunk inside its document
    slots: np.ndarray  # (N,) int64 global slot = page * P + offset
    kv_crc: np.ndarray  # (N,) int64 CRC-32 of the chunk's keys then values
    landmarks: np.ndarray  # (N, H_kv, Dl) raw words
    verified: np.ndarray  # (N,) bool: K/V checksum already passed once (this handle)


def _runs(slots: np.ndarray, per_page: int) -> list[tuple[int, int]]:
    """[start, end) index ranges of `slots` that are consecutive and inside one page (one write each)."""
    if len(slots) == 0:
        return []
    breaks = np.flatnonzero((np.diff(slots) != 1) | (np.diff(slots // per_page) != 0)) + 1
    bounds = [0, *breaks.tolist(), len(slots)]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def _kv_crc(keys: np.ndarray, values: np.ndarray) -> int:
    return zlib.crc32(values, zlib.crc32(keys))


def _concat(blobs: list[bytes], dtype: np.dtype) -> np.ndarray:
    """Little-endian arrays stored as BLOBs, joined (native int64); a damaged blob raises MemoryCorrupt."""
    try:
        arrays = [np.empty(0, dtype), *(np.frombuffer(b, dtype) for b in blobs)]
        return np.concatenate(arrays).astype(np.int64)
    except (TypeError, ValueError) as error:
        raise MemoryCorrupt(f"memory index is damaged ({error}): rebuild the memory") from error


def _valid_slots(slots: np.ndarray, limit: int) -> bool:
    """Every slot inside the committed pages, and no slot owned twice."""
    return bool(np.all((slots >= 0) & (slots < limit))) and len(np.unique(slots)) == len(slots)


class PageStore:
    """Documents' chunk landmarks and K/V in page files, indexed by SQLite. Thread-safe; one per handle."""

    def __init__(self, folder: Path, conn: sqlite3.Connection, layout: Layout, fingerprint: str, dtype: str):
        self.folder, self.layout, self.fingerprint, self.dtype = folder, layout, fingerprint, dtype
        self.pages_dir = folder / PAGES_DIR
        self._conn = conn
        self._lock = threading.RLock()
        self._maps: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._pinned = np.empty(0, np.int64)  # slots of a view still being read: never reused by this handle

    # ---- opening ---------------------------------------------------------------------------------------
    @classmethod
    def open(cls, folder, *, fingerprint: str, dtype: str, itemsize: int, chunk_size: int, kv_heads: int,
             head_dim: int, landmark_dim: int, create: bool = True, chunks_per_page: int | None = None):
        folder = Path(folder)
        index = folder / INDEX_NAME
        if not index.exists() and not create:
            raise FileNotFoundError(f"no memory at {folder}")
        (folder / PAGES_DIR).mkdir(parents=True, exist_ok=True)
        wanted = dict(fingerprint=fingerprint, dtype=dtype, chunk_size=chunk_size, kv_heads=kv_heads,
                      head_dim=head_dim, landmark_dim=landmark_dim)
        conn = sqlite3.connect(index, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            header = _open_index(conn, index, wanted, chunks_per_page, itemsize)
            layout = Layout(chunk_size, kv_heads, head_dim, landmark_dim, itemsize, header["chunks_per_page"])
            store = cls(folder, conn, layout, fingerprint, dtype)
            store._check_page_files(header["pages"])
        except BaseException:
            conn.close()
            raise
        return store

    def _check_page_files(self, pages: int) -> None:
        for page in range(pages):
            path = self._page_path(page)
            size = path.stat().st_size if path.exists() else None
            if size != self.layout.page_bytes:
                found = "missing" if size is None else f"{size} bytes"
                raise MemoryCorrupt(f"memory page file {path} is damaged ({found}, expected "
                                    f"{self.layout.page_bytes} bytes): rebuild the memory")

    def close(self) -> None:
        with self._lock:
            self._maps.clear()
            self._conn.close()

    # ---- reading -----------------------------------------------------------------------------------------
    def generation(self) -> int:
        """Counter bumped by every commit (of any process): a cheap test for a stale cache."""
        with self._lock, _index_errors(self.folder):
            return self._conn.execute("SELECT generation FROM meta").fetchone()[0]

    def chunk_count(self) -> int:
        with self._lock, _index_errors(self.folder):
            return self._conn.execute("SELECT COALESCE(SUM(chunks), 0) FROM docs").fetchone()[0]

    def snapshot(self) -> Snapshot:
        """The committed state now, with every landmark read from the pages and checked."""
        with self._lock, _index_errors(self.folder):
            self._conn.execute("BEGIN")  # one read transaction: header and documents agree
            try:
                generation, pages = self._conn.execute("SELECT generation, pages FROM meta").fetchone()
                docs = self._conn.execute(
                    "SELECT key, chunks, slots, kv_crcs, landmark_crc FROM docs ORDER BY key").fetchall()
            finally:
                self._conn.execute("COMMIT")
            counts = np.array([d[1] for d in docs], dtype=np.int64)
            starts = np.concatenate([[0], np.cumsum(counts)])
            slots = _concat([d[2] for d in docs], _SLOT_DTYPE)
            kv_crc = _concat([d[3] for d in docs], _CRC_DTYPE)
            lengths_agree = all(len(slot_blob) == 8 * n and len(crc_blob) == 4 * n  # int64 slots, uint32 CRCs
                                for _, n, slot_blob, crc_blob, _ in docs)
            if not (lengths_agree and _valid_slots(slots, pages * self.layout.chunks_per_page)):
                raise MemoryCorrupt(f"memory index {self.folder / INDEX_NAME} is inconsistent: "
                                    "rebuild the memory")
            self._check_page_files(pages)
            landmarks = self._gather(slots, 0)
            for i, (key, *_, crc) in enumerate(docs):
                if zlib.crc32(landmarks[starts[i]:starts[i + 1]]) != crc:
                    raise MemoryCorrupt(f"memory pages in {self.pages_dir} are damaged (landmarks of {key!r} "
                                        "fail their checksum): rebuild the memory")
            doc_index = np.repeat(np.arange(len(docs), dtype=np.int64), counts)
            chunk_index = np.arange(len(slots), dtype=np.int64) - starts[doc_index]
            return Snapshot(generation, [d[0] for d in docs], doc_index, chunk_index, slots,
                            kv_crc.astype(np.int64), landmarks, np.zeros(len(slots), dtype=bool))

    def read_rows(self, snapshot: Snapshot, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keys and values (U, S, H_kv, D) of snapshot rows `rows`, read from the pages and checked.

        A row's checksum is tested the first time it is read; later reads of it skip that when no commit
        happened since the snapshot (then its slots are live and no writer touches them)."""
        with self._lock:
            slots = snapshot.slots[rows]
            keys, values = self._gather(slots, 1), self._gather(slots, 2)
            unchecked = np.ones(len(rows), bool)
            if self.generation() == snapshot.generation:
                unchecked = ~snapshot.verified[rows]
            expected = snapshot.kv_crc[rows]
            bad = [i for i in np.flatnonzero(unchecked).tolist()
                   if _kv_crc(keys[i], values[i]) != expected[i]]
            if not bad:
                snapshot.verified[rows] = True
            else:
                if self.generation() != snapshot.generation:
                    raise MemoryChanged("the memory was rewritten by another process while it was read: "
                                        "read landmarks() again")
                raise MemoryCorrupt(f"memory pages in {self.pages_dir} are damaged (chunk slot "
                                    f"{int(slots[bad[0]])} fails its checksum): rebuild the memory")
            return keys, values

    def pin(self, snapshot: Snapshot) -> None:
        """Keep this snapshot's slots out of this handle's writes until the next pin (a reader is on it)."""
        with self._lock:
            self._pinned = snapshot.slots

    def _gather(self, slots: np.ndarray, region: int) -> np.ndarray:
        """Rows `slots` of one region (0 landmarks, 1 keys, 2 values), touching only those rows' bytes."""
        shape = self.layout.landmark_shape if region == 0 else self.layout.kv_shape
        out = np.empty((len(slots), *shape), self.layout.raw_dtype)
        pages, offsets = np.divmod(slots, self.layout.chunks_per_page)
        order = np.argsort(pages, kind="stable")
        bounds = np.flatnonzero(np.diff(pages[order])) + 1
        for group in np.split(order, bounds) if len(order) else []:
            out[group] = self._page_regions(int(pages[group[0]]))[region][offsets[group]]
        return out

    def _page_regions(self, page: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        regions = self._maps.get(page)
        if regions is None:
            lay = self.layout
            with open(self._page_path(page), "rb") as f:  # a plain ndarray over the map: cheap to index
                raw = np.frombuffer(mmap.mmap(f.fileno(), lay.page_bytes, access=mmap.ACCESS_READ), np.uint8)
            lm_end = lay.chunks_per_page * lay.landmark_bytes
            k_end = lm_end + lay.chunks_per_page * lay.kv_bytes
            regions = (raw[:lm_end].view(lay.raw_dtype).reshape(-1, *lay.landmark_shape),
                       raw[lm_end:k_end].view(lay.raw_dtype).reshape(-1, *lay.kv_shape),
                       raw[k_end:].view(lay.raw_dtype).reshape(-1, *lay.kv_shape))
            self._maps[page] = regions
        return regions

    def _page_path(self, page: int) -> Path:
        return self.pages_dir / f"{page:06d}.page"

    # ---- writing -----------------------------------------------------------------------------------------
    def put_many(self, items: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]],
                 remove: Sequence[str] = ()) -> None:
        """Add or replace documents (key, landmarks (n,H,Dl), keys (n,S,H,D), values (n,S,H,D)) and drop the
        documents `remove`, in one transaction."""
        items = [self._checked(*item) for item in items]
        if len({item[0] for item in items}) < len(items):
            raise ValueError("put_many: a document key appears twice in one call")
        if not items:
            if remove:
                self.remove(list(remove))
            return
        with self._lock, _index_errors(self.folder), _write_transaction(self._conn):
            # Holding SQLite's write lock from here on, no other writer picks the same free slots.
            pages = self._conn.execute("SELECT pages FROM meta").fetchone()[0]
            used = _concat([r[0] for r in self._conn.execute("SELECT slots FROM docs")], _SLOT_DTYPE)
            free, new_pages = self._free_slots(pages, used, sum(len(item[1]) for item in items))
            plan, cursor = [], 0
            for key, landmarks, keys, values in items:
                slots = free[cursor:cursor + len(landmarks)]
                cursor += len(landmarks)
                self._write_slots(slots, landmarks, keys, values)
                crcs = np.array([_kv_crc(k, v) for k, v in zip(keys, values, strict=True)], _CRC_DTYPE)
                plan.append((key, len(slots), slots.astype(_SLOT_DTYPE).tobytes(), crcs.tobytes(),
                             zlib.crc32(landmarks)))
            self._sync(free, created=new_pages > 0)
            # The commit switches every document to its new slots at once; their old slots become free.
            self._conn.executemany(
                "INSERT INTO docs VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET chunks = "
                "excluded.chunks, slots = excluded.slots, kv_crcs = excluded.kv_crcs, "
                "landmark_crc = excluded.landmark_crc", plan)
            self._conn.executemany("DELETE FROM docs WHERE key = ?", [(key,) for key in remove])
            self._conn.execute("UPDATE meta SET generation = generation + 1, pages = ?", (pages + new_pages,))

    def _checked(self, key, landmarks, keys, values):
        lay = self.layout
        n = len(landmarks)
        shapes = {"landmarks": (landmarks, (n, *lay.landmark_shape)), "keys": (keys, (n, *lay.kv_shape)),
                  "values": (values, (n, *lay.kv_shape))}
        for name, (array, shape) in shapes.items():
            if array.shape != shape or array.dtype != lay.raw_dtype:
                raise ValueError(f"{key!r}: {name} are {array.dtype}{list(array.shape)}, the memory stores "
                                 f"{lay.raw_dtype}{list(shape)}")
        return (str(key), *(np.ascontiguousarray(a) for a in (landmarks, keys, values)))

    def remove(self, keys: list[str]) -> None:
        """Drop these documents (unknown keys are ignored) in one transaction."""
        with self._lock, _index_errors(self.folder), _write_transaction(self._conn):
            before = self._conn.total_changes
            self._conn.executemany("DELETE FROM docs WHERE key = ?", [(key,) for key in keys])
            if self._conn.total_changes > before:
                self._conn.execute("UPDATE meta SET generation = generation + 1")

    def _free_slots(self, pages: int, used: np.ndarray, need: int) -> tuple[np.ndarray, int]:
        """The first `need` slots neither live nor pinned, ascending; new pages when those run out."""
        per_page = self.layout.chunks_per_page
        is_free = np.ones(pages * per_page, dtype=bool)
        is_free[used] = False
        is_free[self._pinned[self._pinned < len(is_free)]] = False
        free = np.flatnonzero(is_free)
        new_pages = max(0, math.ceil((need - len(free)) / per_page))
        if new_pages:
            free = np.concatenate([free, np.arange(pages * per_page, (pages + new_pages) * per_page)])
            for page in range(pages, pages + new_pages):
                # Not yet in the index: an orphan left by a crash is simply overwritten.
                with open(self._page_path(page), "wb") as f:
                    f.truncate(self.layout.page_bytes)
        return free[:need], new_pages

    def _write_slots(self, slots, landmarks, keys, values) -> None:
        lay = self.layout
        per_page = lay.chunks_per_page
        region_starts = (0, per_page * lay.landmark_bytes, per_page * (lay.landmark_bytes + lay.kv_bytes))
        for start, end in _runs(slots, per_page):
            page, offset = divmod(int(slots[start]), per_page)
            with open(self._page_path(page), "r+b", buffering=0) as f:
                for region, data, size in zip(region_starts, (landmarks, keys, values),
                                              (lay.landmark_bytes, lay.kv_bytes, lay.kv_bytes), strict=True):
                    f.seek(region + offset * size)
                    f.write(np.ascontiguousarray(data[start:end], lay.raw_dtype).data)

    def _sync(self, slots: np.ndarray, *, created: bool) -> None:
        """Make the written slots (and any new page files) durable before the index points at them."""
        for page in np.unique(slots // self.layout.chunks_per_page).tolist():
            with open(self._page_path(page), "r+b", buffering=0) as f:
                os.fsync(f.fileno())
        if created and os.name == "posix":
            fd = os.open(self.pages_dir, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    # ---- size --------------------------------------------------------------------------------------------
    def bytes_on_disk(self) -> int:
        """Index (with its WAL) and page files at their full size, free slots included."""
        files = [*self.folder.glob(INDEX_NAME + "*"), *self.pages_dir.glob("*.page")]
        return sum(p.stat().st_size for p in files if p.exists())


@contextlib.contextmanager
def _write_transaction(conn: sqlite3.Connection):
    """BEGIN IMMEDIATE (SQLite's write lock) ... COMMIT, or ROLLBACK on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


@contextlib.contextmanager
def _index_errors(folder: Path):
    """Turn SQLite's 'damaged file' errors into MemoryCorrupt (locks and I/O errors pass through)."""
    try:
        yield
    except sqlite3.DatabaseError as error:
        if type(error) is not sqlite3.DatabaseError:  # locked, closed, constraint: not damage
            raise
        raise MemoryCorrupt(f"memory index {folder / INDEX_NAME} is damaged ({error}): "
                            "rebuild the memory") from error


def _open_index(conn: sqlite3.Connection, index: Path, wanted: dict, chunks_per_page: int | None,
                itemsize: int) -> dict:
    """Set the index up (new) or read and check its header (existing). Returns the header row."""
    with _index_errors(index.parent):
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # a commit must be durable before its freed slots are reused
        conn.execute("PRAGMA journal_size_limit=4194304")  # the WAL shrinks back after a large transaction
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise MemoryCorrupt(f"memory index {index} is damaged ({check}): rebuild the memory")
        if not _tables(conn):
            with _write_transaction(conn):
                if not _tables(conn):  # another process may have set it up meanwhile
                    _create_schema(conn, wanted, chunks_per_page, itemsize)
        if "meta" not in _tables(conn):
            raise MemoryCorrupt(f"memory index {index} has no header: rebuild the memory")
        version = conn.execute("SELECT format_version FROM meta").fetchone()
        if version is None:
            raise MemoryCorrupt(f"memory index {index} has no header: rebuild the memory")
        if version[0] != FORMAT_VERSION:
            raise MemoryMismatch(f"memory at {index.parent} has format version {version[0]}, this Folio "
                                 f"reads version {FORMAT_VERSION}: rebuild it")
        cursor = conn.execute("SELECT * FROM meta")
        header = dict(zip([c[0] for c in cursor.description], cursor.fetchone(), strict=True))
    if header["fingerprint"] != wanted["fingerprint"]:
        raise MemoryMismatch(f"memory was made by model {header['fingerprint']}, this model is "
                             f"{wanted['fingerprint']}: rebuild it")
    if any(header[f] != wanted[f] for f in _SHAPE_FIELDS):
        have = ", ".join(f"{f}={header[f]}" for f in _SHAPE_FIELDS)
        want = ", ".join(f"{f}={wanted[f]}" for f in _SHAPE_FIELDS)
        raise MemoryMismatch(f"memory has {have}; this model has {want}: rebuild it")
    return header


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _create_schema(conn: sqlite3.Connection, wanted: dict, chunks_per_page: int | None,
                   itemsize: int) -> None:
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    chunk_bytes = itemsize * (wanted["kv_heads"] * wanted["landmark_dim"]
                              + 2 * wanted["chunk_size"] * wanted["kv_heads"] * wanted["head_dim"])
    per_page = chunks_per_page or default_chunks_per_page(chunk_bytes)
    conn.execute("INSERT INTO meta VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0)",
                 (FORMAT_VERSION, wanted["fingerprint"], wanted["dtype"], wanted["chunk_size"],
                  wanted["kv_heads"], wanted["head_dim"], wanted["landmark_dim"], per_page))
