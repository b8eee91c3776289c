"""Event streams into frames, and the frame augmentation of the papers (chapter 2).

The TCJA and PFA recipes turn each recording into ``T`` frames "split by number", as
spikingjelly's ``frames_number=T, split_by='number'`` does: the time-sorted events are cut
into ``T`` consecutive chunks of ``N // T`` events (the last chunk takes the remainder), and
frame ``k`` counts chunk ``k``'s events per polarity and pixel. Unlike equal time windows,
every frame then holds the same amount of activity.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .._checks import integer


def frames_by_count(events: np.ndarray, T: int, sensor_size: tuple) -> np.ndarray:
    """``[T, 2, H, W]`` event counts from a structured array (``x, y, t, p``) split into ``T``
    chunks of equal event count; ``sensor_size`` is tonic's ``(W, H, 2)``."""
    integer("T", T)
    if events.dtype.names is None or not {"x", "y", "t", "p"} <= set(events.dtype.names):
        raise ValueError(f"events must be a structured array with fields x, y, t, p; got dtype {events.dtype}")
    width, height = int(sensor_size[0]), int(sensor_size[1])
    n = len(events)
    if n and (events["x"].max() >= width or events["y"].max() >= height or events["x"].min() < 0
              or events["y"].min() < 0):
        raise ValueError(f"events fall outside the sensor {width}x{height}")
    ordered = events[np.argsort(events["t"], kind="stable")]
    # chunks of n // T events, the last one taking the rest (with fewer than T events: all in the last)
    chunk = np.minimum(np.arange(n) // (n // T), T - 1) if n >= T else np.full(n, T - 1)
    frames = np.zeros((T, 2, height, width), dtype=np.int64)
    polarity = (ordered["p"] > 0).astype(np.int64)
    np.add.at(frames, (chunk, polarity, ordered["y"], ordered["x"]), 1)
    return frames


class FlipRoll:
    """CIFAR10-DVS training augmentation of the TCJA/PFA code: flip left-right with probability
    ``p`` and roll (circularly shift) by up to ``shift`` pixels along H and W, on frames
    ``[T, C, H, W]`` (the same flip and shift for every time step). Training split only.

    With an explicit ``generator`` every DataLoader worker would draw the same sequence;
    pass one only with ``num_workers=0`` (the default draws from torch's global RNG, which
    DataLoader seeds per worker)."""

    def __init__(self, shift: int = 5, p: float = 0.5, generator: torch.Generator | None = None):
        integer("shift", shift, minimum=0)
        if not 0 <= p <= 1:
            raise ValueError(f"p must be in [0, 1]; got {p!r}")
        self.shift, self.p, self.generator = shift, p, generator

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        if frames.dim() != 4:
            raise ValueError(f"frames must be [T, C, H, W]; got shape {list(frames.shape)}")
        if torch.rand((), generator=self.generator) < self.p:
            frames = frames.flip(-1)
        dy, dx = torch.randint(-self.shift, self.shift + 1, (2,), generator=self.generator).tolist()
        return frames.roll((dy, dx), dims=(-2, -1))


def first_fraction_split(targets, fraction: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)``: the first ``fraction`` of every class (in dataset order) trains,
    the rest tests — the papers' fixed CIFAR10-DVS and N-Caltech101 split (not random)."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1); got {fraction!r}")
    targets = np.asarray(targets)
    train, test = [], []
    for label in np.unique(targets):
        idx = np.flatnonzero(targets == label)
        cut = math.ceil(len(idx) * fraction)  # as spikingjelly's split_to_train_test_set
        train.append(idx[:cut])
        test.append(idx[cut:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def to_frames(events, T: int):
    """An event dataset (e.g. :func:`event_digits`) binned once into float frames ``[T, 2, H, W]``.

    tonic's ``ToFrame`` cuts each recording into ``T`` equal time windows; counts are clipped at 1,
    as the chapter-2 networks take them. The frames are computed here, once, not at every epoch.
    """
    import dataclasses

    import tonic

    from .offline import ArrayDataset

    integer("T", T)
    to_frame = tonic.transforms.ToFrame(sensor_size=events.sensor_size, n_time_bins=T)
    frames = torch.stack([torch.from_numpy(to_frame(ev).astype(np.float32)).clamp_(max=1.0)
                          for ev in events.samples])
    width, height, polarities = events.sensor_size
    info = dataclasses.replace(events.info, sample_shape=(T, polarities, height, width))
    return ArrayDataset(frames, events.targets, info)
