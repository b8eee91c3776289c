"""Attention for spiking networks: TCJA and its ablations (chapters 3–4), PFA (chapter 5)."""
from .pfa import PFA, compose_loop
from .tcja import CLA, TCJA, TLA

__all__ = ["TCJA", "TLA", "CLA", "PFA", "compose_loop"]
