"""The IDX file format of MNIST and Fashion-MNIST, read with numpy (chapter 2).

An IDX file is a big-endian header — two zero bytes, a type code, the number of dimensions —
then one 4-byte size per dimension and the data. ``.gz`` files are decompressed on the fly.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in an IDX file (``.gz`` or plain), e.g. images ``[n, 28, 28]`` uint8.

    Raises:
        ValueError: for a file that is not IDX, or whose length does not match its header.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _TYPES:
        raise ValueError(f"{path} is not an IDX file (expected bytes 00 00 <type> <ndim>; got {raw[:4].hex(' ')})")
    dtype, ndim = np.dtype(_TYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"{path}: header says {list(shape)} of {dtype} ({expected} bytes in all); "
                         f"the file has {len(raw)} bytes (truncated or corrupt)")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


FASHION_URL = "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion"
# The official MD5 sums of Zalando's README (the only checksums the publisher lists).
FASHION_FILES = {
    "train": (("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
              ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe")),
    "test": (("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
             ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310")),
}
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")
# LeCun's files, from the mirror torchvision uses, with the MD5 sums torchvision checks.
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist"
MNIST_FILES = {
    "train": (("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
              ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432")),
    "test": (("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
             ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c")),
}


def _idx_dataset(name: str, url: str, files: dict, classes: tuple, source: str, split: str, root, progress: bool):
    import torch

    from .download import RemoteFile, fetch
    from .offline import ArrayDataset, DatasetInfo, _check_split

    _check_split(split)
    paths = [fetch(RemoteFile(name, filename, f"{url}/{filename}", md5=md5), root, progress=progress)
             for filename, md5 in files[split]]
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise ValueError(f"{name}: {paths[0].name} holds {list(images.shape)} and {paths[1].name} "
                         f"{list(labels.shape)}; expected [n, 28, 28] images and n labels")
    x = torch.from_numpy(images.astype(np.float32) / 255.0)[:, None]
    info = DatasetInfo(name, split, len(labels), (1, 28, 28), 10, source, offline=False)
    return ArrayDataset(x, labels.astype(np.int64), info, classes=classes)


def fashion_mnist(split: str = "train", root=None, progress: bool = True):
    """Fashion-MNIST from its official IDX files (no torchvision): float images ``[1, 28, 28]`` in
    [0, 1] and labels 0–9 (:data:`FASHION_CLASSES`); 60,000 train / 10,000 test.

    The four ``.gz`` files are downloaded on first use by :func:`snnlib.datasets.fetch` (checked
    against the official MD5 sums, written atomically) into ``cache_dir()/fashion_mnist/``.
    """
    return _idx_dataset("fashion_mnist", FASHION_URL, FASHION_FILES, FASHION_CLASSES,
                        "Zalando's Fashion-MNIST, official IDX files", split, root, progress)


def mnist(split: str = "train", root=None, progress: bool = True):
    """MNIST from its IDX files, as :func:`fashion_mnist` (``cache_dir()/mnist/``); 60,000 / 10,000."""
    return _idx_dataset("mnist", MNIST_URL, MNIST_FILES, tuple(str(d) for d in range(10)),
                        "LeCun et al.'s MNIST, IDX files", split, root, progress)
