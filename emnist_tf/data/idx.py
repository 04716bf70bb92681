"""Reading NIST's IDX format (the MNIST/EMNIST file format) safely.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian 32-bit size per dimension, then the data. Sizes are
taken from the header and checked against the file's real length, never assumed.
"""

from __future__ import annotations

import gzip
import zlib

import numpy as np

from emnist_tf.errors import DataError

_UNSIGNED_BYTE = 0x08
_FIX = "download it again, or point EMNIST_TF_DATA at a folder with NIST's files"


def gunzip(payload: bytes, name: str) -> bytes:
    """Decompresses a gzip file's bytes, turning corruption into a one-line DataError."""
    try:
        return gzip.decompress(payload)
    except (gzip.BadGzipFile, EOFError, zlib.error, OSError) as error:
        raise DataError(f"{name} is not a valid gzip file ({error}): it is truncated or corrupt; {_FIX}") from None


def parse_idx(raw: bytes, name: str, dimensions: int) -> np.ndarray:
    """Parses uncompressed IDX bytes of unsigned bytes into an array.

    Args:
        raw: the uncompressed file content.
        name: the file name, for error messages.
        dimensions: 3 for an image file, 1 for a label file.

    Returns:
        A read-only uint8 array of the header's shape.

    Raises:
        DataError: on a wrong magic number, a wrong number of dimensions or a
            header whose sizes do not match the file's length.
    """
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != _UNSIGNED_BYTE:
        magic = raw[:4].hex() or "empty file"
        raise DataError(
            f"{name} has the wrong IDX magic number ({magic}, expected 000008{dimensions:02x}): "
            f"it is not an EMNIST {'image' if dimensions == 3 else 'label'} file; {_FIX}"
        )
    if raw[3] != dimensions:
        raise DataError(
            f"{name} has {raw[3]} dimensions, expected {dimensions}: "
            f"an {'image' if dimensions == 3 else 'label'} file was expected here; {_FIX}"
        )
    header_length = 4 + 4 * dimensions
    if len(raw) < header_length:
        raise DataError(f"{name} ends inside its IDX header ({len(raw)} bytes); {_FIX}")
    shape = tuple(int(size) for size in np.frombuffer(raw, dtype=">u4", count=dimensions, offset=4))
    expected = header_length + int(np.prod(shape))
    if expected != len(raw):
        raise DataError(
            f"{name}: header says {shape[0]} items of shape {shape[1:]} ({expected} bytes) "
            f"but the file holds {len(raw)} bytes; it is truncated or corrupt; {_FIX}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_length).reshape(shape)
