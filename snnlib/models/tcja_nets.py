"""The TCJA paper's networks (chapters 3–4; layouts from the official code, see
shared/reference/tcja.md). Inputs are time-first frames ``[T, N, 2, H, W]``; outputs are
time-first class scores ``[T, N, classes]`` (their mean over T is the firing rate the
papers read out)."""
from __future__ import annotations

from torch import nn

from .. import surrogate
from ..attention import TCJA
from ..layers import SeqDropout, SeqToANN, Voting
from ..neuron import LIF


def _lif() -> LIF:
    # the official scripts: LIF tau=2, hard reset to 0, ATan surrogate, detach_reset=True
    return LIF(tau=2.0, surrogate_function=surrogate.ATan(), detach_reset=True)


class DVSGestureNet(nn.Sequential):
    """DVS128 Gesture network (official ``CextNet(channels=128)``): five ``conv3×3 → BN → LIF →
    (TCJA) → max-pool`` blocks on 128×128 frames, TCJA after blocks 4 and 5, then
    ``dropout → linear(2048→512) → LIF → dropout → linear(512→110) → LIF`` and a voting layer
    averaging groups of 10 output neurons into 11 classes.

    Parameters: 1,832,576 with ``attention='tcja'``, 1,698,304 with ``attention=None``.
    """

    def __init__(self, T: int = 20, attention: str | None = "tcja", channels: int = 128, classes: int = 11):
        if attention not in ("tcja", None):
            raise ValueError(f"attention must be 'tcja' or None; got {attention!r}")
        blocks, c_in = [], 2
        for k in range(5):
            blocks += [SeqToANN(nn.Conv2d(c_in, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels)), _lif()]
            if attention == "tcja" and k >= 3:
                blocks.append(TCJA(T, channels, k_time=4, k_channel=4))
            blocks.append(SeqToANN(nn.MaxPool2d(2)))
            c_in = channels
        blocks += [
            SeqToANN(nn.Flatten()), SeqDropout(0.5),
            SeqToANN(nn.Linear(channels * 4 * 4, 512, bias=False)), _lif(), SeqDropout(0.5),
            SeqToANN(nn.Linear(512, classes * 10, bias=False)), _lif(),
            Voting(10),
        ]
        super().__init__(*blocks)
        self.T = T
