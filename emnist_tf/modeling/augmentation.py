"""Small random rotations, shifts and zooms of training batches.

Handwriting varies in slant, position and size, so these perturbations give the
model more varied examples at no labelling cost. They run inside the ``tf.data``
pipeline (see ``emnist_tf.data.make_dataset(augment=...)``), never in the saved
model, so evaluation and reloading are unaffected.

Example:
    >>> from emnist_tf.modeling.augmentation import make_augmenter
    >>> augment = make_augmenter(rotation_degrees=10, shift_fraction=0.08, seed=0)
    >>> dataset = make_dataset(images, labels, augment=augment)
"""

from __future__ import annotations

from collections.abc import Callable

import keras


def make_augmenter(
    rotation_degrees: float = 10.0,
    shift_fraction: float = 0.08,
    zoom_fraction: float = 0.08,
    seed: int = 0,
) -> Callable:
    """Returns ``augment(images, labels) -> (images, labels)`` for a batched dataset.

    Each image of a batch gets its own random transform; empty borders are filled
    with black (the background of EMNIST images).

    Args:
        rotation_degrees: largest rotation either way, in degrees (0: none).
        shift_fraction: largest shift either way, as a fraction of the image side (0: none).
        zoom_fraction: largest zoom in or out, as a fraction of the image side (0: none).
        seed: seed of the random transforms.

    Raises:
        ValueError: if an amount is negative or too large to keep the character visible.
    """
    for name, value, largest in (
        ("rotation_degrees", rotation_degrees, 45),
        ("shift_fraction", shift_fraction, 0.3),
        ("zoom_fraction", zoom_fraction, 0.3),
    ):
        if not 0 <= value <= largest:
            raise ValueError(f"{name} must be between 0 and {largest}, got {value!r}")
    layers = []
    if rotation_degrees:
        layers.append(keras.layers.RandomRotation(rotation_degrees / 360, fill_mode="constant", seed=seed))
    if shift_fraction:
        layers.append(
            keras.layers.RandomTranslation(shift_fraction, shift_fraction, fill_mode="constant", seed=seed + 1)
        )
    if zoom_fraction:
        layers.append(keras.layers.RandomZoom(zoom_fraction, fill_mode="constant", seed=seed + 2))
    transform = keras.Sequential(layers, name="augmentation")

    def augment(images, labels):
        if not layers:
            return images, labels
        return transform(images, training=True), labels

    return augment
