"""Spiking neurons with state (chapter 1, *LIF neurons*).

Every neuron here runs on time-first input ``[T, N, ...]`` (``step_mode='m'``, the default)
or one step ``[N, ...]`` (``step_mode='s'``), and keeps its state between calls until
:meth:`MemoryModule.reset`.

* :class:`MemoryModule` — state registered by name with its reset value (spikingjelly's
  ``register_memory``), so ``reset()``, ``detach()`` (truncated BPTT), ``.to()`` and
  ``state_dict`` treat it right; :func:`reset_net` / :func:`detach_net` act on every such
  module of a network, and so do spikingjelly's ``functional.reset_net`` / ``detach_net``.
* :class:`BaseNode` — spikingjelly's charge → fire → reset step; a new neuron writes one
  :meth:`BaseNode.neuronal_charge`.
* :class:`LIF` is a drop-in equal of ``spikingjelly.activation_based.neuron.LIFNode``: the
  same constructor arguments in the same order with the same defaults — except ``step_mode``,
  which defaults to ``'m'`` here (``LIFNode`` defaults to ``'s'``; pass ``step_mode='s'`` when
  swapping it into single-step code) — the same spikes, state and gradients, resettable by
  ``spikingjelly.activation_based.functional.reset_net`` (or :func:`reset_net` here, which
  does the same without spikingjelly's warning about non-``MemoryModule`` classes) and
  recordable by spikingjelly's monitors. It and :class:`PLIF` run on the fused kernels
  (:mod:`snnlib.kernels`).
* :class:`IF`, :class:`QIF`, :class:`EIF` and :class:`Izhikevich` equal spikingjelly 2.0.0's
  ``IFNode``, ``QIFNode``, ``EIFNode`` and ``IzhikevichNode`` in the same way (same
  arguments and defaults but ``step_mode='m'``); they run on a plain loop over time.
* :class:`ALIF` — LIF with an adaptive threshold (Bellec et al. 2018).
"""
from __future__ import annotations

import copy
import math
import sys
from typing import Callable, Iterator

import torch
from torch import nn

from . import kernels
from ._checks import number, reset_potential
from .surrogate import Sigmoid

__all__ = ["MemoryModule", "BaseNode", "LIF", "PLIF", "IF", "QIF", "EIF", "Izhikevich", "ALIF",
           "reset_net", "detach_net", "has_memory"]


def has_memory(module: nn.Module) -> bool:
    """Whether ``module`` keeps registered state: a :class:`MemoryModule`, or a spikingjelly
    ``base.MemoryModule`` (recognised without importing spikingjelly)."""
    if isinstance(module, MemoryModule):
        return True
    sj_base = sys.modules.get("spikingjelly.activation_based.base")
    return sj_base is not None and isinstance(module, sj_base.MemoryModule)


def reset_net(net: nn.Module) -> None:
    """Put every stateful submodule of ``net`` (itself included) back to rest.

    Calls ``reset()`` only on modules with registered memory (:func:`has_memory`); other
    modules that happen to have a ``reset()`` (a metric, an optimizer helper) are left alone.
    """
    for module in net.modules():
        if has_memory(module):
            module.reset()


def detach_net(net: nn.Module) -> None:
    """Cut the state of every stateful submodule of ``net`` from the autograd graph of the
    steps before (truncated backpropagation through time); values are kept."""
    for module in net.modules():
        if has_memory(module):
            module.detach()


def _copy_value(value):
    return value.detach().clone() if isinstance(value, torch.Tensor) else copy.deepcopy(value)


class MemoryModule(nn.Module):
    """A module with state ("memory") that carries over between calls (chapter 1, *LIF neurons*).

    :meth:`register_memory` declares a state variable by name with the value it returns to on
    :meth:`reset` (spikingjelly's ``register_memory``). Registered state is an ordinary
    attribute (``self.v``); it is not a parameter or buffer, so it stays out of
    ``state_dict`` (a saved model loads into a fresh one at rest), and ``.to()`` / ``.double()``
    / ``.cuda()`` convert it together with its reset value. :meth:`detach` cuts it from the
    graph of earlier steps. :func:`reset_net` / :func:`detach_net`, and spikingjelly's
    ``functional.reset_net`` / ``detach_net``, call these on every such module of a network.
    """

    def __init__(self):
        super().__init__()
        self._memory_reset_values: dict[str, object] = {}

    def register_memory(self, name: str, value) -> None:
        """Declare state ``name``, set it to ``value`` now and on every :meth:`reset`.
        Do not modify a tensor state in place (autograd may need the old value)."""
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"a memory name must be an identifier; got {name!r}")
        if name in self._memory_reset_values:
            raise KeyError(f"memory {name!r} is already registered")
        if hasattr(self, name):
            raise KeyError(f"{type(self).__name__} already has an attribute {name!r}; cannot register it as memory")
        self._memory_reset_values[name] = _copy_value(value)
        setattr(self, name, _copy_value(value))

    def named_memories(self) -> Iterator[tuple[str, object]]:
        """``(name, current value)`` of every registered state."""
        for name in self._memory_reset_values:
            yield name, getattr(self, name)

    def memories(self) -> Iterator[object]:
        for _, value in self.named_memories():
            yield value

    def reset_value(self, name: str):
        """The value ``name`` returns to on :meth:`reset`."""
        if name not in self._memory_reset_values:
            raise KeyError(f"{name!r} is not a registered memory of {type(self).__name__}")
        return self._memory_reset_values[name]

    def reset(self) -> None:
        """Every registered state back to its reset value."""
        for name, value in self._memory_reset_values.items():
            setattr(self, name, _copy_value(value))

    def detach(self) -> None:
        """Detach every tensor state from the graph of earlier steps (values unchanged)."""
        for name, value in self.named_memories():
            if isinstance(value, torch.Tensor):
                setattr(self, name, value.detach())

    def _apply(self, fn, *args, **kwargs):
        for name, value in list(self.named_memories()):
            if isinstance(value, torch.Tensor):
                setattr(self, name, fn(value))
        for name, value in self._memory_reset_values.items():
            if isinstance(value, torch.Tensor):
                self._memory_reset_values[name] = fn(value)
        return super()._apply(fn, *args, **kwargs)


class BaseNode(MemoryModule):
    """A spiking neuron in spikingjelly's charge → fire → reset form (chapter 1, *LIF neurons*).

    Per step, for input ``X[t]`` ``[N, ...]`` and the potential ``V[t-1]``::

        H[t] = charge(V[t-1], X[t])                 # neuronal_charge: the one method a neuron writes
        S[t] = Θ(H[t] - V_threshold)                # neuronal_fire, surrogate gradient
        V[t] = V_reset if S[t] else H[t]            # hard reset; soft (v_reset=None): H[t] - S[t]·V_threshold

    ``detach_reset`` stops the gradient through the ``S`` of the reset only. Multi-step
    input is ``[T, N, ...]`` (time first) and gives spikes ``[T, N, ...]``.

    Args:
        v_threshold: firing threshold.
        v_reset: potential after a spike; ``None`` for a soft reset (subtract the threshold).
        surrogate_function: the spike's surrogate gradient (any callable).
        detach_reset: stop the gradient through the reset.
        step_mode: ``'m'`` (input ``[T, N, ...]``, time first) or ``'s'`` (one step, ``[N, ...]``).
        store_v_seq: keep the potential of every step in ``v_seq`` (``[T, N, ...]``).

    State (registered memory): ``v`` (``v_reset``, or 0 for a soft reset, until the first
    input, then a tensor ``[N, ...]``) and ``v_seq``; subclasses add theirs with
    :meth:`register_memory`. A number state becomes a tensor of the input's step shape on
    the first call; a tensor state of another shape is an error (call :meth:`reset`).
    """

    def __init__(
        self,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function: Callable[[torch.Tensor], torch.Tensor] = Sigmoid(alpha=4.0),
        detach_reset: bool = False,
        step_mode: str = "m",
        store_v_seq: bool = False,
    ):
        super().__init__()
        v_threshold = number("v_threshold", v_threshold)
        v_reset = reset_potential(v_reset)
        if step_mode not in ("s", "m"):
            raise ValueError(f"step_mode must be 's' or 'm'; got {step_mode!r}")
        if not callable(surrogate_function):
            raise TypeError(f"surrogate_function must be callable; got {type(surrogate_function).__name__}")
        self.v_threshold = v_threshold
        self.v_reset = v_reset
        self.surrogate_function = surrogate_function
        self.detach_reset = bool(detach_reset)
        self.step_mode = step_mode
        self.store_v_seq = bool(store_v_seq)
        self.register_memory("v", 0.0 if self.v_reset is None else self.v_reset)
        self.register_memory("v_seq", None)

    @staticmethod
    def supported_step_mode() -> tuple[str, str]:
        return ("s", "m")

    def extra_repr(self) -> str:
        return (f"v_threshold={self.v_threshold}, v_reset={self.v_reset}, detach_reset={self.detach_reset}, "
                f"step_mode={self.step_mode!r}")

    # --- one step: the three stages -----------------------------------------------------

    def neuronal_charge(self, x: torch.Tensor) -> None:
        """Charge: ``self.v`` goes from ``V[t-1]`` to ``H[t]`` for input ``x`` ``[N, ...]``."""
        raise NotImplementedError(f"{type(self).__name__} must implement neuronal_charge(x)")

    def neuronal_fire(self) -> torch.Tensor:
        """Fire: ``S[t] = Θ(H[t] - V_threshold)`` with the surrogate gradient."""
        return self.surrogate_function(self.v - self.v_threshold)

    def neuronal_reset(self, spike: torch.Tensor) -> None:
        """Reset: ``self.v`` goes from ``H[t]`` to ``V[t]``."""
        s = spike.detach() if self.detach_reset else spike
        if self.v_reset is None:
            self.v = self.v - s * self.v_threshold
        else:
            self.v = s * self.v_reset + (1.0 - s) * self.v

    def single_step(self, x: torch.Tensor) -> torch.Tensor:
        """One step on ``x`` ``[N, ...]`` from tensor state: charge, fire, reset; returns ``S[t]``."""
        self.neuronal_charge(x)
        spike = self.neuronal_fire()
        self.neuronal_reset(spike)
        return spike

    # --- the loop -------------------------------------------------------------------------

    def _materialize_state(self, x_step: torch.Tensor) -> None:
        """Number states become tensors of ``x_step``'s shape (float32 for half inputs)."""
        for name, value in list(self.named_memories()):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                setattr(self, name, kernels.initial_state(x_step, value))

    def _check_state(self, x_step: torch.Tensor) -> None:
        for name, value in self.named_memories():
            if name == "v_seq" or not isinstance(value, torch.Tensor):
                continue
            if value.shape != x_step.shape:
                raise ValueError(
                    f"{type(self).__name__} state {name} has shape {list(value.shape)} but this input needs "
                    f"{list(x_step.shape)}; call reset() (or functional.reset_net) between batches of different "
                    "shapes"
                )
            if value.device != x_step.device:
                raise ValueError(f"{type(self).__name__} state {name} is on {value.device} but the input is on "
                                 f"{x_step.device}; call reset() after moving the model")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        name = type(self).__name__
        if not isinstance(x, torch.Tensor) or not torch.is_floating_point(x):
            got = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
            raise TypeError(f"{name} expects a floating-point tensor; got {got}")
        if self.step_mode == "m":
            if x.dim() < 2 or x.shape[0] == 0:
                raise ValueError(f"{name}(step_mode='m') expects [T, N, ...] (time first, rank >= 2, T >= 1); "
                                 f"got shape {list(x.shape)}")
            x_seq = x
        else:
            if x.dim() < 1:
                raise ValueError(f"{name}(step_mode='s') expects one step [N, ...] (rank >= 1); got a scalar")
            x_seq = x.unsqueeze(0)
        self._check_state(x_seq[0])
        spikes, v, v_seq = self._multi_step(x_seq)
        self.v = v
        if self.store_v_seq:
            # single steps append, as spikingjelly does, until reset()
            self.v_seq = v_seq if self.step_mode == "m" or self.v_seq is None else torch.cat([self.v_seq, v_seq])
        return spikes if self.step_mode == "m" else spikes[0]

    def _multi_step(self, x_seq: torch.Tensor):
        """The plain loop over ``x_seq`` ``[T, N, ...]``: ``(spikes, v_final, v_seq or None)``."""
        self._materialize_state(x_seq[0])
        spikes, voltages = [], []
        for x in x_seq:  # iterate, never index x_seq[t] (a full zero tensor per step in backward)
            spikes.append(self.single_step(x).to(x.dtype))
            if self.store_v_seq:
                voltages.append(self.v)
        return torch.stack(spikes), self.v, (torch.stack(voltages) if self.store_v_seq else None)


def _lif_charge(v, x, tau, decay_input, v_reset):
    """``H[t]`` of the LIF, in :func:`snnlib.kernels.reference.lif_step`'s op order."""
    leak_to = 0.0 if v_reset is None else v_reset
    if decay_input:
        return v + (x - (v - leak_to)) / tau
    return v - (v - leak_to) / tau + x


class LIF(BaseNode):
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

    State (registered memory, :class:`MemoryModule`): ``v`` (a float until the first input,
    then a tensor ``[N, ...]``), ``v_seq``. It carries over between calls until :meth:`reset`.
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
        kernels.check_lif_args(tau, v_threshold, v_reset)
        if step_mode not in ("s", "m"):
            raise ValueError(f"step_mode must be 's' or 'm'; got {step_mode!r}")
        if backend not in kernels.BACKENDS:
            raise ValueError(f"backend must be one of {kernels.BACKENDS}; got {backend!r}")
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq)
        self.tau = float(tau)
        self.decay_input = bool(decay_input)
        self.backend = backend

    def extra_repr(self) -> str:
        return (f"tau={self.tau}, decay_input={self.decay_input}, v_threshold={self.v_threshold}, "
                f"v_reset={self.v_reset}, detach_reset={self.detach_reset}, step_mode={self.step_mode!r}, "
                f"backend={self.backend!r}")

    def neuronal_charge(self, x: torch.Tensor) -> None:
        """The LIF charge (what the fused kernels compute; used by subclasses on the plain loop)."""
        self.v = _lif_charge(self.v, x, self.tau, self.decay_input, self.v_reset)

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

    def neuronal_charge(self, x: torch.Tensor) -> None:
        """The PLIF charge with the rate ``sigmoid(w)`` (:func:`snnlib.kernels.reference.plif_step`)."""
        q = self.w.sigmoid()
        leak_to = 0.0 if self.v_reset is None else self.v_reset
        if self.decay_input:
            self.v = self.v + (x - (self.v - leak_to)) * q
        else:
            self.v = self.v - (self.v - leak_to) * q + x

    def _multi_step(self, x_seq: torch.Tensor):
        v = self.v if isinstance(self.v, torch.Tensor) else kernels.initial_state(x_seq[0], self.v)
        return kernels.reference.plif_multi_step(
            x_seq, v, self.w, self.decay_input, self.v_threshold, self.v_reset,
            self.surrogate_function, self.detach_reset, self.store_v_seq,
        )


# --- more neuron models on the plain loop -------------------------------------------------

def _check_hard_reset_order(v_threshold: float, v_rest: float, v_reset: float | None) -> None:
    """spikingjelly's QIF/EIF rule for a hard reset: ``v_threshold > v_reset`` and ``v_rest >= v_reset``."""
    if v_reset is None:
        return
    if not v_threshold > v_reset:
        raise ValueError(f"v_threshold must be > v_reset for a hard reset; got v_threshold={v_threshold!r}, "
                         f"v_reset={v_reset!r}")
    if not v_rest >= v_reset:
        raise ValueError(f"v_rest must be >= v_reset for a hard reset; got v_rest={v_rest!r}, v_reset={v_reset!r}")


class IF(BaseNode):
    """Integrate-and-fire neurons (chapter 1, *LIF neurons*), spikingjelly's ``IFNode``.

    No leak: per step on ``[N, ...]`` (multi-step input ``[T, N, ...]``, time first)::

        H[t] = V[t-1] + X[t]

    then fire and reset as :class:`BaseNode`. Arguments, defaults and state are
    ``IFNode``'s (``step_mode`` defaults to ``'m'`` here); see :class:`BaseNode`.
    """

    def __init__(
        self,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function: Callable[[torch.Tensor], torch.Tensor] = Sigmoid(alpha=4.0),
        detach_reset: bool = False,
        step_mode: str = "m",
        store_v_seq: bool = False,
    ):
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq)

    def neuronal_charge(self, x: torch.Tensor) -> None:
        self.v = self.v + x


class QIF(BaseNode):
    """Quadratic integrate-and-fire neurons (chapter 1, *LIF neurons*), spikingjelly's ``QIFNode``.

    Per step on ``[N, ...]`` (multi-step input ``[T, N, ...]``, time first)::

        H[t] = V[t-1] + (X[t] + a0 · (V[t-1] - v_rest) · (V[t-1] - v_c)) / tau

    then fire and reset as :class:`BaseNode`. Below ``v_c`` the potential relaxes towards
    ``v_rest``; above it, it runs away (the spike's upstroke).

    Args:
        tau: membrane time constant, > 1.
        v_c: critical potential, where the quadratic term changes sign.
        a0: sharpness of the quadratic term, > 0.
        v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq: as
            :class:`BaseNode`; a hard reset needs ``v_threshold > v_reset`` and ``v_rest >= v_reset``.
        v_rest: resting potential.
    """

    def __init__(
        self,
        tau: float = 2.0,
        v_c: float = 0.8,
        a0: float = 1.0,
        v_threshold: float = 1.0,
        v_rest: float = 0.0,
        v_reset: float | None = -0.1,
        surrogate_function: Callable[[torch.Tensor], torch.Tensor] = Sigmoid(alpha=4.0),
        detach_reset: bool = False,
        step_mode: str = "m",
        store_v_seq: bool = False,
    ):
        tau = number("tau", tau, "> 1", lambda v: v > 1)
        v_c = number("v_c", v_c)
        a0 = number("a0", a0, "> 0", lambda v: v > 0)
        v_rest = number("v_rest", v_rest)
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq)
        _check_hard_reset_order(self.v_threshold, v_rest, self.v_reset)
        self.tau, self.v_c, self.a0, self.v_rest = tau, v_c, a0, v_rest

    def extra_repr(self) -> str:
        return super().extra_repr() + f", tau={self.tau}, v_c={self.v_c}, a0={self.a0}, v_rest={self.v_rest}"

    def neuronal_charge(self, x: torch.Tensor) -> None:
        self.v = self.v + (x + self.a0 * (self.v - self.v_rest) * (self.v - self.v_c)) / self.tau


class EIF(BaseNode):
    """Exponential integrate-and-fire neurons (chapter 1, *LIF neurons*), spikingjelly's ``EIFNode``.

    Per step on ``[N, ...]`` (multi-step input ``[T, N, ...]``, time first)::

        H[t] = V[t-1] + (X[t] + v_rest - V[t-1] + delta_T · exp((V[t-1] - theta_rh) / delta_T)) / tau

    then fire and reset as :class:`BaseNode`: a leak towards ``v_rest`` plus an exponential
    upstroke that takes over above the rheobase ``theta_rh``.

    Args:
        tau: membrane time constant, > 1.
        delta_T: sharpness of the upstroke, > 0.
        theta_rh: rheobase threshold.
        v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq: as
            :class:`BaseNode`; a hard reset needs ``v_threshold > v_reset`` and ``v_rest >= v_reset``.
        v_rest: resting potential.
    """

    def __init__(
        self,
        tau: float = 2.0,
        delta_T: float = 1.0,
        theta_rh: float = 0.8,
        v_threshold: float = 1.0,
        v_rest: float = 0.0,
        v_reset: float | None = -0.1,
        surrogate_function: Callable[[torch.Tensor], torch.Tensor] = Sigmoid(alpha=4.0),
        detach_reset: bool = False,
        step_mode: str = "m",
        store_v_seq: bool = False,
    ):
        tau = number("tau", tau, "> 1", lambda v: v > 1)
        delta_T = number("delta_T", delta_T, "> 0", lambda v: v > 0)
        theta_rh = number("theta_rh", theta_rh)
        v_rest = number("v_rest", v_rest)
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq)
        _check_hard_reset_order(self.v_threshold, v_rest, self.v_reset)
        self.tau, self.delta_T, self.theta_rh, self.v_rest = tau, delta_T, theta_rh, v_rest

    def extra_repr(self) -> str:
        return super().extra_repr() + f", tau={self.tau}, delta_T={self.delta_T}, theta_rh={self.theta_rh}"

    def neuronal_charge(self, x: torch.Tensor) -> None:
        v = self.v
        self.v = v + (x + self.v_rest - v + self.delta_T * torch.exp((v - self.theta_rh) / self.delta_T)) / self.tau


class Izhikevich(BaseNode):
    """Izhikevich neurons (chapter 1, *LIF neurons*), spikingjelly's ``IzhikevichNode``.

    A QIF potential with a recovery variable ``W``; per step on ``[N, ...]`` (multi-step
    input ``[T, N, ...]``, time first)::

        H[t] = V[t-1] + (X[t] + a0 · (V[t-1] - v_rest) · (V[t-1] - v_c) - W[t-1]) / tau
        S[t] = Θ(H[t] - V_threshold)
        W[t] = W[t-1] + (a · (H[t] - v_rest) - W[t-1]) / tau_w + b · S[t]

    then the reset of :class:`BaseNode`. ``W`` is registered memory (``w``, back to
    ``w_rest`` on :meth:`reset`); the gradient flows through it (``detach_reset`` acts on the
    potential's reset only).

    Args:
        tau: membrane time constant, > 1.
        v_c: critical potential of the quadratic term.
        a0: sharpness of the quadratic term, > 0.
        v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq: as
            :class:`BaseNode`.
        v_rest: resting potential.
        w_rest: the recovery variable at rest.
        tau_w: time constant of the recovery variable, > 0.
        a: coupling of the recovery variable to the potential.
        b: jump of the recovery variable at each spike.
    """

    def __init__(
        self,
        tau: float = 2.0,
        v_c: float = 0.8,
        a0: float = 1.0,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        v_rest: float = -0.1,
        w_rest: float = 0.0,
        tau_w: float = 2.0,
        a: float = 0.0,
        b: float = 0.0,
        surrogate_function: Callable[[torch.Tensor], torch.Tensor] = Sigmoid(alpha=4.0),
        detach_reset: bool = False,
        step_mode: str = "m",
        store_v_seq: bool = False,
    ):
        tau = number("tau", tau, "> 1", lambda v: v > 1)
        v_c = number("v_c", v_c)
        a0 = number("a0", a0, "> 0", lambda v: v > 0)
        v_rest = number("v_rest", v_rest)
        w_rest = number("w_rest", w_rest)
        tau_w = number("tau_w", tau_w, "> 0", lambda v: v > 0)
        a = number("a", a)
        b = number("b", b)
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq)
        self.tau, self.v_c, self.a0, self.v_rest = tau, v_c, a0, v_rest
        self.w_rest, self.tau_w, self.a, self.b = w_rest, tau_w, a, b
        self.register_memory("w", w_rest)

    def extra_repr(self) -> str:
        return (super().extra_repr() + f", v_rest={self.v_rest}, w_rest={self.w_rest}, tau_w={self.tau_w}, "
                f"a={self.a}, b={self.b}, tau={self.tau}, v_c={self.v_c}, a0={self.a0}")

    def neuronal_charge(self, x: torch.Tensor) -> None:
        v = self.v
        self.v = v + (x + self.a0 * (v - self.v_rest) * (v - self.v_c) - self.w) / self.tau

    def neuronal_fire(self) -> torch.Tensor:
        spike = super().neuronal_fire()
        self.w = self.w + (self.a * (self.v - self.v_rest) - self.w) / self.tau_w + self.b * spike
        return spike


class ALIF(BaseNode):
    """LIF with an adaptive threshold (Bellec et al. 2018, "Long short-term memory and
    learning-to-learn in networks of spiking neurons"); the LIF is chapter 1's, *LIF neurons*.

    Each spike raises the neuron's own threshold, which then decays back with ``tau_a``.
    Per step ``t`` on ``[N, ...]`` (multi-step input ``X`` ``[T, N, ...]``, time first; one
    step is ``dt``, so ``rho = exp(-dt / tau_a) = exp(-1 / tau_a)``)::

        a[t]  = rho · a[t-1] + S[t-1]                           # adaptation, a = 0 at rest
        A[t]  = v_threshold + beta · a[t]                       # the threshold
        H[t]  = V[t-1] + (X[t] - (V[t-1] - V_reset)) / tau      # LIF charge (decay_input=False:
                                                                #   V[t-1] - (V[t-1] - V_reset) / tau + X[t])
        S[t]  = Θ(H[t] - A[t])                                  # surrogate gradient
        V[t]  = V_reset if S[t] else H[t]                       # hard reset; soft (v_reset=None): H[t] - S[t]·A[t]

    The charge is :class:`LIF`'s exactly (a soft reset leaks towards 0). ``detach_reset``
    stops the gradient through the reset's ``S`` only; the adaptation keeps its gradient
    (the path Bellec et al.'s e-prop and BPTT learn through).

    Args:
        tau: membrane time constant, > 1.
        tau_a: adaptation time constant in steps, > 0.
        beta: threshold increase per unit of adaptation (0 gives a plain LIF).
            The defaults ``tau_a=20``, ``beta=0.2`` are this library's choice for the book's
            short sequences (an assumption), not the paper's settings.
        decay_input, v_threshold, v_reset, surrogate_function, detach_reset, step_mode,
            store_v_seq: as :class:`LIF`.

    State (registered memory): ``v`` and ``v_seq`` as :class:`LIF`, and the adaptation ``a``
    (``[N, ...]`` after the first input; it already includes the last step's spike, i.e. it
    is ``a[t+1]``, the next step's value).
    """

    def __init__(
        self,
        tau: float = 2.0,
        tau_a: float = 20.0,
        beta: float = 0.2,
        decay_input: bool = True,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function: Callable[[torch.Tensor], torch.Tensor] = Sigmoid(alpha=4.0),
        detach_reset: bool = False,
        step_mode: str = "m",
        store_v_seq: bool = False,
    ):
        kernels.check_lif_args(tau, v_threshold, v_reset)
        tau_a = number("tau_a", tau_a, "> 0", lambda v: v > 0)
        beta = number("beta", beta)
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq)
        self.tau, self.tau_a, self.beta = float(tau), tau_a, beta
        self.decay_input = bool(decay_input)
        self.register_memory("a", 0.0)

    @property
    def rho(self) -> float:
        """The adaptation's decay per step, ``exp(-1 / tau_a)``."""
        return math.exp(-1.0 / self.tau_a)

    def extra_repr(self) -> str:
        return (f"tau={self.tau}, tau_a={self.tau_a}, beta={self.beta}, decay_input={self.decay_input}, "
                + super().extra_repr())

    def neuronal_charge(self, x: torch.Tensor) -> None:
        self.v = _lif_charge(self.v, x, self.tau, self.decay_input, self.v_reset)

    def single_step(self, x: torch.Tensor) -> torch.Tensor:
        self.neuronal_charge(x)
        threshold = self.v_threshold + self.beta * self.a       # A[t]
        spike = self.surrogate_function(self.v - threshold)
        s = spike.detach() if self.detach_reset else spike
        if self.v_reset is None:
            self.v = self.v - s * threshold
        else:
            self.v = s * self.v_reset + (1.0 - s) * self.v
        self.a = self.rho * self.a + spike                       # a[t+1]
        return spike
