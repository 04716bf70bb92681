"""How accuracy falls as the test images get noisier: corruptions and psychometric curves.

Four corruptions of the test images, each with a ``level`` where 0 leaves the image
unchanged and the images always stay in [0, 1]:

* ``"gaussian"``: additive Gaussian noise with standard deviation ``level``.
* ``"salt_and_pepper"``: a fraction ``level`` of the pixels set to 0 or 1 (half each).
* ``"blur"``: Gaussian blur with a standard deviation of ``level`` pixels.
* ``"occlusion"``: a black square covering a fraction ``level`` of the image area,
  at a random place inside the image.

For each corruption, :func:`accuracy_curve` measures accuracy at a range of levels and
:func:`fit_psychometric` fits a logistic function that falls from the clean accuracy to
chance; its ``threshold`` is the level at which accuracy is halfway between the two.
:func:`plot_noise_curves` overlays several models (for example the MLP and the CNN).

Example:
    >>> curves = noise_curves(model, test_images, test_labels, seed=0)
    >>> fits = {name: fit_curve(curve) for name, curve in curves.items()}
    >>> figure = plot_noise_curves({"CNN": curves})
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np

CORRUPTIONS = ("gaussian", "salt_and_pepper", "blur", "occlusion")

DEFAULT_LEVELS = {
    "gaussian": (0.0, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0, 1.5),
    "salt_and_pepper": (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9),
    "blur": (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0),
    "occlusion": (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9),
}

LEVEL_NAMES = {
    "gaussian": "noise standard deviation",
    "salt_and_pepper": "fraction of pixels flipped",
    "blur": "blur sigma (pixels)",
    "occlusion": "fraction of area occluded",
}


def _check_corruption(corruption: str) -> None:
    if corruption not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {corruption!r}; choose one of {', '.join(CORRUPTIONS)}")


def _as_images(images) -> np.ndarray:
    array = np.asarray(images, dtype=np.float32)
    if array.ndim == 3:
        array = array[..., np.newaxis]
    if array.ndim != 4:
        raise ValueError(f"images must have shape (N, height, width[, channels]), got {array.shape}")
    return array


def corrupt(images, corruption: str, level: float, *, seed: int = 0) -> np.ndarray:
    """Returns a corrupted copy of ``images`` (float32 in [0, 1]).

    Args:
        images: array of shape (N, H, W, C) or (N, H, W) with values in [0, 1].
        corruption: one of :data:`CORRUPTIONS`.
        level: strength of the corruption (see the module docstring); 0 returns an
            unchanged copy.
        seed: seed of the random noise, patch positions and pixel choices.

    Returns:
        The corrupted images, same shape as the (4-d) input, clipped to [0, 1].

    Raises:
        ValueError: for an unknown corruption, a negative level, or a level above 1
            for salt-and-pepper and occlusion.

    Example:
        >>> noisy = corrupt(images, "gaussian", 0.3, seed=1)
    """
    _check_corruption(corruption)
    level = float(level)
    if level < 0 or not math.isfinite(level):
        raise ValueError(f"corruption level must be a finite number >= 0, got {level}")
    if corruption in ("salt_and_pepper", "occlusion") and level > 1:
        raise ValueError(f"{corruption} level is a fraction in [0, 1], got {level}")
    array = _as_images(images).copy()
    if level == 0:
        return array
    rng = np.random.default_rng(seed)
    corrupted = _CORRUPTERS[corruption](array, level, rng)
    return np.clip(corrupted, 0.0, 1.0).astype(np.float32)


def _gaussian(images: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    return images + rng.normal(0.0, level, size=images.shape).astype(np.float32)


def _salt_and_pepper(images: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    chosen = rng.random(images.shape) < level
    values = (rng.random(images.shape) < 0.5).astype(np.float32)
    return np.where(chosen, values, images)


def _blur(images: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    from scipy import ndimage

    return ndimage.gaussian_filter(images, sigma=(0, level, level, 0), mode="constant", cval=0.0)


def _occlusion(images: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    count, height, width = images.shape[:3]
    side_y = int(round(math.sqrt(level) * height))
    side_x = int(round(math.sqrt(level) * width))
    if side_y == 0 or side_x == 0:
        return images
    tops = rng.integers(0, height - side_y + 1, size=count)
    lefts = rng.integers(0, width - side_x + 1, size=count)
    for index, (top, left) in enumerate(zip(tops, lefts)):
        images[index, top : top + side_y, left : left + side_x, :] = 0.0
    return images


_CORRUPTERS = {
    "gaussian": _gaussian,
    "salt_and_pepper": _salt_and_pepper,
    "blur": _blur,
    "occlusion": _occlusion,
}


def predict_labels(model, images, *, batch_size: int = 256) -> np.ndarray:
    """Returns the model's predicted class indices for ``images`` (int64, shape (N,)).

    One batched forward pass in inference mode (:func:`emnist_tf.interpret.activations.forward`).
    """
    from emnist_tf.interpret.activations import forward

    return np.argmax(forward(model, _as_images(images), batch_size=batch_size), axis=-1).astype(np.int64)


def accuracy(model, images, labels, *, batch_size: int = 256) -> float:
    """Returns the fraction of ``images`` the model classifies as ``labels``."""
    labels = np.asarray(labels)
    if len(labels) == 0:
        raise ValueError("accuracy needs at least one image; pass a non-empty test set")
    return float(np.mean(predict_labels(model, images, batch_size=batch_size) == labels))


@dataclasses.dataclass
class NoiseCurve:
    """Accuracy at each level of one corruption.

    Attributes:
        corruption: name of the corruption (one of :data:`CORRUPTIONS`).
        levels: the levels tested, ascending.
        accuracies: accuracy at each level.
        num_classes: number of classes, so that chance is ``1 / num_classes``.
    """

    corruption: str
    levels: np.ndarray
    accuracies: np.ndarray
    num_classes: int

    @property
    def chance(self) -> float:
        """Accuracy of guessing a class uniformly at random."""
        return 1.0 / self.num_classes

    def to_dict(self) -> dict:
        """The curve as plain JSON-ready Python values."""
        return {
            "corruption": self.corruption,
            "levels": [float(level) for level in self.levels],
            "accuracies": [float(value) for value in self.accuracies],
            "num_classes": int(self.num_classes),
        }


def _num_classes(model, labels: np.ndarray) -> int:
    shape = getattr(model, "output_shape", None)
    if shape is not None and shape[-1]:
        return int(shape[-1])
    return int(np.max(labels)) + 1


def accuracy_curve(
    model,
    images,
    labels,
    corruption: str,
    levels: Sequence[float] | None = None,
    *,
    seed: int = 0,
    batch_size: int = 256,
) -> NoiseCurve:
    """Measures the model's accuracy on ``images`` corrupted at each level.

    The same seed is used at every level, so that a curve changes only through the
    level (the noise pattern is the same, only scaled).

    Args:
        model: a Keras classifier returning class scores (probabilities).
        images: test images (N, 28, 28, 1) in [0, 1].
        labels: class indices (N,).
        corruption: one of :data:`CORRUPTIONS`.
        levels: levels to test (sorted ascending here); defaults to
            ``DEFAULT_LEVELS[corruption]``.
        seed: seed of the corruption.
        batch_size: images per forward pass.

    Returns:
        A :class:`NoiseCurve`. Its accuracy at level 0 is the clean accuracy.

    Example:
        >>> curve = accuracy_curve(model, images, labels, "blur", levels=[0, 1, 2])
    """
    _check_corruption(corruption)
    labels = np.asarray(labels)
    levels = np.sort(np.asarray(DEFAULT_LEVELS[corruption] if levels is None else levels, dtype=float))
    if levels.size == 0:
        raise ValueError("levels is empty; pass at least one corruption level")
    accuracies = [
        accuracy(model, corrupt(images, corruption, level, seed=seed), labels, batch_size=batch_size)
        for level in levels
    ]
    return NoiseCurve(corruption, levels, np.asarray(accuracies), _num_classes(model, labels))


def noise_curves(
    model,
    images,
    labels,
    corruptions: Sequence[str] = CORRUPTIONS,
    levels: Mapping[str, Sequence[float]] | None = None,
    *,
    seed: int = 0,
    batch_size: int = 256,
) -> dict[str, NoiseCurve]:
    """Runs :func:`accuracy_curve` for each corruption; returns ``{corruption: curve}``."""
    levels = dict(levels or {})
    return {
        corruption: accuracy_curve(
            model, images, labels, corruption, levels.get(corruption), seed=seed, batch_size=batch_size
        )
        for corruption in corruptions
    }


def psychometric(level, threshold: float, slope: float, chance: float, clean_accuracy: float):
    """Logistic psychometric function falling from ``clean_accuracy`` to ``chance``.

    ``chance + (clean_accuracy - chance) / (1 + exp(slope * (level - threshold)))``:
    at ``level == threshold`` the value is exactly halfway between the two.
    """
    exponent = np.clip(slope * (np.asarray(level, dtype=float) - threshold), -500, 500)
    return chance + (clean_accuracy - chance) / (1.0 + np.exp(exponent))


@dataclasses.dataclass
class PsychometricFit:
    """A fitted :func:`psychometric` function.

    Attributes:
        threshold: level at which accuracy is halfway between clean and chance.
        slope: steepness of the fall (per unit of level).
        chance: lower asymptote (1 / number of classes).
        clean_accuracy: upper asymptote (accuracy at level 0).
    """

    threshold: float
    slope: float
    chance: float
    clean_accuracy: float

    def predict(self, levels) -> np.ndarray:
        """Accuracy the fitted function gives at ``levels``."""
        return psychometric(levels, self.threshold, self.slope, self.chance, self.clean_accuracy)

    def to_dict(self) -> dict:
        """The fit as plain JSON-ready Python values."""
        return {key: float(value) for key, value in dataclasses.asdict(self).items()}


def _crossing_guess(levels: np.ndarray, accuracies: np.ndarray, halfway: float) -> float:
    """Level where the measured curve first drops below ``halfway`` (linear interpolation)."""
    below = np.nonzero(accuracies <= halfway)[0]
    if below.size == 0:
        return float(levels[-1])
    index = int(below[0])
    if index == 0:
        return float(levels[0])
    x0, x1, y0, y1 = levels[index - 1], levels[index], accuracies[index - 1], accuracies[index]
    return float(x0 if y0 == y1 else x0 + (halfway - y0) * (x1 - x0) / (y1 - y0))


def fit_psychometric(levels, accuracies, *, chance: float, clean_accuracy: float | None = None) -> PsychometricFit:
    """Fits a logistic :func:`psychometric` function to an accuracy-versus-level curve.

    Only ``threshold`` and ``slope`` are fitted (least squares with
    ``scipy.optimize.curve_fit``); the asymptotes are fixed at ``chance`` and the clean
    accuracy.

    Args:
        levels: corruption levels (at least 2 distinct values).
        accuracies: accuracy at each level.
        chance: the lower asymptote, usually ``1 / num_classes``.
        clean_accuracy: upper asymptote; defaults to the accuracy at the lowest level.

    Returns:
        A :class:`PsychometricFit`.

    Raises:
        ValueError: if fewer than two distinct levels are given, or if lengths differ.

    Example:
        >>> fit = fit_psychometric([0, 1, 2, 3], [0.9, 0.8, 0.3, 0.05], chance=1 / 47)
        >>> 1 < fit.threshold < 2
        True
    """
    from scipy.optimize import curve_fit

    levels = np.asarray(levels, dtype=float)
    accuracies = np.asarray(accuracies, dtype=float)
    if levels.shape != accuracies.shape:
        raise ValueError(f"levels and accuracies differ in length ({levels.size} vs {accuracies.size})")
    if np.unique(levels).size < 2:
        raise ValueError("a psychometric fit needs at least two distinct levels")
    order = np.argsort(levels)
    levels, accuracies = levels[order], accuracies[order]
    if clean_accuracy is None:
        clean_accuracy = float(accuracies[0])
    span = float(levels[-1] - levels[0])
    halfway = chance + (clean_accuracy - chance) / 2
    start = [_crossing_guess(levels, accuracies, halfway), 4.0 / span]
    bounds = ([levels[0] - 10 * span, 1e-3 / span], [levels[-1] + 10 * span, 1e4 / span])
    start[0] = float(np.clip(start[0], bounds[0][0], bounds[1][0]))

    def model(level, threshold, slope):
        return psychometric(level, threshold, slope, chance, clean_accuracy)

    try:
        (threshold, slope), _ = curve_fit(model, levels, accuracies, p0=start, bounds=bounds, maxfev=20000)
    except RuntimeError:
        threshold, slope = start
    return PsychometricFit(float(threshold), float(slope), float(chance), float(clean_accuracy))


def fit_curve(curve: NoiseCurve) -> PsychometricFit:
    """Fits :func:`fit_psychometric` to a :class:`NoiseCurve` (chance = 1 / classes)."""
    return fit_psychometric(curve.levels, curve.accuracies, chance=curve.chance)


def plot_noise_curves(curves_by_model: Mapping[str, Mapping[str, NoiseCurve]], *, fit: bool = True):
    """Plots accuracy against level, one panel per corruption, models overlaid.

    Args:
        curves_by_model: ``{model name: {corruption: NoiseCurve}}``, e.g.
            ``{"MLP": noise_curves(mlp, ...), "CNN": noise_curves(cnn, ...)}``.
        fit: also draw the fitted psychometric function and mark its threshold.

    Returns:
        A ``matplotlib.figure.Figure``.
    """
    from matplotlib.figure import Figure

    corruptions = [name for name in CORRUPTIONS if any(name in curves for curves in curves_by_model.values())]
    if not corruptions:
        raise ValueError("no curves to plot; pass {model name: {corruption: NoiseCurve}}")
    figure = Figure(figsize=(4 * len(corruptions), 3.6), layout="constrained")
    axes = figure.subplots(1, len(corruptions), squeeze=False)[0]
    for axis, corruption in zip(axes, corruptions):
        for index, (model_name, curves) in enumerate(curves_by_model.items()):
            if corruption in curves:
                _plot_one_curve(axis, curves[corruption], model_name, f"C{index}", fit)
        axis.set_title(corruption.replace("_", " "))
        axis.set_xlabel(LEVEL_NAMES[corruption])
        axis.set_ylim(0, 1)
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy")
    axes[0].legend(fontsize="small")
    return figure


def _plot_one_curve(axis, curve: NoiseCurve, label: str, color: str, fit: bool) -> None:
    axis.plot(curve.levels, curve.accuracies, "o", color=color, label=label)
    if fit and np.unique(curve.levels).size >= 2:
        fitted = fit_curve(curve)
        dense = np.linspace(curve.levels.min(), curve.levels.max(), 200)
        axis.plot(
            dense, fitted.predict(dense), "-", color=color, label=f"{label} fit (threshold {fitted.threshold:.2g})"
        )
        axis.axvline(fitted.threshold, color=color, linestyle=":", alpha=0.7)
    else:
        axis.plot(curve.levels, curve.accuracies, "-", color=color)
    axis.axhline(curve.chance, color="gray", linestyle="--", linewidth=0.8)


def confusion_at_levels(
    model,
    images,
    labels,
    corruption: str,
    levels: Sequence[float],
    *,
    num_classes: int | None = None,
    seed: int = 0,
    batch_size: int = 256,
) -> dict[float, np.ndarray]:
    """Confusion matrices (rows = true class, columns = predicted) at chosen levels.

    Returns:
        ``{level: matrix}`` with integer counts, shape (num_classes, num_classes).
    """
    from sklearn.metrics import confusion_matrix

    labels = np.asarray(labels)
    num_classes = num_classes or _num_classes(model, labels)
    matrices = {}
    for level in levels:
        predictions = predict_labels(model, corrupt(images, corruption, level, seed=seed), batch_size=batch_size)
        matrices[float(level)] = confusion_matrix(labels, predictions, labels=np.arange(num_classes))
    return matrices


def plot_confusions(
    matrices: Mapping[float, np.ndarray], *, corruption: str = "", class_names: Sequence[str] | None = None
):
    """Draws row-normalised confusion matrices side by side, one per level.

    Args:
        matrices: ``{level: matrix}`` from :func:`confusion_at_levels`.
        corruption: name shown in the panel titles.
        class_names: tick labels (index -> character); indices when omitted.

    Returns:
        A ``matplotlib.figure.Figure``.
    """
    from matplotlib.figure import Figure

    if not matrices:
        raise ValueError("no confusion matrices to plot; pass {level: matrix}")
    figure = Figure(figsize=(4.2 * len(matrices), 4.2), layout="constrained")
    axes = figure.subplots(1, len(matrices), squeeze=False)[0]
    for axis, (level, matrix) in zip(axes, matrices.items()):
        matrix = np.asarray(matrix, dtype=float)
        totals = matrix.sum(axis=1, keepdims=True)
        normalised = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
        image = axis.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
        axis.set_title(f"{corruption.replace('_', ' ')} {level:g}".strip())
        axis.set_xlabel("predicted")
        axis.set_ylabel("true")
        if class_names is not None:
            ticks = np.arange(len(class_names))
            axis.set_xticks(ticks, list(class_names), fontsize=5)
            axis.set_yticks(ticks, list(class_names), fontsize=5)
    figure.colorbar(image, ax=list(axes), shrink=0.8)
    return figure
