"""Activation maximisation: gradient ascent on the input image (Erhan et al., 2009).

Many units are optimised at once: the batch holds ``starts`` random images for
each unit, image ``i`` is scored only on its own unit, and one
``tf.GradientTape`` per step gives every image its own gradient. Each step
scales each image's score gradient to length 1, subtracts the regularisers'
gradients (so their weights mean the same for a logit of 20 and a channel mean
of 0.3), moves the image by ``learning_rate`` along the result (gradient ascent
with a fixed step length, which keeps the paper's norm-constrained optimum) and
applies the constraints. The step length decays linearly to a tenth.

Example:
    >>> from emnist_tf.interpret.features import maximize
    >>> result = maximize(model, "conv_2_activation", units=range(16), starts=4, seed=0)
    >>> result.images.shape, result.activations.shape
    ((16, 28, 28, 1), (16,))
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import tensorflow as tf

from emnist_tf.interpret.activations import resolve_units, submodel
from emnist_tf.interpret.features.modifiers import Blur, ClipRange, Jitter
from emnist_tf.interpret.features.objectives import ClassMargin, UnitActivation
from emnist_tf.interpret.features.regularizers import L2Decay, TotalVariation

_MONOTONE_ACTIVATIONS = ("relu", "elu", "selu", "gelu", "leaky_relu", "sigmoid", "tanh", "softmax", "swish", "silu")


@dataclasses.dataclass
class PreferredInputs:
    """What :func:`maximize` found.

    Attributes:
        layer: the layer whose units were maximised.
        units: unit indices, shape ``(units,)``.
        images: the best start's image per unit, shape ``(units, height, width, channels)``.
        activations: the unit's activation on each best image (conv channels
            averaged over positions; the logit for ``"logits"``), ``(units,)``.
        scores: the score each best image reaches on the layer's output (the best
            start is the one with the highest score), ``(units,)``.
        all_images: every start, ``(units, starts, height, width, channels)``.
        all_activations: every start's activation, ``(units, starts)``.
        steps: ascent steps taken.
        seconds: wall-clock time of the ascent.
    """

    layer: str
    units: np.ndarray
    images: np.ndarray
    activations: np.ndarray
    scores: np.ndarray
    all_images: np.ndarray
    all_activations: np.ndarray
    steps: int
    seconds: float


def default_regularizers() -> list:
    """Penalties for recognisable 28x28 grey characters: total variation and L2 decay."""
    return [TotalVariation(weight=0.01), L2Decay(weight=0.003)]


def default_constraints() -> list:
    """Constraints for 28x28 grey characters: pixels in [0, 1], a light blur every 4 steps."""
    return [ClipRange(0.0, 1.0), Blur(every=4, sigma=0.35)]


def default_input_modifiers() -> list:
    """Input modifiers for 28x28 grey characters: jitter by one pixel."""
    return [Jitter(pixels=1)]


def _pre_activation(layer):
    """The layer's input when it is a monotone activation layer (relu, softmax...), else its output."""
    kind = type(layer).__name__
    activation = getattr(getattr(layer, "activation", None), "__name__", "")
    if kind in ("ReLU", "LeakyReLU", "ELU", "Softmax") or (
        kind == "Activation" and activation in _MONOTONE_ACTIVATIONS
    ):
        return layer.input
    return layer.output


def feature_model(model, layer: str):
    """Builds a model mapping images to ``[pre-activation, layer output]`` of ``layer``.

    Args:
        model: a built Keras model (Sequential or functional).
        layer: name of the layer to read. For a monotone ``Activation`` layer
            (relu, softmax...) the first output is that layer's input; for any
            other layer both outputs are the layer's output.

    Returns:
        A ``keras.Model`` with two outputs (:func:`emnist_tf.interpret.activations.submodel`).

    Raises:
        ValueError: if the layer does not exist or the model was never built.
    """
    names = [item.name for item in model.layers]
    if layer not in names:
        raise ValueError(f"model has no layer {layer!r}; choose one of {', '.join(names)}")
    target_layer = model.get_layer(layer)
    return submodel(model, [_pre_activation(target_layer), target_layer.output])


class Maximizer:
    """Gradient ascent for the units of one layer; reusable across calls (traced once).

    Args:
        model: a built Keras model.
        layer: name of the layer whose units to maximise (``"logits"`` for classes).
        score: ``score(outputs, units) -> (batch,)``; default :class:`UnitActivation`.
        regularizers: penalties ``r(images) -> (batch,)``; ``None`` = :func:`default_regularizers`.
        constraints: ``c(images, step) -> images``; ``None`` = :func:`default_constraints`.
        input_modifiers: ``m(images, rng) -> images``; ``None`` = :func:`default_input_modifiers`.
        leak: weight of the same score read before the layer's activation, added to
            the objective so that a unit whose relu is dead everywhere still gets a
            gradient (0 switches it off; it has no effect on layers without activation).
    """

    def __init__(
        self,
        model,
        layer: str,
        *,
        score: Callable | None = None,
        regularizers: Sequence[Callable] | None = None,
        constraints: Sequence[Callable] | None = None,
        input_modifiers: Sequence[Callable] | None = None,
        leak: float = 0.01,
    ):
        self.layer = layer
        if leak < 0:
            raise ValueError(f"leak must be >= 0, got {leak}")
        self.features = feature_model(model, layer)
        self.leak = float(leak) if self.features.outputs[0] is not self.features.outputs[1] else 0.0
        self.score = score if score is not None else UnitActivation()
        self.regularizers = list(default_regularizers() if regularizers is None else regularizers)
        self.constraints = list(default_constraints() if constraints is None else constraints)
        self.input_modifiers = list(default_input_modifiers() if input_modifiers is None else input_modifiers)
        self.input_shape = tuple(int(size) for size in self.features.inputs[0].shape[1:])
        self.unit_count = int(self.features.outputs[1].shape[-1])
        self._ascent_scores = tf.function(self._scores_of_target, reduce_retracing=True)
        self._layer_scores = tf.function(self._scores_of_layer, reduce_retracing=True)

    def _scores_of_target(self, images, units):
        before, after = self.features(images, training=False)
        scores = self.score(after, units)
        return scores + self.leak * self.score(before, units) if self.leak else scores

    def _scores_of_layer(self, images, units):
        outputs = self.features(images, training=False)[1]
        return self.score(outputs, units), UnitActivation()(outputs, units)

    def _constrain(self, images, step: int):
        for constraint in self.constraints:
            images = constraint(images, step)
        return images

    def _ascent_step(self, images, batch_units, rng, step_length):
        with tf.GradientTape() as tape:
            tape.watch(images)
            seen = images
            for modifier in self.input_modifiers:
                seen = modifier(seen, rng)
            scores = self._ascent_scores(seen, batch_units)
            total = tf.reduce_sum(scores)
        direction = _unit_length(tape.gradient(total, images))
        if self.regularizers:
            with tf.GradientTape() as tape:
                tape.watch(images)
                penalties = tf.add_n([regularizer(images) for regularizer in self.regularizers])
                total_penalty = tf.reduce_sum(penalties)
            direction = direction - tape.gradient(total_penalty, images)
            scores = scores - penalties
        return images + step_length * _unit_length(direction), scores

    def run(
        self,
        units=None,
        *,
        starts: int = 4,
        steps: int = 200,
        learning_rate: float = 1.0,
        initial_mean: float = 0.1,
        initial_std: float = 0.05,
        callbacks: Iterable = (),
        seed: int = 0,
    ) -> PreferredInputs:
        """Finds preferred inputs for ``units`` (all units of the layer when ``None``).

        Args:
            units: unit indices (list, range, slice or array); ``None`` = every unit.
            starts: random starting images per unit; the best one is reported.
            steps: ascent steps.
            learning_rate: L2 length of each step in pixel space; it decays
                linearly to a tenth of this over the run.
            initial_mean: mean of the Gaussian starting pixels.
            initial_std: standard deviation of the starting pixels.
            callbacks: objects with optional ``on_begin(steps)``,
                ``on_step(step, scores)`` and ``on_end(result)`` methods, e.g. :class:`Progress`.
            seed: seeds the starting images and the jitter.

        Returns:
            A :class:`PreferredInputs`.
        """
        if starts < 1 or steps < 0 or learning_rate <= 0:
            raise ValueError(
                f"need starts >= 1, steps >= 0 and learning_rate > 0, got "
                f"starts={starts}, steps={steps}, learning_rate={learning_rate}"
            )
        steps = int(steps)
        unit_indices = resolve_units(units, self.unit_count)
        batch_units = tf.constant(np.repeat(unit_indices, starts), tf.int32)
        rng = np.random.default_rng(seed)
        shape = (len(unit_indices) * starts, *self.input_shape)
        images = self._constrain(tf.constant(rng.normal(initial_mean, initial_std, shape), tf.float32), 0)
        callbacks = list(callbacks)
        _notify(callbacks, "on_begin", steps)
        begin = time.perf_counter()
        for step in range(1, steps + 1):
            step_length = learning_rate * (1.0 - 0.9 * (step - 1) / max(steps - 1, 1))
            images, objective = self._ascent_step(images, batch_units, rng, step_length)
            images = self._constrain(images, step)
            if callbacks:
                _notify(callbacks, "on_step", step, objective.numpy())
        scores, activations = self._layer_scores(images, batch_units)
        result = _collect(
            self.layer,
            unit_indices,
            images.numpy(),
            scores.numpy(),
            activations.numpy(),
            starts,
            steps,
            time.perf_counter() - begin,
        )
        _notify(callbacks, "on_end", result)
        return result


def _unit_length(gradients):
    """Scales each image's gradient to L2 length 1 (zero gradients stay zero)."""
    lengths = tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=[1, 2, 3], keepdims=True))
    return gradients / tf.maximum(lengths, 1e-12)


def _notify(callbacks, event: str, *arguments) -> None:
    for callback in callbacks:
        method = getattr(callback, event, None)
        if method is not None:
            method(*arguments)


def _collect(layer, units, images, scores, activations, starts, steps, seconds) -> PreferredInputs:
    all_images = images.reshape(len(units), starts, *images.shape[1:])
    all_activations = activations.reshape(len(units), starts)
    best = np.argmax(scores.reshape(len(units), starts), axis=1)
    rows = np.arange(len(units))
    return PreferredInputs(
        layer=layer,
        units=units,
        images=all_images[rows, best],
        activations=all_activations[rows, best],
        scores=scores.reshape(len(units), starts)[rows, best],
        all_images=all_images,
        all_activations=all_activations,
        steps=steps,
        seconds=seconds,
    )


def maximize(
    model,
    layer: str,
    units=None,
    *,
    starts: int = 4,
    steps: int = 200,
    learning_rate: float = 1.0,
    score: Callable | None = None,
    regularizers: Sequence[Callable] | None = None,
    constraints: Sequence[Callable] | None = None,
    input_modifiers: Sequence[Callable] | None = None,
    leak: float = 0.01,
    initial_mean: float = 0.1,
    initial_std: float = 0.05,
    callbacks: Iterable = (),
    seed: int = 0,
) -> PreferredInputs:
    """Finds the preferred input of many units of ``layer`` in one batched ascent.

    See :class:`Maximizer` and :meth:`Maximizer.run` for the arguments. Pass
    empty lists to switch regularisers, constraints or modifiers off; the
    paper's setting is ``regularizers=[], constraints=[NormConstraint(10.0)],
    input_modifiers=[]``.

    Example:
        >>> result = maximize(model, "dense_1", units=range(16), seed=0)
    """
    maximizer = Maximizer(
        model,
        layer,
        score=score,
        regularizers=regularizers,
        constraints=constraints,
        input_modifiers=input_modifiers,
        leak=leak,
    )
    return maximizer.run(
        units,
        starts=starts,
        steps=steps,
        learning_rate=learning_rate,
        initial_mean=initial_mean,
        initial_std=initial_std,
        callbacks=callbacks,
        seed=seed,
    )


def maximize_classes(model, classes=None, *, score: Callable | None = None, **options) -> PreferredInputs:
    """Preferred inputs of output classes, read on the ``"logits"`` layer (all classes by default).

    The default score is :class:`ClassMargin` (the class's logit minus the
    log-sum-exp of the other logits), so that the preferred input of ``f`` is an
    ``f`` that the model also classifies as ``f``. Ascending the bare logit
    (``score=ClassLogit()``, as in the paper) often drifts to a look-alike class
    that shares the features (``f`` -> ``F``, ``n`` -> ``M``). Either way the
    logits reached are typically above anything the test set produces.

    Args:
        model: a model of the library (it has a ``"logits"`` layer).
        classes: class indices; ``None`` = every class.
        score: see above.
        **options: the keyword arguments of :func:`maximize`.

    Example:
        >>> result = maximize_classes(model, starts=4, seed=0)   # all 47 classes in one call
    """
    return maximize(model, "logits", classes, score=score if score is not None else ClassMargin(), **options)


class Progress:
    """Callback: a Keras progress bar over the ascent steps, showing the mean objective."""

    def __init__(self, label: str = "ascent"):
        self.label = label
        self._bar = None
        self._steps = 0

    def on_begin(self, steps: int) -> None:
        import keras

        self._steps = steps
        self._bar = keras.utils.Progbar(steps, unit_name="step", stateful_metrics=[self.label])

    def on_step(self, step: int, scores: np.ndarray) -> None:
        self._bar.update(step, values=[(self.label, float(np.mean(scores)))], finalize=step == self._steps)

    def on_end(self, result: PreferredInputs) -> None:
        self._bar = None
