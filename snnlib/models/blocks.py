"""Building blocks the papers' networks share (chapters 3–5): the official codes' LIF settings,
``conv3×3 → BN`` over time-folded batches, the size left after 2× poolings, and the attention
module a network inserts after a LIF layer."""
from __future__ import annotations

from torch import nn

from .. import surrogate
from ..attention import CLA, ECA, PFA, SE, TCJA, TLA, TemporalAttention
from ..layers import SeqToANN
from ..neuron import LIF


def atan_lif() -> LIF:
    # ridgerchu/TCJA src/dvs128.py, src/caltech101.py and every RisingEntropy/PFA script:
    # LIF tau=2, hard reset to 0, ATan,
    # detach_reset=True
    return LIF(tau=2.0, surrogate_function=surrogate.ATan(), detach_reset=True)


def triangle_lif() -> LIF:
    # ridgerchu/TCJA src/cifar10dvs.py: the same LIF with the triangle surrogate PiecewiseQuadratic(alpha=1)
    return LIF(tau=2.0, surrogate_function=surrogate.PiecewiseQuadratic(alpha=1.0), detach_reset=True)


def conv_bn(c_in: int, c_out: int, bias: bool) -> SeqToANN:
    return SeqToANN(nn.Conv2d(c_in, c_out, 3, padding=1, bias=bias), nn.BatchNorm2d(c_out))


def pooled_size(size: int, times: int, what: str) -> int:
    for _ in range(times):
        if size < 2:
            raise ValueError(f"{what} is too small for {times} 2× poolings")
        size //= 2
    return size


ATTENTIONS = ("tcja", "add", "tla", "cla", "eca", "ta", "se", "pfa", None)


def attention_layer(kind: str | None, T: int, C: int, k_time: int = 4, k_channel: int = 4,
                    rank: int = 8, allowed=ATTENTIONS, **pfa_options) -> list[nn.Module]:
    """``[]`` for ``None``, else a one-element list with TCJA, an ablation (``'tla'``, ``'cla'``,
    ``'add'``), a module TCJA grew from (``'eca'`` ECA, ``'ta'`` TA-SNN's temporal attention,
    ``'se'`` SE at each step) or PFA (rank ``rank``, further ``pfa_options``); ``allowed`` is what
    the calling network accepts."""
    if kind not in allowed:
        raise ValueError(f"attention must be one of {list(allowed)}; got {kind!r}")
    if kind is None:
        return []
    if kind == "pfa":
        return [PFA(T, C, rank=rank, **pfa_options)]
    if kind == "tla":
        return [TLA(T, C, k_time)]
    if kind == "cla":
        return [CLA(T, C, k_channel)]
    if kind in ("eca", "ta", "se"):
        return [{"eca": ECA, "ta": TemporalAttention, "se": SE}[kind](T, C)]
    return [TCJA(T, C, k_time, k_channel, fusion="add" if kind == "add" else "ccf")]
