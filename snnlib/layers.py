"""Multi-step building blocks: folding time into the batch, input encoders, readouts (chapter 2).

Stateless layers (convolutions, pooling, batch norm, linear) see every time step the same
way, so :class:`SeqToANN` folds ``[T, N, ...]`` into ``[T·N, ...]``, runs them once, and
unfolds; stateful neurons (:class:`snnlib.neuron.LIF`) take ``[T, N, ...]`` directly.
"""
from __future__ import annotations

import torch
from torch import nn

from ._checks import integer

__all__ = ["SeqToANN", "SeqDropout", "TDBatchNorm2d", "DirectEncoder", "RateEncoder", "LatencyEncoder", "DeltaEncoder", "TimeFirst", "Voting", "fold", "unfold"]


def fold(x: torch.Tensor) -> torch.Tensor:
    """``[T, N, ...]`` → ``[T·N, ...]``."""
    if x.dim() < 2:
        raise ValueError(f"expected [T, N, ...] (rank >= 2); got shape {list(x.shape)}")
    return x.flatten(0, 1)


def unfold(y: torch.Tensor, T: int) -> torch.Tensor:
    """``[T·N, ...]`` → ``[T, N, ...]``."""
    if y.shape[0] % T:
        raise ValueError(f"the first dimension {y.shape[0]} is not a multiple of T={T}")
    return y.unflatten(0, (T, y.shape[0] // T))


class SeqToANN(nn.Sequential):
    """Stateless modules applied to every time step of ``[T, N, ...]`` at once (time folded into the batch)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return unfold(super().forward(fold(x)), x.shape[0])


class DirectEncoder(nn.Module):
    """Direct coding: the same analogue input at every one of ``T`` steps, ``[N, ...]`` → ``[T, N, ...]``;
    the first layer's neurons turn it into spikes."""

    def __init__(self, T: int):
        super().__init__()
        self.T = integer("T", T)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(0).expand(self.T, *x.shape)

    def extra_repr(self) -> str:
        return f"T={self.T}"


class RateEncoder(nn.Module):
    """Rate (Poisson/Bernoulli) coding: at each of ``T`` steps a pixel of intensity ``p`` in [0, 1]
    spikes with probability ``p``; ``[N, ...]`` → ``[T, N, ...]`` of 0/1. A ``generator`` must live
    on the input's device."""

    def __init__(self, T: int, generator: torch.Generator | None = None):
        super().__init__()
        self.T, self.generator = integer("T", T), generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_intensities(x, "rate")
        p = x.unsqueeze(0).expand(self.T, *x.shape)
        return (torch.rand(p.shape, generator=self.generator, device=x.device, dtype=x.dtype) < p).to(x.dtype)

    def extra_repr(self) -> str:
        return f"T={self.T}"


class LatencyEncoder(nn.Module):
    """Latency (time-to-first-spike) coding: each pixel spikes at most once, brighter ones earlier;
    ``[N, ...]`` → ``[T, N, ...]`` of 0/1 (chapter 2, *Data and training*).

    A pixel of intensity ``p`` in [0, 1] spikes at step ``round((1 - p) · (T - 1))``: ``p = 1`` at
    step 0, and ``p`` just above ``threshold`` near the last step. Pixels with ``p <= threshold``
    never spike (a dark background stays silent). This is the linear latency code; snntorch's
    default is a logarithmic (RC-circuit) one.
    """

    def __init__(self, T: int, threshold: float = 0.0):
        super().__init__()
        self.T = integer("T", T)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold < 1:
            raise ValueError(f"threshold must be a number in [0, 1); got {threshold!r}")
        self.threshold = float(threshold)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_intensities(x, "latency")
        step = torch.round((1 - x) * (self.T - 1)).long()                        # [N, ...]
        t = torch.arange(self.T, device=x.device).view(-1, *([1] * x.dim()))  # [T, 1, ...]
        return ((t == step) & (x > self.threshold)).to(x.dtype)

    def extra_repr(self) -> str:
        return f"T={self.T}, threshold={self.threshold}"


class DeltaEncoder(nn.Module):
    """Delta coding: a signal over time ``[T, N, ...]`` → events ``[T, N, ...]`` where it changed by
    at least ``threshold`` since the previous step (chapter 2, *Data and training*): ``+1`` for a
    rise, and ``-1`` for a fall when ``off_spikes`` (else falls are ignored). The first step is
    compared with zero, so a signal that starts high opens with an event (snntorch's
    ``delta`` without padding). This is how an event camera codes brightness changes.
    """

    def __init__(self, threshold: float, off_spikes: bool = True):
        super().__init__()
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not threshold > 0:
            raise ValueError(f"threshold must be a number > 0; got {threshold!r}")
        self.threshold, self.off_spikes = float(threshold), bool(off_spikes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_floating_point(x) or x.dim() < 2:
            raise ValueError(f"delta coding needs a floating-point signal [T, N, ...]; got {x.dtype} "
                             f"{list(x.shape)}")
        change = torch.diff(x, dim=0, prepend=torch.zeros_like(x[:1]))
        events = (change >= self.threshold).to(x.dtype)
        if self.off_spikes:
            events = events - (change <= -self.threshold).to(x.dtype)
        return events

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, off_spikes={self.off_spikes}"


def _check_intensities(x: torch.Tensor, coding: str) -> None:
    if not torch.is_floating_point(x):
        raise TypeError(f"{coding} coding needs floating-point intensities in [0, 1]; got {x.dtype}")
    if x.min() < 0 or x.max() > 1:
        raise ValueError(f"{coding} coding needs intensities in [0, 1]; got [{x.min().item():.3g}, {x.max().item():.3g}]")


class TimeFirst(nn.Module):
    """Batches of sequences from a DataLoader, ``[N, T, ...]``, to snnlib's ``[T, N, ...]``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2:
            raise ValueError(f"expected [N, T, ...]; got shape {list(x.shape)}")
        return x.transpose(0, 1)


class Voting(nn.Module):
    """Average each group of ``voting_size`` neighbouring output neurons into one class score:
    ``[..., C·voting_size]`` → ``[..., C]`` (the readout of the TCJA and PLIF gesture networks)."""

    def __init__(self, voting_size: int = 10):
        super().__init__()
        self.voting_size = integer("voting_size", voting_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % self.voting_size:
            raise ValueError(f"the last dimension {x.shape[-1]} is not a multiple of voting_size={self.voting_size}")
        return x.unflatten(-1, (x.shape[-1] // self.voting_size, self.voting_size)).mean(-1)


class SeqDropout(nn.Module):
    """Dropout with one mask per sample shared by all ``T`` steps of ``[T, N, ...]`` (spikingjelly's
    ``MultiStepDropout``): a dropped neuron stays silent for the whole sequence."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"p must be in [0, 1); got {p!r}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.empty_like(x[:1]).bernoulli_(1 - self.p) / (1 - self.p)
        return x * keep

    def extra_repr(self) -> str:
        return f"p={self.p}"


class TDBatchNorm2d(nn.BatchNorm2d):
    """Threshold-dependent batch norm (tdBN; Zheng et al., AAAI 2021) on ``[T, N, C, H, W]``
    (chapter 2, *Data and training*).

    Each channel is normalised with statistics over time, batch and space together (time folded
    into the batch), then scaled so that its spread matches the next neurons' threshold:
    ``y = weight · (x − mean) / sqrt(var + eps) + bias`` with ``weight`` initialised to
    ``alpha · v_threshold`` (``bias`` to 0). This is spikingjelly's
    ``layer.ThresholdDependentBatchNorm2d(alpha, v_th, channels)``: same parameters, buffers
    and outputs. Other keyword arguments go to :class:`torch.nn.BatchNorm2d`.
    """

    def __init__(self, num_features: int, alpha: float = 1.0, v_threshold: float = 1.0, **kwargs):
        for name, value in (("alpha", alpha), ("v_threshold", v_threshold)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a number > 0; got {value!r}")
        if kwargs.get("affine", True) is False:
            raise ValueError("tdBN scales by alpha * v_threshold through its affine weight: affine must be True")
        super().__init__(integer("num_features", num_features), **kwargs)
        self.alpha, self.v_threshold = float(alpha), float(v_threshold)
        nn.init.constant_(self.weight, self.alpha * self.v_threshold)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5 or x.shape[2] != self.num_features:
            raise ValueError(f"expected [T, N, {self.num_features}, H, W]; got shape {list(x.shape)}")
        return unfold(super().forward(fold(x)), x.shape[0])

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, alpha={self.alpha}, v_threshold={self.v_threshold}"
