"""The training loop (chapter 2, *Data and training*)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from .._checks import integer
from ..neuron import reset_net
from .engine import Step, all_sum, run_loop
from .losses import LOSSES


@dataclass
class History:
    """Per-epoch metrics: ``history.epochs[k]`` is a dict (``train_loss``, ``train_acc``,
    ``val_loss``, ``val_acc``, ``seconds``); ``history["val_acc"]`` is one metric as a list."""

    epochs: list[dict] = field(default_factory=list)

    def __getitem__(self, metric: str) -> list[float]:
        return [e[metric] for e in self.epochs if metric in e]

    def __len__(self) -> int:
        return len(self.epochs)


def make_loader(dataset, batch_size: int, shuffle: bool = False, seed: int = 0, **kwargs) -> torch.utils.data.DataLoader:
    """A DataLoader whose shuffling is reproducible (its own generator, seeded)."""
    integer("batch_size", batch_size)
    generator = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator, **kwargs)


def _loss_fn(loss) -> Callable:
    if callable(loss):
        return loss
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)} or a callable; got {loss!r}")
    return LOSSES[loss]


def _outputs(model: nn.Module, x: torch.Tensor, encoder: Callable | None) -> torch.Tensor:
    reset_net(model)  # every sample starts from rest
    out = model(encoder(x) if encoder is not None else x)
    if out.dim() != 3:
        raise ValueError(f"the model must return time-first outputs [T, N, classes]; got shape {list(out.shape)}")
    return out


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, encoder: Callable | None = None) -> torch.Tensor:
    """Class predictions ``[N]``: the arg-max of the time-averaged output."""
    return _outputs(model, x, encoder).mean(0).argmax(-1)


@torch.no_grad()
def evaluate(model: nn.Module, loader, loss="ce_mean", encoder: Callable | None = None,
             device: str | torch.device = "cpu") -> dict:
    """Mean loss and accuracy of ``model`` over ``loader``."""
    loss_fn = _loss_fn(loss)
    model.eval()
    total, correct, loss_sum = 0, 0, 0.0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        out = _outputs(model, x, encoder)
        loss_sum += loss_fn(out, y).item() * len(y)
        correct += (out.mean(0).argmax(-1) == y).sum().item()
        total += len(y)
    reset_net(model)
    loss_sum, correct, total = all_sum(torch.tensor([loss_sum, correct, total], dtype=torch.float64,
                                                    device=device)).tolist()
    return {"loss": loss_sum / max(total, 1), "acc": correct / max(total, 1)}


# schedules fit builds by name, for its optimizer and number of epochs; stepped once per epoch
SCHEDULES = {
    "cosine": lambda optimizer, epochs: torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs),
}


def fit(
    model: nn.Module,
    train_loader,
    val_loader=None,
    *,
    epochs: int = 1,
    loss="ce_mean",
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 1e-3,
    scheduler=None,
    encoder: Callable | None = None,
    device: str | torch.device | None = None,
    amp: bool | None = None,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    seed: int = 0,
    progress: bool = True,
    max_steps_per_epoch: int | None = None,
) -> History:
    """Train a classifier and return its :class:`History` (built on :func:`~snnlib.train.engine.run_loop`).

    Args:
        model: maps (encoded) batches to time-first outputs ``[T, N, classes]``.
        train_loader, val_loader: yield ``(x, y)`` with class indices ``y`` ``[N]``.
        loss: ``'ce_mean'``, ``'mse_rate'``, ``'tet'`` or a callable ``(out, y) -> loss``.
        optimizer: default Adam with ``lr``.
        scheduler: stepped once per epoch; a ``ReduceLROnPlateau`` watches the validation loss
            (the training loss without ``val_loader``). Or a name in :data:`SCHEDULES` that ``fit``
            builds for its optimizer: ``'cosine'``, the papers' ``CosineAnnealingLR`` over
            ``epochs`` (chapters 4 and 5).
        encoder: turns a batch into ``[T, N, ...]`` (e.g. :class:`snnlib.layers.DirectEncoder`).
        amp: mixed precision; default on for CUDA, never on CPU.
        checkpoint: a file saved after every epoch (model, optimizer, scheduler, history, RNG state);
            with ``resume=True`` training continues from it.
        max_steps_per_epoch: cap on batches per epoch (quick runs).

    The history's ``train_loss``/``train_acc`` are means over the epoch's training batches while
    the weights were changing; ``val_loss``/``val_acc`` are measured after the epoch.
    """
    integer("epochs", epochs)
    if max_steps_per_epoch is not None:
        integer("max_steps_per_epoch", max_steps_per_epoch)
    if isinstance(scheduler, str) and scheduler not in SCHEDULES:
        raise ValueError(f"scheduler must be a scheduler or one of {sorted(SCHEDULES)}; got {scheduler!r}")
    if scheduler is not None and not isinstance(scheduler, str) and optimizer is None:
        raise ValueError("a scheduler needs the optimizer it was built with: pass optimizer= too")
    loss_fn = _loss_fn(loss)
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    amp = (device.type == "cuda") if amp is None else amp
    model.to(device)
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    if isinstance(scheduler, str):
        scheduler = SCHEDULES[scheduler](optimizer, epochs)
    steps = len(train_loader) if max_steps_per_epoch is None else min(len(train_loader), max_steps_per_epoch)

    def step(batch) -> Step:
        x, y = (t.to(device, non_blocking=True) for t in batch)
        out = _outputs(model, x, encoder)
        value = loss_fn(out, y)
        correct = (out.detach().mean(0).argmax(-1) == y).sum()
        return Step(value, {"loss": value.detach() * len(y), "acc": correct}, weight=len(y))

    def validate(epoch: int, record: dict) -> None:
        record["train_loss"], record["train_acc"] = record.pop("loss"), record.pop("acc")
        if val_loader is not None:
            metrics = evaluate(model, val_loader, loss_fn, encoder, device)
            record.update(val_loss=metrics["loss"], val_acc=metrics["acc"])

    generator = getattr(train_loader, "generator", None)
    epochs_done = run_loop(
        model, train_loader, step, optimizer, epochs=epochs, steps_per_epoch=steps, scheduler=scheduler,
        plateau_metric="val_loss" if val_loader is not None else "train_loss", device=device, amp=amp,
        seed=seed, checkpoint=checkpoint, resume=resume, generators=[generator] if generator is not None else [],
        progress=progress, on_epoch_end=validate,
    )
    reset_net(model)
    return History(epochs_done)
