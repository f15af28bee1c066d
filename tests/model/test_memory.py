"""Project memory: both implementations agree; on disk it survives crashes and reports damage and mismatch."""

import importlib.util
import json
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from model.memory import DiskMemory, InMemoryMemory, MemoryChanged, MemoryCorrupt, MemoryMismatch
from model.memory_disk import INDEX_NAME, PAGES_DIR

SHAPES = dict(chunk_size=8, kv_heads=2, head_dim=4, landmark_dim=6)
CHILD = Path(__file__).with_name("memory_crash_child.py")
REPO = Path(__file__).resolve().parents[2]


def load_child():
    spec = importlib.util.spec_from_file_location("memory_crash_child", CHILD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


child = load_child()


def bits(tensor):
    """The raw bits, so NaN payloads and -0.0 compare exactly."""
    return tensor.view(torch.int16 if tensor.element_size() == 2 else torch.int32)


def random_doc(n, seed, dtype=torch.bfloat16, shapes=SHAPES):
    """A document of n chunks with arbitrary bit patterns (NaN, inf and denormals included)."""
    g = torch.Generator().manual_seed(seed)
    raw = torch.int16 if dtype.itemsize == 2 else torch.int32
    top = 2 ** (8 * dtype.itemsize - 1)
    s, h, d, dl = shapes["chunk_size"], shapes["kv_heads"], shapes["head_dim"], shapes["landmark_dim"]

    def make(*shape):
        return torch.randint(-top, top, shape, generator=g, dtype=torch.int64).to(raw).view(dtype)

    return make(n, h, dl), make(n, s, h, d), make(n, s, h, d)


def open_disk(folder, fingerprint="model-a", **kw):
    return DiskMemory.open(folder, fingerprint=fingerprint, **{**SHAPES, "chunks_per_page": 4, **kw})


@pytest.fixture(params=["in-memory", "disk"])
def memory(request, tmp_path):
    if request.param == "in-memory":
        yield InMemoryMemory(fingerprint="model-a", **SHAPES)
    else:
        with open_disk(tmp_path / "mem") as mem:
            yield mem


def assert_same_pool(a, b, rows=None):
    va, vb = a.landmarks(), b.landmarks()
    assert va.doc_keys == vb.doc_keys
    assert torch.equal(va.doc_index, vb.doc_index) and torch.equal(va.chunk_index, vb.chunk_index)
    assert torch.equal(bits(va.landmarks), bits(vb.landmarks))
    rows = torch.arange(len(va)) if rows is None else rows
    for x, y in zip(a.read_chunks(rows), b.read_chunks(rows), strict=True):
        assert torch.equal(bits(x), bits(y))


def test_put_then_read_is_bitwise_exact(memory):
    docs = {"src/b.py": random_doc(3, 1), "src/a.py": random_doc(5, 2), "notes.md": random_doc(1, 3)}
    memory.put_many([(key, *doc) for key, doc in docs.items()])

    view = memory.landmarks()
    assert view.doc_keys == sorted(docs) and len(view) == 9 == memory.chunk_count
    assert memory.token_count == 9 * SHAPES["chunk_size"]
    for row in range(len(view)):
        key, chunk = view.doc_keys[view.doc_index[row]], int(view.chunk_index[row])
        landmarks, keys, values = docs[key]
        k, v = memory.read_chunks(torch.tensor([row]))
        assert torch.equal(bits(view.landmarks[row]), bits(landmarks[chunk]))
        assert torch.equal(bits(k[0]), bits(keys[chunk])) and torch.equal(bits(v[0]), bits(values[chunk]))
    for key, doc in docs.items():
        for got, want in zip(memory.read_document(key), doc, strict=True):
            assert got.dtype == torch.bfloat16 and torch.equal(bits(got), bits(want))


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32])
def test_other_dtypes_round_trip_on_disk(tmp_path, dtype):
    with open_disk(tmp_path / "mem", dtype=dtype) as mem:
        doc = random_doc(3, 7, dtype)
        mem.put("a", *doc)
        for got, want in zip(mem.read_document("a"), doc, strict=True):
            assert got.dtype == dtype and torch.equal(bits(got), bits(want))


def test_both_implementations_agree_over_random_operations(tmp_path):
    rng = random.Random(5)
    reference = InMemoryMemory(fingerprint="model-a", **SHAPES)
    with open_disk(tmp_path / "mem") as disk:
        assert_same_pool(reference, disk)  # empty pools agree too
        for step in range(40):
            if rng.random() < 0.3:
                doomed = rng.sample([f"d{i}" for i in range(8)], rng.randint(1, 3))
                reference.remove(doomed)
                disk.remove(doomed)
            else:
                batch = [(f"d{i}", *random_doc(rng.randint(0, 6), step * 10 + i))
                         for i in rng.sample(range(8), rng.randint(1, 3))]
                reference.put_many(batch)
                disk.put_many(batch)
            n = reference.chunk_count
            assert_same_pool(reference, disk, torch.tensor([rng.randrange(n) for _ in range(5 if n else 0)]))
            assert disk.chunk_count == n


def slot_byte_ranges(mem, key):
    """(page file, byte offset, length) of every region the document's chunk slots occupy."""
    snap, lay = mem._store.snapshot(), mem._store.layout
    per_page = lay.chunks_per_page
    starts = (0, per_page * lay.landmark_bytes, per_page * (lay.landmark_bytes + lay.kv_bytes))
    sizes = (lay.landmark_bytes, lay.kv_bytes, lay.kv_bytes)
    slots = snap.slots[snap.doc_index == snap.doc_keys.index(key)]
    return [(f"{s // per_page:06d}.page", start + (s % per_page) * size, size)
            for s in slots.tolist() for start, size in zip(starts, sizes, strict=True)]


def test_replacing_a_document_rewrites_only_its_own_slots(tmp_path):
    with open_disk(tmp_path / "mem") as mem:
        docs = {key: random_doc(n, i) for i, (key, n) in enumerate([("a", 3), ("b", 5), ("c", 2), ("d", 4)])}
        mem.put_many([(key, *doc) for key, doc in docs.items()])
        pages = tmp_path / "mem" / PAGES_DIR
        before = {p.name: p.read_bytes() for p in pages.iterdir()}
        others_before = {key: slot_byte_ranges(mem, key) for key in "abd"}

        mem.put("c", *random_doc(6, 99))

        after = {p.name: p.read_bytes() for p in pages.iterdir()}
        allowed = {name: np.zeros(len(data), bool) for name, data in after.items()}
        for name, offset, size in slot_byte_ranges(mem, "c"):
            allowed[name][offset:offset + size] = True
        for name, data in after.items():
            old = np.frombuffer(before.get(name, bytes(len(data))), np.uint8)
            changed = old != np.frombuffer(data, np.uint8)
            assert changed.any() or name in before
            assert not (changed & ~allowed[name]).any(), f"{name}: bytes outside the new slots of 'c' changed"
        for key in "abd":
            assert slot_byte_ranges(mem, key) == others_before[key]
            for got, want in zip(mem.read_document(key), docs[key], strict=True):
                assert torch.equal(bits(got), bits(want))
        assert torch.equal(bits(mem.read_document("c")[1]), bits(random_doc(6, 99)[1]))


def test_remove_drops_the_document_from_the_pool(memory):
    memory.put_many([("a", *random_doc(2, 1)), ("b", *random_doc(3, 2))])
    memory.remove(["a", "not-there"])
    view = memory.landmarks()
    assert view.doc_keys == ["b"] == memory.doc_keys()
    assert len(view) == 3 == memory.chunk_count
    assert torch.equal(bits(view.landmarks), bits(random_doc(3, 2)[0]))
    with pytest.raises(KeyError):
        memory.read_document("a")


def test_a_new_version_replaces_the_old_key_in_one_commit(memory):
    memory.put_many([("a@1", *random_doc(2, 1)), ("b", *random_doc(3, 2))])
    generation = memory.landmarks().generation
    memory.put_many([("a@2", *random_doc(4, 3))], remove=["a@1", "gone"])
    view = memory.landmarks()
    assert view.generation == generation + 1  # one commit: never both versions, never neither
    assert view.doc_keys == ["a@2", "b"]
    assert len(view) == 7
    assert torch.equal(bits(memory.read_document("a@2")[1]), bits(random_doc(4, 3)[1]))
    memory.put_many([], remove=["b"])
    assert memory.doc_keys() == ["a@2"]


def test_reopening_from_disk_gives_identical_data(tmp_path):
    reference = InMemoryMemory(fingerprint="model-a", **SHAPES)
    with open_disk(tmp_path / "mem") as disk:
        for mem in (reference, disk):
            mem.put_many([("x", *random_doc(4, 1)), ("y", *random_doc(2, 2)), ("z", *random_doc(3, 3))])
            mem.put("x", *random_doc(1, 4))
            mem.remove(["y"])
    with open_disk(tmp_path / "mem", create=False) as reopened:
        assert_same_pool(reference, reopened)


def test_memory_of_another_model_is_refused_with_a_clear_message(tmp_path):
    with open_disk(tmp_path / "mem", fingerprint="hsa-mini-1a2b") as mem:
        mem.put("a", *random_doc(2, 1))
    with pytest.raises(MemoryMismatch, match=r"^memory was made by model hsa-mini-1a2b, this model is "
                                             r"hsa-mini-9f9f: rebuild it$"):
        open_disk(tmp_path / "mem", fingerprint="hsa-mini-1a2b".replace("1a2b", "9f9f"))
    with pytest.raises(MemoryMismatch, match="head_dim=4.*head_dim=8.*rebuild it"):
        open_disk(tmp_path / "mem", fingerprint="hsa-mini-1a2b", head_dim=8)
    with sqlite3.connect(tmp_path / "mem" / INDEX_NAME) as conn:
        conn.execute("UPDATE meta SET format_version = 99")
    with pytest.raises(MemoryMismatch, match="format version 99.*rebuild it"):
        open_disk(tmp_path / "mem", fingerprint="hsa-mini-1a2b")

    DiskMemory.destroy(tmp_path / "mem")  # what the caller does on a mismatch: rebuild
    with open_disk(tmp_path / "mem", fingerprint="hsa-mini-9f9f") as fresh:
        assert fresh.doc_keys() == []


def _flip_byte(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x40
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["index-garbage", "index-page", "page-truncated", "page-missing",
                                    "landmark-flipped", "kv-flipped"])
def test_damaged_files_are_reported(tmp_path, damage):
    folder = tmp_path / "mem"
    with open_disk(folder) as mem:
        mem.put_many([("a", *random_doc(3, 1)), ("b", *random_doc(6, 2))])
        (lm_page, lm_offset, _), (kv_page, kv_offset, _) = slot_byte_ranges(mem, "b")[3:5]  # b's 2nd chunk
    index, page = folder / INDEX_NAME, folder / PAGES_DIR / "000001.page"
    if damage == "index-garbage":
        index.write_bytes(b"this is not an sqlite file" * 300)
    elif damage == "index-page":
        _flip_all_but_header(index)
    elif damage == "page-truncated":
        page.write_bytes(page.read_bytes()[:-10])
    elif damage == "page-missing":
        page.unlink()
    elif damage == "landmark-flipped":
        _flip_byte(folder / PAGES_DIR / lm_page, lm_offset)
    else:
        _flip_byte(folder / PAGES_DIR / kv_page, kv_offset + 5)

    with pytest.raises(MemoryCorrupt, match="damaged.*rebuild the memory"):
        with open_disk(folder) as mem:
            view = mem.landmarks()
            mem.read_chunks(torch.arange(len(view)))


def _flip_all_but_header(index):
    """Scramble every database page after the first (the schema page stays, so the file still opens)."""
    data = bytearray(index.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    assert len(data) > page_size, "the index should span several pages"
    data[page_size:] = bytes(b ^ 0x5A for b in data[page_size:])
    index.write_bytes(bytes(data))


class CrashLane:
    """One memory folder written by a chain of writer processes that are killed one after another."""

    def __init__(self, folder, seed):
        self.folder, self.seed = folder, seed
        self.state, self.next_op, self.interrupted = {}, 0, 0

    def start(self, log):
        self.log = log
        self.proc = subprocess.Popen([sys.executable, str(CHILD), "write", str(self.folder), str(log),
                                      str(self.seed), str(self.next_op)], stdout=subprocess.PIPE, cwd=REPO)

    def wait_ready(self):
        assert self.proc.stdout.readline() == b"ready\n"

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()

    def check(self):
        """The memory opens and equals the committed state, or that plus the whole interrupted operation."""
        begun, ended = [], set()
        for line in self.log.read_text().splitlines(keepends=True):
            if line.endswith("\n"):
                word, op = line.split()
                (begun.append if word == "begin" else ended.add)(int(op))
        for op in begun:
            if op in ended:
                self.state = _apply(self.state, child.plan_operation(self.seed, op))
        in_flight = [op for op in begun if op not in ended]
        plans = [child.plan_operation(self.seed, op) for op in in_flight]
        candidates = [self.state, *(_apply(self.state, plan) for plan in plans)]
        actual = _read_all(self.folder)
        matches = [c for c in candidates if _expected(c) == actual]
        assert matches, f"{self.log.name}: memory holds {sorted(actual)}, not one of the committed states"
        self.state, self.interrupted = matches[0], self.interrupted + bool(in_flight)
        self.next_op = begun[-1] + 1 if begun else self.next_op


def test_crash_at_random_points_leaves_a_previous_state(tmp_path):
    """Writers killed with SIGKILL at random points (32 kills, two memories at a time): each time the memory
    opens, and every document holds exactly a committed version (all of the last operation or none of it),
    never a mix or garbage."""
    rng = random.Random(3)
    lanes = [CrashLane(tmp_path / f"mem{i}", seed=11 + i) for i in range(2)]
    for run in range(16):
        for lane in lanes:
            lane.start(tmp_path / f"run{run}-{lane.seed}.log")
        for lane in lanes:
            lane.wait_ready()
        started = time.monotonic()
        for at, lane in sorted(((rng.uniform(0.0, 0.12), lane) for lane in lanes), key=lambda pair: pair[0]):
            time.sleep(max(0.0, started + at - time.monotonic()))
            lane.kill()
        for lane in lanes:
            lane.check()
    for lane in lanes:
        assert lane.interrupted >= 8, "the kills should land inside operations"
        assert lane.next_op >= 16, "the writer should get through many operations"
        # Freed slots are reused: at most 8 live documents of <= 6 chunks plus one put of <= 3 new ones need
        # slots at once (66 = 17 pages of 4), while the writers wrote far more chunks than that.
        assert len(list((lane.folder / PAGES_DIR).iterdir())) <= 17


def _apply(state, operation):
    kind, args = operation
    state = dict(state)
    if kind == "put":
        state.update(args)
    else:
        for key in args:
            state.pop(key, None)
    return state


def _expected(state):
    return {key: child.digest(*child.make_document(key, version)) for key, version in state.items()}


def _read_all(folder):
    with DiskMemory.open(folder, fingerprint=child.FINGERPRINT, **child.SHAPES, create=False) as mem:
        return {key: child.digest(*(bits(t).numpy() for t in mem.read_document(key)))
                for key in mem.doc_keys()}


def test_a_second_process_sees_committed_changes(tmp_path):
    folder = tmp_path / "mem"
    first, second = child.KEYS[:2]
    docs = {key: child.make_document(key, 1) for key in (first, second)}
    as_tensors = lambda key: [torch.from_numpy(a).view(torch.bfloat16) for a in docs[key]]  # noqa: E731
    with DiskMemory.open(folder, fingerprint=child.FINGERPRINT, **child.SHAPES) as mem:
        mem.put(first, *as_tensors(first))
        follower = subprocess.Popen([sys.executable, str(CHILD), "follow", str(folder)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO, text=True)
        try:
            assert json.loads(follower.stdout.readline()) == {first: child.digest(*docs[first])}
            mem.put(second, *as_tensors(second))
            mem.remove([first])
            follower.stdin.write("\n")
            follower.stdin.flush()
            assert json.loads(follower.stdout.readline()) == {second: child.digest(*docs[second])}
        finally:
            follower.stdin.close()
            follower.wait(timeout=10)


def test_two_handles_on_one_folder(tmp_path):
    with open_disk(tmp_path / "mem") as writer, open_disk(tmp_path / "mem") as reader:
        writer.put("a", *random_doc(2, 1))
        old_view = reader.landmarks()
        assert old_view.doc_keys == ["a"]
        assert reader.landmarks().landmarks is old_view.landmarks  # unchanged memory: resident copy kept

        writer.put("b", *random_doc(3, 2))
        assert reader.landmarks().doc_keys == ["a", "b"]  # the other handle's commit is seen

        view = reader.landmarks()
        writer.put("a", *random_doc(2, 3))  # a's old slots become free ...
        writer.put("a", *random_doc(2, 4))  # ... and the writer reuses them
        with pytest.raises(MemoryChanged, match="landmarks\\(\\) again"):
            reader.read_chunks(torch.arange(len(view)))
        assert torch.equal(bits(reader.read_document("a")[1]), bits(random_doc(2, 4)[1]))


def test_a_view_being_read_is_not_disturbed_by_writes_of_its_own_handle(memory):
    memory.put_many([("a", *random_doc(2, 1)), ("b", *random_doc(3, 2))])
    view = memory.landmarks()
    for seed in range(3, 8):  # on disk these writes would land in a's old slots if they were not kept
        memory.put("a", *random_doc(2, seed))
    memory.remove(["b"])
    keys, _ = memory.read_chunks(torch.arange(len(view)))
    assert torch.equal(bits(keys[:2]), bits(random_doc(2, 1)[1]))
    assert torch.equal(bits(keys[2:]), bits(random_doc(3, 2)[1]))
    assert memory.landmarks().doc_keys == ["a"]


def test_free_slots_are_reused_and_files_grow_by_whole_pages(tmp_path):
    with open_disk(tmp_path / "mem") as mem:
        mem.put_many([("a", *random_doc(3, 1)), ("b", *random_doc(5, 2))])
        for seed in range(20):
            mem.put("a", *random_doc(3 + seed % 3, 10 + seed))
            mem.landmarks()
        page_files = list((tmp_path / "mem" / PAGES_DIR).iterdir())
        page_bytes = mem._store.layout.page_bytes
        assert all(p.stat().st_size == page_bytes for p in page_files)
        # live 5 + 5 (b, a) + a's pinned old version (5) + its new one (5): 20 slots = 5 pages of 4
        assert len(page_files) <= 5


def test_disk_memory_costs_at_most_512_bytes_per_token(tmp_path):
    shapes = dict(chunk_size=64, kv_heads=1, head_dim=64, landmark_dim=64)
    with DiskMemory.open(tmp_path / "mem", fingerprint="m", **shapes) as mem:
        mem.put_many([(f"doc{i}", *random_doc(64, i, shapes=shapes)) for i in range(16)])
        assert mem.token_count == 16 * 64 * 64
        per_token = mem.bytes_on_disk / mem.token_count
    assert 256 < per_token <= 512


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_landmarks_stay_resident_on_the_gpu(memory):
    memory.put_many([("a", *random_doc(3, 1)), ("b", *random_doc(2, 2))])
    view = memory.landmarks(device="cuda")
    assert view.landmarks.is_cuda and memory.landmarks(device="cuda").landmarks is view.landmarks
    assert torch.equal(bits(view.landmarks.cpu()), bits(memory.landmarks().landmarks))
    keys, values = memory.read_chunks(torch.tensor([4, 0]), device="cuda")  # b's 2nd chunk, a's 1st
    expected = torch.stack([random_doc(2, 2)[2][1], random_doc(3, 1)[2][0]])
    assert keys.is_cuda and torch.equal(bits(values.cpu()), bits(expected))


def test_bad_input_is_refused(memory):
    with pytest.raises(ValueError, match="keys are .*expected"):
        memory.put("a", torch.zeros(2, 2, 6), torch.zeros(2, 8, 2, 5), torch.zeros(2, 8, 2, 4))
    with pytest.raises(ValueError, match="twice"):
        memory.put_many([("a", *random_doc(1, 1)), ("a", *random_doc(1, 2))])
    with pytest.raises(TypeError):
        memory.remove("a")
    with pytest.raises(IndexError):
        memory.read_chunks(torch.tensor([0]))
    assert memory.doc_keys() == []
