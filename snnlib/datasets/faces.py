"""CelebA faces at 64×64, prepared as FSVAE prepares them (chapter 6, ``paper`` profile).

The aligned-and-cropped images (``img_align_celeba.zip``, 202,599 JPEGs of 178×218) and the
official train/valid/test partition are downloaded from the publisher's Google Drive by
:func:`~snnlib.datasets.fetch` (md5 as torchvision checks them; atomic and resumable). Each
image is centre-cropped to 148×148 and resized to ``size``×``size`` with bilinear filtering —
torchvision's ``CenterCrop(148)`` and ``Resize`` on PIL images, FSVAE's CelebA pipeline without
its random flip, which belongs to training (``fit_vae(hflip=True)``). The result is stored once
per split and size as a ``uint8`` ``.npy`` of ``[n, 3, size, size]`` (written to ``.part`` and
renamed when complete), read straight from the zip without unpacking it.

Google Drive limits how often a large file can be downloaded per day; when it refuses, the
error says so and names where to put a copy downloaded by hand.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from ..progress import progress_bar
from .download import RemoteFile, fetch
from .offline import ArrayDataset, DatasetInfo

GDRIVE_URL = "https://drive.usercontent.google.com/download?id={}&export=download&confirm=t"
# (Google Drive id, md5) of the publisher's files, as torchvision's CelebA lists them.
CELEBA_FILES = {
    "img_align_celeba.zip": ("0B7EVK8r0v71pZjFTYXZWM3FlRnM", "00d2c5bc6d35e252742224ab0c1e8fcb"),
    "list_eval_partition.txt": ("0B7EVK8r0v71pY0NSMzRuSXJEVkk", "d32c9cbf5e040fd4025c592c306e6668"),
}
PARTITIONS = {"train": 0, "valid": 1, "test": 2}
CROP = 148  # FSVAE's centre crop, which keeps the face and drops most of the background


def _remote(filename: str) -> RemoteFile:
    file_id, md5 = CELEBA_FILES[filename]
    return RemoteFile("celeba", filename, GDRIVE_URL.format(file_id), md5=md5)


def read_partition(path: str | Path) -> dict[str, list[str]]:
    """The image names of each split from ``list_eval_partition.txt`` (lines ``000001.jpg 0``)."""
    names = {split: [] for split in PARTITIONS}
    code_to_split = {code: split for split, code in PARTITIONS.items()}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            raise ValueError(f"{path}, line {number}: expected '<image>.jpg <0|1|2>'; got {line!r}")
        names[code_to_split[int(parts[1])]].append(parts[0])
    return names


def face_crop(image, size: int = 64) -> np.ndarray:
    """A PIL image → ``uint8`` ``[3, size, size]``: centre crop 148×148 (torchvision's rounding),
    then a bilinear resize."""
    from PIL import Image

    w, h = image.size
    if w < CROP or h < CROP:
        raise ValueError(f"CelebA images are 178×218; got one of {w}×{h}, smaller than the {CROP}×{CROP} crop")
    left, top = int(round((w - CROP) / 2.0)), int(round((h - CROP) / 2.0))
    face = image.convert("RGB").crop((left, top, left + CROP, top + CROP))
    return np.asarray(face.resize((size, size), Image.BILINEAR)).transpose(2, 0, 1)


def _prepare(archive: Path, names: list[str], out: Path, size: int, progress: bool) -> None:
    """Decode, crop and resize ``names`` from ``archive`` into the ``.npy`` file ``out`` (atomically)."""
    from PIL import Image

    part = out.with_name(out.name + ".part")
    array = np.lib.format.open_memmap(part, mode="w+", dtype=np.uint8, shape=(len(names), 3, size, size))
    bar = progress_bar(total=len(names), desc=f"celeba: {out.name}", unit="img", mininterval=1.0, show=progress)
    try:
        with zipfile.ZipFile(archive) as zf:
            members = {Path(m).name: m for m in zf.namelist() if m.endswith(".jpg")}
            missing = [n for n in names if n not in members]
            if missing:
                raise ValueError(f"{archive} lacks {len(missing)} images of the partition, e.g. {missing[:3]}")
            for i, name in enumerate(names):
                try:
                    with zf.open(members[name]) as f, Image.open(f) as image:
                        array[i] = face_crop(image, size)
                except (OSError, ValueError, zipfile.BadZipFile) as exc:
                    raise ValueError(f"{archive}: {name} could not be decoded ({exc}); delete the archive "
                                     "and download it again") from exc
                bar.update(1)
        array.flush()
        del array
        os.replace(part, out)  # the name appears only when every image is in
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    finally:
        bar.close()


def celeba(split: str = "train", size: int = 64, root=None, progress: bool = True) -> ArrayDataset:
    """CelebA's official ``split`` ('train' 162,770 / 'valid' 19,867 / 'test' 19,962 images) as
    ``uint8`` images ``[3, size, size]`` (0–255; :func:`snnlib.vae.fit_vae` takes them as they are).

    Unlabelled for this book: targets are -1. Needs Pillow (the ``paper`` extra). The first call
    downloads 1.4 GB and decodes every image of the split once (a few minutes, with a progress
    bar); later calls read the stored array.
    """
    if split not in PARTITIONS:
        raise ValueError(f"split must be one of {tuple(PARTITIONS)}; got {split!r}")
    if isinstance(size, bool) or not isinstance(size, int) or not 8 <= size <= CROP:
        raise ValueError(f"size must be an int between 8 and {CROP}; got {size!r}")
    try:
        import PIL  # noqa: F401
    except ImportError:
        raise ImportError("celeba() decodes JPEGs with Pillow: pip install pillow "
                          "(or the paper extra: pip install 'snnlib[paper]')") from None
    partition = fetch(_remote("list_eval_partition.txt"), root, progress=progress)
    names = read_partition(partition)[split]
    out = partition.with_name(f"{split}_{size}x{size}.npy")
    if not out.exists():
        archive = fetch(_remote("img_align_celeba.zip"), root, progress=progress)
        _prepare(archive, names, out, size, progress)
    images = np.load(out)
    if images.shape != (len(names), 3, size, size):
        out.unlink()
        raise ValueError(f"{out} holds {list(images.shape)}, expected {[len(names), 3, size, size]}; "
                         "removed it, call again to rebuild it")
    import torch

    info = DatasetInfo("celeba", split, len(names), (3, size, size), 0,
                       f"CelebA aligned faces, centre crop {CROP}, resized to {size}×{size}", offline=False)
    return ArrayDataset(torch.from_numpy(images), np.full(len(names), -1, dtype=np.int64), info, names=names)
