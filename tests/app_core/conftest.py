"""Fixtures for summarize and GGUF tests: small generated contracts and a tiny random GGUF chat model."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.contract300 import build_contract
from tests.app_core.tiny_gguf import write_tiny_gguf


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("llama_cpp", reason='the GGUF extra is not installed: pip install ".[gguf]"')
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf")


@pytest.fixture(scope="session")
def contract_files(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Generated contracts: with a table of contents (indemnification clause left out) and without one."""
    folder = tmp_path_factory.mktemp("contracts")
    with_toc = build_contract(pages=8, omit=("indemnification",))
    without_toc = build_contract(pages=4, toc=False, seed=1)
    (folder / "toc.pdf").write_bytes(with_toc.data)
    (folder / "plain.pdf").write_bytes(without_toc.data)
    return {"toc": (folder / "toc.pdf", with_toc), "plain": (folder / "plain.pdf", without_toc)}
