"""The local source on the real EMNIST files: counts, provenance, orientation, mapping, zip."""

from __future__ import annotations

import shutil
import zipfile

import numpy as np
import pytest

from emnist_tf import config
from emnist_tf.data import SPLITS, class_names, describe_split, load_arrays, load_labels, split_info
from emnist_tf.data.sources import read_local_subset


def test_six_splits_with_official_sizes_and_classes():
    expected = {
        "balanced": (47, 112_800, 18_800),
        "byclass": (62, 697_932, 116_323),
        "bymerge": (47, 697_932, 116_323),
        "letters": (26, 124_800, 20_800),
        "digits": (10, 240_000, 40_000),
        "mnist": (10, 60_000, 10_000),
    }
    assert {name: (info.num_classes, info.train_size, info.test_size) for name, info in SPLITS.items()} == expected
    for name in SPLITS:
        assert len(class_names(name)) == split_info(name).num_classes


def test_mapping_gives_characters():
    balanced = class_names("balanced")
    assert balanced[:10] == list("0123456789") and balanced[10] == "A" and balanced[36] == "a"
    assert "c" not in balanced  # merged into C in balanced
    assert class_names("letters")[0] == "Aa" and class_names("letters")[25] == "Zz"
    assert class_names("byclass")[61] == "z"


def test_balanced_info_reports_counts_and_not_official(emnist_dir):
    report = describe_split("balanced", emnist_dir)
    assert report["train"]["images"] == 94_507 and report["test"]["images"] == 9_424
    assert report["num_classes"] == 47 and report["train"]["classes_present"] == 47
    origins = list(report["train"]["files"].values()) + list(report["test"]["files"].values())
    assert origins and all(origin == "not the official NIST file" for origin in origins)


def test_mnist_test_files_are_official(emnist_dir):
    report = describe_split("mnist", emnist_dir)
    assert set(report["test"]["files"].values()) == {"official"}
    assert set(report["train"]["files"].values()) == {"not the official NIST file"}
    assert report["mapping"] == {"emnist-mnist-mapping.txt": "official"}


def test_arrays_are_upright_float_in_unit_range(emnist_dir):
    images, labels = load_arrays("balanced", "test", data_dir=emnist_dir)
    assert images.shape == (9_424, 28, 28, 1) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0 and images.max() > 0.9
    assert labels.dtype == np.int64 and labels.min() == 0 and labels.max() == 46


def _mean_image(images, labels, character, split="balanced"):
    return images[labels == class_names(split).index(character), :, :, 0].mean(axis=0)


def test_known_characters_read_upright(emnist_dir):
    images, labels = load_arrays("balanced", "test", data_dir=emnist_dir)
    letter_l = _mean_image(images, labels, "L")
    # An upright L: ink along the bottom and down the left side.
    assert letter_l[19:].sum() > letter_l[:9].sum()
    assert letter_l[:, :14].sum() > letter_l[:, 14:].sum()
    seven = _mean_image(images, labels, "7")
    # An upright 7: its bar is at the top.
    assert seven[:9].sum() > seven[19:].sum()


def test_letters_labels_are_shifted_to_start_at_zero(emnist_dir):
    _, labels = load_arrays("letters", "test", data_dir=emnist_dir)
    assert labels.min() == 0 and labels.max() == 25
    raw = read_local_subset(emnist_dir, "letters", "test")
    assert raw.raw_labels.min() == 1 and np.array_equal(np.sort(np.unique(raw.raw_labels)) - 1, np.unique(labels))


def test_environment_variable_is_the_default_source(emnist_dir, monkeypatch):
    monkeypatch.setenv("EMNIST_TF_DATA", str(emnist_dir))
    from_env = load_arrays("digits", "test", limit=200)
    from_argument = load_arrays("digits", "test", data_dir=emnist_dir, limit=200)
    assert np.array_equal(from_env[0], from_argument[0]) and np.array_equal(from_env[1], from_argument[1])


def test_nist_gzip_zip_is_accepted(emnist_dir, tmp_path):
    zip_path = tmp_path / "gzip.zip"
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_STORED) as archive:
        for subset in ("test",):
            for kind in ("images-idx3", "labels-idx1"):
                name = f"emnist-mnist-{subset}-{kind}-ubyte.gz"
                archive.write(emnist_dir / name, f"gzip/{name}")
    expected = load_arrays("mnist", "test", data_dir=emnist_dir)
    for location in (zip_path, tmp_path):
        images, labels = load_arrays("mnist", "test", data_dir=location)
        assert np.array_equal(images, expected[0]) and np.array_equal(labels, expected[1])
    assert set(read_local_subset(zip_path, "mnist", "test").provenance.values()) == {"official"}


def test_files_in_a_gzip_subfolder_are_found(emnist_dir, tmp_path):
    (tmp_path / "gzip").mkdir()
    for kind in ("images-idx3", "labels-idx1"):
        shutil.copy(emnist_dir / f"emnist-mnist-test-{kind}-ubyte.gz", tmp_path / "gzip")
    images, _ = load_arrays("mnist", "test", data_dir=tmp_path, limit=50)
    assert images.shape == (50, 28, 28, 1)


@pytest.mark.parametrize("split", ["balanced", "letters", "digits", "mnist"])
def test_fast_mode_limit_keeps_every_class(emnist_dir, split):
    images, labels = load_arrays(split, "train", data_dir=emnist_dir, limit=config.cap(None, "train_examples"))
    assert len(images) == 3000
    assert np.unique(labels).size == split_info(split).num_classes


def test_load_arrays_ignores_fast_mode(emnist_dir):
    assert config.fast_mode()  # conftest turns it on for every test
    _, labels = load_arrays("mnist", "test", data_dir=emnist_dir)
    assert len(labels) == split_info("mnist").test_size == len(load_labels("mnist", "test", data_dir=emnist_dir))
