"""The figures of the lessons in ``course/``, drawn deterministically from NumPy (no data, no training).

Every figure illustrates a formula of a lesson with numbers computed here, on synthetic inputs,
so that ``python -m emnist_tf.course.lesson_figures --out course/figures`` regenerates all of them
identically in a few seconds. Measured results (accuracies, thresholds) are never drawn here: the
lessons quote those with the commands that measured them.

Example:
    >>> from emnist_tf.course import lesson_figures
    >>> paths = lesson_figures.generate("course/figures", names=["dropout", "convolution"])
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

SEED = 0
_DPI = 110


# ---------------------------------------------------------------- synthetic pictures
def glyph(letter: str = "F") -> np.ndarray:
    """A 28x28 upright image of a blocky ``"F"`` or ``"7"`` in [0, 1], smoothed a little."""
    image = np.zeros((28, 28))
    if letter == "F":
        image[5:23, 8:11] = 1.0
        image[5:8, 8:20] = 1.0
        image[12:15, 8:17] = 1.0
    elif letter == "7":
        image[6:9, 7:21] = 1.0
        for row in range(9, 23):
            column = 20 - (row - 9) // 2
            image[row, column - 1 : column + 2] = 1.0
    else:
        raise ValueError(f"glyph draws 'F' or '7', got {letter!r}")
    return _smooth(image)


def _smooth(image: np.ndarray) -> np.ndarray:
    kernel = np.array([0.25, 0.5, 0.25])
    padded = np.pad(image, 1)
    rows = kernel[0] * padded[:-2, 1:-1] + kernel[1] * padded[1:-1, 1:-1] + kernel[2] * padded[2:, 1:-1]
    padded = np.pad(rows, 1)
    return kernel[0] * padded[1:-1, :-2] + kernel[1] * padded[1:-1, 1:-1] + kernel[2] * padded[1:-1, 2:]


def correlate_valid(image: np.ndarray, kernel: np.ndarray, bias: float = 0.0) -> np.ndarray:
    """out[i, j] = sum_m sum_n image[i + m, j + n] kernel[m, n] + bias (Keras' 'valid' Conv2D)."""
    size = kernel.shape[0]
    height, width = image.shape[0] - size + 1, image.shape[1] - size + 1
    out = np.full((height, width), bias, dtype=float)
    for m in range(size):
        for n in range(size):
            out += kernel[m, n] * image[m : m + height, n : n + width]
    return out


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


# ---------------------------------------------------------------- lesson 01
def orientation() -> Figure:
    """Stored (transposed) versus upright view of an image."""
    upright = glyph("F")
    figure = _figure(6, 3)
    for axes, image, title in zip(
        figure.subplots(1, 2), (upright.T, upright), ("as stored in the file (transposed)", "upright = stored.T")
    ):
        axes.imshow(image, cmap="gray_r", vmin=0, vmax=1)
        axes.set_title(title, fontsize=10)
        axes.set_xticks([0, 27])
        axes.set_yticks([0, 27])
    return figure


# ---------------------------------------------------------------- lesson 02
def sigmoid_costs() -> Figure:
    """The sigmoid and its derivative; dC/dz of the quadratic and binary cross-entropy costs for y = 1."""
    z = np.linspace(-8, 8, 400)
    sigma = 1 / (1 + np.exp(-z))
    figure = _figure(9, 3.3)
    left, right = figure.subplots(1, 2)
    left.plot(z, sigma, label="σ(z)")
    left.plot(z, sigma * (1 - sigma), label="σ′(z) (at most 1/4)")
    left.set_xlabel("z")
    left.legend()
    left.grid(alpha=0.3)
    left.set_title("the sigmoid saturates", fontsize=10)
    right.plot(z, (sigma - 1) * sigma * (1 - sigma), label="quadratic: (a − y) σ′(z)")
    right.plot(z, sigma - 1, label="binary cross-entropy: a − y")
    right.axvspan(-8, -3, color="tab:red", alpha=0.08)
    right.text(-7.7, -0.55, "badly wrong,\nquadratic\nbarely learns", fontsize=8)
    right.set_xlabel("z (target y = 1)")
    right.set_ylabel("∂C/∂z")
    right.legend(fontsize=8, loc="lower right")
    right.grid(alpha=0.3)
    right.set_title("output error δ for one unit", fontsize=10)
    return figure


# ---------------------------------------------------------------- lesson 03
def activations() -> Figure:
    """The hidden activations of the course (Keras' definitions)."""
    from scipy import special

    z = np.linspace(-4, 4, 400)
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    curves = {
        "relu": np.maximum(z, 0),
        "leaky_relu (0.2)": np.where(z > 0, z, 0.2 * z),
        "elu": np.where(z > 0, z, np.expm1(z)),
        "selu": scale * np.where(z > 0, z, alpha * np.expm1(z)),
        "gelu": 0.5 * z * (1 + special.erf(z / np.sqrt(2))),
        "swish": z * special.expit(z),
        "sigmoid": special.expit(z),
    }
    figure = _figure(6.5, 4)
    axes = figure.add_subplot()
    for name, values in curves.items():
        axes.plot(z, values, label=name, linestyle="--" if name == "sigmoid" else "-")
    axes.set_ylim(-2, 4)
    axes.set_xlabel("z")
    axes.set_ylabel("g(z)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    return figure


def initialisation() -> Figure:
    """Spread of activations through 20 dense layers for three initialisations (computed)."""
    rng = np.random.default_rng(SEED)
    width, depth = 256, 20
    inputs = rng.standard_normal((512, width))
    settings = {
        "ReLU, He: std √(2/fan_in)": ("relu", 2.0),
        "ReLU, Glorot: std √(2/(fan_in+fan_out))": ("relu", 1.0),
        "tanh, Glorot": ("tanh", 1.0),
        "ReLU, std 0.01": ("relu", None),
    }
    figure = _figure(6.5, 3.8)
    axes = figure.add_subplot()
    for label, (activation, gain) in settings.items():
        a, spreads = inputs, []
        for _ in range(depth):
            std = 0.01 if gain is None else np.sqrt(gain / width)
            z = a @ (rng.standard_normal((width, width)) * std)
            a = np.maximum(z, 0) if activation == "relu" else np.tanh(z)
            spreads.append(a.std())
        axes.semilogy(range(1, depth + 1), spreads, marker="o", markersize=3, label=label)
    axes.set_xlabel("layer")
    axes.set_ylabel("std of activations")
    axes.set_xticks(range(0, depth + 1, 5))
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=8)
    return figure


def dropout() -> Figure:
    """Inverted dropout on a layer of 10 units: the training mask, and inference."""
    rng = np.random.default_rng(SEED)
    activations_ = np.round(rng.uniform(0.2, 1.0, 10), 2)
    rate = 0.4
    keep = rng.uniform(size=10) >= rate
    trained = activations_ * keep / (1 - rate)
    figure = _figure(8, 3.2)
    for axes, values, title, mask in zip(
        figure.subplots(1, 3),
        (activations_, trained, activations_),
        ("activations a", f"training: a · m / (1 − p), p = {rate}", "inference: a (no mask, no scaling)"),
        (np.ones(10, bool), keep, np.ones(10, bool)),
    ):
        colours = ["tab:blue" if kept else "lightgrey" for kept in mask]
        axes.bar(range(10), values, color=colours)
        axes.set_ylim(0, 1.8)
        axes.set_title(title, fontsize=9)
        axes.set_xlabel("unit")
        axes.axhline(values.mean(), color="k", linewidth=0.8, linestyle=":")
    figure.suptitle("grey: dropped units; dotted: the layer's mean (the same in expectation)", fontsize=9)
    return figure


def batch_norm() -> Figure:
    """Batch normalisation of one unit: a shifted, spread pre-activation, then standardised and rescaled."""
    rng = np.random.default_rng(SEED)
    z = rng.normal(3.0, 2.5, 4000)
    batch = z[:64]
    mean, variance = batch.mean(), batch.var()
    standard = (z - mean) / np.sqrt(variance + 1e-3)
    gamma, beta = 0.8, 0.5
    figure = _figure(9, 3)
    panels = (
        (z, "pre-activation z (mean 3, std 2.5)"),
        (standard, "ẑ = (z − μ_B) / √(σ²_B + ε)"),
        (gamma * standard + beta, "y = γ ẑ + β (γ = 0.8, β = 0.5 learned)"),
    )
    for axes, (values, title) in zip(figure.subplots(1, 3, sharey=True), panels):
        axes.hist(values, bins=50, range=(-6, 12), color="tab:blue", alpha=0.8)
        axes.set_title(title, fontsize=9)
        axes.axvline(0, color="k", linewidth=0.6)
    return figure


def penalties() -> Figure:
    """The L1 and L2 penalty terms and their gradients for one weight."""
    w = np.linspace(-2, 2, 401)
    figure = _figure(8, 3)
    left, right = figure.subplots(1, 2)
    left.plot(w, np.abs(w), label="L1: λ|w| (λ = 1)")
    left.plot(w, w**2, label="L2: λw² (λ = 1)")
    left.set_title("penalty added to the loss", fontsize=10)
    right.plot(w, np.sign(w), label="L1: λ sign(w)")
    right.plot(w, 2 * w, label="L2: 2λw")
    right.set_title("its gradient: the pull towards 0", fontsize=10)
    for axes in (left, right):
        axes.set_xlabel("w")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    return figure


# ---------------------------------------------------------------- lesson 04
def convolution() -> Figure:
    """A 3x3 kernel slid over an image ('valid'), then 2x2 max pooling."""
    image = glyph("F")
    kernel = np.array([[-1.0, -1.0, -1.0], [2.0, 2.0, 2.0], [-1.0, -1.0, -1.0]])
    feature_map = correlate_valid(image, kernel)
    relu = np.maximum(feature_map, 0)
    pooled = relu[: relu.shape[0] // 2 * 2, : relu.shape[1] // 2 * 2].reshape(13, 2, 13, 2).max(axis=(1, 3))
    figure = _figure(11, 3)
    panels = figure.subplots(1, 4)
    panels[0].imshow(image, cmap="gray_r")
    panels[0].add_patch(_rectangle(9.5, 3.5))
    panels[0].set_title("input 28×28 (one 3×3 window)", fontsize=9)
    panels[1].imshow(kernel, cmap="RdBu_r", vmin=-2, vmax=2)
    for (row, column), value in np.ndenumerate(kernel):
        panels[1].text(column, row, f"{value:+.0f}", ha="center", va="center")
    panels[1].set_title("kernel: horizontal-stroke detector", fontsize=9)
    limit = np.abs(feature_map).max()
    panels[2].imshow(feature_map, cmap="RdBu_r", vmin=-limit, vmax=limit)
    panels[2].set_title("feature map 26×26 ('valid')", fontsize=9)
    panels[3].imshow(pooled, cmap="gray_r")
    panels[3].set_title("ReLU, then 2×2 max pool: 13×13", fontsize=9)
    for axes in panels:
        axes.set_xticks([])
        axes.set_yticks([])
    return figure


def _rectangle(x: float, y: float):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), 3, 3, fill=False, edgecolor="tab:red", linewidth=2)


# ---------------------------------------------------------------- lesson 05
def schedules() -> Figure:
    """The five learning-rate schedules of ``emnist_tf.modeling.schedules`` over 12 epochs."""
    from emnist_tf.modeling.schedules import schedule_curve

    figure = _figure(7, 4)
    axes = figure.add_subplot()
    steps_per_epoch, epochs = 50, 12
    for name in ("constant", "step", "exponential", "cosine", "plateau"):
        steps, rates = schedule_curve(name, 2e-3, steps_per_epoch=steps_per_epoch, epochs=epochs)
        axes.plot(steps / steps_per_epoch, rates, label=name)
    axes.set_xlabel("epoch")
    axes.set_ylabel("learning rate")
    axes.set_title("peak 2e-3, 12 epochs (plateau: a validation loss that stalls after epoch 4)", fontsize=9)
    axes.grid(alpha=0.3)
    axes.legend()
    return figure


def optimizer_paths() -> Figure:
    """SGD, momentum, RMSprop and Adam on an elongated quadratic bowl, with the lessons' update rules."""
    curvature = np.array([1.0, 20.0])

    def gradient(w):
        return curvature * w

    start = np.array([-4.0, 1.0])
    rules = {
        "SGD η=0.09": _run_sgd(gradient, start, 0.09, 0.0),
        "momentum η=0.02, β=0.9": _run_sgd(gradient, start, 0.02, 0.9),
        "RMSprop η=0.1, ρ=0.9": _run_rmsprop(gradient, start, 0.1),
        "Adam η=0.3": _run_adam(gradient, start, 0.3),
    }
    x, y = np.meshgrid(np.linspace(-4.5, 1.5, 200), np.linspace(-1.5, 1.5, 200))
    figure = _figure(7.5, 4)
    axes = figure.add_subplot()
    axes.contour(x, y, 0.5 * (curvature[0] * x**2 + curvature[1] * y**2), levels=15, colors="lightgrey")
    for label, path in rules.items():
        axes.plot(path[:, 0], path[:, 1], marker="o", markersize=2, linewidth=1, label=label)
    axes.plot(0, 0, "k*", markersize=10)
    axes.set_xlabel("w₁ (flat direction)")
    axes.set_ylabel("w₂ (steep direction)")
    axes.set_title("30 steps from the same start on L = ½(w₁² + 20 w₂²)", fontsize=10)
    axes.legend(fontsize=8, loc="lower right")
    return figure


def _run_sgd(gradient, start, rate, beta, steps=30):
    w, velocity, path = start.copy(), np.zeros_like(start), [start.copy()]
    for _ in range(steps):
        velocity = beta * velocity - rate * gradient(w)
        w = w + velocity
        path.append(w.copy())
    return np.array(path)


def _run_rmsprop(gradient, start, rate, rho=0.9, epsilon=1e-7, steps=30):
    w, average, path = start.copy(), np.zeros_like(start), [start.copy()]
    for _ in range(steps):
        g = gradient(w)
        average = rho * average + (1 - rho) * g**2
        w = w - rate * g / (np.sqrt(average) + epsilon)
        path.append(w.copy())
    return np.array(path)


def _run_adam(gradient, start, rate, beta1=0.9, beta2=0.999, epsilon=1e-7, steps=30):
    w, first, second, path = start.copy(), np.zeros_like(start), np.zeros_like(start), [start.copy()]
    for step in range(1, steps + 1):
        g = gradient(w)
        first = beta1 * first + (1 - beta1) * g
        second = beta2 * second + (1 - beta2) * g**2
        corrected_first, corrected_second = first / (1 - beta1**step), second / (1 - beta2**step)
        w = w - rate * corrected_first / (np.sqrt(corrected_second) + epsilon)
        path.append(w.copy())
    return np.array(path)


def cross_validation() -> Figure:
    """k-fold cross-validation (k = 5): which fold validates in which trial."""
    folds = 5
    figure = _figure(7, 2.6)
    axes = figure.add_subplot()
    for trial in range(folds):
        for fold in range(folds):
            colour = "tab:orange" if fold == trial else "tab:blue"
            axes.barh(trial, 1, left=fold, color=colour, edgecolor="white")
        axes.text(folds + 0.1, trial, f"model {trial + 1}: score s{trial + 1}", va="center", fontsize=8)
    axes.set_yticks([])
    axes.set_xticks([])
    axes.set_xlim(0, folds + 1.6)
    axes.invert_yaxis()
    axes.set_title("blue: train, orange: validate; report the mean and spread of s1..s5", fontsize=9)
    return figure


def hyperband() -> Figure:
    """Successive halving (one Hyperband bracket): configurations kept against epochs spent."""
    factor, configurations, epochs = 3, 27, 1
    figure = _figure(6.5, 3.5)
    axes = figure.add_subplot()
    rng = np.random.default_rng(SEED)
    scores = np.sort(rng.uniform(0.5, 0.9, configurations))[::-1]
    rung = 0
    while configurations >= 1:
        axes.scatter(np.full(configurations, epochs), scores[:configurations], s=18)
        axes.text(epochs, 0.93, f"{configurations} configs\n× {epochs} epoch{'s' if epochs > 1 else ''}", fontsize=8)
        configurations //= factor
        epochs *= factor
        rung += 1
    axes.set_xscale("log", base=3)
    axes.set_xlabel("epochs of training per configuration")
    axes.set_ylabel("validation score (synthetic)")
    axes.set_ylim(0.45, 1.02)
    axes.set_title("keep the best 1/3, train them 3× longer (factor 3)", fontsize=10)
    return figure


# ---------------------------------------------------------------- lesson 06
def precision_recall() -> Figure:
    """A 3-class confusion matrix with TP, FP and FN of class 'O' marked."""
    matrix = np.array([[40, 8, 2], [15, 33, 2], [1, 1, 48]])
    names = ["O", "0", "7"]
    figure = _figure(8.5, 3.4)
    left, right = figure.subplots(1, 2, width_ratios=[1, 1.2])
    left.imshow(matrix, cmap="Blues")
    for (row, column), value in np.ndenumerate(matrix):
        tag = ""
        if row == 0 and column == 0:
            tag = "\nTP"
        elif column == 0:
            tag = "\nFP"
        elif row == 0:
            tag = "\nFN"
        left.text(column, row, f"{value}{tag}", ha="center", va="center", fontsize=9)
    left.set_xticks(range(3), names)
    left.set_yticks(range(3), names)
    left.set_xlabel("predicted")
    left.set_ylabel("true")
    left.set_title("counts (class O marked)", fontsize=10)
    true_positive = np.diag(matrix).astype(float)
    precision = true_positive / matrix.sum(axis=0)
    recall = true_positive / matrix.sum(axis=1)
    f1 = 2 * precision * recall / (precision + recall)
    table = [[name, f"{p:.3f}", f"{r:.3f}", f"{f:.3f}"] for name, p, r, f in zip(names, precision, recall, f1)]
    table.append(["macro F1", "", "", f"{f1.mean():.3f}"])
    right.axis("off")
    right.table(cellText=table, colLabels=["class", "precision", "recall", "F1"], loc="center").scale(1, 1.5)
    right.set_title("precision = TP/column, recall = TP/row", fontsize=10)
    return figure


# ---------------------------------------------------------------- lesson 07
def selectivity() -> Figure:
    """Class means of a class-selective and a feature-selective unit, with their selectivity index."""
    rng = np.random.default_rng(SEED)
    classes = 47
    selective = rng.uniform(0.02, 0.12, classes)
    selective[12] = 1.4
    shared = rng.uniform(0.05, 0.2, classes)
    shared[[3, 7, 12, 20, 29, 33, 40]] = rng.uniform(0.6, 0.9, 7)
    figure = _figure(9, 3)
    for axes, means, title in zip(
        figure.subplots(1, 2, sharey=True), (selective, shared), ("class-selective", "feature-selective")
    ):
        top = means.max()
        others = (means.sum() - top) / (classes - 1)
        index = (top - others) / (top + others)
        axes.bar(range(classes), means, color="tab:blue")
        axes.set_title(
            f"{title}: SI = ({top:.2f} − {others:.2f}) / ({top:.2f} + {others:.2f}) = {index:.2f}", fontsize=9
        )
        axes.set_xlabel("class")
    figure.axes[0].set_ylabel("mean activation μ_c")
    return figure


# ---------------------------------------------------------------- lesson 08
def separability() -> Figure:
    """Two synthetic 2-D representations: their Fisher ratio and silhouette, computed."""
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(SEED)
    centres = np.array([[0, 0], [3, 0], [1.5, 2.6]])
    labels = np.repeat(np.arange(3), 150)
    figure = _figure(8, 3.6)
    for axes, spread, title in zip(figure.subplots(1, 2), (1.4, 0.45), ("early layer", "late layer")):
        points = centres[labels] + rng.normal(0, spread, (len(labels), 2))
        fisher = _fisher(points, labels)
        score = silhouette_score(points, labels)
        axes.scatter(points[:, 0], points[:, 1], c=labels, cmap="tab10", s=6, vmin=0, vmax=9)
        axes.set_title(f"{title}: Fisher {fisher:.2f}, silhouette {score:.2f}", fontsize=10)
        axes.set_aspect("equal")
        axes.set_xticks([])
        axes.set_yticks([])
    return figure


def _fisher(points: np.ndarray, labels: np.ndarray) -> float:
    overall = points.mean(axis=0)
    between = within = 0.0
    for label in np.unique(labels):
        members = points[labels == label]
        centre = members.mean(axis=0)
        between += len(members) * np.sum((centre - overall) ** 2)
        within += np.sum((members - centre) ** 2)
    return float(between / within)


# ---------------------------------------------------------------- lesson 09
def psychometric() -> Figure:
    """The psychometric function of ``robustness.corruptions``: clean accuracy to chance, the threshold."""
    from emnist_tf.robustness.corruptions import psychometric as curve

    levels = np.linspace(0, 0.8, 200)
    chance = 1 / 47
    figure = _figure(6.5, 3.8)
    axes = figure.add_subplot()
    for label, clean, threshold in (("model A", 0.79, 0.36), ("model B", 0.72, 0.26)):
        axes.plot(levels, curve(levels, threshold, 12.0, chance, clean), label=f"{label}: threshold {threshold}")
        axes.plot(threshold, (clean + chance) / 2, "ko", markersize=4)
    axes.axhline(chance, color="grey", linestyle=":", label="chance 1/47")
    axes.set_xlabel("corruption level (e.g. Gaussian noise σ)")
    axes.set_ylabel("accuracy")
    axes.set_title("a(ℓ) = c + (a₀ − c) / (1 + exp(k (ℓ − θ)))   (k = 12, illustrative)", fontsize=9)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    return figure


def attacks() -> Figure:
    """FGSM and PGD on a 2-pixel input with a curved loss: FGSM's one step overshoots, PGD climbs."""
    from matplotlib.patches import Rectangle

    start, epsilon, steps = np.array([0.45, 0.50]), 0.15, 10

    def loss(x1, x2):
        return x1 + 0.6 * np.sin(14 * x2)

    def gradient(x):
        return np.array([1.0, 8.4 * np.cos(14 * x[1])])

    fgsm = np.clip(start + epsilon * np.sign(gradient(start)), 0, 1)
    rng = np.random.default_rng(SEED)
    x = start + rng.uniform(-epsilon, epsilon, 2)
    path = [x.copy()]
    for _ in range(steps):
        x = np.clip(np.clip(x + 2.5 * epsilon / steps * np.sign(gradient(x)), start - epsilon, start + epsilon), 0, 1)
        path.append(x.copy())
    path = np.array(path)
    grid = np.linspace(0.2, 0.8, 200)
    gx, gy = np.meshgrid(grid, grid)
    figure = _figure(5.8, 4.8)
    axes = figure.add_subplot()
    contours = axes.contour(gx, gy, loss(gx, gy), levels=12, cmap="Greys")
    axes.clabel(contours, fontsize=6)
    axes.add_patch(Rectangle(start - epsilon, 2 * epsilon, 2 * epsilon, fill=False, edgecolor="tab:red"))
    axes.plot(*start, "ko", label=f"x: loss {loss(*start):.2f}")
    axes.annotate("", fgsm, start, arrowprops={"arrowstyle": "->", "color": "tab:orange"})
    axes.plot(*fgsm, "o", color="tab:orange", label=f"FGSM, one step: loss {loss(*fgsm):.2f}")
    axes.plot(
        path[:, 0],
        path[:, 1],
        ".-",
        color="tab:green",
        label=f"PGD, {steps} projected steps: loss {loss(*path[-1]):.2f}",
    )
    axes.set_xlabel("pixel 1")
    axes.set_ylabel("pixel 2")
    axes.set_title("contours of a curved loss; red square: ‖δ‖∞ ≤ ε", fontsize=10)
    axes.set_aspect("equal")
    axes.legend(fontsize=7, loc="lower left")
    return figure


# ---------------------------------------------------------------- lesson 10
def prototypes() -> Figure:
    """A 3-way 5-shot episode in a 2-D embedding: prototypes and the nearest-prototype regions."""
    rng = np.random.default_rng(SEED)
    centres = np.array([[0, 0], [2.5, 0.5], [1, 2.3]])
    support = np.concatenate([centre + rng.normal(0, 0.6, (5, 2)) for centre in centres])
    support_labels = np.repeat(np.arange(3), 5)
    queries = np.concatenate([centre + rng.normal(0, 0.6, (4, 2)) for centre in centres])
    means = np.stack([support[support_labels == k].mean(axis=0) for k in range(3)])
    grid = np.linspace(-2, 4.5, 250)
    gx, gy = np.meshgrid(grid, grid)
    cells = np.stack([gx.ravel(), gy.ravel()], axis=1)
    regions = np.argmin(((cells[:, None, :] - means[None]) ** 2).sum(axis=2), axis=1).reshape(gx.shape)
    figure = _figure(5.5, 4.5)
    axes = figure.add_subplot()
    axes.contourf(gx, gy, regions, levels=[-0.5, 0.5, 1.5, 2.5], cmap="Pastel1", alpha=0.6)
    axes.scatter(support[:, 0], support[:, 1], c=support_labels, cmap="Set1", vmin=0, vmax=8, s=25, label="support")
    axes.scatter(queries[:, 0], queries[:, 1], c="none", edgecolors="k", s=25, label="queries")
    axes.scatter(
        means[:, 0],
        means[:, 1],
        c=range(3),
        cmap="Set1",
        vmin=0,
        vmax=8,
        marker="*",
        s=250,
        edgecolors="k",
        label="prototypes c_k",
    )
    axes.legend(fontsize=8, loc="upper left")
    axes.set_title("each query takes the class of the nearest prototype", fontsize=10)
    axes.set_xticks([])
    axes.set_yticks([])
    return figure


# ---------------------------------------------------------------- lesson 11
def first_layer_optimum() -> Figure:
    """Projected gradient ascent of w·x + b on the sphere ‖x‖ = r converges to r w / ‖w‖."""
    rng = np.random.default_rng(SEED)
    weights = (glyph("7") - 0.5 * _smooth(_smooth(np.roll(glyph("F"), 3, axis=1)))).ravel()
    weights += 0.05 * rng.standard_normal(weights.size)
    radius, rate = 10.0, 0.5
    x = rng.standard_normal(weights.size)
    x *= radius / np.linalg.norm(x)
    snapshots, cosines = {0: x.copy()}, []
    for step in range(1, 41):
        x = x + rate * weights  # the gradient of w·x + b with respect to x is w
        x *= radius / np.linalg.norm(x)
        cosines.append(x @ weights / (np.linalg.norm(x) * np.linalg.norm(weights)))
        if step in (2, 10, 40):
            snapshots[step] = x.copy()
    figure = _figure(11, 2.8)
    panels = figure.subplots(1, 6, width_ratios=[1, 1, 1, 1, 1, 1.8])
    limit = np.abs(weights).max()
    panels[0].imshow(weights.reshape(28, 28), cmap="RdBu_r", vmin=-limit, vmax=limit)
    panels[0].set_title("weights w", fontsize=9)
    for axes, (step, image) in zip(panels[1:5], snapshots.items()):
        bound = np.abs(image).max()
        axes.imshow(image.reshape(28, 28), cmap="RdBu_r", vmin=-bound, vmax=bound)
        axes.set_title(f"x after {step} steps", fontsize=9)
    for axes in panels[:5]:
        axes.set_xticks([])
        axes.set_yticks([])
    panels[5].plot(range(1, 41), cosines)
    panels[5].set_xlabel("ascent step")
    panels[5].set_ylabel("cos(x, w)")
    panels[5].set_ylim(0, 1.05)
    panels[5].grid(alpha=0.3)
    return figure


def total_variation() -> Figure:
    """Total variation of a noisy and of a smooth image with the same L2 norm."""
    rng = np.random.default_rng(SEED)
    smooth = glyph("7")
    noisy = rng.standard_normal(smooth.shape)
    noisy *= np.linalg.norm(smooth) / np.linalg.norm(noisy)
    figure = _figure(6, 3)
    for axes, image, name in zip(figure.subplots(1, 2), (noisy, smooth), ("noise", "stroke")):
        tv = np.abs(np.diff(image, axis=0)).sum() + np.abs(np.diff(image, axis=1)).sum()
        axes.imshow(image, cmap="gray_r")
        axes.set_title(f"{name}: ‖x‖₂ = {np.linalg.norm(image):.1f}, TV = {tv:.0f}", fontsize=9)
        axes.set_xticks([])
        axes.set_yticks([])
    return figure


FIGURES: dict[str, Callable[[], Figure]] = {
    "orientation": orientation,
    "sigmoid_costs": sigmoid_costs,
    "activations": activations,
    "initialisation": initialisation,
    "dropout": dropout,
    "batch_norm": batch_norm,
    "penalties": penalties,
    "convolution": convolution,
    "schedules": schedules,
    "optimizer_paths": optimizer_paths,
    "cross_validation": cross_validation,
    "hyperband": hyperband,
    "precision_recall": precision_recall,
    "selectivity": selectivity,
    "separability": separability,
    "psychometric": psychometric,
    "attacks": attacks,
    "prototypes": prototypes,
    "first_layer_optimum": first_layer_optimum,
    "total_variation": total_variation,
}


def generate(out: str | Path, names: Sequence[str] | None = None) -> list[Path]:
    """Draws the named figures (all by default) as ``out/NAME.png`` and returns their paths.

    Raises:
        ValueError: if a name is not one of ``FIGURES``.
    """
    names = list(FIGURES) if names is None else list(names)
    unknown = [name for name in names if name not in FIGURES]
    if unknown:
        raise ValueError(f"unknown figure(s) {', '.join(unknown)}; choose from {', '.join(FIGURES)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        path = out / f"{name}.png"
        # A fixed creation date keeps the PNG bytes identical from one run to the next.
        FIGURES[name]().savefig(path, dpi=_DPI, metadata={"Software": None})
        paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Draw the lesson figures of course/.")
    parser.add_argument("--out", default="course/figures", help="folder for the PNG files")
    parser.add_argument("names", nargs="*", help=f"figures to draw (default: all): {', '.join(FIGURES)}")
    arguments = parser.parse_args(argv)
    try:
        paths = generate(arguments.out, arguments.names or None)
    except ValueError as error:
        parser.exit(2, f"error: {error}\n")
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
