"""The losses the papers train with, on time-first outputs ``[T, N, C]`` (chapter 2).

* ``'mse_rate'`` — MSE between the output firing rate (mean over T) and the one-hot target
  (TCJA-SNN's "spike MSE", spikingjelly's classic recipe);
* ``'ce_mean'`` — cross-entropy of the time-averaged output;
* ``'tet'`` — temporal efficient training: cross-entropy at every step, averaged over T,
  plus ``lam`` times the MSE of every step's output to the constant ``phi``
  (Deng et al., ICLR 2022; TCJA's TET runs use ``lam = 1e-3``, ``phi = 1``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _check(out: torch.Tensor, target: torch.Tensor) -> None:
    if out.dim() != 3:
        raise ValueError(f"outputs must be time-first [T, N, C]; got shape {list(out.shape)}")
    if target.shape != out.shape[1:2]:
        raise ValueError(f"targets must be class indices [N] = [{out.shape[1]}]; got shape {list(target.shape)}")


def mse_rate_loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MSE between the firing rate ``out.mean(0)`` ``[N, C]`` and ``one_hot(target)``."""
    _check(out, target)
    return F.mse_loss(out.mean(0), F.one_hot(target, out.shape[-1]).to(out.dtype))


def ce_mean_loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the time-averaged output."""
    _check(out, target)
    return F.cross_entropy(out.mean(0), target)


def tet_loss(out: torch.Tensor, target: torch.Tensor, lam: float = 1e-3, phi: float = 1.0) -> torch.Tensor:
    """``(1 − lam)·mean_t CE(out[t], y) + lam·mean_t MSE(out[t], phi)``."""
    _check(out, target)
    T = out.shape[0]
    ce = F.cross_entropy(out.flatten(0, 1), target.repeat(T))  # every step, averaged over T·N
    if lam == 0:
        return ce
    return (1 - lam) * ce + lam * F.mse_loss(out, torch.full_like(out, phi))


LOSSES = {"mse_rate": mse_rate_loss, "ce_mean": ce_mean_loss, "tet": tet_loss}
