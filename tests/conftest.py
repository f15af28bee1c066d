"""Shared fixtures: every test gets its own FOLIO_HOME, so no test touches the user's data."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def folio_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private user data directory (FOLIO_HOME) for this test."""
    home = tmp_path_factory.mktemp("folio-home")
    monkeypatch.setenv("FOLIO_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model folder with random hsa-tiny weights (seeded): the whole ask path at test speed."""
    import torch

    from model.checkpoint import save
    from model.config import ModelConfig
    from model.tokenizer import Tokenizer
    from model.transformer import Transformer

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-model")
    save(Transformer(ModelConfig.from_name("hsa-tiny")), folder, Tokenizer.load())
    return folder


@pytest.fixture
def model_env(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """FOLIO_MODEL set to the random tiny model for this test (Engine() then loads it)."""
    monkeypatch.setenv("FOLIO_MODEL", str(tiny_model_dir))
    return tiny_model_dir


@pytest.fixture
def cli_env(folio_home: Path, tiny_model_dir: Path) -> dict[str, str]:
    """Environment for running main.py in a subprocess against the test's FOLIO_HOME, with the tiny model."""
    env = dict(os.environ, FOLIO_HOME=str(folio_home), PYTHONPATH=str(REPO), FOLIO_MODEL=str(tiny_model_dir))
    env.pop("QT_QPA_PLATFORM", None)  # the CLI must work without it: it never loads Qt
    return env


@pytest.fixture
def refuse_watches(monkeypatch: pytest.MonkeyPatch):
    """refuse_watches(code, after=0): from then on inotify answers every new watch after the first `after` as
    a system at one of its limits does (errno ENOSPC: watches; EMFILE: instances), through the libc call of
    both watch backends (ingest.inotify's and watchdog's)."""

    def refuse_with(code: int = errno.ENOSPC, after: int = 0) -> None:
        import ctypes

        from watchdog.observers import inotify_c

        from ingest import inotify

        granted = [0]
        libc = inotify.libc()
        add_watch = libc.inotify_add_watch

        def limited(fd, path, mask):
            if granted[0] < after:
                granted[0] += 1
                return add_watch(fd, path, mask)
            ctypes.set_errno(code)
            return -1

        monkeypatch.setattr(libc, "inotify_add_watch", limited)
        monkeypatch.setattr(inotify_c, "inotify_add_watch", limited)

    return refuse_with
