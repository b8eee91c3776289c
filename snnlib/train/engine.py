"""The one training loop every trainer in snnlib is built on (chapter 2, *Data and training*).

:func:`run_loop` owns what every training run needs and nothing task-specific: seeding, the
optimiser step (with a GradScaler under automatic mixed precision on CUDA), the scheduler, a
progress bar, metrics accumulated on the device and read once per log interval (never an
``.item()`` per step, which would make a GPU wait for every step), checkpoints with every RNG
state so a resumed run equals an uninterrupted one, and DDP awareness (metrics summed over
processes; only rank 0 shows progress and writes checkpoints).

What a task does with a batch is its ``step`` function: it returns a :class:`Step` (the loss to
minimise, the sums to report, and their weight). :func:`snnlib.train.fit`,
:func:`snnlib.vae.fit_vae`, :func:`snnlib.vae.train_proxy_classifier` and
:func:`snnlib.sink.train_tinygpt` are all such steps around this loop.
"""
from __future__ import annotations

import itertools
import random
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn

from .._checks import integer
from ..progress import progress_bar


@dataclass
class Step:
    """What one training step hands back to :func:`run_loop`.

    Attributes:
        loss: the scalar the optimiser minimises (``backward()`` is called on it).
        sums: quantities to report, on any device; the epoch's record holds
            ``sum over steps / sum of weights`` for each (e.g. ``loss * n`` with ``weight=n``
            gives the per-sample mean, a batch mean with ``weight=1`` the per-step mean).
        weight: how much this step counts in those means.
    """

    loss: torch.Tensor
    sums: dict[str, torch.Tensor] = field(default_factory=dict)
    weight: float = 1.0


def dist_info() -> tuple[int, int]:
    """``(rank, world_size)``: (0, 1) unless a process group is running (torchrun)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def all_sum(values: torch.Tensor) -> torch.Tensor:
    """``values`` summed over the processes of a data-parallel run (unchanged otherwise)."""
    if dist_info()[1] > 1:
        values = values.clone()
        torch.distributed.all_reduce(values)
    return values


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators (CPU and every GPU)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class RunningMeans:
    """Weighted sums kept on the device; :meth:`read` copies them to the host in one transfer."""

    def __init__(self, device: torch.device):
        # float64 where the device has it: a long epoch of float32 sums would drift
        self.dtype = torch.float32 if device.type == "mps" else torch.float64
        self.device = device
        self.names: list[str] = []
        self.sums: torch.Tensor | None = None
        self.weight = 0.0

    def add(self, step: Step) -> None:
        if self.sums is None:
            self.names = list(step.sums)
            self.sums = torch.zeros(len(self.names), dtype=self.dtype, device=self.device)
        if list(step.sums) != self.names:
            raise ValueError(f"every step must report the same sums {self.names}; got {list(step.sums)}")
        if self.names:
            values = torch.stack([torch.as_tensor(step.sums[k]).detach().to(self.device, self.dtype).reshape(())
                                  for k in self.names])
            self.sums += values
        self.weight += float(step.weight)

    def read(self, across_processes: bool = False) -> dict[str, float]:
        """The current means, ``{name: sum / weight}`` (summed over processes if asked)."""
        if self.sums is None:
            return {}
        values = torch.cat([self.sums, torch.tensor([self.weight], dtype=self.dtype, device=self.device)])
        if across_processes:
            values = all_sum(values)
        *sums, weight = values.tolist()
        return {k: s / max(weight, 1e-300) for k, s in zip(self.names, sums)}


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel wrapper (or the model itself)."""
    return getattr(model, "module", model)


def save_checkpoint(path, model, optimizer, scheduler, scaler, history: list[dict], epoch: int,
                    generators: Sequence[torch.Generator] = ()) -> None:
    """Everything a resumed run needs, written atomically (a crash never leaves a truncated file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "model": unwrap(model).state_dict(), "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "scaler": scaler.state_dict() if scaler.is_enabled() else None,
        "history": history, "epoch": epoch,
        "torch_rng": torch.get_rng_state(), "python_rng": random.getstate(), "numpy_rng": np.random.get_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "generators": [g.get_state() for g in generators],
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def load_checkpoint(path, model, optimizer, scheduler, scaler, device,
                    generators: Sequence[torch.Generator] = ()) -> tuple[list[dict], int]:
    """Restore a :func:`save_checkpoint` file in place; returns ``(history, epochs done)``."""
    state = torch.load(path, map_location=device, weights_only=False)
    unwrap(model).load_state_dict(state["model"])  # the same file with or without DDP
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state.get("scheduler") is not None:
        scheduler.load_state_dict(state["scheduler"])
    if state.get("scaler") is not None:
        scaler.load_state_dict(state["scaler"])
    torch.set_rng_state(state["torch_rng"])
    if state.get("cuda_rng") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    random.setstate(state["python_rng"])
    np.random.set_state(state["numpy_rng"])
    saved = state.get("generators", [])
    if len(saved) != len(generators):
        raise ValueError(f"the checkpoint {path} holds {len(saved)} generator state(s); this run has "
                         f"{len(generators)}: was it written by another kind of run?")
    for g, s in zip(generators, saved):
        g.set_state(s)
    return list(state["history"]), int(state["epoch"])


def shuffled_batches(*tensors: torch.Tensor, batch: int, generator: torch.Generator) -> Iterable:
    """An iterable of aligned mini-batches of ``tensors`` (same first dimension); each pass over it
    draws a new permutation from ``generator``, so runs are reproducible. Batches are tuples
    (or single tensors when one tensor is given)."""
    integer("batch", batch)

    class _Shuffled:
        def __len__(self):
            return -(-len(tensors[0]) // batch)

        def __iter__(self):
            order = torch.randperm(len(tensors[0]), generator=generator)
            for s in range(0, len(order), batch):
                idx = order[s:s + batch]
                picked = tuple(t[idx] for t in tensors)
                yield picked if len(picked) > 1 else picked[0]

    return _Shuffled()


def run_loop(
    model: nn.Module,
    batches: Iterable,
    step: Callable[[object], Step],
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int = 1,
    steps_per_epoch: int | None = None,
    scheduler=None,
    plateau_metric: str | None = None,
    device: torch.device | str = "cpu",
    amp: bool = False,
    seed: int | None = 0,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    generators: Sequence[torch.Generator] = (),
    progress: bool = True,
    desc: str = "training",
    unit: str = "batch",
    log_every: int = 25,
    on_step: Callable[[int], dict | None] | None = None,
    on_epoch_end: Callable[[int, dict], None] | None = None,
) -> list[dict]:
    """Train ``model`` with ``step`` over ``batches`` and return one record per epoch.

    Args:
        batches: iterated once per epoch (a DataLoader, :func:`shuffled_batches`, or an endless
            generator with ``steps_per_epoch``); a ``sampler.set_epoch`` is called if present.
        step: ``batch -> Step``; runs under autocast when ``amp``; the loop does
            ``zero_grad → backward → optimizer.step`` on its loss.
        steps_per_epoch: at most this many batches per epoch (default: ``len(batches)``).
        scheduler: stepped once per epoch; a ``ReduceLROnPlateau`` gets ``record[plateau_metric]``.
        seed: seeds every global generator first (``None`` leaves them as they are).
        checkpoint, resume: a file written after every epoch (model, optimiser, scheduler, scaler,
            history, every RNG state including ``generators``); ``resume=True`` continues from it.
        log_every: the progress bar's metrics are read from the device every this many steps.
        on_step: called with the global step number (1, 2, …) after each optimiser step; a dict it
            returns is shown on the progress bar.
        on_epoch_end: ``(epoch, record)`` after each epoch, before the scheduler; may add entries
            to the record (e.g. validation metrics).

    Returns:
        ``[{"epoch": e, <means of the step's sums>, "seconds": s, ...}, ...]``, including the
        epochs restored from a checkpoint.
    """
    integer("epochs", epochs)
    integer("log_every", log_every)
    if resume and checkpoint is None:
        raise ValueError("resume=True needs a checkpoint path")
    if steps_per_epoch is None:
        if not hasattr(batches, "__len__"):
            raise ValueError("batches has no length: pass steps_per_epoch")
        steps_per_epoch = len(batches)
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau) and plateau_metric is None:
        raise ValueError("a ReduceLROnPlateau scheduler needs plateau_metric: the record entry it watches")
    device = torch.device(device)
    if amp and device.type != "cuda":
        raise ValueError(f"amp needs a CUDA device; got {device}")
    if seed is not None:
        seed_everything(seed)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    rank, world = dist_info()
    history, start = [], 0
    if resume and Path(checkpoint).exists():
        history, start = load_checkpoint(checkpoint, model, optimizer, scheduler, scaler, device, generators)
        if start >= epochs:
            raise ValueError(f"the checkpoint {checkpoint} has already trained {start} epoch(s); "
                             f"ask for more than that (got epochs={epochs})")
    bar = progress_bar(total=(epochs - start) * steps_per_epoch, desc=desc, unit=unit, show=progress and rank == 0)
    global_step = start * steps_per_epoch
    for epoch in range(start, epochs):
        t0 = time.perf_counter()
        model.train()
        sampler = getattr(batches, "sampler", None)
        if hasattr(sampler, "set_epoch"):  # DistributedSampler: a new shuffle every epoch
            sampler.set_epoch(epoch)
        means, shown = RunningMeans(device), {}
        for i, batch in enumerate(itertools.islice(batches, steps_per_epoch)):
            with torch.autocast("cuda") if amp else nullcontext():
                out = step(batch)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(out.loss).backward()
            scaler.step(optimizer)
            scaler.update()
            means.add(out)
            global_step += 1
            extra = on_step(global_step) if on_step is not None else None
            if not bar.disable:
                shown.update(extra or {})
                if (i + 1) % log_every == 0 or i + 1 == steps_per_epoch:
                    shown.update(means.read())
                bar.update(1)
                bar.set_postfix(_postfix(epoch, epochs, shown), refresh=False)
        record = {"epoch": epoch + 1, **means.read(across_processes=world > 1)}
        if on_epoch_end is not None:
            on_epoch_end(epoch, record)
        if scheduler is not None:
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(record[plateau_metric])
            else:
                scheduler.step()
        record["seconds"] = time.perf_counter() - t0
        history.append(record)
        if checkpoint is not None and rank == 0:
            save_checkpoint(checkpoint, model, optimizer, scheduler, scaler, history, epoch + 1, generators)
    bar.close()
    return history


def _postfix(epoch: int, epochs: int, shown: dict) -> dict:
    post = {"epoch": f"{epoch + 1}/{epochs}"} if epochs > 1 else {}
    for key, value in shown.items():
        post[key] = f"{value:.4g}" if isinstance(value, float) else value
    return post
