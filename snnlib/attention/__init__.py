"""Attention for spiking networks: TCJA, its ablations and the modules it grew from (ECA,
TA-SNN's temporal attention, SE; chapters 3–4), PFA (chapter 5)."""
from .pfa import PFA, compose_loop
from .prior import ECA, SE, TemporalAttention, eca_kernel_size
from .tcja import CLA, TCJA, TLA

__all__ = ["TCJA", "TLA", "CLA", "ECA", "TemporalAttention", "SE", "eca_kernel_size", "PFA", "compose_loop"]
