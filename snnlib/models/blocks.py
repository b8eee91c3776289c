"""Building blocks the papers' networks share (chapters 3–5): the official codes' LIF settings,
``conv3×3 → BN`` over time-folded batches, and the size left after 2× poolings."""
from __future__ import annotations

from torch import nn

from .. import surrogate
from ..layers import SeqToANN
from ..neuron import LIF


def atan_lif() -> LIF:
    # TCJA src/dvs128.py, src/caltech101.py and every PFA script: LIF tau=2, hard reset to 0, ATan,
    # detach_reset=True
    return LIF(tau=2.0, surrogate_function=surrogate.ATan(), detach_reset=True)


def triangle_lif() -> LIF:
    # src/cifar10dvs.py: the same LIF with the triangle surrogate PiecewiseQuadratic(alpha=1)
    return LIF(tau=2.0, surrogate_function=surrogate.PiecewiseQuadratic(alpha=1.0), detach_reset=True)


def conv_bn(c_in: int, c_out: int, bias: bool) -> SeqToANN:
    return SeqToANN(nn.Conv2d(c_in, c_out, 3, padding=1, bias=bias), nn.BatchNorm2d(c_out))


def pooled_size(size: int, times: int, what: str) -> int:
    for _ in range(times):
        if size < 2:
            raise ValueError(f"{what} is too small for {times} 2× poolings")
        size //= 2
    return size
