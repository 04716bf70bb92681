"""The dataset images that drive each unit hardest, to set beside its preferred input.

Example:
    >>> top = top_activating_images(model, "conv_2_activation", test_images, units=range(16), count=4)
    >>> top.indices.shape   # (16, 4): for each unit, its 4 strongest test images
"""

from __future__ import annotations

import dataclasses

import numpy as np

from emnist_tf.interpret.features.maximize import _resolve_units, feature_model


@dataclasses.dataclass
class TopImages:
    """For each unit, the dataset images with the largest activation.

    Attributes:
        units: unit indices, ``(units,)``.
        indices: positions in the dataset, strongest first, ``(units, count)``.
        activations: those images' activations, ``(units, count)``.
        images: the images themselves, ``(units, count, height, width, channels)``.
    """

    units: np.ndarray
    indices: np.ndarray
    activations: np.ndarray
    images: np.ndarray


def unit_activations(model, layer: str, images: np.ndarray, units=None, *, batch_size: int = 512) -> np.ndarray:
    """Returns each image's activation of each unit (conv channels averaged over positions).

    The numbers are those of the default score, so they are comparable with
    ``PreferredInputs.activations``.

    Args:
        model: a built Keras model.
        layer: the layer's name.
        images: array ``(count, height, width, channels)``.
        units: unit indices; ``None`` = every unit of the layer.
        batch_size: images per forward pass.

    Returns:
        Array ``(count, units)``.
    """
    return _unit_activations(model, layer, images, units, batch_size)[1]


def _unit_activations(model, layer, images, units, batch_size):
    import tensorflow as tf

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    features = feature_model(model, layer)
    unit_indices = _resolve_units(units, int(features.outputs[1].shape[-1]))
    chunks = []
    for begin in range(0, len(images), batch_size):
        outputs = tf.cast(
            features(tf.constant(images[begin : begin + batch_size], tf.float32), training=False)[1], tf.float32
        )
        if outputs.shape.rank > 2:
            outputs = tf.reduce_mean(outputs, axis=list(range(1, outputs.shape.rank - 1)))
        chunks.append(tf.gather(outputs, unit_indices, axis=1).numpy())
    return unit_indices, np.concatenate(chunks, axis=0)


def top_activating_images(
    model, layer: str, images: np.ndarray, units=None, *, count: int = 4, batch_size: int = 512
) -> TopImages:
    """Finds, for each unit, the ``count`` images with the largest activation.

    Args:
        model: a built Keras model.
        layer: the layer's name.
        images: the dataset to search, ``(count, height, width, channels)``.
        units: unit indices; ``None`` = every unit.
        count: images kept per unit.
        batch_size: images per forward pass.

    Returns:
        A :class:`TopImages`.
    """
    if count < 1 or count > len(images):
        raise ValueError(f"count must be between 1 and the number of images ({len(images)}), got {count}")
    unit_indices, activations = _unit_activations(model, layer, images, units, batch_size)
    order = np.argsort(-activations, axis=0, kind="stable")[:count].T
    strongest = np.take_along_axis(activations.T, order, axis=1)
    return TopImages(units=unit_indices, indices=order, activations=strongest, images=images[order])
