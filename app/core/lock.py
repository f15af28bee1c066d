"""One writer per project: an advisory file lock beside the project database.

`ingest`, `watch`, the window and `ask` (while it refreshes the project) take it before they write. A second
process waits for it, saying who holds it, and gives up with ProjectBusy after `timeout` seconds. The lock
is the kernel's (flock), so a killed holder releases it at once; the holder's description is only for
messages.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

LOCK_NAME = "folio.lock"


class ProjectBusy(Exception):
    pass


def _holder(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip() or "another Folio process"
    except OSError:
        return "another Folio process"


@contextlib.contextmanager
def project_lock(
    project_dir: str | os.PathLike[str],
    what: str,
    *,
    timeout: float = 600.0,
    waiting: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the project's write lock while the block runs. `what` says what this process does ("ingest")."""
    folder = Path(project_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    if sys.platform == "win32":  # no flock: a single writer is the user's job there
        yield
        return
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline, told = time.monotonic() + timeout, False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(path)
                if time.monotonic() >= deadline:
                    raise ProjectBusy(
                        f"the project is busy: {holder} (waited {timeout:.0f} s; try again when "
                        "it has finished)"
                    ) from None
                if not told and waiting is not None:
                    waiting(f"waiting for {holder} to finish with this project")
                    told = True
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} ({what}, since {time.strftime('%H:%M:%S')})\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
