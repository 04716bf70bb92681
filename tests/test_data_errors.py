"""Every bad input gives one line that names the file and what to do."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from data_files import idx_bytes, write_subset

from emnist_tf.data import load_arrays, split_info
from emnist_tf.errors import DataError, DataNotFoundError

RNG = np.random.default_rng(0)


def _valid_folder(folder: Path, labels=None) -> Path:
    labels = np.arange(20) % 10 if labels is None else labels
    write_subset(folder, "digits", "test", RNG.integers(0, 256, (len(labels), 28, 28)), labels)
    return folder


def _one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def test_valid_small_folder_loads(tmp_path):
    images, labels = load_arrays("digits", "test", data_dir=_valid_folder(tmp_path))
    assert images.shape == (20, 28, 28, 1) and list(labels) == list(np.arange(20) % 10)


def test_missing_folder_names_it_and_the_three_sources(tmp_path):
    with pytest.raises(DataNotFoundError) as error:
        load_arrays("digits", "test", data_dir=tmp_path / "nowhere")
    message = _one_line(error)
    assert "nowhere" in message and "does not exist" in message
    assert "data_dir argument" in message and "EMNIST_TF_DATA" in message and "tensorflow-datasets" in message
    assert "--" not in message  # library errors name no command-line flag


def test_missing_file_is_named(tmp_path):
    _valid_folder(tmp_path)
    (tmp_path / "emnist-digits-test-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataNotFoundError) as error:
        load_arrays("digits", "test", data_dir=tmp_path)
    message = _one_line(error)
    assert "emnist-digits-test-labels-idx1-ubyte.gz is missing" in message and "EMNIST_TF_DATA" in message


def test_truncated_gzip(tmp_path):
    _valid_folder(tmp_path)
    path = tmp_path / "emnist-digits-test-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(DataError) as error:
        load_arrays("digits", "test", data_dir=tmp_path)
    assert "emnist-digits-test-images-idx3-ubyte.gz is not a valid gzip file" in _one_line(error)


def test_corrupt_gzip(tmp_path):
    _valid_folder(tmp_path)
    (tmp_path / "emnist-digits-test-images-idx3-ubyte.gz").write_bytes(b"this is not gzip at all")
    with pytest.raises(DataError, match="not a valid gzip file"):
        load_arrays("digits", "test", data_dir=tmp_path)


def test_wrong_magic_number(tmp_path):
    _valid_folder(tmp_path)
    raw = bytearray(idx_bytes(RNG.integers(0, 256, (20, 28, 28))))
    raw[2] = 0x0D  # float data, not unsigned bytes
    (tmp_path / "emnist-digits-test-images-idx3-ubyte.gz").write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataError) as error:
        load_arrays("digits", "test", data_dir=tmp_path)
    assert "wrong IDX magic number" in _one_line(error)


def test_label_file_where_images_belong(tmp_path):
    _valid_folder(tmp_path)
    labels = (tmp_path / "emnist-digits-test-labels-idx1-ubyte.gz").read_bytes()
    (tmp_path / "emnist-digits-test-images-idx3-ubyte.gz").write_bytes(labels)
    with pytest.raises(DataError, match="has 1 dimensions, expected 3"):
        load_arrays("digits", "test", data_dir=tmp_path)


def test_header_count_that_does_not_match_the_file(tmp_path):
    _valid_folder(tmp_path)
    raw = bytearray(idx_bytes(RNG.integers(0, 256, (20, 28, 28))))
    raw[4:8] = (25).to_bytes(4, "big")  # header claims 25 images, file holds 20
    (tmp_path / "emnist-digits-test-images-idx3-ubyte.gz").write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataError) as error:
        load_arrays("digits", "test", data_dir=tmp_path)
    message = _one_line(error)
    assert "header says 25 items" in message and "truncated or corrupt" in message


def test_image_and_label_counts_differ(tmp_path):
    _valid_folder(tmp_path)
    write_subset(tmp_path / "other", "digits", "test", RNG.integers(0, 256, (7, 28, 28)), np.arange(7))
    (tmp_path / "other" / "emnist-digits-test-labels-idx1-ubyte.gz").replace(
        tmp_path / "emnist-digits-test-labels-idx1-ubyte.gz"
    )
    with pytest.raises(DataError, match="20 images but .* 7 labels"):
        load_arrays("digits", "test", data_dir=tmp_path)


def test_label_out_of_range_for_the_split(tmp_path):
    _valid_folder(tmp_path, labels=np.array([0, 1, 2, 12, 3]))
    with pytest.raises(DataError) as error:
        load_arrays("digits", "test", data_dir=tmp_path)
    message = _one_line(error)
    assert "label 12 is outside 0..9" in message and "'digits'" in message


def test_letters_label_zero_is_out_of_range(tmp_path):
    write_subset(tmp_path, "letters", "test", RNG.integers(0, 256, (3, 28, 28)), np.array([0, 1, 26]))
    with pytest.raises(DataError, match="label 0 is outside 1..26"):
        load_arrays("letters", "test", data_dir=tmp_path)


def test_unknown_split_lists_the_valid_ones():
    with pytest.raises(DataError) as error:
        split_info("balance")
    assert "'balance'" in _one_line(error) and "balanced, byclass, bymerge, letters, digits, mnist" in str(error.value)


def test_unknown_subset(tmp_path):
    with pytest.raises(DataError, match="choose 'train' or 'test'"):
        load_arrays("digits", "validation", data_dir=_valid_folder(tmp_path))


def test_a_file_that_is_not_a_zip(tmp_path):
    bogus = tmp_path / "gzip.zip"
    bogus.write_bytes(b"PK not really")
    with pytest.raises(DataError, match="not a valid zip file"):
        load_arrays("digits", "test", data_dir=bogus)
