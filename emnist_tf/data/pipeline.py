"""tf.data pipelines and stratified splits for training and cross-validation.

Example:
    >>> images, labels = load_arrays("balanced", "train", limit=2000)
    >>> train_x, train_y, val_x, val_y = train_validation_split(images, labels, validation_fraction=0.1)
    >>> dataset = make_dataset(train_x, train_y, batch_size=128, seed=0)
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from emnist_tf.data.sampling import stratified_holdout
from emnist_tf.errors import DataError


def make_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    batch_size: int = 128,
    shuffle: bool = True,
    seed: int = 0,
    cache: bool = True,
    augment: Callable | None = None,
):
    """Builds a ``tf.data`` pipeline: cache, shuffle (reshuffled every epoch), batch, augment, prefetch.

    Args:
        images: float32 images (N, 28, 28, 1).
        labels: class indices (N,).
        batch_size: examples per batch.
        shuffle: shuffle with ``seed``, differently at every epoch.
        seed: shuffling seed.
        cache: keep the prepared examples in memory after the first epoch.
        augment: optional function ``(images, labels) -> (images, labels)`` applied to batches.

    Returns:
        A ``tf.data.Dataset`` of ``(images, labels)`` batches, prefetched with AUTOTUNE.
    """
    import tensorflow as tf

    if len(images) != len(labels):
        raise DataError(f"{len(images)} images but {len(labels)} labels: they must pair up one to one")
    if batch_size <= 0:
        raise DataError(f"batch_size must be positive, got {batch_size}")
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    if cache:
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)
    if augment is not None:
        dataset = dataset.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def train_validation_split(
    images: np.ndarray, labels: np.ndarray, *, validation_fraction: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Holds out ``validation_fraction`` of every class for validation (stratified, seeded).

    Returns:
        ``(train_images, train_labels, validation_images, validation_labels)``.
    """
    kept, held = stratified_holdout(labels, validation_fraction, seed=seed)
    return images[kept], labels[kept], images[held], labels[held]
