"""Run an experiment from a YAML config, on one process or many (chapter 2).

    python -m snnlib.train --config configs/digits_conv.yaml
    torchrun --nproc_per_node=2 -m snnlib.train --config configs/digits_conv.yaml

Under torchrun every process trains a DistributedDataParallel replica on its own shard of
the data (a DistributedSampler), gradients are averaged, metrics are summed over processes,
and only rank 0 prints, checkpoints and writes results. The backend is NCCL on GPUs and gloo
on CPUs.

A config names a dataset, a model and the training settings::

    dataset: {name: digits, upsample: 2}          # digits | event_digits | dvs_gesture | cifar10_dvs | ncaltech101
    model:   {name: conv, channels: [16, 32]}    # any name in snnlib.models.MODELS
    encoder: {name: direct, T: 4}                # direct | rate | time_first
    frames:  {T: 8}                              # event data only: frames per recording
    train:   {epochs: 8, batch_size: 64, lr: 0.002, loss: ce_mean, seed: 0, optimizer: adam,
              scheduler: cosine}                 # scheduler: none | cosine (CosineAnnealingLR over the epochs)

The papers' recipes are ``configs/tcja_dvs128.yaml`` and ``configs/tcja_cifar10dvs.yaml`` (chapter 4);
their datasets are downloaded on first use (``snnlib.datasets``).
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch
import yaml

from .. import datasets, layers, models
from . import fit
from .loop import SCHEDULES
from .engine import unwrap

TOP_KEYS = {"dataset", "model", "encoder", "frames", "train"}
TRAIN_KEYS = {"epochs", "batch_size", "lr", "loss", "seed", "max_steps_per_epoch", "shuffle", "optimizer", "scheduler",
              "drop_last"}
EVENT_DATASETS = {"dvs_gesture": datasets.dvs_gesture, "cifar10_dvs": datasets.cifar10_dvs,
                  "ncaltech101": datasets.ncaltech101}
OPTIMIZERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}
SCHEDULERS = ("none", *SCHEDULES)  # by name; fit builds them (snnlib.train.loop.SCHEDULES)


def frame_count(cfg: dict) -> int:
    """Frames per recording for event data (``frames.T``, default 8)."""
    return cfg.get("frames", {}).get("T", 8)


def build_data(cfg: dict):
    """``(train, test, input_shape)`` for the config's dataset; the papers' datasets download on first use."""
    spec = dict(cfg["dataset"])
    name = spec.pop("name")
    if name == "digits":
        train, test = datasets.digits("train", **spec), datasets.digits("test", **spec)
        return train, test, tuple(train.info.sample_shape)
    T = frame_count(cfg)
    if name == "event_digits":
        train, test = (datasets.to_frames(datasets.event_digits(split, **spec), T) for split in ("train", "test"))
    elif name in EVENT_DATASETS:
        train, test = (EVENT_DATASETS[name](split, T=T, **spec) for split in ("train", "test"))
    else:
        raise ValueError(f"dataset must be one of {['digits', 'event_digits', *EVENT_DATASETS]}; got {name!r}")
    return train, test, tuple(train.info.sample_shape[1:])


def build_model(cfg: dict, input_shape: tuple) -> torch.nn.Module:
    """The config's network from :data:`snnlib.models.MODELS`, sized for the data: the input's
    channels and side (conv), its length (mlp), or the time steps (the papers' networks)."""
    spec = dict(cfg["model"])
    name = spec.pop("name")
    if name == "conv":
        derived = {"in_channels": input_shape[0], "size": input_shape[-1]}
    elif name == "mlp":
        derived = {"in_features": int(np.prod(input_shape))}
    elif name in models.registry.TIME_SIZED:
        events = cfg["dataset"]["name"] in ("event_digits", *EVENT_DATASETS)
        derived = {"T": frame_count(cfg) if events else cfg["encoder"].get("T", 4)}
    else:
        derived = {}
    return models.build(name, **{**derived, **spec})


def build_encoder(cfg: dict):
    spec = dict(cfg["encoder"])
    name = spec.pop("name")
    encoders = {"direct": layers.DirectEncoder, "rate": layers.RateEncoder, "time_first": layers.TimeFirst}
    if name not in encoders:
        raise ValueError(f"encoder must be one of {sorted(encoders)}; got {name!r}")
    return encoders[name](**spec)


def build_loaders(train_set, test_set, settings: dict, rank: int = 0, world: int = 1) -> tuple:
    """``(train_loader, test_loader)`` for process ``rank`` of ``world``.

    With several processes each trains on its own shard (a DistributedSampler, equal shards
    through ``drop_last``, so every step all processes take part) and evaluates a disjoint slice
    of the test set (every test sample exactly once, no padding; ``evaluate`` sums the counts).
    """
    batch, shuffle, seed = settings["batch_size"], settings["shuffle"], settings["seed"]
    if world == 1:
        from . import make_loader

        return (make_loader(train_set, batch, shuffle=shuffle, seed=seed, drop_last=settings.get("drop_last", False)),
                make_loader(test_set, batch))
    sampler = torch.utils.data.distributed.DistributedSampler(train_set, num_replicas=world, rank=rank,
                                                              shuffle=shuffle, seed=seed, drop_last=True)
    shard = torch.utils.data.Subset(test_set, range(rank, len(test_set), world))
    return (torch.utils.data.DataLoader(train_set, batch_size=batch, sampler=sampler),
            torch.utils.data.DataLoader(shard, batch_size=batch))


def load_config(path: str | Path) -> dict:
    """The config at ``path``, checked: known sections and settings only, names given, numbers numeric."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"config {path} does not exist")
    cfg = yaml.safe_load(path.read_text()) or {}
    if not isinstance(cfg, dict):
        raise ValueError(f"config {path} must be a mapping of sections; got {type(cfg).__name__}")
    missing, unknown = {"dataset", "model"} - set(cfg), set(cfg) - TOP_KEYS
    if missing or unknown:
        raise ValueError(f"config {path}: sections must be {sorted(TOP_KEYS)} (dataset and model required); "
                         f"missing {sorted(missing)}, unknown {sorted(unknown)}")
    for section in ("dataset", "model", "encoder"):
        if section in cfg and not (isinstance(cfg[section], dict) and "name" in cfg[section]):
            raise ValueError(f"config {path}: section '{section}' needs a 'name'; got {cfg[section]!r}")
    cfg["train"] = dict(cfg.get("train") or {})
    unknown = set(cfg["train"]) - TRAIN_KEYS
    if unknown:
        raise ValueError(f"config {path}: unknown train settings {sorted(unknown)}; known: {sorted(TRAIN_KEYS)}")
    for key, kind in (("lr", float), ("epochs", int), ("batch_size", int), ("seed", int)):
        if key in cfg["train"]:
            try:  # PyYAML reads 1e-3 (no dot) as a string
                cfg["train"][key] = kind(cfg["train"][key])
            except (TypeError, ValueError):
                raise ValueError(f"config {path}: train.{key} must be a number; got {cfg['train'][key]!r}") from None
    if cfg["train"].get("scheduler", "none") not in SCHEDULERS:
        raise ValueError(f"config {path}: train.scheduler must be 'none' or 'cosine'; got {cfg['train']['scheduler']!r}")
    if "encoder" not in cfg:  # event data arrive as frames [N, T, ...]; images need an encoder
        events = cfg["dataset"]["name"] in ("event_digits", *EVENT_DATASETS)
        cfg["encoder"] = {"name": "time_first"} if events else {"name": "direct", "T": 4}
    return cfg


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m snnlib.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True)
    parser.add_argument("--out", default="runs", help="folder for history.json, model.pt and checkpoint.pt")
    parser.add_argument("--epochs", type=int, help="override train.epochs")
    parser.add_argument("--batch-size", type=int, help="override train.batch_size (per process)")
    parser.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint.pt")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    cfg = load_config(args.config)
    settings = {"epochs": 1, "batch_size": 64, "lr": 1e-3, "loss": "ce_mean", "seed": 0, "shuffle": True,
                **cfg["train"]}
    if args.epochs is not None:
        settings["epochs"] = args.epochs
    if args.batch_size is not None:
        settings["batch_size"] = args.batch_size

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))) if torch.cuda.is_available() else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)  # one GPU per process, before NCCL starts
    if world > 1:
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        train_set, test_set, shape = build_data(cfg)
        torch.manual_seed(settings["seed"])  # the same initial weights in every process
        model = build_model(cfg, shape).to(device)
        out = Path(args.out)
        loaders = build_loaders(train_set, test_set, settings, rank, world)
        if world > 1:
            model = torch.nn.parallel.DistributedDataParallel(model)
        opt_name = settings.get("optimizer", "adam")
        if opt_name not in OPTIMIZERS:
            raise ValueError(f"train.optimizer must be one of {sorted(OPTIMIZERS)}; got {opt_name!r}")
        optimizer = OPTIMIZERS[opt_name](model.parameters(), lr=settings["lr"])
        scheduler = settings.get("scheduler", "none")
        history = fit(
            model, loaders[0], loaders[1], epochs=settings["epochs"], loss=settings["loss"], optimizer=optimizer,
            scheduler=None if scheduler == "none" else scheduler,
            encoder=build_encoder(cfg), device=device, seed=settings["seed"],
            checkpoint=out / "checkpoint.pt", resume=args.resume, progress=not args.no_progress,
            max_steps_per_epoch=settings.get("max_steps_per_epoch"),
        )
        result = {"config": str(args.config), "world_size": world, "history": history.epochs}
        if rank == 0:
            out.mkdir(parents=True, exist_ok=True)
            torch.save(unwrap(model).state_dict(), out / "model.pt")
            (out / "history.json").write_text(json.dumps(result, indent=2))
            last = history.epochs[-1]
            print(f"{cfg['dataset']['name']}: {len(history)} epoch(s) on {world} process(es); "
                  f"train acc {last['train_acc']:.3f}, test acc {last.get('val_acc', float('nan')):.3f}")
        return result
    finally:
        if world > 1:
            torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
