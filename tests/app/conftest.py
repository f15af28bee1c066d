"""Fixtures for driving the real window under Qt's offscreen platform (set before Qt is imported)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from window_helpers import close_window, open_window  # noqa: E402

from app.core.settings import Settings  # noqa: E402

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
def window(qtbot, tmp_path: Path):
    """The window without a model (its folder does not exist): projects are read, not encoded."""
    win = open_window(qtbot, Settings(model_folder=str(tmp_path / "no-model")))
    yield win
    close_window(win)


@pytest.fixture(scope="session")
def chat_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random hsa-tiny model folder (seeded) whose special tokens' output logits are zeroed. A random model
    echoes its last input token, which after the chat prompt is a special token that decodes to nothing; with
    those rows at zero it writes visible (meaningless) text, so streaming can be observed. Retrieval, and so
    the citations, are the random model's own."""
    import torch

    from model.checkpoint import save
    from model.config import ModelConfig
    from model.tokenizer import Tokenizer
    from model.transformer import Transformer

    torch.manual_seed(0)
    tokenizer = Tokenizer.load()
    model = Transformer(ModelConfig.from_name("hsa-tiny"))
    with torch.no_grad():
        head = model.embed.weight if model.lm_head is None else model.lm_head.weight
        head[sorted(tokenizer.special_ids.values())] = 0.0
    return save(model, tmp_path_factory.mktemp("chat-model"), tokenizer)


@pytest.fixture
def chat_window(qtbot, chat_model_dir: Path):
    """The window with the tiny model; answers are 24 tokens long."""
    win = open_window(qtbot, Settings(model_folder=str(chat_model_dir), answer_length=24, theme="light"))
    yield win
    close_window(win)
