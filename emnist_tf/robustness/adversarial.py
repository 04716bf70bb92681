"""Adversarial examples: running the attacks of :data:`ATTACKS`, robust accuracy, and adversarial training.

Every attack works in the L-infinity ball of radius ``epsilon`` around each image and keeps
every pixel in [0, 1]. The attacks themselves (one class each, registered by name) live in
:mod:`emnist_tf.robustness.attacks`; this module runs them on NumPy arrays and measures them:

* :func:`attacked_model`: the model as an attack sees it (its loss gradient, through the one
  ``tf.GradientTape`` of :func:`input_gradient`, and its scores).
* :func:`attack`: any registered attack by name, batch by batch; :func:`fgsm` and :func:`pgd`
  are the same call with the options of FGSM and PGD spelled out.
* :func:`robust_accuracy`, :func:`robust_accuracy_curve`, :func:`plot_epsilon_curves`,
  :func:`plot_gallery`: how accuracy falls with epsilon, and what the adversarial images look like.
* :func:`adversarial_training`: the library's training recipe (:func:`emnist_tf.modeling.training.train`)
  on batches partly replaced by their attacked versions, with any registered attack;
  :func:`defence_table` compares clean and robust accuracy of several models.

Untargeted attacks raise the loss of the true class; targeted attacks (pass
``target_labels``) lower the loss of the target class.

Example:
    >>> adversarial = pgd(model, images, labels, epsilon=0.1, steps=20, seed=0)
    >>> curve = robust_accuracy_curve(model, images, labels, [0, 0.05, 0.1], method="pgd")
    >>> figure = plot_epsilon_curves({"CNN": {"pgd": curve}})
"""

from __future__ import annotations

import contextlib
import dataclasses
import weakref
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from emnist_tf.interpret.activations import submodel
from emnist_tf.robustness.attacks import ATTACKS, Attack, AttackedModel, make_attack, options_for
from emnist_tf.robustness.corruptions import accuracy, predict_labels


def _tf():
    import tensorflow as tf

    return tf


# ---------------------------------------------------------------- the model as an attack sees it
def score_model(model):
    """Returns ``(scorer, from_logits)``: a model giving the logits when the model has a
    ``logits`` layer, else the model itself (probabilities)."""
    from emnist_tf.modeling.models import LOGITS_LAYER

    if LOGITS_LAYER not in [layer.name for layer in model.layers]:
        return model, False
    return submodel(model, LOGITS_LAYER), True


def input_gradient(scorer, from_logits: bool, images, classes):
    """Per-image gradient of the cross-entropy of ``classes`` with respect to ``images``, and the scores.

    The one ``tf.GradientTape`` of the attacks: every attack reaches it through
    :class:`AttackedModel`, eagerly (compiled once per model by :func:`loss_gradient_function`)
    or inside :func:`~emnist_tf.robustness.adversarial.adversarial_training`'s training step.
    """
    tf = _tf()
    with tf.GradientTape() as tape:
        tape.watch(images)
        scores = tf.cast(scorer(images, training=False), tf.float32)
        loss = tf.keras.losses.sparse_categorical_crossentropy(classes, scores, from_logits=from_logits)
    return tape.gradient(loss, images), scores


_GRADIENT_FUNCTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SCORE_FUNCTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _cached(cache: weakref.WeakKeyDictionary, model, build: Callable):
    try:
        return cache[model]
    except (KeyError, TypeError):
        pass
    function = build()
    with contextlib.suppress(TypeError):
        cache[model] = function
    return function


def loss_gradient_function(model):
    """A compiled ``(images, classes) -> (gradient of the cross-entropy, scores)`` for ``model``.

    The gradient is per image (the loss is not averaged), computed with
    ``tf.GradientTape`` on the logits when the model has a ``logits`` layer. The
    function is built once per model and reused.
    """

    def build():
        tf = _tf()
        scorer, from_logits = score_model(model)

        @tf.function(reduce_retracing=True, autograph=False)
        def gradient_and_scores(images, classes):
            return input_gradient(scorer, from_logits, images, classes)

        return gradient_and_scores

    return _cached(_GRADIENT_FUNCTIONS, model, build)


def score_function(model):
    """A compiled ``images -> scores`` (float32 logits, or probabilities without a ``logits`` layer)."""

    def build():
        tf = _tf()
        scorer, _ = score_model(model)
        return tf.function(lambda images: tf.cast(scorer(images, training=False), tf.float32), reduce_retracing=True)

    return _cached(_SCORE_FUNCTIONS, model, build)


def attacked_model(model, *, compiled: bool = True) -> AttackedModel:
    """The :class:`AttackedModel` of a Keras classifier.

    Args:
        model: Keras classifier (outputs probabilities; a ``logits`` layer is used if present).
        compiled: use the functions compiled once per model (fast when called eagerly); ``False``
            builds plain functions, for use inside another ``tf.function`` such as a training step.
    """
    if compiled:
        return AttackedModel(loss_gradient_function(model), score_function(model))
    tf = _tf()
    scorer, from_logits = score_model(model)
    return AttackedModel(
        lambda images, classes: input_gradient(scorer, from_logits, images, classes),
        lambda images: tf.cast(scorer(images, training=False), tf.float32),
    )


def _check_epsilon(epsilon: float) -> float:
    epsilon = float(epsilon)
    if not 0 <= epsilon <= 1:
        raise ValueError(f"epsilon is an L-infinity radius in [0, 1] for images in [0, 1], got {epsilon}")
    return epsilon


def _prepare(images, labels, target_labels):
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    labels = np.asarray(labels, dtype=np.int64)
    if len(images) != len(labels):
        raise ValueError(f"images and labels differ in length ({len(images)} vs {len(labels)})")
    if target_labels is not None:
        target_labels = np.asarray(target_labels, dtype=np.int64)
        if target_labels.shape != labels.shape:
            raise ValueError("target_labels must have one target class per image")
    return images, labels, target_labels


def batch_seed(seed: int, batch_index: int):
    """The stateless seed (int64 tensor of shape (2,)) :func:`attack` gives the attack for one batch."""
    return _tf().constant([int(seed), int(batch_index)], dtype="int64")


def attack(
    model,
    images,
    labels,
    epsilon: float,
    *,
    method: str | Attack = "pgd",
    target_labels=None,
    seed: int = 0,
    batch_size: int = 256,
    **options,
) -> np.ndarray:
    """Runs an attack of :data:`ATTACKS` on NumPy images, batch by batch.

    Args:
        model: Keras classifier (outputs probabilities; a ``logits`` layer is used if present).
        images: images (N, 28, 28, 1) in [0, 1].
        labels: true class indices (N,).
        epsilon: L-infinity radius in [0, 1]; 0 returns the images unchanged.
        method: name of a registered attack (``"fgsm"``, ``"pgd"``...) or an :class:`Attack` object.
        target_labels: optional target class per image for a targeted attack.
        seed: seed of the attack's randomness (batch ``i`` gets :func:`batch_seed` ``(seed, i)``).
        batch_size: images per batch.
        **options: the attack's options (``steps=20`` for PGD...).

    Returns:
        Adversarial images (float32), each within ``epsilon`` of its original and in [0, 1].

    Example:
        >>> adversarial = attack(model, images, labels, 0.1, method="pgd", steps=20, seed=0)
    """
    tf = _tf()
    chosen = make_attack(method, **options)
    epsilon = _check_epsilon(epsilon)
    images, labels, target_labels = _prepare(images, labels, target_labels)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if epsilon == 0 or len(images) == 0:
        return images.copy()
    target = attacked_model(model)
    classes = labels if target_labels is None else target_labels
    outputs = []
    for index, start in enumerate(range(0, len(images), batch_size)):
        batch = slice(start, start + batch_size)
        adversarial = chosen.perturb(
            target,
            tf.constant(images[batch]),
            tf.constant(classes[batch]),
            epsilon=epsilon,
            targeted=target_labels is not None,
            seed=batch_seed(seed, index),
        )
        outputs.append(np.asarray(adversarial, dtype=np.float32))
    return np.concatenate(outputs)


def fgsm(model, images, labels, epsilon: float, *, target_labels=None, batch_size: int = 256) -> np.ndarray:
    """Fast gradient sign method: one step of size ``epsilon`` (L-infinity); :func:`attack` with ``"fgsm"``.

    Args:
        model: Keras classifier (outputs probabilities; a ``logits`` layer is used if present).
        images: images (N, 28, 28, 1) in [0, 1].
        labels: true class indices (N,).
        epsilon: L-infinity radius in [0, 1]; 0 returns the images unchanged.
        target_labels: optional target class per image for a targeted attack.
        batch_size: images per gradient computation.

    Returns:
        Adversarial images (float32), each within ``epsilon`` of its original and in [0, 1].

    Example:
        >>> adversarial = fgsm(model, images, labels, epsilon=0.1)
    """
    return attack(model, images, labels, epsilon, method="fgsm", target_labels=target_labels, batch_size=batch_size)


def pgd(
    model,
    images,
    labels,
    epsilon: float,
    *,
    steps: int = 40,
    step_size: float | None = None,
    random_start: bool = True,
    restarts: int = 1,
    include_fgsm: bool = True,
    keep_first_success: bool = True,
    target_labels=None,
    seed: int = 0,
    batch_size: int = 256,
) -> np.ndarray:
    """Projected gradient descent (Madry et al.) in the L-infinity ball; :func:`attack` with ``"pgd"``.

    A random start in the ball (clipped to [0, 1]), then ``steps`` signed-gradient steps of
    ``step_size``, each projected onto the ball and [0, 1]; each image keeps its first
    successful iterate, and the FGSM image is tried first, so PGD is never weaker than FGSM
    (see :class:`~emnist_tf.robustness.attacks.PGD` for every option).

    Args:
        model: Keras classifier (outputs probabilities; a ``logits`` layer is used if present).
        images: images (N, 28, 28, 1) in [0, 1].
        labels: true class indices (N,).
        epsilon: L-infinity radius in [0, 1]; 0 returns the images unchanged.
        steps: iterations.
        step_size: size of each step; defaults to ``2.5 * epsilon / steps``.
        random_start: start from a random point of the ball instead of the image.
        restarts: number of random starts (only used with ``random_start``).
        include_fgsm: also try the FGSM image.
        keep_first_success: keep each image's first successful iterate instead of the last one.
        target_labels: optional target class per image for a targeted attack.
        seed: seed of the random start.
        batch_size: images per gradient computation.

    Returns:
        Adversarial images (float32), each within ``epsilon`` of its original and in [0, 1].

    Example:
        >>> adversarial = pgd(model, images, labels, epsilon=0.1, steps=20, seed=0)
    """
    return attack(
        model,
        images,
        labels,
        epsilon,
        method="pgd",
        target_labels=target_labels,
        seed=seed,
        batch_size=batch_size,
        steps=steps,
        step_size=step_size,
        random_start=random_start,
        restarts=restarts,
        include_fgsm=include_fgsm,
        keep_first_success=keep_first_success,
    )


def robust_accuracy(
    model, images, labels, epsilon: float, *, method: str | Attack = "pgd", seed: int = 0, **options
) -> float:
    """Accuracy of ``model`` on adversarial versions of ``images`` (untargeted :func:`attack`)."""
    adversarial = attack(model, images, labels, epsilon, method=method, seed=seed, **options)
    return accuracy(model, adversarial, labels)


@dataclasses.dataclass
class EpsilonCurve:
    """Robust accuracy at each epsilon for one attack.

    Attributes:
        method: the attack's name (a key of :data:`ATTACKS`).
        epsilons: the radii tested, ascending.
        accuracies: accuracy under attack at each radius (at 0: clean accuracy).
    """

    method: str
    epsilons: np.ndarray
    accuracies: np.ndarray

    def to_dict(self) -> dict:
        """The curve as plain JSON-ready Python values."""
        return {
            "method": self.method,
            "epsilons": [float(value) for value in self.epsilons],
            "accuracies": [float(value) for value in self.accuracies],
        }


def robust_accuracy_curve(
    model, images, labels, epsilons: Sequence[float], *, method: str | Attack = "pgd", seed: int = 0, **options
) -> EpsilonCurve:
    """Robust accuracy against epsilon; options (``steps``, ``step_size``...) go to the attack.

    Example:
        >>> curve = robust_accuracy_curve(cnn, images, labels, [0, 0.05, 0.1, 0.2], method="fgsm")
    """
    chosen = make_attack(method, **options)
    epsilons = np.sort(np.asarray(epsilons, dtype=float))
    if epsilons.size == 0:
        raise ValueError("epsilons is empty; pass at least one radius, e.g. [0, 0.05, 0.1]")
    values = [robust_accuracy(model, images, labels, epsilon, method=chosen, seed=seed) for epsilon in epsilons]
    return EpsilonCurve(chosen.name, epsilons, np.asarray(values))


def plot_epsilon_curves(curves_by_model: Mapping[str, Mapping[str, EpsilonCurve]]):
    """Robust accuracy against epsilon, all models and attacks on one axis.

    Args:
        curves_by_model: ``{model name: {attack: EpsilonCurve}}``, e.g.
            ``{"MLP": {"fgsm": ..., "pgd": ...}, "CNN": {...}}``.

    Returns:
        A ``matplotlib.figure.Figure``.
    """
    from matplotlib.figure import Figure

    if not curves_by_model:
        raise ValueError("no curves to plot; pass {model name: {attack: EpsilonCurve}}")
    figure = Figure(figsize=(5.5, 4), layout="constrained")
    axis = figure.subplots()
    for index, (model_name, curves) in enumerate(curves_by_model.items()):
        for method, curve in curves.items():
            axis.plot(
                curve.epsilons,
                curve.accuracies,
                ATTACKS[method].line_style if method in ATTACKS else Attack.line_style,
                marker="o",
                color=f"C{index}",
                label=f"{model_name} {method.upper()}",
            )
    axis.set_xlabel("epsilon (L-infinity)")
    axis.set_ylabel("robust accuracy")
    axis.set_ylim(0, 1)
    axis.grid(alpha=0.3)
    axis.legend(fontsize="small")
    return figure


def plot_gallery(model, images, labels, adversarial, *, class_names: Sequence[str] | None = None, count: int = 8):
    """Three rows per example column: original, perturbation (scaled), adversarial.

    Titles show the true class and the model's predictions on the original and the
    adversarial image.

    Returns:
        A ``matplotlib.figure.Figure``.
    """
    from matplotlib.figure import Figure

    images = np.asarray(images, dtype=np.float32)
    adversarial = np.asarray(adversarial, dtype=np.float32)
    count = min(count, len(images))
    if count < 1:
        raise ValueError("the gallery needs at least one image")
    if adversarial.shape != images.shape:
        raise ValueError("adversarial must have the same shape as images")
    name = (lambda index: class_names[index]) if class_names is not None else str
    clean_predictions = predict_labels(model, images[:count])
    adversarial_predictions = predict_labels(model, adversarial[:count])
    perturbation = adversarial[:count] - images[:count]
    scale = float(np.abs(perturbation).max()) or 1.0
    figure = Figure(figsize=(1.4 * count, 4.6), layout="constrained")
    axes = figure.subplots(3, count, squeeze=False)
    for column in range(count):
        axes[0, column].imshow(images[column, ..., 0], cmap="gray", vmin=0, vmax=1)
        axes[0, column].set_title(
            f"true {name(int(labels[column]))}\npred {name(int(clean_predictions[column]))}", fontsize=8
        )
        axes[1, column].imshow(perturbation[column, ..., 0], cmap="RdBu", vmin=-scale, vmax=scale)
        axes[2, column].imshow(adversarial[column, ..., 0], cmap="gray", vmin=0, vmax=1)
        fooled = adversarial_predictions[column] != labels[column]
        axes[2, column].set_title(
            f"pred {name(int(adversarial_predictions[column]))}", fontsize=8, color="red" if fooled else "black"
        )
        for row in range(3):
            axes[row, column].set_xticks([])
            axes[row, column].set_yticks([])
    for row, text in enumerate(("original", f"perturbation\n(±{scale:.2g})", "adversarial")):
        axes[row, 0].set_ylabel(text, fontsize=8)
    return figure


# Madry et al.'s training attack: each image's last iterate, without trying the FGSM image first
# (options an attack named in adversarial_training does not take are left out).
TRAINING_OPTIONS = {"include_fgsm": False, "keep_first_success": False}


def adversarial_training(
    model,
    images,
    labels,
    *,
    epsilon: float = 0.1,
    method: str | Attack = "fgsm",
    adversarial_fraction: float = 0.5,
    steps: int = 7,
    epochs: int = 5,
    batch_size: int = 128,
    optimizer: str = "adam",
    learning_rate: float = 1e-3,
    class_weight: str | dict | None = None,
    label_smoothing: float = 0.0,
    callbacks: Sequence = (),
    validation_fraction: float = 0.0,
    seed: int = 0,
    **training_options,
):
    """Trains ``model`` in place on a mix of clean and adversarial examples, with the library's recipe.

    Training goes through :func:`emnist_tf.modeling.training.train` (same keywords, same
    :class:`~emnist_tf.modeling.training.TrainingResult`): the model is wrapped in a Keras
    model sharing its layers whose ``train_step`` first replaces a fraction
    ``adversarial_fraction`` of each batch by its attacked version under the current
    weights (the attack's own :meth:`~emnist_tf.robustness.attacks.Attack.perturb`, in graph
    mode), then takes the ordinary step, so class weights, label smoothing, schedules and
    callbacks apply as in any other run.

    Args:
        model: Keras classifier outputting probabilities (a ``logits`` layer is attacked if present).
        images: training images (N, 28, 28, 1) in [0, 1].
        labels: class indices (N,).
        epsilon: attack radius used during training.
        method: a registered attack's name (``"fgsm"``: fast; ``"pgd"``: stronger, slower), made
            with ``steps`` and :data:`TRAINING_OPTIONS` where it takes them, or an
            :class:`~emnist_tf.robustness.attacks.Attack` object used as it is, e.g. ``PGD(steps=7, restarts=2)``.
        adversarial_fraction: share of each batch replaced by adversarial images (0..1).
        steps: iterations of an attack named by ``method`` that takes ``steps`` (PGD); one-step
            attacks ignore it.
        epochs, batch_size, optimizer, learning_rate, class_weight, label_smoothing, callbacks,
            validation_fraction, seed: as for :func:`~emnist_tf.modeling.training.train`
            (``seed`` also seeds the attack's randomness, with the step number).
        **training_options: any other keyword of :func:`~emnist_tf.modeling.training.train`
            (``schedule``, ``verbose``, ``optimizer_options``...).

    Returns:
        The :class:`~emnist_tf.modeling.training.TrainingResult` of the run, with ``model``
        the trained ``model`` and the attack recorded in ``settings["adversarial"]``.

    Example:
        >>> result = adversarial_training(build_cnn(), images, labels, epsilon=0.1, epochs=2)
        >>> result.history["loss"]
    """
    from emnist_tf.modeling.training import train

    chosen = make_attack(method, **options_for(method, {"steps": steps, **TRAINING_OPTIONS}))
    if not 0 <= adversarial_fraction <= 1:
        raise ValueError(f"adversarial_fraction must be in [0, 1], got {adversarial_fraction}")
    epsilon = _check_epsilon(epsilon)
    images, labels, _ = _prepare(images, labels, None)
    wrapper = _adversarial_trainer(model, chosen, epsilon=epsilon, adversarial_fraction=adversarial_fraction, seed=seed)
    training_options.setdefault("verbose", 0)
    result = train(
        wrapper,
        (images, labels),
        epochs=epochs,
        batch_size=batch_size,
        optimizer=optimizer,
        learning_rate=learning_rate,
        class_weight=class_weight,
        label_smoothing=label_smoothing,
        callbacks=callbacks,
        validation_fraction=validation_fraction,
        seed=seed,
        **training_options,
    )
    attack_settings = {
        "epsilon": epsilon,
        "method": chosen.name,
        "options": {name: getattr(chosen, name) for name in chosen.option_names()},
        "adversarial_fraction": adversarial_fraction,
    }
    return dataclasses.replace(result, model=model, settings={**result.settings, "adversarial": attack_settings})


def _adversarial_trainer(model, chosen: Attack, *, epsilon: float, adversarial_fraction: float, seed: int):
    """A functional Keras model sharing ``model``'s layers whose training step attacks part of each batch."""
    import keras

    tf = _tf()
    target = attacked_model(model, compiled=False)

    class AdversarialTrainer(keras.Model):
        def train_step(self, data):
            x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
            x = tf.cast(x, tf.float32)
            if adversarial_fraction == 0 or epsilon == 0:
                return super().train_step(keras.utils.pack_x_y_sample_weight(x, y, sample_weight))
            count = tf.cast(tf.round(adversarial_fraction * tf.cast(tf.shape(x)[0], tf.float32)), tf.int32)
            # A small last batch can round to no attacked image: an empty batch must not reach the layers.
            mixed = tf.cond(
                count > 0,
                lambda: tf.concat([self.perturb(x[:count], tf.cast(y[:count], tf.int64)), x[count:]], axis=0),
                lambda: x,
            )
            return super().train_step(keras.utils.pack_x_y_sample_weight(mixed, y, sample_weight))

        def perturb(self, originals, classes):
            # A new stateless seed at every step: the run's seed and the optimizer's step count.
            step_seed = tf.stack([tf.constant(seed, tf.int64), tf.cast(self.optimizer.iterations, tf.int64)])
            adversarial = chosen.perturb(target, originals, classes, epsilon=epsilon, targeted=False, seed=step_seed)
            return tf.stop_gradient(adversarial)

    return AdversarialTrainer(inputs=model.inputs, outputs=model.outputs, name=f"{model.name}_adversarial")


def defence_table(
    models: Mapping[str, object],
    images,
    labels,
    epsilon: float,
    *,
    methods: Sequence[str] | None = None,
    seed: int = 0,
    **options,
) -> dict[str, dict[str, float]]:
    """Clean and robust accuracy of several models, e.g. standard vs adversarially trained.

    Args:
        models: ``{name: Keras classifier}``.
        images, labels: the test images and their classes.
        epsilon: L-infinity radius of every attack.
        methods: names of registered attacks (default: all of :data:`ATTACKS`).
        seed: seed of the attacks' randomness.
        **options: attack options (``steps=20``...), each given to the attacks that take it.

    Returns:
        ``{model name: {"clean": accuracy, "fgsm": robust accuracy, "pgd": ...}}``.
    """
    methods = list(ATTACKS) if methods is None else list(methods)
    unused = set(options) - {key for method in methods for key in options_for(method, options)}
    if unused:
        raise ValueError(f"no attack among {', '.join(methods)} takes {', '.join(sorted(unused))}")
    table = {}
    for name, model in models.items():
        row = {"clean": accuracy(model, images, labels)}
        for method in methods:
            row[method] = robust_accuracy(
                model, images, labels, epsilon, method=method, seed=seed, **options_for(method, options)
            )
        table[name] = row
    return table
