"""tf.data pipelines and stratified splits for training and cross-validation.

Example:
    >>> images, labels = load_arrays("balanced", "train", limit=2000)
    >>> train_x, train_y, val_x, val_y = train_validation_split(images, labels, validation_fraction=0.1)
    >>> dataset = make_dataset(train_x, train_y, batch_size=128, seed=0)
"""

from __future__ import annotations

from collections.abc import Callable

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
    augment: Callable | None = None,
):
    """Builds a ``tf.data`` pipeline of batches: shuffle (anew every epoch), gather, augment, prefetch.

    Only the example *indices* are shuffled; each batch is then gathered from the
    arrays in one step. That is what Keras does with NumPy arrays, and much cheaper
    than shuffling whole images one by one (no second copy of the images in a
    shuffle buffer, no per-image work on the CPU that also trains the model).

    Args:
        images: float32 images (N, 28, 28, 1).
        labels: class indices (N,).
        batch_size: examples per batch.
        shuffle: shuffle with ``seed``, differently at every epoch.
        seed: shuffling seed.
        augment: optional function ``(images, labels) -> (images, labels)`` applied to batches, in
            order, so that a seeded augmenter gives the same batches every run.

    Returns:
        A ``tf.data.Dataset`` of ``(images, labels)`` batches, prefetched with AUTOTUNE.
    """
    import tensorflow as tf

    if len(images) != len(labels):
        raise DataError(f"{len(images)} images but {len(labels)} labels: they must pair up one to one")
    if batch_size <= 0:
        raise DataError(f"batch_size must be positive, got {batch_size}")
    indices = tf.data.Dataset.range(len(labels))
    if shuffle:
        indices = indices.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    arrays = tf.data.Dataset.from_tensors((images, labels)).repeat()
    dataset = tf.data.Dataset.zip(indices.batch(batch_size), arrays).map(
        _gather_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    if augment is not None:
        # One batch at a time: Keras's random layers keep their state in a variable, and parallel
        # calls race on it, so the same seed would give different images (and models) run to run.
        dataset = dataset.map(augment)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _gather_batch(batch_indices, arrays):
    import tensorflow as tf

    images, labels = arrays
    return tf.gather(images, batch_indices), tf.gather(labels, batch_indices)


def train_validation_split(
    images: np.ndarray, labels: np.ndarray, *, validation_fraction: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Holds out ``validation_fraction`` of every class for validation (stratified, seeded).

    Returns:
        ``(train_images, train_labels, validation_images, validation_labels)``.
    """
    kept, held = stratified_holdout(labels, validation_fraction, seed=seed)
    return images[kept], labels[kept], images[held], labels[held]
