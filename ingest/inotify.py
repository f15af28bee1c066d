"""Linux's inotify for the watcher, without watches on the folders the project ignores.

watchdog's recursive watch takes one inotify watch per folder below a root, node_modules, .git and .venv
included, walking all of them first; a JavaScript project can hold tens of thousands of such folders, which
costs seconds at every start and can exhaust the system's watch limit. `FolderWatch` watches only the
folders `wanted` accepts (the watcher asks its ignore rules, as a scan does), follows folders created or
moved in and drops those deleted or moved away, and passes every changed path to `changed`, in one thread
that reads the kernel's events through libc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import logging
import os
import select
import struct
import sys
import threading
from collections.abc import Callable, Sequence

from ingest.scan import VENV_MARKER, is_virtualenv

log = logging.getLogger(__name__)

IN_MODIFY = 0x2
IN_ATTRIB = 0x4
IN_CLOSE_WRITE = 0x8
IN_MOVED_FROM = 0x40
IN_MOVED_TO = 0x80
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
IN_ONLYDIR = 0x1000000
IN_DONT_FOLLOW = 0x2000000
IN_EXCL_UNLINK = 0x4000000
IN_ISDIR = 0x40000000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000

MASK = (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
        | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK)
_HEADER = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len (then the name, NUL-padded)
_GONE = (errno.ENOENT, errno.ENOTDIR, errno.EACCES, errno.ELOOP)  # a folder that vanished or cannot be read

_libc: ctypes.CDLL | None = None


def libc() -> ctypes.CDLL:
    """The C library, loaded on first use so that importing this module works where there is no inotify."""
    global _libc
    if _libc is None:
        if not sys.platform.startswith("linux"):
            raise OSError(errno.ENOSYS, "inotify is Linux's")
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return _libc


def _checked(result: int) -> int:
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return result


def inotify_init1(flags: int) -> int:
    return _checked(libc().inotify_init1(flags))


def inotify_add_watch(fd: int, path: bytes, mask: int) -> int:
    return _checked(libc().inotify_add_watch(fd, path, ctypes.c_uint32(mask)))


def inotify_rm_watch(fd: int, wd: int) -> int:
    return _checked(libc().inotify_rm_watch(fd, wd))


class FolderWatch:
    """Watch `folders` ((path, recursive) pairs) and, below the recursive ones, every folder `wanted` accepts.

    `changed(path)` gets each file or folder created, written, deleted or moved (both ends of a move);
    `overflowed()` is called when the kernel dropped events, so everything must be compared again.
    `start()` raises OSError when the system refuses a watch (ENOSPC, EMFILE); nothing is left open then.
    """

    def __init__(self, folders: Sequence[tuple[str, bool]], changed: Callable[[str], None],
                 wanted: Callable[[str], bool], overflowed: Callable[[], None]):
        self.folders = [(os.path.abspath(path), recursive) for path, recursive in folders]
        self._tops = {path for path, _ in self.folders}
        self.changed, self.wanted, self.overflowed = changed, wanted, overflowed
        self._fd = -1
        self._wake_r, self._wake_w = -1, -1
        self._lock = threading.Lock()
        self._paths: dict[int, str] = {}  # watch descriptor -> folder
        self._recursive: dict[int, bool] = {}
        self._thread: threading.Thread | None = None
        self._stopping = threading.Lock()

    @property
    def watched(self) -> list[str]:
        """The folders watched now."""
        with self._lock:
            return sorted(self._paths.values())

    def start(self) -> None:
        self._fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        try:
            for path, recursive in self.folders:
                self._add_tree(path, recursive)
            self._wake_r, self._wake_w = os.pipe()
            self._thread = threading.Thread(target=self._run, name="folio-inotify", daemon=True)
            self._thread.start()
        except BaseException:  # a refused watch, or anything else: nothing is left open
            self._thread = None
            self._close()
            raise

    def stop(self) -> None:
        """End the watch; safe to call again, from any thread (the window stops a watcher in the background
        and again when it closes): each descriptor is closed once."""
        with self._stopping:
            if self._thread is not None:
                os.write(self._wake_w, b"x")
                self._thread.join()
                self._thread = None
            self._close()

    def _close(self) -> None:
        with self._lock:  # no watch is being added or dropped on the descriptor meanwhile
            for fd in (self._wake_r, self._wake_w, self._fd):
                if fd >= 0:
                    os.close(fd)  # closing the inotify descriptor drops every watch with it
            self._wake_r = self._wake_w = self._fd = -1
            self._paths.clear()
            self._recursive.clear()

    def refresh(self) -> None:
        """Watch again what `wanted` says now (after an ignore rule changed): add folders, drop others."""
        with self._lock:
            before = dict(self._paths)
        reached: set[int] = set()
        try:
            for path, recursive in self.folders:
                reached |= self._add_tree(path, recursive)
        except OSError as exc:  # a limit reached, or the watch stopped meanwhile: keep what is watched
            log.warning("watch: cannot watch the folders again: %s", exc)
            return
        for wd in before:
            if wd not in reached:
                self._drop(wd)

    def watch_tree(self, path: str) -> None:
        """Watch `path` and the wanted folders below it (a folder that stopped being a virtual environment);
        OSError when the system refuses."""
        if self.wanted(path):
            self._add_tree(path, True)

    # watches ------------------------------------------------------------------------------------------

    def _add(self, path: str, recursive: bool) -> int | None:
        with self._lock:
            if self._fd < 0:
                raise OSError(errno.EBADF, "the watch has stopped")
            try:
                wd = inotify_add_watch(self._fd, os.fsencode(path), MASK)
            except OSError as exc:
                if exc.errno in _GONE:
                    return None
                raise
            self._paths[wd] = path  # a folder moved here keeps its inode's descriptor: the new path wins
            self._recursive[wd] = self._recursive.get(wd, False) or recursive  # a root may be both
        return wd

    def _add_tree(self, top: str, recursive: bool) -> set[int]:
        """Watch `top` and, if recursive, each wanted folder below it (a virtual environment's folder alone);
        the watch is added before a folder is listed: a subfolder created meanwhile is listed or reported."""
        added: set[int] = set()
        stack = [top]
        while stack:
            folder = stack.pop()
            venv = folder not in self._tops and is_virtualenv(folder)
            # a virtual environment: a scan skips it, so the watch takes the folder alone (to see its
            # pyvenv.cfg go), not the tree below it
            wd = self._add(folder, recursive and not venv)
            if wd is None:
                continue
            added.add(wd)
            if not recursive or venv:
                continue
            try:
                with os.scandir(folder) as listing:
                    subfolders = [e.path for e in listing if e.is_dir(follow_symlinks=False)]
            except OSError:
                continue
            stack.extend(path for path in subfolders if self.wanted(path))
        return added

    def _drop(self, wd: int) -> None:
        with self._lock:
            self._paths.pop(wd, None)
            self._recursive.pop(wd, None)
            if self._fd < 0:
                return
            try:
                inotify_rm_watch(self._fd, wd)
            except OSError:
                pass  # the folder is gone and the kernel dropped the watch already

    def _drop_tree(self, top: str, keep_tops: bool = False) -> None:
        """Drop the watches of `top` and below; keep_tops: not those of a root nested below it."""
        prefix = top.rstrip(os.sep) + os.sep
        nested = [t.rstrip(os.sep) + os.sep for t in self._tops if keep_tops and t.startswith(prefix)]
        with self._lock:
            below = [wd for wd, path in self._paths.items() if (path == top or path.startswith(prefix))
                     and not any((path + os.sep).startswith(t) for t in nested)]
        for wd in below:
            self._drop(wd)

    # the reading thread -------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._read()
        except Exception:  # noqa: BLE001 - said, not swallowed: changes are no longer seen
            log.exception("watch: reading the folders' events failed; changes are no longer followed")

    def _read(self) -> None:
        poller = select.poll()  # not select.select, which cannot wait on a descriptor numbered 1024 or more
        poller.register(self._fd, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        while True:
            ready = {fd for fd, _ in poller.poll()}
            if self._wake_r in ready:
                return
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                continue
            offset = 0
            while offset + _HEADER.size <= len(data):
                wd, mask, _cookie, length = _HEADER.unpack_from(data, offset)
                name = data[offset + _HEADER.size : offset + _HEADER.size + length].rstrip(b"\0")
                offset += _HEADER.size + length
                try:
                    self._event(wd, mask, name)
                except OSError as exc:  # a watch refused for a new folder: the rest goes on being watched
                    log.warning("watch: cannot watch a new folder: %s", exc)
                except Exception:  # noqa: BLE001 - one bad event must not end the watch
                    log.exception("watch: event %#x on %r failed", mask, name)

    def _event(self, wd: int, mask: int, name: bytes) -> None:
        if mask & IN_Q_OVERFLOW:
            self.overflowed()
            return
        with self._lock:
            folder = self._paths.get(wd)
            recursive = self._recursive.get(wd, False)
        if folder is None:
            return
        if mask & IN_IGNORED:  # the kernel removed the watch (folder deleted, or unmounted)
            with self._lock:
                if self._paths.get(wd) == folder:
                    del self._paths[wd], self._recursive[wd]
            return
        if not name:
            return  # the watched folder itself: its parent's watch reports it by name
        path = os.path.join(folder, os.fsdecode(name))
        if mask & IN_ISDIR:
            if not mask & (IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM):
                return  # a subfolder's attributes: its entries report their own changes
            if mask & (IN_DELETE | IN_MOVED_FROM):
                self._drop_tree(path)
            elif recursive and self.wanted(path):
                self._add_tree(path, True)
        elif name == VENV_MARKER.encode() and folder not in self._tops:
            if mask & (IN_CREATE | IN_MOVED_TO):  # a virtual environment now: a scan skips it (not a root
                self._drop_tree(folder, keep_tops=True)  # nested in it, which its own root reads), and
                self._add(folder, False)  # the watch keeps the folder alone
            # its removal: the worker, once events are quiet, watches and reads the folder again (watch_tree)
            # unless the whole folder went meanwhile (`rm -rf env` removes pyvenv.cfg first)
        self.changed(path)
