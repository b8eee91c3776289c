"""The attention modules TCJA grew from, on spikes ``[T, N, C, H, W]`` (chapters 3–4).

All three share TCJA's interface (:class:`snnlib.attention.TCJA`): built for a fixed ``T`` and
``C``, input ``[T, N, C, H, W]`` (or ``[T, N, C]``), output the input times a gate in (0, 1),
``attention_map(x)`` returns the gate, a wrong ``T`` or ``C`` raises a clear error.

- :class:`ECA` (Wang et al., CVPR 2020, *ECA-Net*): the squeeze ``Z[t, c]`` (mean over H, W),
  then at **each step** one 1-D convolution along the channel axis with an odd kernel ``k``
  (zero padding ``(k-1)/2``, no bias), then a sigmoid: ``F[t, c] = σ(Σ_m w_m Z[t, c+m-(k-1)/2])``.
  ``k`` weights in all. It is CLA without time: CLA convolves along channels too, but with the
  T steps as its input channels.
- :class:`TemporalAttention` (TA-SNN, Yao et al., ICCV 2021): one score per **step** from the
  mean over C, H, W, ``s[t] = mean X[t]``, then squeeze-and-excitation over the T scores,
  ``F[t] = σ(W₂ ReLU(W₁ s))`` with ``W₁`` ``[T/r, T]``, ``W₂`` ``[T, T/r]``, the same gate for every
  channel of a step. ``2·T·(T/r)`` weights. Assumptions (labelled): no biases; ``branches='avg'``
  by default, ``'avg+max'`` adds the max-pooled branch through the same two layers (CBAM-style, as
  the paper is recalled to do; not re-checked); the paper's dropping of low-score frames at
  inference is not modelled. TLA is a local, per-channel version of this gate.
- :class:`SE` (Hu et al., CVPR 2018), applied at each step: ``F[t] = σ(W₂ ReLU(W₁ Z[t] + b₁) + b₂)``
  with ``W₁`` ``[C/r, C]``; ``2C²/r`` weights plus ``C/r + C`` biases.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .._checks import integer
from .tcja import _TemporalChannelAttention

BRANCHES = ("avg", "avg+max")


def eca_kernel_size(C: int, gamma: float = 2.0, b: float = 1.0) -> int:
    """ECA-Net's adaptive kernel: ``t = int(|(log2 C + b) / γ|)``, made odd (``t + 1`` if even)."""
    integer("C", C)
    t = int(abs((math.log2(C) + b) / gamma))
    return t if t % 2 else t + 1


class ECA(_TemporalChannelAttention):
    """Efficient channel attention at each step: ``F[t, c] = σ(conv1d_k(Z[t, :])[c])``.

    Args:
        T, C: time steps and channels of the input (fixed; T only for the input check).
        k: odd kernel along channels; ``None`` picks :func:`eca_kernel_size` (C).
    """

    def __init__(self, T: int, C: int, k: int | None = None):
        super().__init__(T, C)
        k = eca_kernel_size(C) if k is None else integer("k", k)
        if k % 2 == 0:
            raise ValueError(f"ECA's kernel k must be odd (symmetric padding); got {k}")
        self.k = k
        self.conv = nn.Conv1d(1, 1, k, padding=(k - 1) // 2, bias=False)

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """The gate ``F`` ``[T, N, C]``."""
        z = self.squeeze(x)                                   # [T, N, C]
        T, N, C = z.shape
        return torch.sigmoid(self.conv(z.reshape(T * N, 1, C))).reshape(T, N, C)


class TemporalAttention(_TemporalChannelAttention):
    """TA-SNN's temporal-wise attention: one gate per step, ``F[t] = σ(W₂ ReLU(W₁ s))``.

    Args:
        T, C: time steps and channels of the input (fixed; C only for the input check).
        reduction: ``r``; the hidden width is ``max(1, T // r)``.
        branches: ``'avg'`` (mean over C, H, W) or ``'avg+max'`` (plus the max, through the same
            layers, summed before the sigmoid).
    """

    def __init__(self, T: int, C: int, reduction: int = 4, branches: str = "avg"):
        super().__init__(T, C)
        self.reduction = integer("reduction", reduction)
        if branches not in BRANCHES:
            raise ValueError(f"branches must be one of {BRANCHES}; got {branches!r}")
        self.branches = branches
        hidden = max(1, T // reduction)
        self.fc1 = nn.Linear(T, hidden, bias=False)
        self.fc2 = nn.Linear(hidden, T, bias=False)

    def _excite(self, s: torch.Tensor) -> torch.Tensor:      # s [N, T] → [N, T]
        return self.fc2(torch.relu(self.fc1(s)))

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """The gate ``F`` ``[T, N, C]`` (the same value for every channel of a step)."""
        z = self.squeeze(x)                                   # checks T and C
        flat = x.flatten(2)                                   # [T, N, C·H·W]
        score = self._excite(flat.mean(-1).t())
        if self.branches == "avg+max":
            score = score + self._excite(flat.amax(-1).t())
        return torch.sigmoid(score).t()[..., None].expand_as(z)


class SE(_TemporalChannelAttention):
    """Squeeze-and-excitation over channels, applied at each step:
    ``F[t] = σ(W₂ ReLU(W₁ Z[t] + b₁) + b₂)``, hidden width ``max(1, C // reduction)``."""

    def __init__(self, T: int, C: int, reduction: int = 16):
        super().__init__(T, C)
        self.reduction = integer("reduction", reduction)
        hidden = max(1, C // reduction)
        self.fc1, self.fc2 = nn.Linear(C, hidden), nn.Linear(hidden, C)

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """The gate ``F`` ``[T, N, C]``."""
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(self.squeeze(x)))))
