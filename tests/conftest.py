"""Shared test set-up. Tests never use the network and never time anything."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))  # tools/chapter.py and tools/deps.py


@pytest.fixture
def clean_profile(monkeypatch):
    """No SNNLIB_PROFILE in the environment, whatever the caller set."""
    monkeypatch.delenv("SNNLIB_PROFILE", raising=False)
    return monkeypatch
