"""Regularisers: penalties subtracted from the score, one value per image.

A regulariser is any callable ``regularizer(images) -> tf.Tensor`` of shape
``(batch,)`` (non-negative; larger means "less natural"). At each step the
ascent scales the score's gradient to length 1 per image and subtracts the
regularisers' gradients, so a weight is measured against a unit-length score
gradient and means the same whatever the scale of the unit's activation.

Example:
    >>> penalties = [TotalVariation(weight=0.01), L2Decay(weight=0.003)]   # the defaults
"""

from __future__ import annotations

import tensorflow as tf


def _check_weight(weight: float, name: str) -> float:
    if weight < 0:
        raise ValueError(f"{name} weight must be >= 0, got {weight}")
    return float(weight)


class L2Decay:
    """Penalises the image's squared L2 norm: ``weight * sum(pixels ** 2)``.

    Keeps the image from filling up with ink just because more ink adds to the
    score.
    """

    def __init__(self, weight: float = 0.003):
        self.weight = _check_weight(weight, "L2Decay")

    def __call__(self, images: tf.Tensor) -> tf.Tensor:
        return self.weight * tf.reduce_sum(tf.square(images), axis=[1, 2, 3])


class TotalVariation:
    """Penalises total variation (sum of absolute neighbour differences).

    Favours smooth strokes over high-frequency noise.
    """

    def __init__(self, weight: float = 0.01):
        self.weight = _check_weight(weight, "TotalVariation")

    def __call__(self, images: tf.Tensor) -> tf.Tensor:
        return self.weight * total_variation(images)


def total_variation(images: tf.Tensor) -> tf.Tensor:
    """Returns the anisotropic total variation of each image, shape ``(batch,)``."""
    images = tf.convert_to_tensor(images, tf.float32)
    down = tf.abs(images[:, 1:, :, :] - images[:, :-1, :, :])
    right = tf.abs(images[:, :, 1:, :] - images[:, :, :-1, :])
    return tf.reduce_sum(down, axis=[1, 2, 3]) + tf.reduce_sum(right, axis=[1, 2, 3])
