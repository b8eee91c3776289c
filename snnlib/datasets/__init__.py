"""Datasets for the chapters (introduced in chapter 2, *Data and training*).

Offline, real data: :func:`digits` and :func:`event_digits`. The papers' neuromorphic datasets
(:func:`dvs_gesture`, :func:`cifar10_dvs`, :func:`ncaltech101`, through tonic) and
:func:`fashion_mnist` and :func:`mnist` (IDX files) and :func:`celeba` (64×64 faces, chapter 6) are the
``paper`` profile's, downloaded by
:func:`fetch`: checksummed, atomic and resumable.
Nothing here touches the network unless a download is asked for.
"""
from .faces import celeba
from .download import DownloadError, RemoteFile, cache_dir, extract, fetch, file_digest, sha256sum
from .gated_events import gated_digits
from .frames import FlipRoll, first_fraction_split, frames_by_count, to_frames
from .idx import FASHION_CLASSES, fashion_mnist, mnist, read_idx
from .moving_target import moving_target
from .neuromorphic import FrameFolder, cifar10_dvs, dvs_gesture, ncaltech101
from .offline import EVENT_DTYPE, ArrayDataset, DatasetInfo, digits, event_digits

__all__ = [
    "digits", "event_digits", "ArrayDataset", "DatasetInfo", "EVENT_DTYPE",
    "RemoteFile", "DownloadError", "fetch", "extract", "cache_dir", "file_digest", "sha256sum", "read_idx",
    "frames_by_count", "FlipRoll", "first_fraction_split", "to_frames",
    "dvs_gesture", "cifar10_dvs", "ncaltech101", "FrameFolder", "fashion_mnist", "mnist", "FASHION_CLASSES",
    "celeba", "moving_target", "gated_digits",
]
