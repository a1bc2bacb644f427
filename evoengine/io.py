"""Writing files safely: whole or not at all.

:func:`write_atomic` writes to a temporary name, fsyncs and renames, so a crash never leaves
half a file; :func:`png_bytes` encodes a picture without a plotting library (deterministic
bytes: the same picture gives the same file on every machine).
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def png_bytes(image: np.ndarray) -> bytes:
    """A PNG of ``image``: ``H x W`` (grey), ``H x W x 3`` (RGB) or ``H x W x 4`` (RGBA),
    floats in [0, 1] (clipped; NaN is black) or 8-bit integers."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ValueError(f"an image is H x W, H x W x 3 or H x W x 4; got shape {image.shape}")
    if image.dtype != np.uint8:
        values = np.nan_to_num(image.astype(float), nan=0.0)
        image = np.rint(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8)
    height, width = image.shape[:2]
    channels = 1 if image.ndim == 2 else image.shape[2]
    colour = {1: 0, 3: 2, 4: 6}[channels]  # PNG colour types: grey, RGB, RGBA
    rows = image.reshape(height, -1)
    raw = b"".join(b"\x00" + rows[r].tobytes() for r in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
