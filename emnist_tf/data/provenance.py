"""Is a local file NIST's own? sha256 against NIST's published checksums.

Rebuilt or re-exported EMNIST files can hold real images and still differ from
the official split (fewer images, another test set). Reporting provenance keeps
anybody from comparing such a run with published figures unknowingly.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import resources

OFFICIAL = "official"
NOT_OFFICIAL = "not the official NIST file"


@functools.cache
def nist_checksums() -> dict[str, str]:
    """Returns NIST's sha256 of each of the 30 files in EMNIST's gzip.zip, by file name."""
    text = resources.files("emnist_tf.data").joinpath("resources", "NIST_SHA256SUMS").read_text()
    checksums = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and not line.startswith("#"):
            checksums[fields[1]] = fields[0]
    return checksums


def sha256(payload: bytes) -> str:
    """Returns the hex sha256 of ``payload``."""
    return hashlib.sha256(payload).hexdigest()


@functools.cache
def _packaged_sha256(file_name: str) -> str | None:
    resource = resources.files("emnist_tf.data").joinpath("resources", file_name)
    return sha256(resource.read_bytes()) if resource.is_file() else None


def provenance(file_name: str, payload: bytes) -> str:
    """Returns ``"official"`` if ``payload`` is NIST's file of that name, else ``"not the official NIST file"``."""
    return provenance_of_digest(file_name, sha256(payload))


def provenance_of_digest(file_name: str, digest: str) -> str:
    """Like :func:`provenance`, for a file whose sha256 ``digest`` is already known.

    Gzip files are checked against ``NIST_SHA256SUMS``; mapping files, which that
    list does not cover, against the copies of NIST's mappings in this package.
    """
    known = nist_checksums().get(file_name) or _packaged_sha256(file_name)
    return OFFICIAL if digest == known else NOT_OFFICIAL
