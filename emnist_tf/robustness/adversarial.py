"""Adversarial examples: FGSM and PGD attacks, robust accuracy, and adversarial training.

Both attacks work in the L-infinity ball of radius ``epsilon`` around each image and
keep every pixel in [0, 1]. They follow the gradient of the cross-entropy loss computed
with ``tf.GradientTape`` on the model's ``logits`` layer (the naming convention of
:mod:`emnist_tf.modeling.models`), falling back to the probabilities it outputs when a model has
no such layer.

* :func:`fgsm`: one step of size ``epsilon`` along the sign of the gradient.
* :func:`pgd`: a random start inside the ball, then ``steps`` steps of ``step_size``,
  each projected back onto the ball; an image keeps the first iterate that fools the
  model. The FGSM image is tried first (``include_fgsm``), so PGD is never weaker than FGSM.
* :func:`adversarial_training`: the library's training recipe (:func:`emnist_tf.modeling.training.train`)
  on batches partly replaced by their attacked versions; :func:`defence_table` compares clean
  and robust accuracy of several models.

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
from collections.abc import Mapping, Sequence

import numpy as np

from emnist_tf.interpret.activations import submodel
from emnist_tf.robustness.corruptions import accuracy, predict_labels

ATTACKS = ("fgsm", "pgd")


def _tf():
    import tensorflow as tf

    return tf


def score_model(model):
    """Returns ``(scorer, from_logits)``: a model giving the logits when the model has a
    ``logits`` layer, else the model itself (probabilities)."""
    from emnist_tf.modeling.models import LOGITS_LAYER

    if LOGITS_LAYER not in [layer.name for layer in model.layers]:
        return model, False
    return submodel(model, LOGITS_LAYER), True


_GRADIENT_FUNCTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def input_gradient(scorer, from_logits: bool, images, classes):
    """Per-image gradient of the cross-entropy of ``classes`` with respect to ``images``, and the scores.

    The one ``tf.GradientTape`` of the attacks, shared by :func:`fgsm`, :func:`pgd` and the
    perturbation inside :func:`adversarial_training`'s training step.
    """
    tf = _tf()
    with tf.GradientTape() as tape:
        tape.watch(images)
        scores = tf.cast(scorer(images, training=False), tf.float32)
        loss = tf.keras.losses.sparse_categorical_crossentropy(classes, scores, from_logits=from_logits)
    return tape.gradient(loss, images), scores


def loss_gradient_function(model):
    """A compiled ``(images, classes) -> (gradient of the cross-entropy, scores)`` for ``model``.

    The gradient is per image (the loss is not averaged), computed with
    ``tf.GradientTape`` on the logits when the model has a ``logits`` layer. The
    function is built once per model and reused.
    """
    try:
        return _GRADIENT_FUNCTIONS[model]
    except (KeyError, TypeError):
        pass
    tf = _tf()
    scorer, from_logits = score_model(model)

    @tf.function(reduce_retracing=True, autograph=False)
    def gradient_and_scores(images, classes):
        return input_gradient(scorer, from_logits, images, classes)

    with contextlib.suppress(TypeError):
        _GRADIENT_FUNCTIONS[model] = gradient_and_scores
    return gradient_and_scores


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


def _project(adversarial, originals, epsilon: float):
    tf = _tf()
    adversarial = tf.clip_by_value(adversarial, originals - epsilon, originals + epsilon)
    return tf.clip_by_value(adversarial, 0.0, 1.0)


def _batches(count: int, batch_size: int):
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    for start in range(0, count, batch_size):
        yield slice(start, start + batch_size)


def fgsm(model, images, labels, epsilon: float, *, target_labels=None, batch_size: int = 256) -> np.ndarray:
    """Fast gradient sign method: one step of size ``epsilon`` (L-infinity).

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
    tf = _tf()
    epsilon = _check_epsilon(epsilon)
    images, labels, target_labels = _prepare(images, labels, target_labels)
    if epsilon == 0 or len(images) == 0:
        return images.copy()
    gradient_function = loss_gradient_function(model)
    direction = -1.0 if target_labels is not None else 1.0
    classes_all = target_labels if target_labels is not None else labels
    outputs = []
    for batch in _batches(len(images), batch_size):
        originals = tf.constant(images[batch])
        gradient, _ = gradient_function(originals, tf.constant(classes_all[batch]))
        stepped = originals + direction * epsilon * tf.sign(gradient)
        outputs.append(_project(stepped, originals, epsilon).numpy())
    return np.concatenate(outputs)


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
    target_labels=None,
    seed: int = 0,
    batch_size: int = 256,
) -> np.ndarray:
    """Projected gradient descent (Madry et al.) in the L-infinity ball.

    Starts at a uniformly random point of the ball (``random_start``), takes ``steps``
    signed-gradient steps of ``step_size``, projecting onto the ball and [0, 1] after
    each. Every image keeps the first iterate that succeeds (misclassified, or classified
    as its target), so more steps never make the attack weaker. With ``restarts`` > 1
    the attack is repeated from new random starts for the images not yet fooled. With
    ``include_fgsm`` the FGSM image is tried first and kept for the images it already
    fools, so PGD's robust accuracy is never above FGSM's (a single projected-gradient
    run is not guaranteed to find every point a large FGSM step finds).

    Args:
        model: Keras classifier (outputs probabilities; a ``logits`` layer is used if present).
        images: images (N, 28, 28, 1) in [0, 1].
        labels: true class indices (N,).
        epsilon: L-infinity radius in [0, 1]; 0 returns the images unchanged.
        steps: iterations.
        step_size: size of each step; defaults to ``2.5 * epsilon / steps``.
        random_start: start from a random point of the ball instead of the image.
        restarts: number of random starts (only used with ``random_start``).
        include_fgsm: also try the FGSM image (see above).
        target_labels: optional target class per image for a targeted attack.
        seed: seed of the random start.
        batch_size: images per gradient computation.

    Returns:
        Adversarial images (float32), each within ``epsilon`` of its original and in [0, 1].

    Example:
        >>> adversarial = pgd(model, images, labels, epsilon=0.1, steps=20, seed=0)
    """
    _tf()
    epsilon = _check_epsilon(epsilon)
    images, labels, target_labels = _prepare(images, labels, target_labels)
    steps = int(steps)
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    if epsilon == 0 or len(images) == 0:
        return images.copy()
    step_size = 2.5 * epsilon / steps if step_size is None else float(step_size)
    if step_size <= 0:
        raise ValueError(f"step_size must be positive, got {step_size}")
    if restarts < 1:
        raise ValueError(f"restarts must be at least 1, got {restarts}")
    restarts = restarts if random_start else 1
    settings = _PgdSettings(epsilon, step_size, steps, restarts, random_start, include_fgsm)
    gradient_function = loss_gradient_function(model)
    rng = np.random.default_rng(seed)
    outputs = []
    for batch in _batches(len(images), batch_size):
        targets = None if target_labels is None else target_labels[batch]
        outputs.append(
            _pgd_with_restarts(model, gradient_function, images[batch], labels[batch], targets, settings, rng)
        )
    return np.concatenate(outputs)


@dataclasses.dataclass(frozen=True)
class _PgdSettings:
    epsilon: float
    step_size: float
    steps: int
    restarts: int
    random_start: bool
    include_fgsm: bool


def _pgd_with_restarts(model, gradient_function, images, labels, targets, settings: _PgdSettings, rng) -> np.ndarray:
    """PGD on one batch: optional FGSM try, then restarts for the images not yet fooled."""
    epsilon = settings.epsilon
    result, fooled = images.copy(), np.zeros(len(labels), dtype=bool)
    if settings.include_fgsm:
        result = fgsm(model, images, labels, epsilon, target_labels=targets, batch_size=len(images))
        fooled = _fooled(model, result, labels, targets)
    for _ in range(settings.restarts):
        todo = np.nonzero(~fooled)[0]
        if todo.size == 0:
            break
        start = images[todo]
        if settings.random_start:
            start = start + rng.uniform(-epsilon, epsilon, size=start.shape).astype(np.float32)
        todo_targets = None if targets is None else targets[todo]
        result[todo] = _pgd_batch(
            gradient_function,
            images[todo],
            start,
            labels[todo],
            todo_targets,
            epsilon,
            settings.step_size,
            settings.steps,
        )
        fooled[todo] = _fooled(model, result[todo], labels[todo], todo_targets)
    return result


def _fooled(model, images, labels, targets) -> np.ndarray:
    predicted = predict_labels(model, images)
    return predicted == targets if targets is not None else predicted != labels


def _succeeded(scores, labels, targets):
    tf = _tf()
    predicted = tf.argmax(scores, axis=-1)
    return tf.equal(predicted, targets) if targets is not None else tf.not_equal(predicted, labels)


def _pgd_batch(gradient_function, originals, start, labels, targets, epsilon, step_size, steps):
    tf = _tf()
    originals = tf.constant(originals)
    labels = tf.constant(labels)
    targets = None if targets is None else tf.constant(targets)
    classes = labels if targets is None else targets
    direction = 1.0 if targets is None else -1.0
    current = _project(tf.constant(start), originals, epsilon)
    best = current
    done = tf.zeros(tf.shape(labels), dtype=tf.bool)
    mask_shape = (-1,) + (1,) * (len(originals.shape) - 1)
    for _ in range(steps):
        gradient, scores = gradient_function(current, classes)
        newly = tf.logical_and(_succeeded(scores, labels, targets), tf.logical_not(done))
        best = tf.where(tf.reshape(newly, mask_shape), current, best)
        done = tf.logical_or(done, newly)
        current = _project(current + direction * step_size * tf.sign(gradient), originals, epsilon)
    best = tf.where(tf.reshape(done, mask_shape), best, current)
    return best.numpy()


def attack(model, images, labels, epsilon: float, *, method: str = "pgd", seed: int = 0, **options) -> np.ndarray:
    """Runs :func:`fgsm` or :func:`pgd` by name (``method``); extra options go to the attack."""
    if method == "fgsm":
        return fgsm(model, images, labels, epsilon, **options)
    if method == "pgd":
        return pgd(model, images, labels, epsilon, seed=seed, **options)
    raise ValueError(f"unknown attack {method!r}; choose one of {', '.join(ATTACKS)}")


def robust_accuracy(model, images, labels, epsilon: float, *, method: str = "pgd", seed: int = 0, **options) -> float:
    """Accuracy of ``model`` on adversarial versions of ``images`` (untargeted attack)."""
    adversarial = attack(model, images, labels, epsilon, method=method, seed=seed, **options)
    return accuracy(model, adversarial, labels)


@dataclasses.dataclass
class EpsilonCurve:
    """Robust accuracy at each epsilon for one attack.

    Attributes:
        method: ``"fgsm"`` or ``"pgd"``.
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
    model, images, labels, epsilons: Sequence[float], *, method: str = "pgd", seed: int = 0, **options
) -> EpsilonCurve:
    """Robust accuracy against epsilon; options (``steps``, ``step_size``...) go to the attack.

    Example:
        >>> curve = robust_accuracy_curve(cnn, images, labels, [0, 0.05, 0.1, 0.2], method="fgsm")
    """
    epsilons = np.sort(np.asarray(epsilons, dtype=float))
    if epsilons.size == 0:
        raise ValueError("epsilons is empty; pass at least one radius, e.g. [0, 0.05, 0.1]")
    values = [
        robust_accuracy(model, images, labels, epsilon, method=method, seed=seed, **options) for epsilon in epsilons
    ]
    return EpsilonCurve(method, epsilons, np.asarray(values))


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
    styles = {"fgsm": "--", "pgd": "-"}
    for index, (model_name, curves) in enumerate(curves_by_model.items()):
        for method, curve in curves.items():
            axis.plot(
                curve.epsilons,
                curve.accuracies,
                styles.get(method, "-."),
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


def adversarial_training(
    model,
    images,
    labels,
    *,
    epsilon: float = 0.1,
    method: str = "fgsm",
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
    weights (FGSM, or PGD with ``steps`` iterations from a random start), then takes the
    ordinary step, so class weights, label smoothing, schedules and callbacks apply as in
    any other run.

    Args:
        model: Keras classifier outputting probabilities (a ``logits`` layer is attacked if present).
        images: training images (N, 28, 28, 1) in [0, 1].
        labels: class indices (N,).
        epsilon: attack radius used during training.
        method: ``"fgsm"`` (fast) or ``"pgd"`` (stronger, slower).
        adversarial_fraction: share of each batch replaced by adversarial images (0..1).
        steps: PGD iterations per batch.
        epochs, batch_size, optimizer, learning_rate, class_weight, label_smoothing, callbacks,
            validation_fraction, seed: as for :func:`~emnist_tf.modeling.training.train`
            (``seed`` also seeds the PGD random starts).
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

    if method not in ATTACKS:
        raise ValueError(f"unknown attack {method!r}; choose one of {', '.join(ATTACKS)}")
    if not 0 <= adversarial_fraction <= 1:
        raise ValueError(f"adversarial_fraction must be in [0, 1], got {adversarial_fraction}")
    if method == "pgd" and steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    epsilon = _check_epsilon(epsilon)
    images, labels, _ = _prepare(images, labels, None)
    attack_settings = dict(epsilon=epsilon, method=method, adversarial_fraction=adversarial_fraction, steps=steps)
    wrapper = _adversarial_trainer(model, seed=seed, **attack_settings)
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
    return dataclasses.replace(result, model=model, settings={**result.settings, "adversarial": attack_settings})


def _adversarial_trainer(model, *, epsilon, method, adversarial_fraction, steps, seed):
    """A functional Keras model sharing ``model``'s layers whose training step attacks part of each batch."""
    import keras

    tf = _tf()
    scorer, from_logits = score_model(model)

    class AdversarialTrainer(keras.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.seed_generator = keras.random.SeedGenerator(seed)

        def train_step(self, data):
            x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
            x = tf.cast(x, tf.float32)
            if adversarial_fraction == 0:
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
            if epsilon == 0:
                return originals
            if method == "fgsm":
                gradient, _ = input_gradient(scorer, from_logits, originals, classes)
                return _project(originals + epsilon * tf.sign(gradient), originals, epsilon)
            step_size = 2.5 * epsilon / steps
            noise = keras.random.uniform(tf.shape(originals), -epsilon, epsilon, seed=self.seed_generator)
            current = _project(originals + noise, originals, epsilon)
            for _ in range(steps):
                gradient, _ = input_gradient(scorer, from_logits, current, classes)
                current = _project(current + step_size * tf.sign(gradient), originals, epsilon)
            return tf.stop_gradient(current)

    return AdversarialTrainer(inputs=model.inputs, outputs=model.outputs, name=f"{model.name}_adversarial")


def defence_table(
    models: Mapping[str, object],
    images,
    labels,
    epsilon: float,
    *,
    methods: Sequence[str] = ATTACKS,
    seed: int = 0,
    **options,
) -> dict[str, dict[str, float]]:
    """Clean and robust accuracy of several models, e.g. standard vs adversarially trained.

    Returns:
        ``{model name: {"clean": accuracy, "fgsm": robust accuracy, "pgd": ...}}``.
    """
    table = {}
    for name, model in models.items():
        row = {"clean": accuracy(model, images, labels)}
        for method in methods:
            method_options = options if method == "pgd" else {}
            row[method] = robust_accuracy(model, images, labels, epsilon, method=method, seed=seed, **method_options)
        table[name] = row
    return table
