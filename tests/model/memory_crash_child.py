"""A second process for the memory tests: numpy and model/memory_disk.py only, so it starts in under a second.

  python memory_crash_child.py write FOLDER LOG SEED FIRST_OP
      writes deterministic operations to the memory until it is killed; before each operation it appends
      "begin <op>" to LOG and after its commit "end <op>"; prints "ready" once the memory is open.
  python memory_crash_child.py follow FOLDER
      prints the committed documents as JSON ({key: digest}) at start and again for every line on stdin.
Document content is derived from (doc key, version), and an operation from (seed, op id), so the test can
compute what any committed state must contain.
"""

import importlib.util
import json
import os
import sys
import zlib
from pathlib import Path

import numpy as np

FINGERPRINT = "crash-test-model"
SHAPES = dict(chunk_size=8, kv_heads=1, head_dim=4, landmark_dim=4)
CHUNKS_PER_PAGE = 4  # small pages: the writer keeps growing, freeing and reusing slots across pages
KEYS = [f"src/file{i}.py" for i in range(8)]


def load_memory_disk():
    """model/memory_disk.py by path, not via the `model` package: its __init__ may import torch (seconds)."""
    path = Path(__file__).resolve().parents[2] / "model" / "memory_disk.py"
    spec = importlib.util.spec_from_file_location("folio_memory_disk", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def open_store(folder):
    return load_memory_disk().PageStore.open(folder, fingerprint=FINGERPRINT, dtype="bfloat16", itemsize=2,
                                             chunks_per_page=CHUNKS_PER_PAGE, **SHAPES)


def make_document(key: str, version: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(landmarks, keys, values) as raw bf16 bits; 1-6 chunks; any bit pattern (NaNs included)."""
    rng = np.random.default_rng([zlib.crc32(key.encode()), version])
    n = int(rng.integers(1, 7))
    s, h, d, dl = SHAPES["chunk_size"], SHAPES["kv_heads"], SHAPES["head_dim"], SHAPES["landmark_dim"]
    shapes = [(n, h, dl), (n, s, h, d), (n, s, h, d)]
    return tuple(rng.integers(-(2**15), 2**15, size=shape, dtype=np.int16) for shape in shapes)


def plan_operation(seed: int, op: int) -> tuple[str, list]:
    """("put", [(key, version), ...]) with version = op, or ("remove", [key, ...])."""
    rng = np.random.default_rng([seed, op])
    chosen = [KEYS[i] for i in rng.choice(len(KEYS), size=int(rng.integers(1, 4)), replace=False)]
    if rng.random() < 0.25:
        return "remove", chosen
    return "put", [(key, op) for key in chosen]


def digest(landmarks: np.ndarray, keys: np.ndarray, values: np.ndarray) -> str:
    return f"{len(landmarks)}:{zlib.crc32(values, zlib.crc32(keys, zlib.crc32(landmarks))):08x}"


def write(folder: str, log: str, seed: int, first_op: int) -> None:
    store = open_store(folder)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    plan_operation(seed, first_op)  # warm numpy.random up, so the parent's timer starts on the writes
    print("ready", flush=True)
    op = first_op
    while True:
        kind, args = plan_operation(seed, op)
        os.write(fd, f"begin {op}\n".encode())
        if kind == "put":
            store.put_many([(key, *make_document(key, version)) for key, version in args])
        else:
            store.remove(args)
        os.write(fd, f"end {op}\n".encode())
        op += 1


def follow(folder: str) -> None:
    store = open_store(folder)
    while True:
        snap = store.snapshot()
        state = {}
        for i, key in enumerate(snap.doc_keys):
            rows = np.flatnonzero(snap.doc_index == i)
            state[key] = digest(snap.landmarks[rows], *store.read_rows(snap, rows))
        print(json.dumps(state), flush=True)
        if not sys.stdin.readline():
            return


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        follow(sys.argv[2])
