"""Real data that needs no download (chapter 2, *Data and training*).

* :func:`digits` — scikit-learn's bundled copy of the UCI handwritten digits (1,797 images,
  8×8, 10 classes), with a fixed stratified train/test split.
* :func:`event_digits` — the same images seen by a simulated event camera making three
  saccades, the way N-MNIST was recorded: events are emitted where the log-intensity changed
  by more than a contrast threshold since the pixel's last event, as tonic's structured
  arrays (``x, y, t, p``; ``t`` in microseconds), so every ``tonic.transforms`` applies.

Both return an :class:`ArrayDataset` whose ``info`` says exactly what the data is.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .._checks import integer
from .._text import fit

SPLITS = ("train", "test")
TEST_FRACTION = 0.2
SPLIT_SEED = 0  # the split is part of the dataset's definition: never changes
EVENT_DTYPE = np.dtype([("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")])  # tonic's layout


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset object holds; chapters print it so a reader sees which data a run used."""

    name: str
    split: str
    size: int
    sample_shape: tuple
    classes: int
    source: str
    offline: bool

    def __str__(self) -> str:
        where = "offline" if self.offline else "downloaded"
        return fit(f"{self.name} ({self.split}): {self.size} samples of {list(self.sample_shape)}, "
                   f"{self.classes} classes; {self.source} ({where})")


class ArrayDataset(torch.utils.data.Dataset):
    """Samples and integer labels held in memory; ``transform`` is applied per sample."""

    def __init__(self, samples, targets: np.ndarray, info: DatasetInfo, transform=None, **attributes):
        self.samples, self.targets, self.info, self.transform = samples, targets, info, transform
        for key, value in attributes.items():
            setattr(self, key, value)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int):
        sample = self.samples[index]
        if self.transform is not None:
            sample = self.transform(sample)
        return sample, int(self.targets[index])


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}; got {split!r}")


def _digit_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    """The fixed stratified split of the 1,797 digits: images in [0, 1] ``[n, 8, 8]`` and labels."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    images = data.images.astype(np.float32) / 16.0
    train_idx, test_idx = train_test_split(
        np.arange(len(data.target)), test_size=TEST_FRACTION, stratify=data.target, random_state=SPLIT_SEED
    )
    idx = np.sort(train_idx if split == "train" else test_idx)
    return images[idx], data.target[idx].astype(np.int64)


def digits(split: str = "train", upsample: int = 1) -> ArrayDataset:
    """Handwritten digits as float images ``[1, 8·upsample, 8·upsample]`` in [0, 1].

    Args:
        split: ``'train'`` (1,437 images) or ``'test'`` (360), stratified by class, fixed.
        upsample: integer zoom factor (bilinear), e.g. 4 for 32×32 images.
    """
    _check_split(split)
    integer("upsample", upsample)
    images, labels = _digit_split(split)
    x = torch.from_numpy(images)[:, None]
    if upsample > 1:
        x = torch.nn.functional.interpolate(x, scale_factor=upsample, mode="bilinear", align_corners=False)
        x = x.clamp_(0.0, 1.0)
    info = DatasetInfo("digits", split, len(labels), tuple(x.shape[1:]), 10,
                       "scikit-learn's bundled UCI handwritten digits", offline=True)
    return ArrayDataset(x, labels, info)


def _saccade_path(steps_per_saccade: int, amplitude: float) -> np.ndarray:
    """Sensor displacements ``[3·steps, 2]`` (dx, dy in pixels) along a triangle and back to the start."""
    corners = np.array([[0.0, 0.0], [amplitude, amplitude], [-amplitude, amplitude], [0.0, 0.0]])
    legs = [np.linspace(corners[k], corners[k + 1], steps_per_saccade, endpoint=False) for k in range(3)]
    return np.concatenate(legs + [corners[-1:]])


def _render(images: torch.Tensor, shifts: np.ndarray, size: int) -> torch.Tensor:
    """The digits ``[n, 1, h, w]`` centred on a ``size``×``size`` sensor, seen from every shift:
    ``[steps, n, size, size]`` (bilinear, sub-pixel)."""
    n, _, h, w = images.shape
    canvas = torch.zeros(n, 1, size, size)
    top, left = (size - h) // 2, (size - w) // 2
    canvas[:, :, top:top + h, left:left + w] = images
    frames = []
    for dx, dy in shifts:
        theta = torch.tensor([[1.0, 0.0, 2 * dx / size], [0.0, 1.0, 2 * dy / size]], dtype=torch.float32).expand(n, 2, 3)
        grid = torch.nn.functional.affine_grid(theta, canvas.shape, align_corners=False)
        frames.append(torch.nn.functional.grid_sample(canvas, grid, align_corners=False)[:, 0])
    return torch.stack(frames)


def _events_from_frames(frames: np.ndarray, times_us: np.ndarray, threshold: float, eps: float) -> list[np.ndarray]:
    """DVS model per sample: events where log-intensity moved by ``threshold`` since the pixel's last event.

    ``frames`` is ``[steps, n, h, w]``; returns one time-sorted event array per sample.
    """
    steps, n, h, w = frames.shape
    log_i = np.log(frames + eps)
    reference = log_i[0].copy()
    sample_ids, events = [], []
    for k in range(1, steps):
        crossings = np.trunc((log_i[k] - reference) / threshold).astype(np.int64)  # signed count per pixel
        sample, y, x = np.nonzero(crossings)
        if len(sample) == 0:
            continue
        count = crossings[sample, y, x]
        reference[sample, y, x] += count * threshold
        repeat = np.abs(count)
        idx = np.repeat(np.arange(len(sample)), repeat)
        # several crossings in one step: one event each, spread evenly over the step
        nth = np.arange(len(idx)) - np.repeat(np.cumsum(repeat) - repeat, repeat)
        ev = np.empty(len(idx), EVENT_DTYPE)
        ev["x"], ev["y"] = x[idx], y[idx]
        ev["t"] = times_us[k - 1] + (nth + 1) * (times_us[k] - times_us[k - 1]) // (repeat[idx] + 1)
        ev["p"] = (count[idx] > 0).astype(np.int64)
        sample_ids.append(sample[idx])
        events.append(ev)
    if not events:
        return [np.empty(0, EVENT_DTYPE) for _ in range(n)]
    sid, ev = np.concatenate(sample_ids), np.concatenate(events)
    order = np.lexsort((ev["t"], sid))  # by sample, then time
    sid, ev = sid[order], ev[order]
    return np.split(ev, np.searchsorted(sid, np.arange(1, n)))


def event_digits(
    split: str = "train",
    *,
    sensor_size: int = 34,
    digit_size: int = 24,
    saccade_ms: float = 100.0,
    steps_per_saccade: int = 40,
    amplitude: float = 2.0,
    threshold: float = 0.3,
    noise_hz: float = 0.0,
    seed: int = 0,
    transform=None,
) -> ArrayDataset:
    """The digits as event streams from a simulated event camera (N-MNIST's recording protocol).

    Each digit, upsampled to ``digit_size`` pixels, sits on a ``sensor_size``² sensor that
    makes three saccades of ``saccade_ms`` along a triangle of ``amplitude`` pixels. A pixel
    emits an ON (``p=1``) or OFF (``p=0``) event each time its log-intensity has changed by
    ``threshold`` since its last event. Optional background noise adds ``noise_hz`` random
    events per pixel per second (seeded by ``seed`` and the sample's index).

    Returns an :class:`ArrayDataset` of ``(events, label)`` with tonic's structured event
    arrays; ``sensor_size`` is ``(W, H, 2)`` and ``ordering`` ``'xytp'`` as tonic expects, so
    ``tonic.transforms.ToFrame(sensor_size, n_time_bins=T)`` gives ``[T, 2, H, W]`` frames.
    """
    _check_split(split)
    for name, value, low in (("sensor_size", sensor_size, 8), ("digit_size", digit_size, 8),
                             ("steps_per_saccade", steps_per_saccade, 2)):
        integer(name, value, low)
    if digit_size + 2 * math.ceil(amplitude) > sensor_size:
        raise ValueError(f"digit_size + 2*amplitude must fit the sensor: {digit_size} + 2*{amplitude} > {sensor_size}")
    for name, value in (("saccade_ms", saccade_ms), ("threshold", threshold)):
        if not value > 0:
            raise ValueError(f"{name} must be > 0; got {value!r}")
    if noise_hz < 0:
        raise ValueError(f"noise_hz must be >= 0; got {noise_hz!r}")
    if not amplitude > 0:
        raise ValueError(f"amplitude must be > 0 (a still sensor sees no events); got {amplitude!r}")
    integer("seed", seed, minimum=0)
    images, labels = _digit_split(split)
    x = torch.nn.functional.interpolate(torch.from_numpy(images)[:, None], size=(digit_size, digit_size),
                                        mode="bilinear", align_corners=False).clamp_(0.0, 1.0)
    shifts = _saccade_path(steps_per_saccade, amplitude)
    times_us = np.round(np.arange(len(shifts)) * (saccade_ms * 1000.0 / steps_per_saccade)).astype(np.int64)
    frames = _render(x, shifts, sensor_size).numpy()
    streams = _events_from_frames(frames, times_us, threshold, eps=0.05)
    if noise_hz > 0:
        duration_s = times_us[-1] / 1e6
        for i, ev in enumerate(streams):
            rng = np.random.default_rng([seed, SPLITS.index(split), i])  # train and test noise differ
            count = rng.poisson(noise_hz * duration_s * sensor_size * sensor_size)
            noise = np.empty(count, EVENT_DTYPE)
            noise["x"], noise["y"] = rng.integers(0, sensor_size, count), rng.integers(0, sensor_size, count)
            noise["t"], noise["p"] = rng.integers(0, times_us[-1] + 1, count), rng.integers(0, 2, count)
            merged = np.concatenate([ev, noise])
            streams[i] = merged[np.argsort(merged["t"], kind="stable")]
    info = DatasetInfo("event_digits", split, len(labels), ("events", "x,y,t,p"), 10,
                       f"digits seen by a simulated event camera ({sensor_size}x{sensor_size}, 3 saccades of "
                       f"{saccade_ms:g} ms)", offline=True)
    return ArrayDataset(streams, labels, info, transform, sensor_size=(sensor_size, sensor_size, 2),
                        ordering="xytp", duration_us=int(times_us[-1]))
