"""Build the desktop app with PyInstaller: `make package` (one folder), `make package ONEFILE=1` (+ one file).

    python packaging/build.py [--onefile] [--if-stale]

Writes dist/folio/ (run dist/folio/folio) and with --onefile also dist/folio-onefile; then
dist/folio-build-report.json with the build time and sizes. --if-stale skips the build when dist/folio/folio
is newer than every source file that goes into it (the packaging test uses it).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DIST = REPO / "dist"
WORK = REPO / "build" / "pyinstaller"
SPEC = REPO / "packaging" / "folio.spec"
APP = DIST / "folio" / "folio"
ONEFILE_APP = DIST / "folio-onefile"
REPORT = DIST / "folio-build-report.json"
SOURCES = ("main.py", "pyproject.toml", "app", "ingest", "model", "kernels", "resources",
           "packaging/folio.spec", "packaging/folio_entry.py", "packaging/build.py")


def newest_source_mtime(repo: Path = REPO) -> float:
    newest = 0.0
    for name in SOURCES:
        path = repo / name
        files = [path] if path.is_file() else (p for p in path.rglob("*") if p.is_file())
        for file in files:
            if "__pycache__" not in file.parts:
                newest = max(newest, file.stat().st_mtime)
    return newest


def is_stale(app: Path = APP, repo: Path = REPO) -> bool:
    return not app.is_file() or app.stat().st_mtime < newest_source_mtime(repo)


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def build_record() -> dict:
    """What the built app's --version reports about its build (app.core.versions reads it)."""
    import PyInstaller
    import torch

    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    return {
        "version": version,
        "tool": f"PyInstaller {PyInstaller.__version__}",
        "date": datetime.date.today().isoformat(),
        "platform": f"{sys.platform}-{platform.machine()}",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
    }


def build(onefile: bool) -> dict:
    WORK.mkdir(parents=True, exist_ok=True)
    record = build_record()
    (WORK / "folio-build.json").write_text(json.dumps(record, indent=1) + "\n")
    env = dict(os.environ, FOLIO_ONEFILE="1" if onefile else "0",
               FOLIO_TORCH_CUDA="1" if record["cuda"] else "0")
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
               "--distpath", str(DIST), "--workpath", str(WORK), str(SPEC)]
    if not onefile:
        ONEFILE_APP.unlink(missing_ok=True)  # never leave an older one-file build beside a new folder
    start = time.monotonic()
    subprocess.run(command, cwd=REPO, env=env, check=True)
    elapsed = time.monotonic() - start
    report = {
        **record,
        "build_s": round(elapsed, 1),
        "onedir_bytes": folder_size(APP.parent),
        "onefile_bytes": ONEFILE_APP.stat().st_size if onefile and ONEFILE_APP.is_file() else None,
        "cores": os.cpu_count(),
    }
    REPORT.write_text(json.dumps(report, indent=1) + "\n")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onefile", action="store_true", help="also build the one-file executable")
    parser.add_argument("--if-stale", action="store_true", help="build only when sources changed")
    args = parser.parse_args(argv)
    if args.if_stale and not is_stale():
        print(f"up to date: {APP}")
        return 0
    try:
        report = build(args.onefile)
    except subprocess.CalledProcessError as exc:
        print(f"package: error: PyInstaller failed with exit status {exc.returncode}", file=sys.stderr)
        return 1
    mib = 1 << 20
    print(f"built {APP} in {report['build_s']:.0f} s: {report['onedir_bytes'] / mib:.0f} MiB "
          f"({'CUDA ' + report['cuda'] if report['cuda'] else 'CPU-only'} torch {report['torch']})")
    if report["onefile_bytes"]:
        print(f"built {ONEFILE_APP}: {report['onefile_bytes'] / mib:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
