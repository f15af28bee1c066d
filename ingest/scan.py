"""Find the files of a project: roots (folders or single files), ignore rules, size limit, symlinks.

`scan()` walks every root with `os.scandir` and yields small records: a `ScanEntry` for each file that
should become a document (the parser still decides whether its content is text) and a `ScanProblem`
for each path it will not pass on (too large, binary by extension, a symlink loop, a link leaving the
project, an unreadable folder). Files matched by an
ignore rule (`.gitignore` files at any depth, or the default list below) are left out silently.
Reading, hashing and parsing happen later (ingest/pipeline.py); the scan only stats.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pathspec

DEFAULT_SIZE_LIMIT = 20 * 1024 * 1024

# Folders that are never part of a project's text: VCS data, dependencies, environments, builds, caches.
DEFAULT_IGNORED_DIRS = frozenset(
    """.git .hg .svn .bzr _darcs .jj node_modules bower_components .venv venv .conda __pypackages__
    __pycache__ .mypy_cache .pytest_cache .ruff_cache .tox .nox .hypothesis .ipynb_checkpoints .eggs .gradle
    .cache .parcel-cache .next .nuxt .turbo build dist target _build out CMakeFiles""".split()
)
DEFAULT_IGNORED_DIR_GLOBS = ("*.egg-info", "*.dist-info")
# Compiled artefacts and images: left out silently (no reason is worth showing for them).
DEFAULT_IGNORED_FILE_GLOBS = tuple(
    """*.pyc *.pyo *.pyd *.so *.so.* *.dylib *.dll *.o *.obj *.a *.lib *.class *.png *.jpg *.jpeg *.gif *.bmp
    *.ico *.icns *.webp *.tif *.tiff *.psd .DS_Store Thumbs.db""".split()
)
# Other formats that are binary by construction: skipped with a reason, without being read.
BINARY_EXTENSIONS = frozenset(
    """.zip .gz .tgz .bz2 .xz .zst .7z .rar .tar .jar .war .whl .egg .exe .bin .msi .iso .dmg .deb .rpm .apk
    .wasm .mp3 .mp4 .m4a .wav .flac .ogg .avi .mov .mkv .webm .ttf .otf .woff .woff2 .eot .doc .docx .xls
    .xlsx .ppt .pptx .odt .ods .sqlite .sqlite3 .db .pkl .pickle .npy .npz .pt .pth .ckpt .onnx .safetensors
    .gguf .h5 .hdf5 .parquet .arrow .feather""".split()
)
_IGNORED_DIR_RE = re.compile("|".join(fnmatch.translate(g) for g in DEFAULT_IGNORED_DIR_GLOBS))
_IGNORED_FILE_RE = re.compile("|".join(fnmatch.translate(g) for g in DEFAULT_IGNORED_FILE_GLOBS))


class ScanError(Exception):
    """A root cannot be scanned at all (it does not exist, or is neither a file nor a folder)."""


@dataclass(frozen=True)
class Root:
    """One project root: a folder, or a single file added on its own."""

    path: Path  # fully resolved
    is_file: bool
    primary: bool  # the first root names the project; documents of other roots are prefixed

    def document_path(self, relpath: str) -> str:
        """The path a user sees for a file of this root (citations, problems, the document header)."""
        if self.primary or self.is_file:
            return relpath
        return f"{self.path.name}/{relpath}"

    def contains(self, real_path: str) -> bool:
        base = str(self.path)
        if self.is_file:
            return real_path == base
        return real_path == base or real_path.startswith(base.rstrip(os.sep) + os.sep)


@dataclass(frozen=True)
class ScanEntry:
    """A file to read: `relpath` is POSIX and relative to its root; `abspath` is how to open it."""

    root: int  # index into the roots
    relpath: str
    abspath: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class ScanProblem:
    """A path the scan will not pass on, with the reason shown to the user."""

    root: int
    relpath: str
    abspath: str
    status: str  # "skipped" (by policy) or "failed" (something went wrong)
    reason: str


def resolve_roots(paths: Sequence[str | os.PathLike[str]]) -> list[Root]:
    """Resolve user-given paths into roots; the first names the project. ScanError if one is missing."""
    if not paths:
        raise ScanError("no path given")
    roots: list[Root] = []
    for raw in paths:
        given = Path(raw).expanduser()
        if not os.path.lexists(given):
            raise ScanError(f"{given} does not exist")
        resolved = Path(os.path.realpath(given))
        if not resolved.exists():
            raise ScanError(f"{given} is a broken symbolic link")
        if not (resolved.is_dir() or resolved.is_file()):
            raise ScanError(f"{given} is neither a file nor a folder")
        if any(root.path == resolved for root in roots):
            continue
        roots.append(Root(resolved, resolved.is_file(), primary=not roots))
    return roots


def format_size(size: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


VENV_MARKER = "pyvenv.cfg"  # the file that makes a folder a virtual environment, which a scan skips


def is_virtualenv(folder: str | os.PathLike[str]) -> bool:
    return os.path.isfile(os.path.join(folder, VENV_MARKER))


class IgnoreRules:
    """The default ignore list plus every `.gitignore` between a root and a path (deeper files win)."""

    def __init__(self) -> None:
        self._specs: dict[str, pathspec.GitIgnoreSpec | None] = {}

    def gitignore_spec(self, directory: str) -> pathspec.GitIgnoreSpec | None:
        """The parsed `.gitignore` of one folder (cached), or None when it has none."""
        if directory not in self._specs:
            try:
                with open(os.path.join(directory, ".gitignore"), encoding="utf-8", errors="replace") as f:
                    self._specs[directory] = pathspec.GitIgnoreSpec.from_lines(f.read().splitlines())
            except OSError:
                self._specs[directory] = None
        return self._specs[directory]

    def forget(self, directory: str) -> None:
        """Drop a cached `.gitignore` (the watcher calls this when one changes)."""
        self._specs.pop(directory, None)

    @staticmethod
    def default_ignores(name: str, is_dir: bool) -> bool:
        if is_dir:
            return name in DEFAULT_IGNORED_DIRS or _IGNORED_DIR_RE.match(name) is not None
        return _IGNORED_FILE_RE.match(name) is not None

    def gitignored(
        self, chain: Sequence[tuple[str, pathspec.GitIgnoreSpec]], relpath: str, is_dir: bool
    ) -> bool:
        """`chain` holds (folder relpath, spec) from the root down; the deepest definite answer wins."""
        for base, spec in reversed(chain):
            sub = relpath[len(base) + 1 :] if base else relpath
            result = spec.check_file(sub + "/" if is_dir else sub)
            if result.include is not None:
                return result.include
        return False

    def ignores(self, root: Root, relpath: str, is_dir: bool = False) -> bool:
        """Whether a path relative to `root` is ignored, checking every folder above it (for the watcher)."""
        if root.is_file:
            return False
        parts = relpath.split("/")
        chain: list[tuple[str, pathspec.GitIgnoreSpec]] = []
        for depth in range(len(parts)):
            base = "/".join(parts[:depth])
            directory = os.path.join(root.path, *parts[:depth])
            if depth and (
                self.default_ignores(parts[depth - 1], True)
                or is_virtualenv(directory)
            ):
                return True
            spec = self.gitignore_spec(directory)
            if spec is not None:
                chain.append((base, spec))
            last = depth == len(parts) - 1
            if self.gitignored(chain, "/".join(parts[: depth + 1]), is_dir or not last):
                return True
        return self.default_ignores(parts[-1], is_dir)


class _Walk:
    """One scan: a depth-first walk of every root; folders reached through symlinks are walked last."""

    def __init__(self, roots: Sequence[Root], size_limit: int, rules: IgnoreRules):
        self.roots = roots
        self.size_limit = size_limit
        self.rules = rules
        self.visited: dict[tuple[int, int], str] = {}  # (st_dev, st_ino) of every folder walked -> its path
        self.root_dirs = {self._identity(str(r.path)): i for i, r in enumerate(roots) if not r.is_file}
        self.root_files = set()  # a file root inside a folder root is read once, as its own root
        for root in roots:
            if root.is_file:
                try:
                    self.root_files.add(self._identity(str(root.path)))
                except OSError:
                    pass  # removed since the roots were resolved: run() reports it

    @staticmethod
    def _identity(path: str) -> tuple[int, int]:
        st = os.stat(path)
        return st.st_dev, st.st_ino

    def run(self) -> Iterator[ScanEntry | ScanProblem]:
        for index, root in enumerate(self.roots):
            if root.is_file:
                try:
                    st = os.stat(root.path)
                except OSError as exc:  # removed since the roots were resolved
                    yield ScanProblem(index, root.path.name, str(root.path), "failed", _os_reason(exc))
                    continue
                yield from self._file(index, root.path.name, str(root.path), st)
                continue
            self.visited[self._identity(str(root.path))] = str(root.path)
            linked: list[tuple[str, str, list]] = []
            yield from self._directory(index, str(root.path), "", [], linked)
            while linked:  # folders behind symlinks, after all real folders have been seen
                abspath, relpath, chain = linked.pop(0)
                yield from self._linked_directory(index, abspath, relpath, chain, linked)

    def _directory(self, index: int, abspath: str, relpath: str, chain: list, linked: list):
        try:
            with os.scandir(abspath) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            reason = f"cannot read folder: {_os_reason(exc)}"
            yield ScanProblem(index, relpath or ".", abspath, "failed", reason)
            return
        if relpath and any(e.name == VENV_MARKER for e in entries):
            return  # a virtual environment
        spec = self.rules.gitignore_spec(abspath) if any(e.name == ".gitignore" for e in entries) else None
        if spec is not None:
            chain = [*chain, (relpath, spec)]
        for entry in entries:
            child_rel = f"{relpath}/{entry.name}" if relpath else entry.name
            is_link = entry.is_symlink()
            try:
                is_dir = entry.is_dir()  # follows links
            except OSError:
                is_dir = False  # a link loop: reported below unless an ignore rule drops it first
            if self.rules.default_ignores(entry.name, is_dir) or (
                chain and self.rules.gitignored(chain, child_rel, is_dir)
            ):
                continue
            if is_link:
                problem = self._check_link(index, entry.path, child_rel)
                if problem is not None:
                    yield problem
                    continue
                if is_dir:
                    linked.append((entry.path, child_rel, chain))
                    continue
            if is_dir:
                try:
                    st = entry.stat()
                except OSError as exc:
                    yield ScanProblem(index, child_rel, entry.path, "failed", _os_reason(exc))
                    continue
                identity = (st.st_dev, st.st_ino)
                if identity in self.root_dirs or identity in self.visited:
                    continue  # another root (walked on its own) or a bind mount already walked
                self.visited[identity] = entry.path
                yield from self._directory(index, entry.path, child_rel, chain, linked)
                continue
            try:
                st = entry.stat()
            except OSError as exc:
                yield ScanProblem(index, child_rel, entry.path, "failed", _os_reason(exc))
                continue
            if (st.st_dev, st.st_ino) in self.root_files:
                continue  # a file root: read as its own root
            yield from self._file(index, child_rel, entry.path, st)

    def _linked_directory(self, index: int, abspath: str, relpath: str, chain: list, linked: list):
        identity = self._identity(abspath)
        if identity in self.root_dirs:
            yield ScanProblem(index, relpath, abspath, "skipped", "symlink to a project root")
            return
        seen = self.visited.get(identity)
        if seen is not None:
            real = os.path.realpath(abspath)
            link_dir = os.path.realpath(os.path.dirname(abspath))
            if link_dir == real or link_dir.startswith(real.rstrip(os.sep) + os.sep):
                reason = f"symlink loop (points back to {real})"
            else:
                reason = f"symlink to a folder already scanned ({real})"
            yield ScanProblem(index, relpath, abspath, "skipped", reason)
            return
        self.visited[identity] = abspath
        yield from self._directory(index, abspath, relpath, chain, linked)

    def _check_link(self, index: int, abspath: str, relpath: str) -> ScanProblem | None:
        try:
            os.stat(abspath)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return ScanProblem(index, relpath, abspath, "skipped", "symlink loop")
            return ScanProblem(index, relpath, abspath, "skipped", f"broken symlink ({_os_reason(exc)})")
        real = os.path.realpath(abspath)
        if not any(root.contains(real) for root in self.roots):
            reason = f"symlink points outside the project ({real})"
            return ScanProblem(index, relpath, abspath, "skipped", reason)
        return None

    def _file(self, index: int, relpath: str, abspath: str, st: os.stat_result):
        if not stat.S_ISREG(st.st_mode):
            return  # sockets, fifos, devices: never documents
        extension = os.path.splitext(relpath)[1].lower()
        if extension in BINARY_EXTENSIONS:
            yield ScanProblem(index, relpath, abspath, "skipped", f"binary file type ({extension})")
        elif st.st_size > self.size_limit:
            yield ScanProblem(
                index,
                relpath,
                abspath,
                "skipped",
                f"larger than the size limit ({format_size(st.st_size)} > {format_size(self.size_limit)})",
            )
        else:
            yield ScanEntry(index, relpath, abspath, st.st_size, st.st_mtime_ns)


def scan_file(
    roots: Sequence[Root], index: int, relpath: str, abspath: str, *, size_limit: int = DEFAULT_SIZE_LIMIT
) -> ScanEntry | ScanProblem | None:
    """The scan's verdict on one file path (the watcher uses it); None for a non-file or a vanished path."""
    walk = _Walk(roots, size_limit, IgnoreRules())
    if os.path.islink(abspath):
        problem = walk._check_link(index, abspath, relpath)
        if problem is not None:
            return problem
    try:
        st = os.stat(abspath)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return ScanProblem(index, relpath, abspath, "failed", _os_reason(exc))
    return next(walk._file(index, relpath, abspath, st), None)


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or str(exc)


def scan(
    roots: Sequence[Root], *, size_limit: int = DEFAULT_SIZE_LIMIT, rules: IgnoreRules | None = None
) -> Iterator[ScanEntry | ScanProblem]:
    """Walk `roots` (from `resolve_roots`) and yield a record for every file that is not ignored."""
    return _Walk(roots, size_limit, rules or IgnoreRules()).run()
