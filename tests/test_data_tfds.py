"""The tensorflow-datasets source, offline, with tfds's own mock_data."""

from __future__ import annotations

import numpy as np
import pytest

from emnist_tf.data import load_arrays
from emnist_tf.data.sources import read_local_subset
from emnist_tf.errors import DataNotFoundError

tfds = pytest.importorskip("tensorflow_datasets")


@pytest.fixture
def no_local_source(monkeypatch, tmp_path):
    monkeypatch.delenv("EMNIST_TF_DATA", raising=False)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    return tmp_path / "tfds"


def test_mock_data_has_the_local_shapes_dtypes_and_label_range(no_local_source, emnist_dir):
    with tfds.testing.mock_data(num_examples=64):
        images, labels = load_arrays("balanced", "train")
    local_images, local_labels = load_arrays("balanced", "train", data_dir=emnist_dir, limit=64)
    assert images.shape == local_images.shape == (64, 28, 28, 1)
    assert images.dtype == local_images.dtype == np.float32
    assert labels.dtype == local_labels.dtype == np.int64
    assert labels.min() >= 0 and labels.max() < 47 and images.min() >= 0.0 and images.max() <= 1.0


def test_tfds_path_orients_and_labels_like_the_local_path(no_local_source, emnist_dir):
    """tfds stores EMNIST as NIST does (transposed, raw labels): feed it real stored images."""
    import tensorflow as tf

    raw = read_local_subset(emnist_dir, "letters", "test")
    stored, raw_labels = raw.images[:100], raw.raw_labels[:100].astype(np.int64)

    def as_dataset(self, *args, **kwargs):
        return tf.data.Dataset.from_tensor_slices({"image": stored[..., np.newaxis], "label": raw_labels})

    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        images, labels = load_arrays("letters", "test")
    local_images, local_labels = load_arrays("letters", "test", data_dir=emnist_dir)
    assert np.array_equal(images, local_images[:100]) and np.array_equal(labels, local_labels[:100])
    assert labels.min() >= 0 and labels.max() <= 25


def test_download_failure_says_what_to_do_and_leaves_nothing_half_written(no_local_source, monkeypatch):
    partial = no_local_source / "emnist" / "balanced" / "3.1.0.incomplete7Q2X"

    def failing_load(*args, **kwargs):
        partial.mkdir(parents=True)
        (partial / "emnist-train.tfrecord-00000-of-00001").write_bytes(b"half")
        raise ConnectionError("Failed to establish a new connection: [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(tfds, "load", failing_load)
    with pytest.raises(DataNotFoundError) as error:
        load_arrays("balanced", "train")
    message = str(error.value)
    assert "\n" not in message and "EMNIST_TF_DATA" in message and "emnist/balanced" in message
    assert not partial.exists()
