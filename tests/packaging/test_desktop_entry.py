"""The Linux desktop integration: the .desktop entry, the icons, the AppStream metainfo and the install step
(`make install-desktop` / `make uninstall-desktop`) into a private XDG_DATA_HOME."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
sys.path.insert(0, str(PACKAGING))
import install_desktop  # noqa: E402
import render_icons  # noqa: E402

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
MAIN_CATEGORIES = {"AudioVideo", "Audio", "Video", "Development", "Education", "Game", "Graphics", "Network",
                   "Office", "Science", "Settings", "System", "Utility"}
KEY = re.compile(r"^[A-Za-z0-9-]+(\[[A-Za-z_@.]+\])?$")


def parse_desktop(text: str) -> dict[str, dict[str, str]]:
    """Groups of a desktop entry file, failing on anything the Desktop Entry spec does not allow."""
    groups: dict[str, dict[str, str]] = {}
    current = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("["):
            assert line.endswith("]") and line[1:-1] not in groups, f"line {number}: bad or repeated group"
            current = groups.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"line {number}: key before the first group"
        key, sep, value = line.partition("=")
        assert sep and KEY.match(key.strip()), f"line {number}: not a key=value line: {line!r}"
        assert key.strip() not in current, f"line {number}: key {key} repeated"
        current[key.strip()] = value.strip()
    assert next(iter(groups)) == "Desktop Entry", "the first group must be [Desktop Entry]"
    return groups


def exec_argv(value: str) -> list[str]:
    """Undo the Exec= escaping (string escape, then the quoting rule); field codes are kept as they are."""
    value = value.replace("\\\\", "\\")
    args, current, quoted, i, started = [], "", False, 0, False
    while i < len(value):
        c = value[i]
        if quoted and c == "\\" and i + 1 < len(value) and value[i + 1] in '"`$\\':
            current += value[i + 1]
            i += 2
            continue
        if c == '"':
            quoted, started = not quoted, True
        elif c == " " and not quoted:
            if started or current:
                args.append(current)
            current, started = "", False
        else:
            current += c
        i += 1
    assert not quoted, "unterminated quote in Exec"
    if started or current:
        args.append(current)
    return [a.replace("%%", "%") for a in args]


def test_desktop_entry_names_the_app_its_icon_and_one_menu_category():
    entry = parse_desktop((PACKAGING / "folio.desktop").read_text(encoding="utf-8"))["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Name"] == "Folio"
    assert entry["Version"] in {"1.0", "1.1", "1.2", "1.3", "1.4", "1.5"}
    assert entry["Terminal"] == "false"
    categories = entry["Categories"]
    assert categories.endswith(";")
    assert len(MAIN_CATEGORIES & set(categories.split(";"))) == 1, "exactly one main category: one menu entry"
    icon = entry["Icon"]
    assert "/" not in icon and not icon.endswith((".png", ".svg")), "Icon is a theme name, found in hicolor"
    for size in render_icons.SIZES:
        assert (render_icons.ICONS / f"{size}x{size}" / "apps" / f"{icon}.png").is_file()
    argv = exec_argv(entry["Exec"])
    assert argv[1:] == ["open", "%F"], "menu launches open the window, on dropped files if any"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_icons_exist_in_every_size_and_match_the_app_svg():
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        assert png_size(render_icons.ICONS / f"{size}x{size}" / "apps" / "io.folio.Folio.png") == (size, size)
    scalable = render_icons.ICONS / "scalable" / "apps" / "io.folio.Folio.svg"
    assert scalable.read_bytes() == render_icons.SVG.read_bytes(), "run packaging/render_icons.py again"


def test_metainfo_is_valid_appstream_for_the_desktop_entry():
    path = PACKAGING / "io.folio.Folio.metainfo.xml"
    root = ET.parse(path).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == path.name.removesuffix(".metainfo.xml")
    assert root.findtext("metadata_license") in {"CC0-1.0", "CC-BY-3.0", "CC-BY-4.0", "MIT", "FSFAP"}
    assert root.findtext("project_license") == PYPROJECT["license"]
    assert root.findtext("name") == "Folio"
    summary = root.findtext("summary")
    assert summary and not summary.endswith(".")
    assert root.find("description/p") is not None and root.find("description/p").text.strip()
    launchable = root.find("launchable")
    assert launchable.get("type") == "desktop-id" and (PACKAGING / launchable.text).is_file()
    assert root.findtext("provides/binary") == "folio"
    assert [r.get("version") for r in root.findall("releases/release")][0] == PYPROJECT["version"]
    if shutil.which("appstreamcli"):
        result = subprocess.run(["appstreamcli", "validate", "--no-net", str(path)], capture_output=True,
                                text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"<dir>"
            for p in folder.rglob("*")}


def make(target: str, data: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, XDG_DATA_HOME=str(data))
    return subprocess.run(["make", "--no-print-directory", target], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_install_puts_folio_in_the_menu_and_uninstall_removes_exactly_that(tmp_path):
    data = tmp_path / "share"
    (data / "applications").mkdir(parents=True)
    (data / "applications" / "editor.desktop").write_text("[Desktop Entry]\nType=Application\nName=Editor\n")
    (data / "icons" / "hicolor" / "48x48" / "apps").mkdir(parents=True)
    (data / "icons" / "hicolor" / "48x48" / "apps" / "editor.png").write_bytes(b"not ours")
    before = snapshot(data)

    result = make("install-desktop", data)
    assert result.returncode == 0, result.stderr
    entry = parse_desktop((data / "applications" / "folio.desktop").read_text())["Desktop Entry"]
    program = exec_argv(entry["Exec"])[0]
    assert Path(program).is_absolute() and os.access(program, os.X_OK)
    assert (data / "metainfo" / "io.folio.Folio.metainfo.xml").is_file()
    for size in render_icons.SIZES:
        assert png_size(data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "io.folio.Folio.png") == (
            size, size)
    assert make("install-desktop", data).returncode == 0  # again: replaces, leaves no strays

    result = make("uninstall-desktop", data)
    assert result.returncode == 0, result.stderr
    assert snapshot(data) == before
    assert "nothing installed" in make("uninstall-desktop", data).stdout


def test_exec_starts_the_built_app_else_the_checkout_and_survives_odd_paths(tmp_path):
    repo = tmp_path / "my repo $HOME \"quoted\" 100%"
    (repo / ".venv" / "bin").mkdir(parents=True)
    (repo / ".venv" / "bin" / "python").symlink_to(sys.executable)
    text = install_desktop.desktop_entry(install_desktop.exec_command(repo))
    argv = exec_argv(parse_desktop(text)["Desktop Entry"]["Exec"])
    assert argv == [str(repo / ".venv" / "bin" / "python"), str(repo / "main.py"), "open", "%F"]
    if shutil.which("desktop-file-validate"):  # desktop-file-utils, when installed, checks the quoting too
        (tmp_path / "folio.desktop").write_text(text)
        result = subprocess.run(["desktop-file-validate", str(tmp_path / "folio.desktop")],
                                capture_output=True, text=True)
        assert result.returncode == 0 and not result.stdout.strip(), result.stdout

    built = repo / "dist" / "folio" / "folio"
    built.parent.mkdir(parents=True)
    built.write_text("#!/bin/sh\n")
    built.chmod(0o755)
    text = install_desktop.desktop_entry(install_desktop.exec_command(repo))
    assert exec_argv(parse_desktop(text)["Desktop Entry"]["Exec"]) == [str(built), "open", "%F"]

    empty = tmp_path / "bare"
    empty.mkdir()
    with pytest.raises(SystemExit, match="make package"):
        install_desktop.exec_command(empty)
