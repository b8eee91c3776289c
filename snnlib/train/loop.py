"""The training loop (chapter 2, *Data and training*)."""
from __future__ import annotations

import random
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from .._checks import integer
from ..neuron import reset_net
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


def _dist():
    """``(rank, world_size)``: (0, 1) unless a process group is running (torchrun)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def _all_sum(values: list[float], device) -> list[float]:
    """Sum metrics over the processes of a data-parallel run (identity otherwise)."""
    if _dist()[1] == 1:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    torch.distributed.all_reduce(t)
    return t.tolist()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


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
    loss_sum, correct, total = _all_sum([loss_sum, correct, total], device)
    return {"loss": loss_sum / max(total, 1), "acc": correct / max(total, 1)}


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
    """Train ``model`` and return its :class:`History`.

    Args:
        model: maps (encoded) batches to time-first outputs ``[T, N, classes]``.
        train_loader, val_loader: yield ``(x, y)`` with class indices ``y`` ``[N]``.
        loss: ``'ce_mean'``, ``'mse_rate'``, ``'tet'`` or a callable ``(out, y) -> loss``.
        optimizer: default Adam with ``lr``.
        encoder: turns a batch into ``[T, N, ...]`` (e.g. :class:`snnlib.layers.DirectEncoder`).
        amp: mixed precision; default on for CUDA, never on CPU.
        checkpoint: a file saved after every epoch (model, optimizer, scheduler, history, RNG state);
            with ``resume=True`` training continues from it.
        max_steps_per_epoch: cap on batches per epoch (quick runs).
    """
    integer("epochs", epochs)
    if resume and checkpoint is None:
        raise ValueError("resume=True needs a checkpoint path")
    if scheduler is not None and optimizer is None:
        raise ValueError("a scheduler needs the optimizer it was built with: pass optimizer= too")
    loss_fn = _loss_fn(loss)
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    amp = (device.type == "cuda") if amp is None else amp
    if amp and device.type != "cuda":
        raise ValueError(f"amp needs a CUDA device; got {device}")
    seed_everything(seed)
    model.to(device)
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    history, start = History(), 0
    rank, _ = _dist()
    if resume and Path(checkpoint).exists():
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        _unwrap(model).load_state_dict(state["model"])  # the same file with or without DDP
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler") is not None:
            scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler") is not None:
            scaler.load_state_dict(state["scaler"])
        history, start = History(state["history"]), state["epoch"]
        if start >= epochs:
            raise ValueError(f"the checkpoint {checkpoint} has already trained {start} epoch(s); "
                             f"ask for more than that (got epochs={epochs})")
        torch.set_rng_state(state["torch_rng"])
        if state.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        random.setstate(state["python_rng"])
        np.random.set_state(state["numpy_rng"])
        if getattr(train_loader, "generator", None) is not None and state.get("loader_rng") is not None:
            train_loader.generator.set_state(state["loader_rng"])
    steps = len(train_loader) if max_steps_per_epoch is None else min(len(train_loader), max_steps_per_epoch)
    bar = None
    if progress and rank == 0:
        from tqdm.auto import tqdm

        # one bar for the whole run, kept when done: in the rendered book it shows the finished run
        # mininterval + refresh=False below: at most a few redraws per second. In a notebook every
        # redraw is a widget message, and a flood of them can make ipykernel drop messages.
        bar = tqdm(total=(epochs - start) * steps, desc="training", unit="batch", mininterval=0.5)
    for epoch in range(start, epochs):
        t0 = time.perf_counter()
        model.train()
        sampler = getattr(train_loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):  # DistributedSampler: a new shuffle every epoch
            sampler.set_epoch(epoch)
        seen, correct, loss_sum = 0, 0, 0.0
        for step, (x, y) in enumerate(train_loader):
            if step >= steps:
                break
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with torch.autocast("cuda") if amp else nullcontext():
                out = _outputs(model, x, encoder)
                value = loss_fn(out, y)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(value).backward()
            scaler.step(optimizer)
            scaler.update()
            loss_sum += value.item() * len(y)
            correct += (out.detach().mean(0).argmax(-1) == y).sum().item()
            seen += len(y)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(epoch=f"{epoch + 1}/{epochs}", loss=f"{loss_sum / seen:.4f}",
                                acc=f"{correct / seen:.3f}", refresh=False)
        loss_sum, correct, seen = _all_sum([loss_sum, correct, seen], device)
        record = {"epoch": epoch + 1, "train_loss": loss_sum / max(seen, 1), "train_acc": correct / max(seen, 1)}
        if val_loader is not None:
            metrics = evaluate(model, val_loader, loss_fn, encoder, device)
            record.update(val_loss=metrics["loss"], val_acc=metrics["acc"])
        if scheduler is not None:
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(record.get("val_loss", record["train_loss"]))
            else:
                scheduler.step()
        record["seconds"] = time.perf_counter() - t0
        history.epochs.append(record)
        if checkpoint is not None and rank == 0:
            _save(checkpoint, model, optimizer, scheduler, scaler, history, epoch + 1, train_loader)
    if bar is not None:
        bar.close()
    reset_net(model)
    return history


def _unwrap(model: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel wrapper (or the model itself)."""
    return getattr(model, "module", model)


def _save(path, model, optimizer, scheduler, scaler, history, epoch, train_loader) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "model": _unwrap(model).state_dict(), "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "scaler": scaler.state_dict() if scaler.is_enabled() else None,
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "history": history.epochs, "epoch": epoch,
        "torch_rng": torch.get_rng_state(), "python_rng": random.getstate(), "numpy_rng": np.random.get_state(),
        "loader_rng": train_loader.generator.get_state() if getattr(train_loader, "generator", None) is not None else None,
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)  # a crash mid-save never leaves a truncated checkpoint
