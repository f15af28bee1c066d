"""Put Folio in the desktop's application menu for this user, or take it out again.

    python3 packaging/install_desktop.py install     (make install-desktop)
    python3 packaging/install_desktop.py uninstall   (make uninstall-desktop)

Installs into $XDG_DATA_HOME (default ~/.local/share): applications/folio.desktop, the icon in every
hicolor size under icons/hicolor/, and metainfo/io.folio.Folio.metainfo.xml. The entry starts the built app
(dist/folio/folio) when there is one, else `<repo>/.venv/bin/python <repo>/main.py`. Every file and folder it
creates is listed in $XDG_DATA_HOME/folio/desktop-install.json; uninstall removes exactly those (folders
only when empty) and nothing else. Standard library only: runs before any virtual environment exists.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGING = REPO / "packaging"
DESKTOP = PACKAGING / "folio.desktop"
METAINFO = PACKAGING / "io.folio.Folio.metainfo.xml"
ICONS = PACKAGING / "icons" / "hicolor"


def data_home(environ: Mapping[str, str] = os.environ) -> Path:
    value = environ.get("XDG_DATA_HOME", "")
    # The XDG spec: a relative path is invalid and must be ignored.
    return Path(value) if value and Path(value).is_absolute() else Path.home() / ".local" / "share"


def manifest_path(data: Path) -> Path:
    return data / "folio" / "desktop-install.json"


def quote_exec_arg(arg: str) -> str:
    """One Exec= argument, quoted per the Desktop Entry spec when it has reserved characters (`escape_string`
    then applies the desktop-file string escape on top)."""
    reserved = set(" \t\n\"'\\><~|&;$*?#()`")
    if arg and not reserved & set(arg):
        return arg.replace("%", "%%")
    inner = "".join("\\" + c if c in '"`$\\' else c for c in arg).replace("%", "%%")
    return '"' + inner + '"'


def escape_string(value: str) -> str:
    """The string-value escape the spec applies before the Exec quoting rule: a backslash is written twice."""
    return value.replace("\\", "\\\\")


def exec_command(repo: Path = REPO) -> list[str]:
    """The program the menu entry runs: the built app when present, else the source checkout's venv."""
    built = repo / "dist" / "folio" / "folio"
    if built.is_file() and os.access(built, os.X_OK):
        return [str(built)]
    python = repo / ".venv" / "bin" / "python"
    if python.exists():
        return [str(python), str(repo / "main.py")]
    raise SystemExit("install-desktop: no Folio to start yet: run `make package` (built app) or `make setup` "
                     "(from source) first")


def desktop_entry(command: list[str], template: Path = DESKTOP) -> str:
    exec_value = " ".join(escape_string(quote_exec_arg(arg)) for arg in command) + " open %F"
    lines = []
    for line in template.read_text(encoding="utf-8").splitlines():
        lines.append(f"Exec={exec_value}" if line.startswith("Exec=") else line)
    return "\n".join(lines) + "\n"


def planned_files(data: Path) -> dict[Path, Path | None]:
    """Destination -> source file to copy (None: the generated desktop entry)."""
    files: dict[Path, Path | None] = {data / "applications" / "folio.desktop": None,
                                      data / "metainfo" / METAINFO.name: METAINFO}
    for icon in sorted(p for p in ICONS.rglob("*") if p.is_file()):
        files[data / "icons" / "hicolor" / icon.relative_to(ICONS)] = icon
    return files


def install(data: Path, repo: Path = REPO) -> list[Path]:
    if manifest_path(data).exists():
        uninstall(data)  # a second install replaces the first, leaving no strays
    entry = desktop_entry(exec_command(repo))
    created_dirs: list[Path] = []
    written: list[Path] = []
    for dest, source in planned_files(data).items():
        missing = [d for d in reversed(dest.parents) if not d.exists()]
        dest.parent.mkdir(parents=True, exist_ok=True)
        created_dirs += [d for d in missing if d not in created_dirs]
        if source is None:
            dest.write_text(entry, encoding="utf-8")
        else:
            shutil.copyfile(source, dest)
        written.append(dest)
    manifest = manifest_path(data)
    if not manifest.parent.exists():
        manifest.parent.mkdir(parents=True)
        created_dirs.append(manifest.parent)
    manifest.write_text(json.dumps({"files": [str(p) for p in written],
                                    "dirs": [str(d) for d in created_dirs]}, indent=1) + "\n")
    return written


def uninstall(data: Path) -> list[Path]:
    manifest = manifest_path(data)
    try:
        record = json.loads(manifest.read_text())
    except FileNotFoundError:
        return []
    removed = []
    for name in record.get("files", []):
        path = Path(name)
        if path.is_file() or path.is_symlink():
            path.unlink()
            removed.append(path)
    manifest.unlink()
    for name in sorted(record.get("dirs", []), key=lambda d: len(Path(d).parts), reverse=True):
        directory = Path(name)
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()
    return removed


def main(argv: list[str]) -> int:
    if argv not in (["install"], ["uninstall"]):
        print("usage: install_desktop.py install|uninstall", file=sys.stderr)
        return 2
    data = data_home()
    if argv[0] == "install":
        written = install(data)
        entry = data / "applications" / "folio.desktop"
        command = next(line for line in entry.read_text().splitlines() if line.startswith("Exec="))
        print(f"installed {len(written)} files under {data} ({command})")
        print("remove them with `make uninstall-desktop`")
    else:
        removed = uninstall(data)
        print(f"removed {len(removed)} files from {data}" if removed else f"nothing installed under {data}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
