"""Small spiking networks for the early chapters (chapter 2, *Data and training*).

Both take time-first input ``[T, N, ...]`` and return time-first class scores
``[T, N, classes]`` (the membrane-free output of a linear readout at every step).
"""
from __future__ import annotations

from torch import nn

from ..layers import SeqToANN
from ..neuron import LIF


class ConvSNN(nn.Sequential):
    """``[conv3x3 → BN → LIF → (pool)]`` per entry of ``channels``, then a linear readout.

    Input ``[T, N, in_channels, size, size]``; each block but the first halves the size.
    """

    def __init__(self, in_channels: int, size: int, classes: int = 10, channels=(16, 32), tau: float = 2.0):
        if not channels:
            raise ValueError("channels must name at least one block (a spiking network needs a LIF layer)")
        if size % (2 ** len(channels)):
            raise ValueError(f"size {size} must be divisible by 2**len(channels) = {2 ** len(channels)}")
        blocks, c_in = [], in_channels
        for k, c_out in enumerate(channels):
            pool = [nn.MaxPool2d(2)] if k else []
            blocks += [SeqToANN(*pool, nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out)),
                       LIF(tau=tau, detach_reset=True)]
            c_in = c_out
        side = size // 2 ** len(channels)
        blocks.append(SeqToANN(nn.MaxPool2d(2), nn.Flatten(), nn.Linear(c_in * side * side, classes)))
        super().__init__(*blocks)


class MLPSNN(nn.Sequential):
    """``flatten → [linear → LIF]`` per hidden width, then a linear readout (no batch norm:
    gradients are then exactly reproducible across data-parallel processes)."""

    def __init__(self, in_features: int, classes: int = 10, hidden=(64,), tau: float = 2.0):
        if not hidden:
            raise ValueError("hidden must name at least one layer (a spiking network needs a LIF layer)")
        blocks, width = [], in_features
        for h in hidden:
            blocks += [SeqToANN(nn.Flatten(), nn.Linear(width, h)), LIF(tau=tau)]
            width = h
        blocks.append(SeqToANN(nn.Linear(width, classes)))
        super().__init__(*blocks)
