"""The figures of lessons 01-04: image orientation, costs, activations, initialisation, dropout,
batch normalisation, penalties and convolution."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from emnist_tf.course.figures.drawing import SEED, correlate_valid, glyph, new_figure


# ---------------------------------------------------------------- lesson 01
def orientation() -> Figure:
    """Stored (transposed) versus upright view of an image."""
    upright = glyph("F")
    figure = new_figure(6, 3)
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
    figure = new_figure(9, 3.3)
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
    figure = new_figure(6.5, 4)
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
    figure = new_figure(6.5, 3.8)
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
    figure = new_figure(8, 3.2)
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
    figure = new_figure(9, 3)
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
    figure = new_figure(8, 3)
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
    figure = new_figure(11, 3)
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
