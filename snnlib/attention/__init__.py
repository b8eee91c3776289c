"""Attention for spiking networks (chapters 3–5): TCJA and its ablations."""
from .tcja import CLA, TCJA, TLA

__all__ = ["TCJA", "TLA", "CLA"]
