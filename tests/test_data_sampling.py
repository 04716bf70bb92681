"""Subsamples, the validation split and k folds: stratified, disjoint, seeded; the tf.data pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from emnist_tf.data import (
    load_arrays,
    make_dataset,
    per_class_subsample,
    stratified_folds,
    stratified_subsample,
    train_validation_split,
)
from emnist_tf.errors import DataError


@pytest.fixture(scope="module")
def real_train(emnist_dir):
    return load_arrays("balanced", "train", data_dir=emnist_dir, limit=3000, seed=0)


def _shares(labels, num_classes=47):
    return np.bincount(labels, minlength=num_classes) / len(labels)


def test_validation_split_is_stratified_disjoint_and_seeded(real_train):
    images, labels = real_train
    train_x, train_y, val_x, val_y = train_validation_split(images, labels, validation_fraction=0.2, seed=3)
    assert len(train_y) + len(val_y) == len(labels)
    assert abs(len(val_y) - 0.2 * len(labels)) <= 47
    assert np.abs(_shares(train_y) - _shares(val_y)).max() < 0.01
    rows = {image.tobytes() for image in val_x}
    assert not any(image.tobytes() in rows for image in train_x[:500])
    again = train_validation_split(images, labels, validation_fraction=0.2, seed=3)
    other = train_validation_split(images, labels, validation_fraction=0.2, seed=4)
    assert np.array_equal(again[3], val_y) and np.array_equal(again[2], val_x)
    assert not np.array_equal(other[2], val_x)


def test_folds_are_stratified_disjoint_cover_everything_and_seeded(real_train):
    _, labels = real_train
    folds = stratified_folds(labels, folds=3, seed=1)
    validation = np.concatenate([held for _, held in folds])
    assert len(folds) == 3 and np.array_equal(np.sort(validation), np.arange(len(labels)))
    for train, held in folds:
        assert np.intersect1d(train, held).size == 0 and len(train) + len(held) == len(labels)
        assert np.abs(_shares(labels[held]) - _shares(labels)).max() < 0.01
    again = stratified_folds(labels, folds=3, seed=1)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again))
    assert not np.array_equal(stratified_folds(labels, folds=3, seed=2)[0][1], folds[0][1])


def test_stratified_subsample_keeps_class_shares_and_exact_size():
    labels = np.repeat(np.arange(5), [100, 50, 30, 15, 5])
    chosen = stratified_subsample(labels, 40, seed=0)
    assert len(chosen) == 40 and len(np.unique(chosen)) == 40
    assert list(np.bincount(labels[chosen])) == [20, 10, 6, 3, 1]
    assert np.array_equal(chosen, stratified_subsample(labels, 40, seed=0))


def test_per_class_cap(emnist_dir):
    _, labels = load_arrays("balanced", "test", data_dir=emnist_dir, per_class=10, seed=0)
    assert np.array_equal(np.bincount(labels), np.full(47, 10))
    labels_small = np.array([0, 0, 1])
    assert np.array_equal(np.bincount(labels_small[per_class_subsample(labels_small, 5)]), [2, 1])


def test_fewer_examples_than_folds_is_a_clear_error():
    with pytest.raises(DataError, match="fewer than the 3 folds"):
        stratified_folds(np.array([0, 0, 0, 1, 1]), folds=3)
    with pytest.raises(DataError, match="at least 2 folds"):
        stratified_folds(np.array([0, 1]), folds=1)


def test_dataset_batches_every_example_once_and_reshuffles(real_train):
    images, labels = real_train[0][:500], real_train[1][:500]
    dataset = make_dataset(images, labels, batch_size=64, seed=7)
    first = np.concatenate([batch_labels.numpy() for _, batch_labels in dataset])
    second = np.concatenate([batch_labels.numpy() for _, batch_labels in dataset])
    assert sorted(first) == sorted(labels) and not np.array_equal(first, second)
    batch_images, _ = next(iter(dataset))
    assert batch_images.shape == (64, 28, 28, 1) and batch_images.dtype.name == "float32"
    same_seed = np.concatenate(
        [batch_labels.numpy() for _, batch_labels in make_dataset(images, labels, batch_size=64, seed=7)]
    )
    assert np.array_equal(first, same_seed)
    ordered = np.concatenate([y.numpy() for _, y in make_dataset(images, labels, shuffle=False)])
    assert np.array_equal(ordered, labels)


def test_dataset_rejects_mismatched_inputs():
    with pytest.raises(DataError, match="must pair up"):
        make_dataset(np.zeros((3, 28, 28, 1), np.float32), np.zeros(2, np.int64))


def test_a_seeded_augmenter_gives_the_same_batches_every_run():
    """The random layers' state must advance in batch order, or one seed gives different models run to run."""
    from emnist_tf.modeling.augmentation import make_augmenter

    images = np.random.default_rng(0).random((1024, 28, 28, 1), dtype=np.float32)
    labels = np.arange(1024) % 47

    def two_epochs():
        dataset = make_dataset(images, labels, batch_size=32, seed=3, augment=make_augmenter(seed=5))
        return [batch.numpy() for _ in range(2) for batch, _ in dataset]

    first, second = two_epochs(), two_epochs()
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not np.array_equal(first[0], images[:32])  # the batches really were transformed
