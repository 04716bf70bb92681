"""The attacks: one class each, registered by name in :data:`ATTACKS`.

An attack is an object with one method, :meth:`Attack.perturb`, written in TensorFlow operations
only, so that the same code runs eagerly (:func:`emnist_tf.robustness.adversarial.attack` and the
functions built on it), inside a ``tf.function`` and inside the training step of
:func:`emnist_tf.robustness.adversarial.adversarial_training`::

    adversarial = attack.perturb(target, images, classes, epsilon=0.1, targeted=False, seed=seed)

* ``target`` is an :class:`AttackedModel`: the model seen through its loss gradient with respect
  to the images and its scores (:func:`emnist_tf.robustness.adversarial.attacked_model` makes it);
* ``images`` is a float32 batch in [0, 1]; ``classes`` the true classes (int64), or the target
  classes when ``targeted`` is true (the attack then lowers their loss instead of raising it);
* ``seed`` is a stateless seed, an int64 tensor of shape (2,): the same seed gives the same images
  eagerly and in graph mode;
* the result is a float32 batch, each image within ``epsilon`` of its original (L-infinity) and
  in [0, 1] (:func:`project` does both).

Adding an attack is one class, registered in one place::

    @register
    @dataclasses.dataclass(frozen=True)
    class RandomSign(Attack):
        name = "random_sign"

        def perturb(self, target, images, classes, *, epsilon, targeted, seed):
            noise = tf.sign(tf.random.stateless_uniform(tf.shape(images), seed, -1.0, 1.0))
            return project(images + epsilon * noise, images, epsilon)

after which ``robust_accuracy_curve(..., method="random_sign")``, ``defence_table``, the robustness
report and ``adversarial_training(..., method="random_sign")`` all use it. The attack's options are
the dataclass's fields (``make_attack("pgd", steps=20)``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import ClassVar


def _tf():
    import tensorflow as tf

    return tf


@dataclasses.dataclass(frozen=True)
class AttackedModel:
    """The model as an attack sees it.

    Attributes:
        gradient: ``(images, classes) -> (gradient, scores)``: the per-image gradient of the
            cross-entropy of ``classes`` with respect to ``images``, and the scores of ``images``.
        scores: ``images -> scores`` (one forward pass, no gradient).
    """

    gradient: Callable
    scores: Callable


def project(adversarial, originals, epsilon: float):
    """Clips ``adversarial`` to the L-infinity ball of radius ``epsilon`` around ``originals``, then to [0, 1]."""
    tf = _tf()
    adversarial = tf.clip_by_value(adversarial, originals - epsilon, originals + epsilon)
    return tf.clip_by_value(adversarial, 0.0, 1.0)


def succeeded(scores, classes, *, targeted: bool):
    """Per image: classified as its target (``targeted``), or no longer as its true class."""
    tf = _tf()
    predicted = tf.argmax(scores, axis=-1, output_type=classes.dtype)
    return tf.equal(predicted, classes) if targeted else tf.not_equal(predicted, classes)


# ---------------------------------------------------------------- the registry
class Attack:
    """An L-infinity attack: subclasses set ``name`` and implement :meth:`perturb`.

    Subclasses are frozen dataclasses whose fields are the attack's options, registered with
    :func:`register`.
    """

    name: ClassVar[str] = ""
    line_style: ClassVar[str] = "-."  # how plot_epsilon_curves draws its curves

    def perturb(self, target: AttackedModel, images, classes, *, epsilon: float, targeted: bool, seed):
        """Adversarial versions of a batch (see the module's docstring for the contract).

        Args:
            target: the model's gradient and scores.
            images: float32 tensor (N, ...) in [0, 1].
            classes: int64 tensor (N,): true classes, or target classes if ``targeted``.
            epsilon: L-infinity radius, positive.
            targeted: lower the loss of ``classes`` instead of raising it.
            seed: stateless seed, int64 tensor of shape (2,).

        Returns:
            float32 tensor like ``images``, each image within ``epsilon`` of its original and in [0, 1].
        """
        raise NotImplementedError

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        """The keyword options the attack takes (its dataclass fields)."""
        return tuple(field.name for field in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else ()


ATTACKS: dict[str, type[Attack]] = {}


def register(attack_class: type[Attack]) -> type[Attack]:
    """Adds an :class:`Attack` subclass to :data:`ATTACKS` under its ``name`` (usable as a decorator).

    A class defined again under the same name and qualified name (a notebook cell run twice)
    replaces its earlier version; another class under a taken name is an error.
    """
    if not (isinstance(attack_class, type) and issubclass(attack_class, Attack)) or not attack_class.name:
        raise TypeError("register takes an Attack subclass with a non-empty name")
    existing = ATTACKS.get(attack_class.name)
    if existing is not None and _origin(existing) != _origin(attack_class):
        raise ValueError(f"an attack named {attack_class.name!r} is already registered; choose another name")
    ATTACKS[attack_class.name] = attack_class
    return attack_class


def _origin(cls: type) -> tuple[str, str]:
    return cls.__module__, cls.__qualname__


def attack_class(method: str) -> type[Attack]:
    """The registered class of ``method``; a one-line error lists the registered names."""
    try:
        return ATTACKS[method]
    except (KeyError, TypeError):
        raise ValueError(f"unknown attack {method!r}; choose one of {', '.join(ATTACKS)}") from None


def make_attack(method: str | Attack, **options) -> Attack:
    """The attack named ``method`` (a key of :data:`ATTACKS`) with ``options``; an :class:`Attack` passes through.

    Example:
        >>> pgd = make_attack("pgd", steps=20, restarts=2)
    """
    if isinstance(method, Attack):
        if options:
            raise ValueError(f"options {sorted(options)} cannot be added to an attack object; set them when making it")
        return method
    chosen = attack_class(method)
    unknown = sorted(set(options) - set(chosen.option_names()))
    if unknown:
        takes = ", ".join(chosen.option_names()) or "no option"
        raise ValueError(f"the {method} attack takes no option {', '.join(unknown)}; it takes {takes}")
    return chosen(**options)


def options_for(method: str | Attack, options: dict) -> dict:
    """The part of ``options`` that the attack ``method`` takes (for calls that run several attacks)."""
    if isinstance(method, Attack):
        return {}
    names = attack_class(method).option_names()
    return {key: value for key, value in options.items() if key in names}


# ---------------------------------------------------------------- the attacks
def _signed_step(target: AttackedModel, images, originals, classes, *, size, epsilon, targeted):
    """One step of ``size`` along the sign of the loss gradient at ``images``, projected; also the scores."""
    tf = _tf()
    gradient, scores = target.gradient(images, classes)
    direction = -1.0 if targeted else 1.0
    return project(images + direction * size * tf.sign(gradient), originals, epsilon), scores


@register
@dataclasses.dataclass(frozen=True)
class FGSM(Attack):
    """Fast gradient sign method (Goodfellow et al.): one step of size ``epsilon`` along the gradient's sign."""

    name: ClassVar[str] = "fgsm"
    line_style: ClassVar[str] = "--"

    def perturb(self, target, images, classes, *, epsilon, targeted, seed):
        adversarial, _ = _signed_step(target, images, images, classes, size=epsilon, epsilon=epsilon, targeted=targeted)
        return adversarial


@register
@dataclasses.dataclass(frozen=True)
class PGD(Attack):
    """Projected gradient descent (Madry et al.) in the L-infinity ball.

    Starts at a uniformly random point of the ball (``random_start``), clipped to [0, 1], takes
    ``steps`` signed-gradient steps of ``step_size`` (default ``2.5 * epsilon / steps``),
    projecting onto the ball and [0, 1] after each. With ``keep_first_success`` every image
    keeps the first iterate that succeeds (misclassified, or classified as its target), so more
    steps never make the attack weaker; otherwise it ends at the last iterate (the textbook
    algorithm). With ``restarts`` > 1 the attack is repeated from new random starts for the
    images not yet fooled. With ``include_fgsm`` the FGSM image is tried first and kept for the
    images it already fools, so PGD is never weaker than FGSM.

    Attributes:
        steps: iterations (at least 1).
        step_size: size of each step; ``None``: ``2.5 * epsilon / steps``.
        random_start: start from a random point of the ball instead of the image.
        restarts: number of random starts (only used with ``random_start``).
        include_fgsm: try the FGSM image first (see above).
        keep_first_success: keep each image's first successful iterate (see above).
    """

    name: ClassVar[str] = "pgd"
    line_style: ClassVar[str] = "-"

    steps: int = 40
    step_size: float | None = None
    random_start: bool = True
    restarts: int = 1
    include_fgsm: bool = True
    keep_first_success: bool = True

    def __post_init__(self):
        if int(self.steps) < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")
        if self.step_size is not None and not float(self.step_size) > 0:
            raise ValueError(f"step_size must be positive, got {self.step_size}")
        if int(self.restarts) < 1:
            raise ValueError(f"restarts must be at least 1, got {self.restarts}")

    def perturb(self, target, images, classes, *, epsilon, targeted, seed):
        tf = _tf()
        result, done = images, tf.zeros(tf.shape(classes), dtype=tf.bool)
        if self.include_fgsm:
            result = FGSM().perturb(target, images, classes, epsilon=epsilon, targeted=targeted, seed=seed)
            done = succeeded(target.scores(result), classes, targeted=targeted)
        for restart in range(int(self.restarts) if self.random_start else 1):
            # Eagerly only the images not yet fooled are attacked; a graph attacks all and keeps the
            # same ones (the noise is drawn for the whole batch, so both give the same images).
            eager = tf.executing_eagerly()
            rows = tf.where(tf.logical_not(done))[:, 0] if eager else tf.range(tf.shape(classes, out_type=tf.int64)[0])
            if eager and int(tf.size(rows)) == 0:
                break
            start = images
            if self.random_start:
                restart_seed = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64), restart)
                # (2u - 1) epsilon, not stateless_uniform(-epsilon, epsilon): a graph would merge that one's
                # inner addition with this one and round differently from eager execution.
                uniform = tf.random.stateless_uniform(tf.shape(images), restart_seed)
                start = images + epsilon * (2.0 * uniform - 1.0)
            found, reached = self._climb(
                target,
                tf.gather(images, rows),
                tf.gather(start, rows),
                tf.gather(classes, rows),
                epsilon=epsilon,
                targeted=targeted,
            )
            indices = rows[:, tf.newaxis]
            kept = _rows(done, result)
            result = tf.where(kept, result, tf.tensor_scatter_nd_update(result, indices, found))
            done = tf.logical_or(done, tf.tensor_scatter_nd_update(tf.zeros_like(done), indices, reached))
        return result

    def _climb(self, target, originals, start, classes, *, epsilon, targeted):
        """One run from ``start``: the adversarial images and whether each succeeded."""
        tf = _tf()
        step_size = 2.5 * epsilon / int(self.steps) if self.step_size is None else float(self.step_size)
        current = project(start, originals, epsilon)  # the random start, inside the ball and [0, 1]
        best, hit = current, tf.zeros(tf.shape(classes), dtype=tf.bool)
        for _ in range(int(self.steps)):
            stepped, scores = _signed_step(
                target, current, originals, classes, size=step_size, epsilon=epsilon, targeted=targeted
            )
            if self.keep_first_success:
                newly = tf.logical_and(succeeded(scores, classes, targeted=targeted), tf.logical_not(hit))
                best = tf.where(_rows(newly, current), current, best)
                hit = tf.logical_or(hit, newly)
            current = stepped
        final = tf.where(_rows(hit, current), best, current)
        return final, tf.logical_or(hit, succeeded(target.scores(final), classes, targeted=targeted))


def _rows(mask, like):
    """``mask`` (N,) reshaped to broadcast over the rows of ``like`` (N, ...)."""
    return _tf().reshape(mask, [-1] + [1] * (like.shape.rank - 1))
