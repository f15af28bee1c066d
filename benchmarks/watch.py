"""Live updates on a project with a large ignored tree: folders watched, time to start, time to see a change.

    .venv/bin/python benchmarks/watch.py [--packages 200,2000] [--no-write]

Each project: 50 source folders of 10 Python files, a node_modules of `--packages` packages (11 folders
each, a file in 10 of them) and a .git of 256 object folders, ingested once. For each watch backend (Linux:
`ingest.inotify`, which leaves ignored folders unwatched, and watchdog's recursive inotify watch, the backend
until session 28), side by side in one run: the inotify watches this process holds once the watcher is
ready (read from /proc/self/fdinfo), the seconds from `start()` to ready (the catch-up scan included), and
from writing a source file to the watcher's "changed" event (debounce 0.1 s; none within EVENT_S counts as
missed). Median of --repeats runs. Replaces the "## Watch" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.sections import replace_section  # noqa: E402
from ingest.pipeline import ingest  # noqa: E402
from ingest.watch import Watcher, WatchEvent  # noqa: E402

SECTION = "## Watch"
EVENT_S = 30.0


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--packages", default="200,2000",
                   help="node_modules packages (11 folders each), one project per number")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    p.add_argument("--no-write", action="store_true", help="print the table only")
    return p.parse_args(argv)


def make_project(root: Path, packages: int) -> int:
    """Write the project; returns the number of folders in it."""
    folders = 0
    for i in range(50):
        folder = root / "src" / f"mod{i}"
        folder.mkdir(parents=True)
        for j in range(10):
            (folder / f"f{j}.py").write_text(f"def f{i}_{j}():\n    return {j}\n")
        folders += 1
    for i in range(packages):
        for j in range(10):
            folder = root / "node_modules" / f"pkg{i}" / ("lib" if j == 0 else f"lib/part{j}")
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "index.js").write_text("module.exports = 1;\n")
        folders += 11  # pkg, lib, 9 parts
    for i in range(256):
        (root / ".git" / "objects" / f"{i:02x}").mkdir(parents=True)
        folders += 1
    return folders + 5  # the project, src, node_modules, .git, .git/objects


def inotify_watches() -> int:
    """The inotify watches this process holds, over all its inotify instances."""
    count = 0
    for fd in os.listdir("/proc/self/fdinfo"):
        try:
            with open(f"/proc/self/fdinfo/{fd}") as f:
                count += sum(line.startswith("inotify wd:") for line in f)
        except OSError:
            continue
    return count


def measure(root: Path, backend: str) -> tuple[int, float, float | None]:
    """(watches, start to ready, write to event or None when no event came within EVENT_S)."""
    changed = threading.Event()
    target = root / "src" / "mod7" / "f3.py"
    path = "src/mod7/f3.py"
    watcher = Watcher([root], debounce_s=0.1, backend=backend)
    watcher.subscribe(lambda e: changed.set() if e == WatchEvent(path, "changed") else None)
    began = time.perf_counter()
    watcher.start()
    try:
        if not watcher.ready.wait(600):
            raise SystemExit(f"{backend}: the watcher did not become ready")
        start_s = time.perf_counter() - began
        watches = inotify_watches()
        changed.clear()  # a change a run before left unseen is caught up on start: not this run's event
        target.write_text(f"def changed():\n    return {time.time()}\n")
        wrote = time.perf_counter()
        if not changed.wait(EVENT_S):
            return watches, start_s, None
        return watches, start_s, time.perf_counter() - wrote
    finally:
        watcher.stop()


def event_cell(runs: list[float | None]) -> str:
    seen = [r for r in runs if r is not None]
    if not seen:
        return f"none within {EVENT_S:.0f} s"
    missed = len(runs) - len(seen)
    return f"{statistics.median(seen):.2f}" + (f" ({missed} of {len(runs)} missed)" if missed else "")


def main(argv=None) -> int:
    args = parse_args(argv)
    if not sys.platform.startswith("linux"):
        raise SystemExit("this benchmark compares Linux's inotify backends")
    logging.getLogger("watchdog").setLevel(logging.ERROR)  # its queue-overflow warnings, once per overflow
    names = {"inotify": "ingest.inotify (ignored folders unwatched)", "watchdog": "watchdog, recursive"}
    rows = ["| project folders | backend | folders watched | start to ready (s) | write to event (s) |",
            "|---|---|---|---|---|"]
    for packages in (int(n) for n in args.packages.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["FOLIO_HOME"] = str(Path(tmp) / "home")
            root = Path(tmp) / "project"
            folders = make_project(root, packages)
            ingest([root])
            for backend in ("inotify", "watchdog"):
                runs = [measure(root, backend) for _ in range(args.repeats)]
                start_s = statistics.median(r[1] for r in runs)
                rows.append(f"| {folders:,} | {names[backend]} | {runs[0][0]:,} | {start_s:.2f} | "
                            f"{event_cell([r[2] for r in runs])} |")
                print(rows[-1], flush=True)
    body = (f"{SECTION}\n\nCommand: `.venv/bin/python benchmarks/watch.py --packages {args.packages} "
            f"--repeats {args.repeats}` on {platform.node() or 'this machine'} ({os.cpu_count()} cores, "
            f"Linux {platform.release()}), {datetime.now(UTC):%Y-%m-%d}. Projects of 50 source folders (500 "
            "Python files), a node_modules of 11 folders a package and a .git of 256 folders, each ingested "
            "once; the watcher's start includes its catch-up scan; the event is the watcher's \"changed\" "
            f"for a rewritten source file (debounce 0.1 s). Median of {args.repeats} runs, both backends "
            "side by side in one run. Folders watched are counted once the watcher is ready, in the first "
            "run; where watchdog's queue overflowed it was still dropping and re-adding its recursive "
            "watches then, so its count can fall short of the tree's folders.\n\n" + "\n".join(rows) + "\n")
    if not args.no_write:
        replace_section(args.out, SECTION, body)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
