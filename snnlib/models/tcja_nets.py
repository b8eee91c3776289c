"""The TCJA paper's networks (chapters 3–4; layouts from the official code,
github.com/ridgerchu/TCJA). Inputs are time-first frames ``[T, N, 2, H, W]``; outputs are
time-first class scores ``[T, N, classes]`` (their mean over T is what the papers read out).

Each network takes ``attention`` = ``'tcja'`` (the paper), ``None`` (the baseline), or one of
the ablations of chapter 4: ``'tla'`` / ``'cla'`` (one branch only) and ``'add'`` (TCJA with
the sum instead of the product); and ``'pfa'`` puts chapter 5's PFA (rank ``rank``) in TCJA's
place, so the two attentions can be compared on one backbone. The defaults build the published networks with their exact
parameter counts; :meth:`small` builds a CPU-sized network of the same design for the ``book``
profile. ``'eca'``, ``'ta'`` and ``'se'`` put a module TCJA grew from in its place (ECA,
TA-SNN's temporal attention, SE; :mod:`snnlib.attention.prior`).

:class:`AttentionConvSNN` is chapter 2's ConvSNN with the attention where the paper puts it
(after a LIF layer, before the pooling), the CPU-sized network of chapter 4's experiments.
"""
from __future__ import annotations

from torch import nn

from .._checks import integer
from ..neuron import LIF
from ..layers import SeqDropout, SeqToANN, Voting
from .blocks import atan_lif, attention_layer, conv_bn, pooled_size, triangle_lif

class DVSGestureNet(nn.Sequential):
    """DVS128 Gesture network (official ``CextNet(channels=128)``): ``conv3×3 → BN → LIF →
    (TCJA) → max-pool`` blocks down to 4×4 (five on 128×128 frames), TCJA after the last two,
    then ``dropout → linear(→hidden) → LIF → dropout → linear(→10·classes) → LIF`` and a voting
    layer averaging groups of 10 output neurons into ``classes`` firing rates.

    Parameters: 1,832,576 with ``attention='tcja'``, 1,698,304 with ``attention=None``.

    Args:
        T: time steps (TCJA is built for exactly T).
        size: input height = width, a power of two ≥ 16.
        rank: PFA's connecting factor R, with ``attention='pfa'``.
    """

    def __init__(self, T: int = 20, attention: str | None = "tcja", channels: int = 128, classes: int = 11,
                 size: int = 128, hidden: int = 512, dropout: float = 0.5, rank: int = 8):
        integer("size", size, minimum=16)
        if size & (size - 1):
            raise ValueError(f"size must be a power of two (blocks pool down to 4×4); got {size}")
        n_blocks = size.bit_length() - 3           # 128 → 5 blocks → 4×4
        blocks, c_in = [], 2
        for k in range(n_blocks):
            blocks += [conv_bn(c_in, channels, bias=False), atan_lif()]
            if k >= n_blocks - 2:
                blocks += attention_layer(attention, T, channels, rank=rank)
            blocks.append(SeqToANN(nn.MaxPool2d(2)))
            c_in = channels
        blocks += [
            SeqToANN(nn.Flatten()), SeqDropout(dropout),
            SeqToANN(nn.Linear(channels * 4 * 4, hidden, bias=False)), atan_lif(), SeqDropout(dropout),
            SeqToANN(nn.Linear(hidden, classes * 10, bias=False)), atan_lif(),
            Voting(10),
        ]
        super().__init__(*blocks)
        self.T, self.attention = T, attention

    @classmethod
    def small(cls, T: int = 8, attention: str | None = "tcja", classes: int = 10, size: int = 32,
              rank: int = 8) -> "DVSGestureNet":
        """The same design sized for 2 CPU cores: 16 channels, a 64-neuron hidden layer, 32×32 input."""
        return cls(T, attention, channels=16, classes=classes, size=size, hidden=64, rank=rank)


class CIFAR10DVSNet(nn.Sequential):
    """CIFAR10-DVS network (official ``VGGNet`` of ridgerchu/TCJA ``src/cifar10dvs.py``): adaptive average
    pooling of the frames to ``size``×``size`` (48), eight ``conv3×3 (bias) → BN → LIF`` layers of
    widths ``w, 2w, 4w, 4w, 8w, 8w, 8w, 8w`` (``w = 64``) with 2× average pooling after every
    second one, TCJA after conv 6 and conv 8, then ``flatten → linear(→classes)`` at every step
    (no output neuron). The official neuron uses the triangle surrogate.

    Parameters: 11,369,450 with ``attention='tcja'``, 9,271,498 with ``attention=None``.
    """

    def __init__(self, T: int = 10, attention: str | None = "tcja", width: int = 64, classes: int = 10,
                 size: int = 48):
        integer("width", width)
        side = pooled_size(integer("size", size), 4, f"size {size}")
        widths = [width * m for m in (1, 2, 4, 4, 8, 8, 8, 8)]
        blocks, c_in = [SeqToANN(nn.AdaptiveAvgPool2d(size))], 2
        for k, c_out in enumerate(widths):
            blocks += [conv_bn(c_in, c_out, bias=True), triangle_lif()]
            if k in (5, 7):
                blocks += attention_layer(attention, T, c_out)
            if k % 2:
                blocks.append(SeqToANN(nn.AvgPool2d(2)))
            c_in = c_out
        blocks.append(SeqToANN(nn.Flatten(), nn.Linear(c_in * side * side, classes)))
        super().__init__(*blocks)
        self.T, self.attention = T, attention

    @classmethod
    def small(cls, T: int = 8, attention: str | None = "tcja", classes: int = 10, size: int = 32) -> "CIFAR10DVSNet":
        """The same design sized for 2 CPU cores: base width 8, 32×32."""
        return cls(T, attention, width=8, classes=classes, size=size)


class NCaltech101Net(nn.Sequential):
    """N-Caltech101 network (official ``CextNet`` of ridgerchu/TCJA ``src/caltech101.py``): five
    ``conv3×3 → BN → LIF → (TCJA) → max-pool`` blocks of widths ``w, 2w, 4w, 4w, 8w`` (``w = 64``)
    on 180×240 frames, TCJA after block 4 (kernels 4, 4) and block 5 (time kernel 4, channel
    kernel 2, the official ``TCJA(2, 4, 14, 512)`` with its swapped names read correctly), then
    ``dropout → linear(→hidden) → LIF → dropout → linear(→classes) → LIF``; the firing rate is the
    mean over T.

    Parameters: 21,907,096 with ``attention='tcja'``, 20,595,200 with ``attention=None``.
    """

    def __init__(self, T: int = 14, attention: str | None = "tcja", width: int = 64, classes: int = 101,
                 size: tuple[int, int] = (180, 240), hidden: int = 1024, dropout: float = 0.5):
        integer("width", width)
        if not (isinstance(size, (tuple, list)) and len(size) == 2):
            raise ValueError(f"size must be (height, width); got {size!r}")
        h, w = (pooled_size(integer(f"size[{i}]", s), 5, f"size {tuple(size)}") for i, s in enumerate(size))
        widths = [width * m for m in (1, 2, 4, 4, 8)]
        kernels = {3: (4, 4), 4: (4, 2)}           # block → (k_time, k_channel)
        blocks, c_in = [], 2
        for k, c_out in enumerate(widths):
            blocks += [conv_bn(c_in, c_out, bias=False), atan_lif()]
            if k in kernels:
                blocks += attention_layer(attention, T, c_out, *kernels[k])
            blocks.append(SeqToANN(nn.MaxPool2d(2)))
            c_in = c_out
        blocks += [
            SeqToANN(nn.Flatten()), SeqDropout(dropout),
            SeqToANN(nn.Linear(c_in * h * w, hidden, bias=False)), atan_lif(), SeqDropout(dropout),
            SeqToANN(nn.Linear(hidden, classes, bias=False)), atan_lif(),
        ]
        super().__init__(*blocks)
        self.T, self.attention = T, attention

    @classmethod
    def small(cls, T: int = 8, attention: str | None = "tcja", classes: int = 10,
              size: tuple[int, int] = (32, 32)) -> "NCaltech101Net":
        """The same design sized for 2 CPU cores: base width 8, a 128-neuron hidden layer, 32×32."""
        return cls(T, attention, width=8, classes=classes, size=size, hidden=128)


class AttentionConvSNN(nn.Sequential):
    """Chapter 2's ConvSNN with attention where TCJA's paper puts it: blocks
    ``conv3×3 → BN → LIF → (attention) → max-pool2``, one per entry of ``channels``, the attention
    in the last ``attend`` blocks, then ``flatten → linear`` at every step (class scores
    ``[T, N, classes]``; the read-out is their mean over T, loss ``ce_mean``).

    Input ``[T, N, in_channels, H, W]`` with ``size = (H, W)`` (or one int for square frames).

    Args:
        T: time steps (the attention is built for exactly T).
        attention: any name of :data:`snnlib.models.ATTENTIONS` (``None`` for the baseline).
        k_time, k_channel: kernels of TCJA / TLA / CLA.
    """

    def __init__(self, T: int, in_channels: int, size, classes: int = 10, channels=(8, 16),
                 attention: str | None = "tcja", attend: int = 2, k_time: int = 4, k_channel: int = 4,
                 tau: float = 2.0):
        integer("T", T)
        integer("in_channels", in_channels)
        integer("attend", attend, minimum=0)
        if not channels:
            raise ValueError("channels must name at least one block (a spiking network needs a LIF layer)")
        h, w = (size, size) if isinstance(size, int) else tuple(size)
        h, w = (pooled_size(integer("size", s), len(channels), f"size {size}") for s in (h, w))
        blocks, c_in = [], in_channels
        for k, c_out in enumerate(channels):
            blocks += [conv_bn(c_in, c_out, bias=False), LIF(tau=tau, detach_reset=True)]
            if k >= len(channels) - attend:
                blocks += attention_layer(attention, T, c_out, k_time, k_channel)
            blocks.append(SeqToANN(nn.MaxPool2d(2)))
            c_in = c_out
        blocks.append(SeqToANN(nn.Flatten(), nn.Linear(c_in * h * w, classes)))
        super().__init__(*blocks)
        self.T, self.attention = T, attention
