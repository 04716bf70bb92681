"""Where EMNIST comes from: a local folder or NIST's gzip.zip, else tensorflow-datasets.

Sources are tried in this order:

1. the ``data_dir`` argument (``--data-dir`` on the command line);
2. the folder named by the ``EMNIST_TF_DATA`` environment variable;
3. tensorflow-datasets, which downloads NIST's ``gzip.zip`` on first use.

A local source is a folder holding NIST's gzip IDX files
(``emnist-<split>-<train|test>-<images-idx3|labels-idx1>-ubyte.gz``), directly or in
a ``gzip/`` subfolder, or NIST's ``gzip.zip`` itself (the path of the zip, or a
folder that holds it). Every source yields the images exactly as stored
(transposed, uint8) and the raw labels; :mod:`emnist_tf.data.loading` turns them
into upright float images and class indices in one place.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np

from emnist_tf import config
from emnist_tf.data import idx, provenance
from emnist_tf.data.splits import check_subset, split_info
from emnist_tf.errors import DataError, DataNotFoundError

TFDS_SOURCE = "tensorflow-datasets"
SOURCES_HELP = (
    "EMNIST is looked for in (1) the data_dir argument, "
    f"(2) the folder in {config.DATA_ENV}, (3) tensorflow-datasets (needs internet); "
    "put NIST's emnist-*.gz files or gzip.zip in a folder and name it there"
)


@dataclasses.dataclass(frozen=True)
class RawSubset:
    """One subset (train or test) of a split exactly as its source stores it.

    Attributes:
        images: uint8 array (N, 28, 28), transposed as in every EMNIST file.
        raw_labels: integer labels as stored (letters: 1..26).
        source: the folder or zip it came from, or ``"tensorflow-datasets"``.
        provenance: file name -> ``"official"`` or ``"not the official NIST file"``.
    """

    images: np.ndarray
    raw_labels: np.ndarray
    source: str
    provenance: dict[str, str]


def file_names(split: str, subset: str) -> tuple[str, str]:
    """NIST's image and label file names of a split's subset."""
    split_info(split)
    check_subset(subset)
    stem = f"emnist-{split}-{subset}"
    return f"{stem}-images-idx3-ubyte.gz", f"{stem}-labels-idx1-ubyte.gz"


def resolve_data_dir(data_dir: str | os.PathLike | None) -> tuple[Path | None, str]:
    """Returns the local source to use and where it was named, or ``(None, "")`` for tfds."""
    if data_dir:
        return Path(data_dir).expanduser(), "data_dir"
    if os.environ.get(config.DATA_ENV):
        return Path(os.environ[config.DATA_ENV]).expanduser(), config.DATA_ENV
    return None, ""


class _LocalArchive:
    """A folder (optionally with a gzip/ subfolder) or NIST's gzip.zip."""

    def __init__(self, location: Path, named_by: str):
        self.location = location
        self.named_by = named_by
        if not location.exists():
            raise DataNotFoundError(f"EMNIST data location {location} (from {named_by}) does not exist; {SOURCES_HELP}")
        zip_path = location if location.is_file() else location / "gzip.zip"
        self.zip_path = zip_path if zip_path.is_file() and not self._folder_has_gz() else None
        if location.is_file() and self.zip_path is None:
            raise DataError(f"{location} (from {named_by}) is a file but not NIST's gzip.zip; {SOURCES_HELP}")

    def _folder_has_gz(self) -> bool:
        return self.location.is_dir() and any(self.location.glob("emnist-*.gz")) or (self.location / "gzip").is_dir()

    def read(self, name: str) -> bytes:
        """Returns the bytes of NIST file ``name``; DataNotFoundError names what is missing."""
        if self.zip_path is not None:
            return self._read_from_zip(name)
        for candidate in (self.location / name, self.location / "gzip" / name):
            if candidate.is_file():
                return candidate.read_bytes()
        raise DataNotFoundError(f"{name} is missing from {self.location} (from {self.named_by}); {SOURCES_HELP}")

    def _read_from_zip(self, name: str) -> bytes:
        try:
            with zipfile.ZipFile(self.zip_path) as archive:
                members = {Path(member).name: member for member in archive.namelist()}
                if name not in members:
                    raise DataNotFoundError(
                        f"{name} is missing from {self.zip_path} (from {self.named_by}); {SOURCES_HELP}"
                    )
                return archive.read(members[name])
        except zipfile.BadZipFile as error:
            raise DataError(
                f"{self.zip_path} is not a valid zip file ({error}); download NIST's gzip.zip again"
            ) from None

    def __str__(self) -> str:
        return str((self.zip_path or self.location).resolve())


_DECODED: dict[tuple[str, str], np.ndarray] = {}
_DECODED_MAX = 12


def _read_idx(archive: _LocalArchive, name: str, dimensions: int) -> tuple[np.ndarray, str]:
    """Reads, checks and decodes one IDX file; decoded arrays are kept by content hash."""
    payload = archive.read(name)
    digest = provenance.sha256(payload)
    origin = provenance.provenance_of_digest(name, digest)
    key = (name, digest)
    if key not in _DECODED:
        array = idx.parse_idx(idx.gunzip(payload, name), name, dimensions)
        array.flags.writeable = False
        if len(_DECODED) >= _DECODED_MAX:
            _DECODED.pop(next(iter(_DECODED)))
        _DECODED[key] = array
    return _DECODED[key], origin


def read_local_subset(location: Path, split: str, subset: str, named_by: str = "data_dir") -> RawSubset:
    """Reads one subset from a local folder or gzip.zip, checking every header and length."""
    image_name, label_name = file_names(split, subset)
    archive = _LocalArchive(location, named_by)
    images, image_origin = _read_idx(archive, image_name, 3)
    labels, label_origin = _read_idx(archive, label_name, 1)
    if images.shape[1:] != (28, 28):
        raise DataError(f"{image_name} holds images of shape {images.shape[1:]}, expected (28, 28); {SOURCES_HELP}")
    if len(images) != len(labels):
        raise DataError(
            f"{image_name} has {len(images)} images but {label_name} has {len(labels)} labels; "
            "the two files do not belong together"
        )
    return RawSubset(images, labels, str(archive), {image_name: image_origin, label_name: label_origin})


def local_mapping_provenance(location: Path, split: str, named_by: str = "data_dir") -> dict[str, str]:
    """Provenance of the split's mapping file in a local source ({} if it has none)."""
    name = f"emnist-{split}-mapping.txt"
    try:
        return {name: provenance.provenance(name, _LocalArchive(location, named_by).read(name))}
    except DataNotFoundError:
        return {}


def _tfds_data_dir() -> Path:
    return Path(os.environ.get("TFDS_DATA_DIR") or Path.home() / "tensorflow_datasets")


def _download_areas(root: Path) -> tuple[Path, Path]:
    """The folders under tfds's data dir that an EMNIST download writes to."""
    return root / "emnist", root / "downloads"


def _snapshot(root: Path) -> set[Path]:
    """Every path that exists now in the download areas."""
    return {path for parent in _download_areas(root) if parent.is_dir() for path in parent.rglob("*")}


def _remove_new_incomplete(root: Path, before: set[Path]) -> None:
    """Removes what a failed tfds download left half-written under ``root``."""
    for parent in _download_areas(root):
        for path in parent.rglob("*") if parent.is_dir() else ():
            partial = "incomplete" in path.name or path.name.endswith(".tmp") or path.name.startswith("tmp")
            if partial and path not in before and path.exists():
                shutil.rmtree(path) if path.is_dir() else path.unlink()


def read_tfds_subset(split: str, subset: str) -> RawSubset:
    """Reads one subset through tensorflow-datasets (downloads NIST's gzip.zip on first use)."""
    split_info(split)
    check_subset(subset)
    import tensorflow_datasets as tfds

    root = _tfds_data_dir()
    before = _snapshot(root)
    try:
        dataset = tfds.load(f"emnist/{split}", split=subset, as_supervised=True)
        batches = list(tfds.as_numpy(dataset.batch(8192)))
    except Exception as error:  # tfds raises many kinds when it cannot download
        _remove_new_incomplete(root, before)
        reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise DataNotFoundError(
            f"tensorflow-datasets could not provide emnist/{split} ({reason}); without internet set "
            f"{config.DATA_ENV} to a folder with NIST's emnist-*.gz files or gzip.zip, or pass data_dir"
        ) from None
    images = np.concatenate([batch_images for batch_images, _ in batches]).astype(np.uint8).reshape(-1, 28, 28)
    labels = np.concatenate([batch_labels for _, batch_labels in batches])
    return RawSubset(images, labels, TFDS_SOURCE, {f"emnist/{split} {subset}": "official (tfds)"})


def read_raw_subset(split: str, subset: str, data_dir: str | os.PathLike | None = None) -> RawSubset:
    """Reads one subset from the first source that is named: data_dir, EMNIST_TF_DATA, tfds."""
    location, named_by = resolve_data_dir(data_dir)
    if location is None:
        return read_tfds_subset(split, subset)
    return read_local_subset(location, split, subset, named_by)
