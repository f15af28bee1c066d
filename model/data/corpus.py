"""The training corpus: text files of the installed packages and the standard library, tokenized once.

A document is what the app makes of a file (ingest/parse.py): the file's path relative to its root on the
first line, then the file text (Python's with scope comments, model/data/scopes.py). Documents are tokenized
as <|doc_start|> text <|doc_end|> and stored as one flat uint16 array with offsets; the texts are stored
beside them (UTF-8 bytes + offsets), so needles and code questions can be built from the exact text that was
tokenized.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sysconfig
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np

from model.data.scopes import scope_comments
from model.tokenizer import Tokenizer

TEXT_SUFFIXES = {".py", ".pyi", ".c", ".h", ".hpp", ".md", ".rst", ".txt"}
PYTHON_SUFFIXES = (".py", ".pyi")
MIN_BYTES, MAX_BYTES = 200, 200_000
SKIP_DIRS = {"__pycache__", "site-packages", "dist-packages", ".git"}
INCLUDE_ROOT = Path("/usr/include")
FORMAT_VERSION = 2  # 2: Python documents carry scope comments (model/data/scopes.py)
BATCH_BYTES = 2_000_000  # text per tokenizing task


def default_roots() -> list[tuple[Path, str]]:
    """(root, naming) pairs: the stdlib, site-packages and /usr/include when present."""
    paths = sysconfig.get_paths()
    roots: list[tuple[Path, str]] = [(Path(paths["stdlib"]), "stdlib")]
    for key in ("purelib", "platlib"):
        root = Path(paths[key])
        if all(root != r for r, _ in roots):
            roots.append((root, "site"))
    if INCLUDE_ROOT.is_dir():
        roots.append((INCLUDE_ROOT, "include"))
    return roots


def _is_text_file(name: str) -> bool:
    return name.startswith("LICENSE") or os.path.splitext(name)[1] in TEXT_SUFFIXES


def _package_name(rel_parts: tuple[str, ...], naming: str) -> str:
    top = rel_parts[0]
    if naming == "include":
        return f"include:{top}" if len(rel_parts) > 1 else "include"
    if len(rel_parts) == 1:  # a top-level module file: six.py -> six
        top = os.path.splitext(top)[0]
    elif top.endswith((".dist-info", ".egg-info")):  # licenses of numpy-2.4.6.dist-info belong to numpy
        top = top.split("-")[0].lower()
    return f"stdlib:{top}" if naming == "stdlib" else top


def _valid_text(path: Path) -> bool:
    try:
        size = path.stat().st_size
        if not MIN_BYTES <= size <= MAX_BYTES:
            return False
        data = path.read_bytes()
        data.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return b"\x00" not in data


def find_sources(roots: Sequence[Path] | None = None) -> dict[str, list[Path]]:
    """Package name -> its text files (sorted), from the default roots or from `roots` (named like
    site-packages: a package is a top folder or top-level module)."""
    pairs = default_roots() if roots is None else [(Path(r), "site") for r in roots]
    found: dict[str, list[Path]] = {}
    for root, naming in pairs:
        if not root.is_dir():
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            for name in files:
                if not _is_text_file(name):
                    continue
                path = Path(folder) / name
                if path.is_symlink() or not _valid_text(path):
                    continue
                package = _package_name(path.relative_to(root).parts, naming)
                found.setdefault(package, []).append(path)
    return {package: sorted(paths) for package, paths in sorted(found.items())}


def package_hash(name: str, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_packages(packages: Sequence[str], held_out: float = 0.1,
                   seed: int = 0) -> tuple[list[str], list[str]]:
    """(train, held_out): the round(held_out * n) packages whose name hashes lowest (at least one when
    held_out > 0 and there are two or more) are held out; the same names and seed give the same split."""
    ranked = sorted(set(packages), key=lambda name: (package_hash(name, seed), name))
    count = round(held_out * len(ranked))
    if held_out > 0 and len(ranked) > 1:
        count = min(max(count, 1), len(ranked) - 1)
    return sorted(ranked[count:]), sorted(ranked[:count])


def relative_path(path: Path, roots: Sequence[Path]) -> str:
    """The path as the app shows it: relative to the deepest root holding it (else its last two parts)."""
    best = None
    for root in roots:
        if path.is_relative_to(root) and (best is None or len(root.parts) > len(best.parts)):
            best = root
    parts = path.relative_to(best).parts if best is not None else path.parts[-2:]
    return "/".join(parts)


# ----------------------------------------------------------------------------------------------- build
_worker_tokenizer: Tokenizer | None = None


def _init_worker(tokenizer_json: str) -> None:
    global _worker_tokenizer
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # one thread per worker process
    _worker_tokenizer = Tokenizer.from_str(tokenizer_json)


def _encode_texts(tokenizer: Tokenizer, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    encodings = tokenizer.encode_batch(texts)
    lengths = np.array([len(e.ids) + 2 for e in encodings], dtype=np.int64)
    tokens = np.empty(int(lengths.sum()), dtype=np.uint16)
    at = 0
    for encoding, length in zip(encodings, lengths, strict=True):
        tokens[at] = tokenizer.doc_start_id
        tokens[at + 1:at + length - 1] = encoding.ids
        tokens[at + length - 1] = tokenizer.doc_end_id
        at += length
    return tokens, lengths


def _read_documents(items: list[tuple[str, str]], scopes: bool) -> list[str]:
    documents = []
    for path, relpath in items:
        text = Path(path).read_text(encoding="utf-8")
        if scopes and relpath.endswith(PYTHON_SUFFIXES):
            text = scope_comments(text)  # as the app's documents have them (ingest/scopes.py)
        documents.append(f"{relpath}\n{text}")
    return documents


def _encode_items(tokenizer: Tokenizer, items: list[tuple[str, str]], scopes: bool):
    """(tokens, token lengths, UTF-8 text, text lengths) of the documents of (path, relpath) items."""
    texts = _read_documents(items, scopes)
    tokens, lengths = _encode_texts(tokenizer, texts)
    blobs = [t.encode("utf-8") for t in texts]
    return tokens, lengths, b"".join(blobs), np.array([len(b) for b in blobs], dtype=np.int64)


def _encode_files(items: list[tuple[str, str]], scopes: bool):
    assert _worker_tokenizer is not None, "worker not initialised"
    return _encode_items(_worker_tokenizer, items, scopes)


def _batches(items: list, sizes: list[int]) -> list[list]:
    batches, current, total = [], [], 0
    for item, size in zip(items, sizes, strict=True):
        current.append(item)
        total += size
        if total >= BATCH_BYTES:
            batches.append(current)
            current, total = [], 0
    if current:
        batches.append(current)
    return batches


class Corpus:
    """Tokenized documents: doc(i) ids, text(i) document text (path line + file), package(i), path(i)."""

    def __init__(self, tokens: np.ndarray, token_offsets: np.ndarray, text_bytes: np.ndarray,
                 text_offsets: np.ndarray, packages: list[str], paths: list[str]):
        self.tokens, self.token_offsets = tokens, token_offsets
        self.text_bytes, self.text_offsets = text_bytes, text_offsets
        self.packages, self.paths = packages, paths
        self.lengths = np.diff(token_offsets)

    @classmethod
    def build(cls, files_by_package: dict[str, list[Path]], tokenizer: Tokenizer, packages: Sequence[str],
              workers: int = os.cpu_count() or 1, roots: Sequence[Path] | None = None,
              scopes: bool = True) -> Corpus:
        """Tokenize the files of `packages` (in parallel processes when workers > 1); `scopes`: Python
        documents with their scope comments, as the app reads them (False: the files' text alone)."""
        root_paths = [r for r, _ in default_roots()] if roots is None else [Path(r) for r in roots]
        items, owners, sizes = [], [], []
        for package in sorted(set(packages)):
            for path in files_by_package.get(package, []):
                items.append((str(path), relative_path(Path(path), root_paths)))
                owners.append(package)
                sizes.append(Path(path).stat().st_size)
        batches = _batches(items, sizes)
        if workers > 1 and len(batches) > 1:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(workers, context, _init_worker, (tokenizer.to_str(),)) as pool:
                results = list(pool.map(partial(_encode_files, scopes=scopes), batches))
        else:
            results = [_encode_items(tokenizer, batch, scopes) for batch in batches]
        return cls._from_parts(results, owners, [relpath for _, relpath in items])

    @classmethod
    def _from_parts(cls, results, owners: list[str], paths: list[str]) -> Corpus:
        def offsets(lengths: list[np.ndarray]) -> np.ndarray:
            flat = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)
            return np.concatenate([[0], np.cumsum(flat)]).astype(np.int64)

        tokens = np.concatenate([r[0] for r in results]) if results else np.zeros(0, dtype=np.uint16)
        text = np.frombuffer(b"".join(r[2] for r in results), dtype=np.uint8)
        return cls(tokens, offsets([r[1] for r in results]), text, offsets([r[3] for r in results]),
                   owners, paths)

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "tokens.npy", self.tokens)
        np.save(folder / "token_offsets.npy", self.token_offsets)
        np.save(folder / "text.npy", self.text_bytes)
        np.save(folder / "text_offsets.npy", self.text_offsets)
        meta = {"version": FORMAT_VERSION, "packages": self.packages, "paths": self.paths}
        (folder / "meta.json").write_text(json.dumps(meta))

    @classmethod
    def load(cls, folder: str | Path) -> Corpus:
        """Memory-maps the arrays: loading a large corpus is instant and shares pages between processes."""
        folder = Path(folder)
        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("version") != FORMAT_VERSION:
            raise ValueError(f"corpus {folder} has format {meta.get('version')}, expected {FORMAT_VERSION}")

        def array(name: str) -> np.ndarray:  # a plain ndarray over the mapped file (memmap slices are slow)
            return np.asarray(np.load(folder / f"{name}.npy", mmap_mode="r"))

        return cls(array("tokens"), np.asarray(array("token_offsets")), array("text"),
                   np.asarray(array("text_offsets")), meta["packages"], meta["paths"])

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def num_tokens(self) -> int:
        return int(self.token_offsets[-1])

    def doc(self, i: int) -> np.ndarray:
        """Token ids <|doc_start|> ... <|doc_end|> (uint16 view)."""
        return self.tokens[self.token_offsets[i]:self.token_offsets[i + 1]]

    def text(self, i: int) -> str:
        """The document text that doc(i) encodes: the path line, then the file text."""
        return bytes(self.text_bytes[self.text_offsets[i]:self.text_offsets[i + 1]]).decode("utf-8")

    def source(self, i: int) -> str:
        """The file text alone (line 1 of the file is line 1 here)."""
        return self.text(i).split("\n", 1)[1]

    def package(self, i: int) -> str:
        return self.packages[i]

    def path(self, i: int) -> str:
        return self.paths[i]
