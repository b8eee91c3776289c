"""The readable LIF: one Python loop over time with autograd (chapter 1, *LIF neurons*).

This is the implementation the chapter teaches and the one every fused kernel is tested
against. Per time step, for input ``X[t]`` and the potential ``V[t-1]`` left by the
previous step (spikingjelly's semantics):

* charge   ``H[t] = V[t-1] + (X[t] − (V[t-1] − V_reset)) / τ``   (``decay_input=True``)
           ``H[t] = V[t-1] − (V[t-1] − V_reset) / τ + X[t]``     (``decay_input=False``)
  where a soft reset (``v_reset=None``) leaks towards 0;
* fire     ``S[t] = Θ(H[t] − V_th)``, with a surrogate gradient;
* reset    ``V[t] = S·V_reset + (1 − S)·H[t]`` (hard) or ``V[t] = H[t] − S·V_th`` (soft);
  ``detach_reset`` stops the gradient through the ``S`` of the reset only.

Autograd differentiates the loop, which is backpropagation through time.
"""
from __future__ import annotations

from typing import Callable

import torch

from .contract import LIFParams


def fire_and_reset(
    h: torch.Tensor,
    v_threshold: float,
    v_reset: float | None,
    surrogate: Callable[[torch.Tensor], torch.Tensor],
    detach_reset: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """From the charged potential ``h``: ``(spike, v_next)``."""
    spike = surrogate(h - v_threshold)
    s = spike.detach() if detach_reset else spike
    if v_reset is None:
        v_next = h - s * v_threshold
    else:
        v_next = s * v_reset + (1.0 - s) * h
    return spike, v_next


def lif_step(
    x: torch.Tensor,
    v: torch.Tensor,
    tau: float,
    decay_input: bool,
    v_threshold: float,
    v_reset: float | None,
    surrogate: Callable[[torch.Tensor], torch.Tensor],
    detach_reset: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One step on ``x, v`` of shape ``[N, ...]``; returns ``(spike, v_next, h)``."""
    leak_to = 0.0 if v_reset is None else v_reset
    if decay_input:
        h = v + (x - (v - leak_to)) / tau
    else:
        h = v - (v - leak_to) / tau + x
    return (*fire_and_reset(h, v_threshold, v_reset, surrogate, detach_reset), h)


def plif_step(x, v, w, decay_input, v_threshold, v_reset, surrogate, detach_reset):
    """One PLIF step: the LIF charge with a learnable rate ``1/tau = sigmoid(w)`` (multiplied,
    as spikingjelly's ``ParametricLIFNode`` does). Returns ``(spike, v_next, h)``."""
    q = w.sigmoid()
    leak_to = 0.0 if v_reset is None else v_reset
    if decay_input:
        h = v + (x - (v - leak_to)) * q
    else:
        h = v - (v - leak_to) * q + x
    return (*fire_and_reset(h, v_threshold, v_reset, surrogate, detach_reset), h)


def lif_multi_step(
    x_seq: torch.Tensor, v_init: torch.Tensor, params: LIFParams,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """LIF over ``x_seq`` of shape ``[T, N, ...]`` (time first) from ``v_init`` ``[N, ...]``, with the
    constants and surrogate of ``params``.

    Returns ``(spikes [T, N, ...], v_final [N, ...], v_seq [T, N, ...] or None)``.
    """
    p = params
    return _unroll(lif_step, x_seq, v_init, p.tau, p.decay_input, p.v_threshold, p.v_reset, p.surrogate,
                   p.detach_reset, p.store_v_seq)


def plif_multi_step(x_seq, v_init, w, decay_input, v_threshold, v_reset, surrogate, detach_reset, store_v_seq=False):
    """PLIF over ``x_seq`` ``[T, N, ...]``; the same contract as :func:`lif_multi_step` with ``w`` for ``tau``."""
    return _unroll(plif_step, x_seq, v_init, w, decay_input, v_threshold, v_reset, surrogate, detach_reset,
                   store_v_seq)


def _unroll(step, x_seq, v_init, leak, decay_input, v_threshold, v_reset, surrogate, detach_reset, store_v_seq):
    spikes, voltages = [], []
    v = v_init
    for x in x_seq:  # iterate, never index x_seq[t]: indexing in an autograd loop costs a full zero tensor per step
        spike, v, _ = step(x, v, leak, decay_input, v_threshold, v_reset, surrogate, detach_reset)
        spikes.append(spike.to(x.dtype))
        if store_v_seq:
            voltages.append(v)
    return torch.stack(spikes), v, (torch.stack(voltages) if store_v_seq else None)
