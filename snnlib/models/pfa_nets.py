"""The PFA paper's networks (chapter 5; layouts from the official code, github.com/RisingEntropy/PFA). Inputs are time-first ``[T, N, C, H, W]``; outputs are the output
LIF layer's spikes ``[T, N, classes]`` (their mean over T is the firing rate the paper reads out
with an MSE loss).

``attention`` is ``'pfa'`` (the paper), ``None`` (the baseline) or ``'tcja'`` (TCJA with kernels
4, 4 at the same places — chapter 5 compares the three on one backbone).
"""
from __future__ import annotations

from torch import nn

from .._checks import integer
from ..layers import SeqDropout, SeqToANN
from .blocks import atan_lif, attention_layer, conv_bn, pooled_size

NET_ATTENTIONS = ("pfa", "tcja", None)


PLACEMENTS = ("official", "pools", "late")


class PFAVGG(nn.Sequential):
    """The PFA VGG (official ``VGG_CIFAR``, ``VGG_NCAL``, ``VGG_Gesture``): optional adaptive
    average pooling of the frames to ``size``×``size``, then four stages of two
    ``conv3×3 → BN → LIF`` layers (widths ``w, 2w | 4w, 4w | 8w, 8w | 8w, 8w``, ``w = 64``) each
    followed by 2× average pooling, then ``flatten → linear(→classes) → LIF``. ``stages`` < 4
    keeps only the first stages (small frames on a CPU).

    Where the attention modules go (``placement``):

    * ``'official'`` — on the input frames and after every pooling stage (5 modules with four
      stages), as in the official code;
    * ``'pools'`` — after every pooling stage only (4 modules);
    * ``'late'`` — after the last two LIF layers, before the last pooling (2 modules): the place
      chapters 4 and 5 put TCJA and PFA in ``DVSGestureNet``.

    Use :meth:`cifar10_dvs`, :meth:`ncaltech101`, :meth:`dvs_gesture` for the official settings
    and :meth:`small` for 2 CPU cores.

    Args:
        ranks: the connecting factor R, one for every module of the placement (or one int for all).
        input_pool: pool the input to ``size`` first (CIFAR10-DVS, N-Caltech101) or not (Gesture,
            whose frames are then ``size``×``size``).
        official_weight: PFA modules hold the official code's unused λ vector (parameter counts).
    """

    def __init__(self, T: int = 12, attention: str | None = "pfa", ranks=(8,) * 5, classes: int = 10,
                 width: int = 64, size: int = 48, input_pool: bool = True, placement: str = "official",
                 official_weight: bool = False, stages: int = 4):
        integer("width", width)
        if stages not in (1, 2, 3, 4):
            raise ValueError(f"stages must be 1, 2, 3 or 4; got {stages!r}")
        side = pooled_size(integer("size", size), stages, f"size {size}")
        if placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {PLACEMENTS}; got {placement!r}")
        n_modules = {"official": stages + 1, "pools": stages, "late": 2}[placement]
        if isinstance(ranks, int):
            ranks = (ranks,) * n_modules
        if len(ranks) != n_modules:
            raise ValueError(f"ranks must give R for each of the {n_modules} PFA modules of placement "
                             f"{placement!r}; got {list(ranks)}")
        ranks = list(ranks)
        options = dict(official_weight=official_weight) if attention == "pfa" else {}

        def attend(c):
            return attention_layer(attention, T, c, rank=ranks.pop(0), allowed=NET_ATTENTIONS, **options)

        blocks = [SeqToANN(nn.AdaptiveAvgPool2d(size))] if input_pool else []
        if placement == "official":
            blocks += attend(2)
        c_in = 2
        for stage, mult in enumerate((1, 4, 8, 8)[:stages]):
            c_mid = width * mult
            c_out = width * 2 if stage == 0 else c_mid
            blocks += [conv_bn(c_in, c_mid, bias=False), atan_lif()]
            if placement == "late" and stage == stages - 1:
                blocks += attend(c_mid)
            blocks += [conv_bn(c_mid, c_out, bias=False), atan_lif()]
            if placement == "late" and stage == stages - 1:
                blocks += attend(c_out)
            blocks.append(SeqToANN(nn.AvgPool2d(2)))
            if placement in ("official", "pools"):
                blocks += attend(c_out)
            c_in = c_out
        blocks += [SeqToANN(nn.Flatten(), nn.Linear(c_in * side * side, classes)), atan_lif()]
        super().__init__(*blocks)
        self.T, self.attention, self.placement = T, attention, placement

    @classmethod
    def cifar10_dvs(cls, T: int = 12, attention: str | None = "pfa", rank: int = 8,
                    official_weight: bool = False) -> "PFAVGG":
        """CIFAR10-DVS: frames pooled to 48×48, R = 8, T = 12 (the final ``main.py``)."""
        return cls(T, attention, (rank,) * 5, classes=10, official_weight=official_weight)

    @classmethod
    def ncaltech101(cls, T: int = 14, attention: str | None = "pfa", rank: int = 8) -> "PFAVGG":
        """N-Caltech101: the CIFAR10-DVS design with 101 outputs (``VGG_NCAL``)."""
        return cls(T, attention, (rank,) * 5, classes=101)

    @classmethod
    def dvs_gesture(cls, T: int = 20, attention: str | None = "pfa", official_weight: bool = False) -> "PFAVGG":
        """DVS128 Gesture: 128×128 frames without input pooling, R = 32 and 64 for the last module
        (the official default it falls back on). The official net has 110 outputs trained against
        ``one_hot(label, 110)``; this one has the 11 the task has."""
        return cls(T, attention, (32, 32, 32, 32, 64), classes=11, size=128, input_pool=False,
                   official_weight=official_weight)

    @classmethod
    def small(cls, T: int = 8, attention: str | None = "pfa", rank: int = 8, classes: int = 10,
              size: int = 16, width: int = 8, placement: str = "official") -> "PFAVGG":
        """The same design for 2 CPU cores: base width 8, frames pooled to ``size``×``size`` first."""
        return cls(T, attention, rank, classes=classes, width=width, size=size, placement=placement)


class FashionPFANet(nn.Sequential):
    """The Fashion-MNIST network of the PFA code (RisingEntropy/PFA ``FMNIST/run.py``, after spikingjelly's
    ``conv_fashion_mnist``): ``conv(1→w) → BN → LIF → max-pool → conv(w→w) → BN → PFA (additive,
    summed) → LIF → max-pool → dropout → linear(→hidden) → LIF → dropout → linear(→10) → LIF``.
    PFA acts on the batch-norm output, before the neuron. Input: the image repeated over T,
    ``[T, N, 1, size, size]``.
    """

    def __init__(self, T: int = 4, attention: str | None = "pfa", rank: int = 4, width: int = 128,
                 hidden: int = 2048, size: int = 28, classes: int = 10, dropout: float = 0.7):
        integer("width", width)
        side = pooled_size(integer("size", size), 2, f"size {size}")
        if attention == "tcja":
            raise ValueError("FashionPFANet takes attention 'pfa' or None (PFA here is additive, before a LIF)")
        blocks = [conv_bn(1, width, bias=False), atan_lif(), SeqToANN(nn.MaxPool2d(2)),
                  conv_bn(width, width, bias=False)]
        blocks += attention_layer(attention, T, width, rank=rank, allowed=NET_ATTENTIONS, reduce="sum", fusion="add")
        blocks += [atan_lif(), SeqToANN(nn.MaxPool2d(2), nn.Flatten()), SeqDropout(dropout),
                   SeqToANN(nn.Linear(width * side * side, hidden, bias=False)), atan_lif(), SeqDropout(dropout),
                   SeqToANN(nn.Linear(hidden, classes, bias=False)), atan_lif()]
        super().__init__(*blocks)
        self.T, self.attention = T, attention

    @classmethod
    def small(cls, T: int = 4, attention: str | None = "pfa", rank: int = 4, size: int = 16) -> "FashionPFANet":
        """The same design for 2 CPU cores: 16 channels, a 128-neuron hidden layer."""
        return cls(T, attention, rank, width=16, hidden=128, size=size)
