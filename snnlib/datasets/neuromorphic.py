"""The papers' neuromorphic datasets through tonic, as frames ``[T, 2, H, W]`` (chapter 2; the
``paper`` profile of chapters 4–5).

* :func:`dvs_gesture` — DVS128 Gesture, 11 classes, the official train/test split (by subject),
  128×128, in tonic's preprocessed release (recordings cut per gesture);
* :func:`cifar10_dvs` — CIFAR10-DVS, 10 classes, 10,000 recordings, 128×128; the papers' split
  (the first 90 % of every class trains) and their flip-and-roll augmentation on the training
  split only;
* :func:`ncaltech101` — N-Caltech101, 101 classes, 8,709 recordings on a 240×180 canvas; the
  same first-90 % split.

Each recording becomes ``T`` frames "split by number" (:func:`frames_by_count`, as
spikingjelly's ``frames_number=T, split_by='number'``): float event counts, not clipped.

Archives are downloaded only when asked for, by :func:`snnlib.datasets.fetch` (checked against
the md5 that tonic publishes for each, written atomically, resumable) into
``cache_dir()/tonic/<Name>/`` — where tonic itself looks — unpacked there (a marker written
last says the unpacking finished), read through tonic's dataset classes, and turned into frames
once: one ``.npy`` per recording under ``cache_dir()/frames/``, with a marker written last.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .._checks import integer
from ..progress import progress_bar
from .download import RemoteFile, cache_dir, extract, fetch
from .frames import FlipRoll, first_fraction_split, frames_by_count
from .offline import DatasetInfo, _check_split


@dataclass(frozen=True)
class TonicSource:
    """One dataset as tonic publishes it.

    Attributes:
        name: tonic's class name, also the cache folder tonic reads (``<save_to>/<name>``).
        files: the archives, per split (``'all'`` when the dataset has no official split).
        inner: archives packed inside the downloaded ones, unpacked in turn.
        canvas: ``(W, H)`` of the frames.
        classes: number of classes.
    """

    name: str
    files: dict
    inner: tuple
    canvas: tuple
    classes: int

    def archives(self, split: str) -> tuple:
        return self.files.get(split, self.files.get("all"))


# URLs and md5 checksums as tonic 1.6 publishes them (tonic/datasets/*.py); data/README.md lists them.
SOURCES = {
    "dvs_gesture": TonicSource(
        "DVSGesture",
        {"train": (RemoteFile("DVSGesture", "ibmGestureTrain.tar.gz",
                              "https://figshare.com/ndownloader/files/38022171",
                              md5="3a8f0d4120a166bac7591f77409cb105"),),
         "test": (RemoteFile("DVSGesture", "ibmGestureTest.tar.gz",
                             "https://figshare.com/ndownloader/files/38020584",
                             md5="56070e45dadaa85fff82e0fbfbc06de5"),)},
        (), (128, 128), 11),
    "cifar10_dvs": TonicSource(
        "CIFAR10DVS",
        {"all": (RemoteFile("CIFAR10DVS", "CIFAR10DVS.zip", "https://figshare.com/ndownloader/files/38023437",
                            md5="ce3a4a0682dc0943703bd8f749a7701c"),)},
        tuple(f"{c}.zip" for c in ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                                   "truck")),
        (128, 128), 10),
    "ncaltech101": TonicSource(
        "NCALTECH101",
        {"all": (RemoteFile("NCALTECH101", "N-Caltech101-archive.zip",
                            "https://data.mendeley.com/public-files/datasets/cy6cvx3ryv/files/"
                            "36b5c52a-b49d-4853-addb-a836a8883e49/file_downloaded",
                            md5="66201824eabb0239c7ab992480b50ba3"),)},
        ("Caltech101.zip",), (240, 180), 101),
}


class FrameFolder(torch.utils.data.Dataset):
    """Frames stored one ``.npy`` per recording, loaded on demand as float ``[T, 2, H, W]``;
    ``transform`` is applied per sample (e.g. :class:`FlipRoll` on a training split)."""

    def __init__(self, files: list, targets: np.ndarray, info: DatasetInfo, transform=None):
        self.files, self.targets, self.info, self.transform = list(files), np.asarray(targets), info, transform

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int):
        frames = torch.from_numpy(np.load(self.files[index]).astype(np.float32))
        if self.transform is not None:
            frames = self.transform(frames)
        return frames, int(self.targets[index])


def _unpacked(source: TonicSource, split: str, root: Path, progress: bool) -> Path:
    """Download (if needed) and unpack the archives of ``split`` where tonic reads them; returns
    tonic's ``save_to``."""
    save_to = root / "tonic"
    location = save_to / source.name
    for remote in source.archives(split):
        marker = f".{remote.filename}.unpacked"
        if not (location / marker).exists():   # checked first: no checksum of a big archive on every call
            extract(fetch(remote, save_to, progress=progress), location, marker=marker, replace=False)
    for inner in source.inner:                 # archives inside the archive (one per class)
        extract(location / inner, location, marker=f".{inner}.unpacked", replace=False)
    return save_to


def _tonic_dataset(source: TonicSource, split: str, save_to: Path):
    import tonic

    cls = getattr(tonic.datasets, source.name)
    if source.name == "DVSGesture":
        return cls(str(save_to), train=split == "train")
    if source.name == "CIFAR10DVS":
        try:
            import aedat  # noqa: F401  (tonic reads CIFAR10-DVS's AEDAT4 files with it)
        except ImportError:
            raise ImportError("CIFAR10-DVS recordings are AEDAT4 files, which tonic decodes with the 'aedat' "
                              "package: pip install aedat (or snnlib[paper])") from None
    return cls(str(save_to))


def _to_canvas(events: np.ndarray, canvas: tuple) -> np.ndarray:
    # N-Caltech101 recordings differ in size: keep what falls on the W×H canvas
    keep = (events["x"] >= 0) & (events["x"] < canvas[0]) & (events["y"] >= 0) & (events["y"] < canvas[1])
    return events[keep]


def _frames(source: TonicSource, split: str, T: int, root: Path, progress: bool) -> tuple[list, np.ndarray]:
    """Paths of the frame files and the labels of every recording of ``split`` (or of all)."""
    folder = root / "frames" / f"{source.name}_T{T}_{split}"
    marker = folder / ".complete"
    if not marker.exists():
        tonic_set = _tonic_dataset(source, split, _unpacked(source, split, root, progress))
        labels = tonic_set.targets
        if labels and isinstance(labels[0], str):  # N-Caltech101: folder names
            names = sorted(set(labels))
            labels = [names.index(label) for label in labels]
        folder.mkdir(parents=True, exist_ok=True)
        indices = progress_bar(range(len(tonic_set)), desc=f"{source.name} → {T} frames", unit="recording",
                               show=progress)
        for i in indices:
            events, _ = tonic_set[i]
            frames = frames_by_count(_to_canvas(events, source.canvas), T, (*source.canvas, 2))
            part = folder / f"{i}.part.npy"
            np.save(part, frames.astype(np.int16 if frames.max() < 2**15 else np.int32))
            os.replace(part, folder / f"{i}.npy")
        np.save(folder / "targets.npy", np.asarray(labels, dtype=np.int64))
        marker.write_text(str(len(labels)))
    targets = np.load(folder / "targets.npy")
    return [folder / f"{i}.npy" for i in range(len(targets))], targets


def _neuromorphic(key: str, split: str, T: int, root, augment: bool, progress: bool) -> FrameFolder:
    _check_split(split)
    integer("T", T)
    source = SOURCES[key]
    root = Path(root) if root is not None else cache_dir()
    if "all" in source.files:  # no official split: the papers' first 90 % of every class
        files, targets = _frames(source, "all", T, root, progress)
        train_idx, test_idx = first_fraction_split(targets, 0.9)
        idx = train_idx if split == "train" else test_idx
        files, targets = [files[i] for i in idx], targets[idx]
        how = "first 90 % of every class trains"
    else:
        files, targets = _frames(source, split, T, root, progress)
        how = "official split"
    transform = FlipRoll(shift=5, p=0.5) if augment and split == "train" else None
    width, height = source.canvas
    info = DatasetInfo(key, split, len(targets), (T, 2, height, width), source.classes,
                       f"{source.name} through tonic, {T} frames split by event count, {how}"
                       + (", flip + roll ±5 px augmentation" if transform else ""), offline=False)
    return FrameFolder(files, targets, info, transform)


def dvs_gesture(split: str = "train", T: int = 20, root=None, progress: bool = True) -> FrameFolder:
    """DVS128 Gesture as frames ``[T, 2, 128, 128]`` (official split; no augmentation, as the papers)."""
    return _neuromorphic("dvs_gesture", split, T, root, False, progress)


def cifar10_dvs(split: str = "train", T: int = 10, root=None, augment: bool = True,
                progress: bool = True) -> FrameFolder:
    """CIFAR10-DVS as frames ``[T, 2, 128, 128]``; flip + roll augmentation on ``'train'`` only."""
    return _neuromorphic("cifar10_dvs", split, T, root, augment, progress)


def ncaltech101(split: str = "train", T: int = 14, root=None, progress: bool = True) -> FrameFolder:
    """N-Caltech101 as frames ``[T, 2, 180, 240]`` (first 90 % of every class trains)."""
    return _neuromorphic("ncaltech101", split, T, root, False, progress)
