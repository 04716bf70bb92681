"""The classification loss: sparse cross-entropy, optionally with label smoothing.

Keras' ``SparseCategoricalCrossentropy`` has no ``label_smoothing`` (only the one-hot
``CategoricalCrossentropy`` has), so this module adds a sparse version. Smoothing by
``s`` trains towards ``1 - s + s / K`` on the true class and ``s / K`` on each of the
other ``K - 1`` classes, which keeps the network from growing ever more certain on
characters that people write alike (O/0, l/1/I).

Example:
    >>> model.compile(optimizer="adam", loss=classification_loss(label_smoothing=0.1))
"""

from __future__ import annotations

import keras
from keras import ops

_SMALLEST_PROBABILITY = 1e-7  # as Keras clips probabilities in its cross-entropies


@keras.saving.register_keras_serializable(package="emnist_tf")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Cross-entropy between integer labels, smoothed, and predicted probabilities.

    The same as ``keras.losses.CategoricalCrossentropy(label_smoothing=...)`` on one-hot
    labels, without building them: ``(1 - s) * -log p[true] + s * mean_k(-log p[k])``.

    Args:
        label_smoothing: ``s`` in [0, 1); 0 is plain sparse cross-entropy.
        name: the loss's name in logs.
        **kwargs: ``reduction`` and ``dtype`` for ``keras.losses.Loss``.
    """

    def __init__(self, label_smoothing: float = 0.1, name: str = "smoothed_sparse_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = _checked_smoothing(label_smoothing)

    def call(self, y_true, y_pred):
        log_probabilities = ops.log(ops.clip(ops.cast(y_pred, "float32"), _SMALLEST_PROBABILITY, 1.0))
        labels = ops.cast(ops.reshape(y_true, (-1, 1)), "int32")
        true_class = -ops.squeeze(ops.take_along_axis(log_probabilities, labels, axis=-1), axis=-1)
        every_class = -ops.mean(log_probabilities, axis=-1)
        return (1.0 - self.label_smoothing) * true_class + self.label_smoothing * every_class

    def get_config(self) -> dict:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


def classification_loss(label_smoothing: float = 0.0):
    """The loss ``compile_model`` uses: Keras' own sparse cross-entropy, or the smoothed one.

    Args:
        label_smoothing: share of each label's weight spread evenly over all classes, in [0, 1).

    Returns:
        ``"sparse_categorical_crossentropy"`` for 0, else a :class:`SmoothedSparseCrossentropy`.

    Raises:
        ValueError: if ``label_smoothing`` is outside [0, 1).
    """
    if _checked_smoothing(label_smoothing) == 0:
        return "sparse_categorical_crossentropy"
    return SmoothedSparseCrossentropy(label_smoothing)


def _checked_smoothing(label_smoothing) -> float:
    if (
        isinstance(label_smoothing, bool)
        or not isinstance(label_smoothing, (int, float))
        or not 0 <= label_smoothing < 1
    ):
        raise ValueError(f"label_smoothing must be a number in [0, 1), got {label_smoothing!r}; 0.1 is a common choice")
    return float(label_smoothing)
