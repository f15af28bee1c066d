"""Fixtures for driving the real window under Qt's offscreen platform (set before Qt is imported)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from app.core.settings import Settings  # noqa: E402
from app.ui.main_window import MainWindow  # noqa: E402

SHAPES = '''"""Shapes with areas."""


def unit_square():
    return Square(1)


class Square:
    def __init__(self, side):
        self.side = side

    def area(self):
        return self.side * self.side
'''


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """A small project: code, Markdown, a binary archive (skipped) and a broken PDF (failed)."""
    root = tmp_path / "demo"
    write(root / "pkg" / "shapes.py", SHAPES)
    write(root / "README.md", "# Demo\n\nShapes and their areas.\n\n## Usage\n\nCall `unit_square()`.\n")
    write(root / "dist.zip", b"PK\x03\x04 not really a zip")
    write(root / "docs" / "broken.pdf", b"%PDF-1.7\n this is not a real PDF body \n%%EOF\n")
    return root


@pytest.fixture
def window(qtbot):
    win = MainWindow(Settings())
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    yield win
    if win.runner is not None and win.runner.running:
        win.runner.cancel()
        win.runner.wait(10)
    win.close()
