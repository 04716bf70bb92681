"""Loading a split into NumPy arrays: upright float images and class indices.

Example:
    >>> from emnist_tf.data import load_arrays
    >>> images, labels = load_arrays("balanced", "test", limit=1000, seed=0)
    >>> images.shape, images.dtype, labels.max() < 47
    ((1000, 28, 28, 1), dtype('float32'), True)
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from emnist_tf.data import sampling, sources
from emnist_tf.data.splits import class_names, split_info, to_class_indices


def upright_images(stored: np.ndarray) -> np.ndarray:
    """Turns images as EMNIST stores them (transposed uint8) into upright float32 (N, 28, 28, 1) in [0, 1].

    This is the one place where the orientation is fixed.
    """
    upright = np.transpose(stored, (0, 2, 1))
    return (upright[..., np.newaxis].astype(np.float32)) / np.float32(255.0)


def choose_indices(labels: np.ndarray, *, limit: int | None, per_class: int | None, seed: int) -> np.ndarray | None:
    """Indices to keep after ``per_class`` then ``limit`` (None keeps all)."""
    keep = None
    if per_class is not None:
        keep = sampling.per_class_subsample(labels, per_class, seed=seed)
    if limit is not None:
        pool = np.arange(len(labels)) if keep is None else keep
        keep = pool[sampling.stratified_subsample(labels[pool], limit, seed=seed)]
    return keep


def load_arrays(
    split: str = "balanced",
    subset: str = "train",
    *,
    data_dir: str | os.PathLike | None = None,
    limit: int | None = None,
    per_class: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Loads one subset of an EMNIST split.

    Args:
        split: one of ``balanced, byclass, bymerge, letters, digits, mnist``.
        subset: ``"train"`` or ``"test"``.
        data_dir: a folder of NIST's gzip files or their gzip.zip; defaults to
            ``EMNIST_TF_DATA``, then tensorflow-datasets.
        limit: keep a stratified, seeded subsample of this many images.
        per_class: keep at most this many images of each class.
        seed: seed of the subsampling.

    Returns:
        ``(images, labels)``: float32 images (N, 28, 28, 1) in [0, 1], upright,
        and int64 class indices 0..C-1 (see :func:`class_names`). Exactly what the
        arguments ask for: fast mode is decided by the caller (``config.cap``).

    Raises:
        DataError: for an unknown split, a missing, corrupt or mismatched file.
    """
    raw, labels = _read_subset(split, subset, data_dir)
    keep = choose_indices(labels, limit=limit, per_class=per_class, seed=seed)
    if keep is None:
        return upright_images(raw.images), labels
    return upright_images(raw.images[keep]), labels[keep]


def _read_subset(split, subset, data_dir):
    """The raw subset as stored, with its labels turned into class indices (checked)."""
    raw = sources.read_raw_subset(split, subset, data_dir)
    return raw, to_class_indices(raw.raw_labels, split, f"{split} {subset} labels from {raw.source}")


def load_labels(split: str = "balanced", subset: str = "train", *, data_dir=None) -> np.ndarray:
    """The class indices of every image of one subset (no images are converted).

    Raises:
        DataError: as :func:`load_arrays`.
    """
    return _read_subset(split, subset, data_dir)[1]


@dataclasses.dataclass
class EmnistData:
    """Both subsets of a split, ready for Keras.

    Attributes:
        split: the split's name.
        class_names: characters of each class index.
        train_images, train_labels, test_images, test_labels: as :func:`load_arrays` returns them.
    """

    split: str
    class_names: list[str]
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray

    @property
    def num_classes(self) -> int:
        """Number of classes of the split."""
        return len(self.class_names)


def load_emnist(
    split: str = "balanced",
    *,
    data_dir: str | os.PathLike | None = None,
    train_limit: int | None = None,
    test_limit: int | None = None,
    seed: int = 0,
) -> EmnistData:
    """Loads the train and test subsets of ``split`` with its class names.

    Example:
        >>> data = load_emnist("digits", train_limit=5000)
        >>> data.num_classes
        10
    """
    train_images, train_labels = load_arrays(split, "train", data_dir=data_dir, limit=train_limit, seed=seed)
    test_images, test_labels = load_arrays(split, "test", data_dir=data_dir, limit=test_limit, seed=seed)
    return EmnistData(split, class_names(split), train_images, train_labels, test_images, test_labels)


def describe_split(split: str, data_dir: str | os.PathLike | None = None) -> dict:
    """Reports, for train and test, the image count, classes, source and provenance of each file.

    Nothing is subsampled: counts are what the files hold (checked against their length).
    """
    info = split_info(split)
    report = {
        "split": split,
        "num_classes": info.num_classes,
        "official_sizes": {"train": info.train_size, "test": info.test_size},
    }
    for subset in ("train", "test"):
        raw, labels = _read_subset(split, subset, data_dir)
        report[subset] = {
            "images": int(len(labels)),
            "classes_present": int(np.unique(labels).size),
            "source": raw.source,
            "files": dict(raw.provenance),
        }
    location, named_by = sources.resolve_data_dir(data_dir)
    if location is not None:
        report["mapping"] = sources.local_mapping_provenance(location, split, named_by)
    return report
