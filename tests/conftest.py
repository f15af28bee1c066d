"""Shared fixtures: every test gets its own FOLIO_HOME, so no test touches the user's data."""

from __future__ import annotations

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


@pytest.fixture
def cli_env(folio_home: Path) -> dict[str, str]:
    """Environment for running main.py in a subprocess against the test's FOLIO_HOME."""
    env = dict(os.environ, FOLIO_HOME=str(folio_home), PYTHONPATH=str(REPO))
    env.pop("QT_QPA_PLATFORM", None)  # the CLI must work without it: it never loads Qt
    return env
