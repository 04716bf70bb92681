"""Constraints (applied to the image after each step) and input modifiers (applied
to what the model sees at each step).

A **constraint** is any callable ``constraint(images, step) -> images``; it is
applied once to the starting images (``step == 0``) and after every ascent
step (``step`` counts from 1). An **input modifier** is any callable
``modifier(images, rng) -> images`` applied inside the gradient tape, so it must
be differentiable; ``rng`` is the run's ``numpy.random.Generator``, which is
what makes a whole run repeat exactly for the same seed.

Example:
    >>> constraints = [ClipRange(0.0, 1.0), Blur(every=4, sigma=0.35)]
    >>> paper = [NormConstraint(norm=10.0)]   # Erhan et al. (2009)
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


class NormConstraint:
    """Keeps each image on the sphere of a fixed L2 norm (Erhan et al., 2009).

    Under this constraint the optimum for a first-layer unit ``w . x + b`` is
    ``norm * w / |w|``.
    """

    def __init__(self, norm: float = 10.0):
        if norm <= 0:
            raise ValueError(f"NormConstraint norm must be > 0, got {norm}")
        self.norm = float(norm)

    def __call__(self, images: tf.Tensor, step: int) -> tf.Tensor:
        lengths = tf.sqrt(tf.reduce_sum(tf.square(images), axis=[1, 2, 3], keepdims=True))
        return images * (self.norm / tf.maximum(lengths, 1e-12))


class ClipRange:
    """Clips pixels to ``[low, high]`` (the data's range is [0, 1])."""

    def __init__(self, low: float = 0.0, high: float = 1.0):
        if low >= high:
            raise ValueError(f"ClipRange needs low < high, got low={low}, high={high}")
        self.low, self.high = float(low), float(high)

    def __call__(self, images: tf.Tensor, step: int) -> tf.Tensor:
        return tf.clip_by_value(images, self.low, self.high)


class Blur:
    """Blurs the image with a small Gaussian every ``every`` steps (not at step 0)."""

    def __init__(self, every: int = 4, sigma: float = 0.35):
        if every < 1 or sigma <= 0:
            raise ValueError(f"Blur needs every >= 1 and sigma > 0, got every={every}, sigma={sigma}")
        self.every, self.sigma = int(every), float(sigma)
        radius = max(1, int(np.ceil(2 * self.sigma)))
        offsets = np.arange(-radius, radius + 1, dtype=np.float32)
        weights = np.exp(-(offsets**2) / (2 * self.sigma**2))
        kernel = np.outer(weights, weights)
        self.kernel = tf.constant((kernel / kernel.sum())[:, :, None, None], tf.float32)

    def __call__(self, images: tf.Tensor, step: int) -> tf.Tensor:
        if step == 0 or step % self.every:
            return images
        return tf.nn.conv2d(images, self.kernel, strides=1, padding="SAME")


class Jitter:
    """Shifts the image the model sees by up to ``pixels`` in each direction (wrapping around).

    The preferred input must then work at neighbouring positions too, which
    suppresses pixel-exact adversarial patterns.
    """

    def __init__(self, pixels: int = 1):
        if pixels < 0:
            raise ValueError(f"Jitter pixels must be >= 0, got {pixels}")
        self.pixels = int(pixels)

    def __call__(self, images: tf.Tensor, rng: np.random.Generator) -> tf.Tensor:
        if self.pixels == 0:
            return images
        shift_down, shift_right = (int(value) for value in rng.integers(-self.pixels, self.pixels + 1, size=2))
        return tf.roll(images, shift=[shift_down, shift_right], axis=[1, 2])
