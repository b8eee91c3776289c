"""Shared test set-up. Tests never use the network and never time anything."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The Triton kernels run on the CPU through Triton's interpreter when no GPU is present.
# The variable must be set before snnlib.kernels.triton is imported (here: before any test).
if "TRITON_INTERPRET" not in os.environ:
    import torch

    if not torch.cuda.is_available():
        os.environ["TRITON_INTERPRET"] = "1"
sys.path.insert(0, str(ROOT / "tools"))  # tools/chapter.py and tools/deps.py


@pytest.fixture
def clean_profile(monkeypatch):
    """No SNNLIB_PROFILE in the environment, whatever the caller set."""
    monkeypatch.delenv("SNNLIB_PROFILE", raising=False)
    return monkeypatch
