"""Helpers for data tests: write small IDX gzip files in NIST's format."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX encoding of a uint8 array (magic 0x0000080N, big-endian sizes, data)."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 8, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + array.tobytes()


def write_subset(folder: Path, split: str, subset: str, stored_images: np.ndarray, raw_labels: np.ndarray) -> None:
    """Writes NIST-style image and label files of one subset into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"emnist-{split}-{subset}"
    Path(f"{stem}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(stored_images)))
    Path(f"{stem}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(raw_labels)))
