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
