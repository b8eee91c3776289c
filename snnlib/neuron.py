"""Spiking neurons with state (chapter 1, *LIF neurons*).

:class:`LIF` is a drop-in equal of ``spikingjelly.activation_based.neuron.LIFNode``: the
same constructor arguments in the same order with the same defaults — except ``step_mode``,
which defaults to ``'m'`` here (``LIFNode`` defaults to ``'s'``; pass ``step_mode='s'`` when
swapping it into single-step code) — the same spikes, state and gradients, resettable by
``spikingjelly.activation_based.functional.reset_net`` (or :func:`reset_net` here, which
does the same without spikingjelly's warning about non-``MemoryModule`` classes) and
recordable by spikingjelly's monitors. The default step mode is multi-step, ``'m'``,
on time-first input ``[T, N, ...]``.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from . import kernels
from .surrogate import Sigmoid, SurrogateFunction

__all__ = ["LIF", "PLIF", "reset_net"]


def reset_net(net: nn.Module) -> None:
    """Call ``reset()`` on every submodule of ``net`` that has one (state back to rest)."""
    for module in net.modules():
        if callable(getattr(module, "reset", None)):
            module.reset()


class LIF(nn.Module):
    """Leaky integrate-and-fire neurons.

    Per step (see :mod:`snnlib.kernels.reference` for the exact update)::

        H[t] = V[t-1] + (X[t] - (V[t-1] - V_reset)) / tau      # decay_input=True
        S[t] = Θ(H[t] - V_threshold)                            # surrogate gradient
        V[t] = V_reset if S[t] else H[t]                        # hard reset; soft: H[t] - S[t]·V_threshold

    Args:
        tau: membrane time constant, > 1.
        decay_input: whether the input is divided by ``tau`` too.
        v_threshold: firing threshold.
        v_reset: potential after a spike; ``None`` for a soft reset (subtract the threshold).
        surrogate_function: the spike's surrogate gradient; a :mod:`snnlib.surrogate` function
            (or spikingjelly's of the same name) runs on the fused kernels, any other callable
            on the reference loop.
        detach_reset: stop the gradient through the reset.
        step_mode: ``'m'`` (input ``[T, N, ...]``, time first) or ``'s'`` (one step, ``[N, ...]``).
        store_v_seq: keep the potential of every step in ``v_seq`` (``[T, N, ...]``).
        backend: ``'auto'``, ``'reference'``, ``'cpu'`` or ``'triton'`` (:mod:`snnlib.kernels`).

    State: ``v`` (a float until the first input, then a tensor ``[N, ...]``), ``v_seq``.
    It carries over between calls until :meth:`reset`.
    """

    def __init__(
        self,
        tau: float = 2.0,
        decay_input: bool = True,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function: Callable[[torch.Tensor], torch.Tensor] = Sigmoid(alpha=4.0),
        detach_reset: bool = False,
        step_mode: str = "m",
        store_v_seq: bool = False,
        backend: str = "auto",
    ):
        super().__init__()
        kernels.check_lif_args(tau, v_threshold, v_reset)
        if step_mode not in ("s", "m"):
            raise ValueError(f"step_mode must be 's' or 'm'; got {step_mode!r}")
        if backend not in kernels.BACKENDS:
            raise ValueError(f"backend must be one of {kernels.BACKENDS}; got {backend!r}")
        if not callable(surrogate_function):
            raise TypeError(f"surrogate_function must be callable; got {type(surrogate_function).__name__}")
        self.tau = float(tau)
        self.decay_input = bool(decay_input)
        self.v_threshold = float(v_threshold)
        self.v_reset = None if v_reset is None else float(v_reset)
        self.surrogate_function = surrogate_function
        self.detach_reset = bool(detach_reset)
        self.step_mode = step_mode
        self.backend = backend
        self.store_v_seq = bool(store_v_seq)
        self.reset()

    @staticmethod
    def supported_step_mode() -> tuple[str, str]:
        return ("s", "m")

    def reset(self) -> None:
        """Back to rest: ``v`` = ``v_reset`` (0 for a soft reset), no ``v_seq``."""
        self.v: torch.Tensor | float = 0.0 if self.v_reset is None else self.v_reset
        self.v_seq: torch.Tensor | None = None

    def extra_repr(self) -> str:
        return (f"tau={self.tau}, decay_input={self.decay_input}, v_threshold={self.v_threshold}, "
                f"v_reset={self.v_reset}, detach_reset={self.detach_reset}, step_mode={self.step_mode!r}, "
                f"backend={self.backend!r}")

    def _check_state(self, x_step: torch.Tensor) -> None:
        if not isinstance(self.v, torch.Tensor):
            return
        if self.v.shape != x_step.shape:
            raise ValueError(
                f"LIF state v has shape {list(self.v.shape)} but this input needs {list(x_step.shape)}; "
                "call reset() (or functional.reset_net) between batches of different shapes"
            )
        if self.v.device != x_step.device:
            raise ValueError(f"LIF state v is on {self.v.device} but the input is on {x_step.device}; "
                             "call reset() after moving the model")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or not torch.is_floating_point(x):
            got = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
            raise TypeError(f"LIF expects a floating-point tensor; got {got}")
        if self.step_mode == "m":
            if x.dim() < 2 or x.shape[0] == 0:
                raise ValueError(f"LIF(step_mode='m') expects [T, N, ...] (time first, rank >= 2, T >= 1); "
                                 f"got shape {list(x.shape)}")
            x_seq = x
        else:
            if x.dim() < 1:
                raise ValueError("LIF(step_mode='s') expects one step [N, ...] (rank >= 1); got a scalar")
            x_seq = x.unsqueeze(0)
        self._check_state(x_seq[0])
        spikes, v, v_seq = self._multi_step(x_seq)
        self.v = v
        if self.store_v_seq:
            # single steps append, as spikingjelly does, until reset()
            self.v_seq = v_seq if self.step_mode == "m" or self.v_seq is None else torch.cat([self.v_seq, v_seq])
        return spikes if self.step_mode == "m" else spikes[0]

    def _multi_step(self, x_seq: torch.Tensor):
        return kernels.lif_multi_step(
            x_seq, self.v, self.tau, self.decay_input, self.v_threshold, self.v_reset,
            self.surrogate_function, self.detach_reset, self.store_v_seq, backend=self.backend,
        )


class PLIF(LIF):
    """LIF with a learnable time constant (parametric LIF), spikingjelly's ``ParametricLIFNode``.

    One learnable scalar ``w`` per layer sets the rate ``1/tau = sigmoid(w)``, starting from
    ``init_tau`` (``w0 = -log(init_tau - 1)``); the charge multiplies by that rate. Same
    arguments, state and semantics as :class:`LIF` otherwise. It always runs on the
    reference loop, which differentiates ``w`` too.
    """

    def __init__(
        self,
        init_tau: float = 2.0,
        decay_input: bool = True,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function: Callable[[torch.Tensor], torch.Tensor] = Sigmoid(alpha=4.0),
        detach_reset: bool = False,
        step_mode: str = "m",
        store_v_seq: bool = False,
    ):
        super().__init__(init_tau, decay_input, v_threshold, v_reset, surrogate_function, detach_reset,
                         step_mode, store_v_seq, backend="reference")
        self.w = nn.Parameter(torch.as_tensor(-math.log(init_tau - 1.0)))

    @property
    def tau(self) -> float:
        """The current time constant, ``1 / sigmoid(w)``."""
        return 1.0 / self.w.detach().sigmoid().item() if hasattr(self, "w") else self._init_tau

    @tau.setter
    def tau(self, value: float) -> None:
        self._init_tau = value

    def _multi_step(self, x_seq: torch.Tensor):
        v = self.v if isinstance(self.v, torch.Tensor) else kernels.initial_state(x_seq[0], self.v)
        return kernels.reference.plif_multi_step(
            x_seq, v, self.w, self.decay_input, self.v_threshold, self.v_reset,
            self.surrogate_function, self.detach_reset, self.store_v_seq,
        )
