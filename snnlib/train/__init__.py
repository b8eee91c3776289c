"""Training spiking networks: the papers' losses and a small training loop (chapter 2).

:func:`fit` trains a model whose output is time-first, ``[T, N, classes]`` (spikes or
potentials), resets every neuron's state before each batch, shows progress with tqdm (in a
terminal or a notebook), returns a per-epoch history, uses automatic mixed precision on
CUDA, saves a checkpoint every epoch and can resume from it, and is deterministic on the
CPU for a given seed.
"""
from __future__ import annotations

from .losses import LOSSES, ce_mean_loss, mse_rate_loss, tet_loss
from .loop import History, evaluate, fit, make_loader, predict

__all__ = ["fit", "evaluate", "predict", "History", "make_loader", "LOSSES", "mse_rate_loss", "ce_mean_loss",
           "tet_loss"]
