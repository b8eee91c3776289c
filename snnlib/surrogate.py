"""Surrogate spike functions (introduced in chapter 1, *LIF neurons*).

A spike is the Heaviside step of the membrane potential above threshold,
``S = Θ(x) = (x >= 0)``. Its derivative is zero almost everywhere, so training uses a
*surrogate*: the forward pass stays the exact step and the backward pass uses the
derivative ``g'(x)`` of a smooth primitive ``g``. The formulas (and default ``alpha``)
are spikingjelly 2.0.0's, so gradients agree with ``spikingjelly.activation_based``.

Each class is an ``nn.Module``; ``spiking=False`` makes the forward the smooth primitive
itself. This module knows nothing of kernels: which of these classes the fused LIF kernels
compute, and how, is their own table (``snnlib.kernels.contract.SURROGATE_KERNELS``).
"""
from __future__ import annotations

import math

import torch
from torch import nn

__all__ = [
    "SurrogateFunction", "Sigmoid", "ATan", "PiecewiseQuadratic", "PiecewiseExp",
    "SoftSign", "SuperSpike", "Erf", "heaviside", "from_spikingjelly",
]


def heaviside(x: torch.Tensor) -> torch.Tensor:
    """Θ(x) = 1 where ``x >= 0`` (spikingjelly's convention: equality fires), in ``x``'s dtype."""
    return (x >= 0).to(x.dtype)


class _SpikeFunction(torch.autograd.Function):
    """Heaviside forward, ``grad · g'(x)`` backward."""

    @staticmethod
    def forward(ctx, x, surrogate):
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate
        return heaviside(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * ctx.surrogate.derivative(x), None


class SurrogateFunction(nn.Module):
    """Base class: the Heaviside step forward, a smooth derivative backward.

    Subclasses define :meth:`primitive` (``g``, a smooth step from 0 to 1) and
    :meth:`derivative` (``g'``).
    """

    default_alpha: float = 1.0

    def __init__(self, alpha: float | None = None, spiking: bool = True):
        super().__init__()
        alpha = self.default_alpha if alpha is None else alpha
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not math.isfinite(alpha) or alpha <= 0:
            raise ValueError(f"{type(self).__name__}: alpha must be a finite number > 0; got {alpha!r}")
        self.alpha = float(alpha)
        self.spiking = bool(spiking)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_floating_point(x):
            raise TypeError(f"{type(self).__name__} expects a floating-point tensor; got {x.dtype}")
        if self.spiking:
            return _SpikeFunction.apply(x, self)
        return self.primitive(x)

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, spiking={self.spiking}"


class Sigmoid(SurrogateFunction):
    """``g(x) = sigmoid(αx)``, ``g'(x) = α·sigmoid(αx)·(1 − sigmoid(αx))``. LIF's default (α = 4)."""

    default_alpha = 4.0

    def primitive(self, x):
        return torch.sigmoid(self.alpha * x)

    def derivative(self, x):
        s = torch.sigmoid(self.alpha * x)
        return (1 - s) * s * self.alpha


class ATan(SurrogateFunction):
    """``g(x) = atan(π/2·αx)/π + 1/2``, ``g'(x) = (α/2) / (1 + (π/2·αx)²)`` (α = 2)."""

    default_alpha = 2.0

    def primitive(self, x):
        return torch.atan(math.pi / 2 * self.alpha * x) / math.pi + 0.5

    def derivative(self, x):
        z = x * (math.pi / 2 * self.alpha)
        return (self.alpha / 2) / (1 + z * z)


class PiecewiseQuadratic(SurrogateFunction):
    """Quadratic pieces on ``|x| <= 1/α``: ``g'(x) = max(0, α − α²|x|)`` (α = 1)."""

    default_alpha = 1.0

    def primitive(self, x):
        a = self.alpha
        inside = (x.abs() <= 1 / a).to(x.dtype)
        above = (x > 1 / a).to(x.dtype)
        return above + inside * (-(a * a) / 2 * x * x.abs() + a * x + 0.5)

    def derivative(self, x):
        return (self.alpha - self.alpha * self.alpha * x.abs()).clamp_min(0)


class PiecewiseExp(SurrogateFunction):
    """``g'(x) = (α/2)·exp(−α|x|)`` (α = 1)."""

    default_alpha = 1.0

    def primitive(self, x):
        half_tail = torch.exp(-self.alpha * x.abs()) / 2
        return torch.where(x >= 0, 1 - half_tail, half_tail)

    def derivative(self, x):
        return (self.alpha / 2) * torch.exp(-self.alpha * x.abs())


class SoftSign(SurrogateFunction):
    """``g(x) = (softsign(αx) + 1)/2``, ``g'(x) = 1 / (2α(1/α + |x|)²)`` (α = 2)."""

    default_alpha = 2.0

    def primitive(self, x):
        return (torch.nn.functional.softsign(self.alpha * x) + 1) / 2

    def derivative(self, x):
        z = 1 / self.alpha + x.abs()
        return 1 / (2 * self.alpha * z * z)


class SuperSpike(SurrogateFunction):
    """``g'(x) = α / (1 + |x|)²`` (α = 1). The derivative integrates to 2α, so the primitive
    ``g(x) = α·x/(1 + |x|) + 1/2`` is a step of height 2α centred on 1/2 (spikingjelly defines none)."""

    default_alpha = 1.0

    def primitive(self, x):
        return self.alpha * x / (1 + x.abs()) + 0.5

    def derivative(self, x):
        z = 1 + x.abs()
        return self.alpha / (z * z)


class Erf(SurrogateFunction):
    """``g(x) = erfc(−αx)/2``, ``g'(x) = (α/√π)·exp(−α²x²)`` (α = 2)."""

    default_alpha = 2.0

    def primitive(self, x):
        return torch.special.erfc(-self.alpha * x) / 2

    def derivative(self, x):
        z = self.alpha * x
        return (self.alpha / math.sqrt(math.pi)) * torch.exp(-z * z)


BUILTINS = (Sigmoid, ATan, PiecewiseQuadratic, PiecewiseExp, SoftSign, SuperSpike, Erf)
_BY_NAME = {cls.__name__: cls for cls in BUILTINS}


def from_spikingjelly(function) -> SurrogateFunction | None:
    """The snnlib twin of a spikingjelly built-in surrogate (same class name and alpha), else ``None``."""
    if isinstance(function, SurrogateFunction):
        return function
    cls = _BY_NAME.get(type(function).__name__)
    module = type(function).__module__ or ""
    alpha = getattr(function, "alpha", None)
    if cls is None or not module.startswith("spikingjelly.") or not isinstance(alpha, (int, float)):
        return None
    return cls(alpha=float(alpha), spiking=getattr(function, "spiking", True))
