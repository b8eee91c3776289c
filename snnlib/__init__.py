"""snnlib — the library behind the *Spiking Attention* book.

Every chapter imports it; each idea lives here once and its docstring names the chapter
that introduces it. Sequences are time first, spikingjelly's multi-step layout
``[T, N, C, H, W]``.

Importing snnlib never touches the network.
"""
from __future__ import annotations

__version__ = "0.1.0"
