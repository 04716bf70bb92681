"""Scores: how strongly each image in a batch drives the unit assigned to it.

A score is any callable ``score(outputs, units) -> tf.Tensor`` of shape
``(batch,)``: ``outputs`` is the chosen layer's output for the batch and
``units`` holds, for each image, the index of the unit (neuron, channel or
class) that image is optimised for. Because every image only ever reads its
own row, the batch gradient of the summed scores is the per-image gradient,
which is what lets :func:`emnist_tf.interpret.features.maximize` optimise many units in
one tape.

Example:
    >>> score = ChannelMean()
    >>> score(tf.ones((2, 5, 5, 8)), tf.constant([0, 3]))   # doctest: +SKIP
    <tf.Tensor: shape=(2,), dtype=float32, numpy=array([1., 1.], dtype=float32)>
"""

from __future__ import annotations

import tensorflow as tf


def _pick_units(per_unit: tf.Tensor, units: tf.Tensor) -> tf.Tensor:
    """Returns ``per_unit[i, units[i]]`` for every row ``i``."""
    per_unit = tf.cast(per_unit, tf.float32)
    units = tf.cast(units, tf.int32)
    return tf.gather(per_unit, units[:, None], batch_dims=1)[:, 0]


def _require_rank(outputs: tf.Tensor, rank: int, score: str, advice: str) -> None:
    """Raises a ValueError saying what ``score`` needs when ``outputs`` is not of rank ``rank``."""
    if outputs.shape.rank != rank:
        raise ValueError(f"{score} needs a layer output of rank {rank}, got rank {outputs.shape.rank}; {advice}")


class UnitActivation:
    """Default score: a dense unit's value, or a conv channel's mean over positions.

    Works on any layer: outputs of rank 2 are read directly, outputs of higher
    rank (feature maps) are first averaged over every spatial axis.
    """

    def __call__(self, outputs: tf.Tensor, units: tf.Tensor) -> tf.Tensor:
        rank = outputs.shape.rank
        if rank > 2:
            outputs = tf.reduce_mean(outputs, axis=list(range(1, rank - 1)))
        return _pick_units(outputs, units)


class DenseUnit(UnitActivation):
    """Score of a hidden Dense unit (layer output of shape ``(batch, units)``)."""

    def __call__(self, outputs: tf.Tensor, units: tf.Tensor) -> tf.Tensor:
        _require_rank(outputs, 2, "DenseUnit", "use ChannelMean for convolutional layers")
        return _pick_units(outputs, units)


class ChannelMean(UnitActivation):
    """Score of a convolutional channel: its activation averaged over all positions."""

    def __call__(self, outputs: tf.Tensor, units: tf.Tensor) -> tf.Tensor:
        _require_rank(outputs, 4, "ChannelMean", "use DenseUnit for dense layers")
        return super().__call__(outputs, units)


class ClassLogit(DenseUnit):
    """Score of an output class: its logit, read before the softmax (layer ``"logits"``)."""


class ClassMargin:
    """Score of an output class against the others: ``logit_c - logsumexp(other logits)``.

    This is the log-odds ``log(p_c / (1 - p_c))`` of the softmax, so raising it
    cannot be done by raising a look-alike class (``f`` and ``F``, ``O`` and
    ``0``) along with it; use it on the ``"logits"`` layer when the preferred
    input must also be *classified* as its class.
    """

    def __call__(self, outputs: tf.Tensor, units: tf.Tensor) -> tf.Tensor:
        _require_rank(outputs, 2, "ClassMargin", "use layer 'logits'")
        logits = tf.cast(outputs, tf.float32)
        own = _pick_units(logits, units)
        mask = tf.one_hot(tf.cast(units, tf.int32), tf.shape(logits)[1], on_value=-1e9, off_value=0.0)
        return own - tf.reduce_logsumexp(logits + mask, axis=1)
