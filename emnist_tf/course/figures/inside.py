"""The figures of lessons 07-11: selectivity, separability, psychometric curves, attacks, prototypes
and feature visualisation."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from emnist_tf.course.figures.drawing import SEED, glyph, new_figure, smooth


# ---------------------------------------------------------------- lesson 07
def selectivity() -> Figure:
    """Class means of a class-selective and a feature-selective unit, with their selectivity index."""
    rng = np.random.default_rng(SEED)
    classes = 47
    selective = rng.uniform(0.02, 0.12, classes)
    selective[12] = 1.4
    shared = rng.uniform(0.05, 0.2, classes)
    shared[[3, 7, 12, 20, 29, 33, 40]] = rng.uniform(0.6, 0.9, 7)
    figure = new_figure(9, 3)
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
    figure = new_figure(8, 3.6)
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
    figure = new_figure(6.5, 3.8)
    axes = figure.add_subplot()
    for label, clean, threshold in (("model A", 0.82, 0.42), ("model B", 0.71, 0.26)):
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
    x = np.clip(start + rng.uniform(-epsilon, epsilon, 2), 0, 1)  # the random start, clipped to [0, 1]
    path = [x.copy()]
    for _ in range(steps):
        x = np.clip(np.clip(x + 2.5 * epsilon / steps * np.sign(gradient(x)), start - epsilon, start + epsilon), 0, 1)
        path.append(x.copy())
    path = np.array(path)
    grid = np.linspace(0.2, 0.8, 200)
    gx, gy = np.meshgrid(grid, grid)
    figure = new_figure(5.8, 4.8)
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
    figure = new_figure(5.5, 4.5)
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
    weights = (glyph("7") - 0.5 * smooth(smooth(np.roll(glyph("F"), 3, axis=1)))).ravel()
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
    figure = new_figure(11, 2.8)
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
    figure = new_figure(6, 3)
    for axes, image, name in zip(figure.subplots(1, 2), (noisy, smooth), ("noise", "stroke")):
        tv = np.abs(np.diff(image, axis=0)).sum() + np.abs(np.diff(image, axis=1)).sum()
        axes.imshow(image, cmap="gray_r")
        axes.set_title(f"{name}: ‖x‖₂ = {np.linalg.norm(image):.1f}, TV = {tv:.0f}", fontsize=9)
        axes.set_xticks([])
        axes.set_yticks([])
    return figure
