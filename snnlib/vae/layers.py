"""FSVAE's building blocks in snnlib's time-first layout (chapter 6).

The official FSVAE (Kamata et al., AAAI 2022, github.com/kamata1729/FullySpikingVAE,
``fsvae_models/snn_layers.py``) keeps time **last**, ``(N, C, H, W, T)``; snnlib keeps it first,
``[T, N, C, H, W]`` (``[T, N, F]`` after a linear layer). Only the layout differs: every number
the layers compute is the official one.

* :class:`FSVAELIF` — FSVAE's neuron. It is *not* :class:`snnlib.neuron.LIF` with other
  constants, because three details change numbers: the spike is ``u > V_th`` (strict; snnlib's
  neurons fire at equality), the surrogate gradient is a rectangle **centred on u = 0** (not on
  the threshold), and the reset ``(1 − o_{t−1})`` is not detached, so gradients flow through it.
* :class:`TdBatchNorm` — threshold-dependent batch norm (Zheng et al., AAAI 2021) as FSVAE codes
  it: statistics over every axis but the channel, **time included**, scaled by ``α·V_th``.
* :class:`TdLayer` — a per-step layer (``Linear``, ``Conv2d``, ``ConvTranspose2d``), then
  optional tdBN, then an optional :class:`FSVAELIF`; FSVAE's ``tdLinear``/``tdConv``/
  ``tdConvTranspose`` (its Conv3d with a ``(k, k, 1)`` kernel is a Conv2d applied at every step).
"""
from __future__ import annotations

import torch
from torch import nn

from .._checks import number

V_TH = 0.2          # FSVAE's threshold (snn_layers.Vth)
DECAY = 0.25        # its membrane decay (snn_layers.tau, a factor, not a time constant)
HALF_WIDTH = 0.5    # half-width a of its rectangular surrogate (snn_layers.aa)


class _FSVAESpike(torch.autograd.Function):
    """``o = (u > v_th)`` forward; backward ``grad · 1/(2a)`` where ``|u| < a``, else 0."""

    @staticmethod
    def forward(ctx, u, v_th, a):
        ctx.save_for_backward(u)
        ctx.a = a
        return (u > v_th).to(u.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        (u,) = ctx.saved_tensors
        window = (u.abs() < ctx.a).to(grad_output.dtype) / (2 * ctx.a)
        return grad_output * window, None, None


def fsvae_spike(u: torch.Tensor, v_th: float = V_TH, a: float = HALF_WIDTH) -> torch.Tensor:
    """FSVAE's spike function (``SpikeAct``): ``u > v_th`` forward, and the surrogate derivative
    ``1/(2a)`` for ``|u| < a`` — a window centred on ``u = 0``, not on ``v_th``, as the official
    code has it: for ``v_th = 0.2, a = 0.5`` the gradient is 1 on ``−0.5 < u < 0.5`` and 0 from
    ``u = 0.5`` up, so it reaches 0.7 below the threshold but only 0.3 above it. Any shape."""
    if not torch.is_floating_point(u):
        raise TypeError(f"fsvae_spike expects a floating-point tensor; got {u.dtype}")
    return _FSVAESpike.apply(u, v_th, a)


class FSVAELIF(nn.Module):
    """FSVAE's LIF neuron over time (dim 0): ``u_t = decay · u_{t−1} · (1 − o_{t−1}) + x_t``,
    ``o_t = fsvae_spike(u_t)``; ``u`` and ``o`` start at 0 on every call (no state is kept
    between calls). ``[T, ...]`` → spikes ``[T, ...]``. Defaults: decay 0.25, V_th 0.2, a 0.5.

    The reset is the factor ``(1 − o_{t−1})``, through which gradients flow (not detached)."""

    def __init__(self, decay: float = DECAY, v_threshold: float = V_TH, half_width: float = HALF_WIDTH):
        super().__init__()
        self.decay = number("decay", decay, "in [0, 1]", lambda v: 0 <= v <= 1)
        self.v_threshold = number("v_threshold", v_threshold)
        self.half_width = number("half_width", half_width, "> 0", lambda v: v > 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_floating_point(x) or x.dim() < 2:
            raise ValueError(f"FSVAELIF expects a float tensor [T, ...] with at least 2 dimensions; "
                             f"got {x.dtype} {list(x.shape)}")
        u = torch.zeros_like(x[0])
        o = torch.zeros_like(x[0])
        out = []
        for t in range(x.shape[0]):
            u = self.decay * u * (1 - o) + x[t]
            o = fsvae_spike(u, self.v_threshold, self.half_width)
            out.append(o)
        return torch.stack(out)

    def extra_repr(self) -> str:
        return f"decay={self.decay}, v_threshold={self.v_threshold}, half_width={self.half_width}"


class TdBatchNorm(nn.BatchNorm1d):
    """tdBN as FSVAE codes it, on ``[T, N, C, ...]`` (channel at dim 2).

    Training: ``mean`` and the biased ``var`` over every axis but C (T, N and space), then
    ``y = α·V_th·(x − mean)/sqrt(var + eps)·weight + bias``; the running statistics move with
    momentum 0.1, the variance with the unbiased factor ``n/(n − 1)`` (n = elements per channel;
    snnlib uses factor 1 when ``n = 1``, where the official code would store ``inf``).
    Evaluation: the running statistics. ``weight``/``bias`` are the usual BN affine parameters
    (2·C parameters). Because the statistics span time, in training every step's output depends
    on the whole sequence (and the whole batch); in evaluation each step is an affine map.
    """

    def __init__(self, num_features: int, alpha: float = 1.0, v_threshold: float = V_TH, eps: float = 1e-5,
                 momentum: float = 0.1):
        super().__init__(num_features, eps=eps, momentum=momentum)
        self.alpha = number("alpha", alpha, "> 0", lambda v: v > 0)
        self.v_threshold = number("v_threshold", v_threshold, "> 0", lambda v: v > 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 3 or x.shape[2] != self.num_features:
            raise ValueError(f"TdBatchNorm({self.num_features}) expects [T, N, C={self.num_features}, ...]; "
                             f"got {list(x.shape)}")
        shape = [1] * x.dim()
        shape[2] = -1
        if self.training:
            var, mean = torch.var_mean(x.transpose(0, 2).reshape(x.shape[2], -1), dim=1, unbiased=False)
            n = x.numel() / x.shape[2]
            with torch.no_grad():
                self.num_batches_tracked += 1
                m = self.momentum
                self.running_mean.mul_(1 - m).add_(m * mean)
                self.running_var.mul_(1 - m).add_(m * var * (n / (n - 1) if n > 1 else 1.0))
        else:
            mean, var = self.running_mean, self.running_var
        y = self.alpha * self.v_threshold * (x - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps)
        return y * self.weight.view(shape) + self.bias.view(shape)

    def extra_repr(self) -> str:
        return f"{self.num_features}, alpha={self.alpha}, v_threshold={self.v_threshold}"


class TdLayer(nn.Module):
    """``layer`` at every step, then ``bn`` (a :class:`TdBatchNorm` or None), then ``spike``
    (a :class:`FSVAELIF` or None). ``[T, N, ...]`` → ``[T, N, ...]``."""

    def __init__(self, layer: nn.Module, bn: nn.Module | None = None, spike: nn.Module | None = None):
        super().__init__()
        self.layer, self.bn, self.spike = layer, bn, spike

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T, N = x.shape[:2]
        y = self.layer(x.flatten(0, 1))
        y = y.view(T, N, *y.shape[1:])
        if self.bn is not None:
            y = self.bn(y)
        return self.spike(y) if self.spike is not None else y


def td_linear(inputs: int, outputs: int, alpha: float = 1.0) -> TdLayer:
    """FSVAE's ``tdLinear(inputs, outputs, bias=True, bn=tdBatchNorm(outputs, alpha), LIFSpike)``."""
    return TdLayer(nn.Linear(inputs, outputs), TdBatchNorm(outputs, alpha), FSVAELIF())


def td_conv(c_in: int, c_out: int) -> TdLayer:
    """FSVAE's encoder block: ``conv 3×3 stride 2 padding 1 (bias) → tdBN → LIF`` (halves H, W)."""
    return TdLayer(nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), TdBatchNorm(c_out), FSVAELIF())


def td_conv_transpose(c_in: int, c_out: int, spiking: bool = True) -> TdLayer:
    """FSVAE's decoder block: ``conv-transpose 3×3 stride 2 padding 1 output_padding 1 (bias) →
    tdBN → LIF`` (doubles H, W); ``spiking=False``: its last layer, a stride-1 conv-transpose
    (padding 1) with neither BN nor neuron."""
    if spiking:
        return TdLayer(nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1),
                       TdBatchNorm(c_out), FSVAELIF())
    return TdLayer(nn.ConvTranspose2d(c_in, c_out, 3, padding=1))
