"""What every LIF backend shares: one parameter record, one surrogate table, one wrapper.

* :class:`LIFParams` holds the LIF constants of one call, checked and converted once from
  :func:`snnlib.kernels.lif_multi_step`'s arguments; every backend receives it whole.
* :data:`SURROGATE_KERNELS` says which surrogate derivatives the fused kernels compute: one
  entry per built-in class of :mod:`snnlib.surrogate`, in the order the kernels number their
  formulas (the CPU kernels' ``_SURROGATE_GRADS`` tuple, the Triton kernel's ``KIND``
  branches). :mod:`snnlib.surrogate` itself knows nothing of kernels.
* :func:`run_flat` is the ``[T, N, ...] -> [T, N]`` wrapper of the fused backends.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch

from .. import surrogate as _surrogate
from .._checks import number, reset_potential


@dataclass(frozen=True)
class KernelSurrogate:
    """A surrogate derivative as the fused kernels compute it, at ``z = h - v_threshold``.

    ``constants`` gives the two numbers ``(c1, c2)`` of ``formula`` from an instance, in
    Python double precision exactly as the class's ``derivative`` computes them before
    they meet the float32 tensor (the kernels round them to float32 once)."""

    cls: type
    formula: str
    constants: Callable[[_surrogate.SurrogateFunction], tuple[float, float]]


# The kernel index of a surrogate is its position here: keep the kernels in this order.
SURROGATE_KERNELS = (
    KernelSurrogate(_surrogate.Sigmoid, "s = sigmoid(c1 z); (1 - s) s c1",
                    lambda f: (f.alpha, 0.0)),
    KernelSurrogate(_surrogate.ATan, "w = z c1; c2 / (1 + w w)",
                    lambda f: (math.pi / 2 * f.alpha, f.alpha / 2)),
    KernelSurrogate(_surrogate.PiecewiseQuadratic, "max(c2 - c1 |z|, 0)",
                    lambda f: (f.alpha * f.alpha, f.alpha)),
    KernelSurrogate(_surrogate.PiecewiseExp, "c1 exp(c2 |z|)",
                    lambda f: (f.alpha / 2, -f.alpha)),
    KernelSurrogate(_surrogate.SoftSign, "w = c1 + |z|; 1 / (c2 w w)",
                    lambda f: (1 / f.alpha, 2 * f.alpha)),
    KernelSurrogate(_surrogate.SuperSpike, "w = 1 + |z|; c1 / (w w)",
                    lambda f: (f.alpha, 0.0)),
    KernelSurrogate(_surrogate.Erf, "w = c2 z; c1 exp(-(w w))",
                    lambda f: (f.alpha / math.sqrt(math.pi), f.alpha)),
)
KERNEL_INDEX = {entry.cls: i for i, entry in enumerate(SURROGATE_KERNELS)}


def kernel_surrogate(surrogate) -> _surrogate.SurrogateFunction | None:
    """The surrogate a fused kernel can compute for ``surrogate`` (spikingjelly's built-ins are
    translated to their snnlib twins), else ``None``. Exactly the classes of the table: a
    subclass may override ``derivative``, which the kernels could not see."""
    sg = _surrogate.from_spikingjelly(surrogate)
    return sg if type(sg) in KERNEL_INDEX and sg.spiking else None


def check_lif_args(tau, v_threshold, v_reset) -> None:
    """Validate the LIF constants (shared by :class:`snnlib.neuron.LIF`)."""
    number("tau", tau, "> 1", lambda v: v > 1)
    number("v_threshold", v_threshold)
    reset_potential(v_reset)


@dataclass(frozen=True)
class LIFParams:
    """The constants of one multi-step LIF call, the same fields and defaults as
    :func:`snnlib.kernels.lif_multi_step`'s (``surrogate=None`` is ``Sigmoid(alpha=4)``).

    Checked and converted on construction. ``surrogate`` is the callable the reference loop
    calls; ``kernel`` is its index in :data:`SURROGATE_KERNELS` (``None`` when no fused
    kernel computes it) and ``constants`` its ``(c1, c2)``.
    """

    tau: float = 2.0
    decay_input: bool = True
    v_threshold: float = 1.0
    v_reset: float | None = 0.0
    surrogate: Callable[[torch.Tensor], torch.Tensor] | None = None
    detach_reset: bool = False
    store_v_seq: bool = False
    kernel: int | None = field(init=False)
    constants: tuple[float, float] = field(init=False)

    def __post_init__(self):
        check_lif_args(self.tau, self.v_threshold, self.v_reset)
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731  (frozen)
        put("tau", float(self.tau))
        put("decay_input", bool(self.decay_input))
        put("v_threshold", float(self.v_threshold))
        put("v_reset", None if self.v_reset is None else float(self.v_reset))
        put("detach_reset", bool(self.detach_reset))
        put("store_v_seq", bool(self.store_v_seq))
        if self.surrogate is None:
            put("surrogate", _surrogate.Sigmoid())
        fused = kernel_surrogate(self.surrogate)
        put("kernel", None if fused is None else KERNEL_INDEX[type(fused)])
        put("constants", (0.0, 0.0) if fused is None else tuple(SURROGATE_KERNELS[self.kernel].constants(fused)))

    @property
    def soft(self) -> bool:
        """A soft reset (subtract the threshold) rather than a hard one (``v_reset=None``)."""
        return self.v_reset is None

    @property
    def v_rest(self) -> float:
        """The potential the charge leaks towards: ``v_reset``, or 0 for a soft reset (the
        kernels' ``vr``, which a hard reset also sets the potential to)."""
        return 0.0 if self.v_reset is None else self.v_reset


def run_flat(function: Callable, x_seq: torch.Tensor, v_init: torch.Tensor | float, params: LIFParams):
    """Run a fused backend's ``function(x [T, N], v0 [N] or [1], params) -> (s, v_T, v_seq or None)``
    on ``x_seq`` ``[T, N, ...]``: flattened to 2-D contiguous float32 potentials on the way in,
    the outputs viewed back as ``[T, N, ...]`` / ``[N, ...]`` on the way out. A number
    ``v_init`` becomes a one-element ``v0`` (one value for all neurons)."""
    if params.kernel is None:
        raise ValueError(f"the fused kernels support the surrogates {[e.cls.__name__ for e in SURROGATE_KERNELS]} "
                         f"of snnlib.surrogate (spiking=True), not subclasses or other callables; "
                         f"got {type(params.surrogate).__name__}")
    shape = x_seq.shape
    x = x_seq.reshape(shape[0], -1).contiguous()
    if isinstance(v_init, torch.Tensor):
        v0 = v_init.reshape(-1).to(torch.float32).contiguous()
    else:
        v0 = torch.tensor([float(v_init)], dtype=torch.float32, device=x.device)
    s, vT, vseq = function(x, v0, params)
    return s.view(shape), vT.view(shape[1:]), (vseq.view(shape) if vseq is not None else None)
