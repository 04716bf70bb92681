"""The figures of lessons 05-06: schedules, optimiser paths, cross-validation, Hyperband, precision and recall."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from emnist_tf.course.figures.drawing import SEED, new_figure


# ---------------------------------------------------------------- lesson 05
def schedules() -> Figure:
    """The five learning-rate schedules of ``emnist_tf.modeling.schedules`` over 12 epochs."""
    from emnist_tf.modeling.schedules import schedule_curve

    figure = new_figure(7, 4)
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
    figure = new_figure(7.5, 4)
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
    figure = new_figure(7, 2.6)
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
    figure = new_figure(6.5, 3.5)
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
    figure = new_figure(8.5, 3.4)
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
