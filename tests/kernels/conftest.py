"""Kernel-test setup: the Triton interpreter on machines without CUDA, poisoned kernel outputs, helpers.

TRITON_INTERPRET must be set before ``kernels.hsa.fused`` (which applies ``triton.jit``) is imported; this
conftest is imported before the test modules of this folder, and only sets it where CUDA is absent, where
no Triton kernel could run otherwise.
"""

from __future__ import annotations

import os

import pytest
import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

try:
    from kernels.hsa import fused
except ImportError:  # Triton is not installed on this platform (it is pinned for Linux only)
    fused = None

ON_GPU = torch.cuda.is_available()
DEVICE = torch.device("cuda" if ON_GPU else "cpu")


def pytest_collection_modifyitems(config, items):
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords and not ON_GPU:
            item.add_marker(skip_gpu)


@pytest.fixture(autouse=True)
def poison_kernel_outputs(monkeypatch):
    """Every kernel output starts as NaN, so an element a kernel never writes fails the comparison."""
    if fused is not None:
        monkeypatch.setattr(fused, "POISON_OUTPUTS", True)
    yield
