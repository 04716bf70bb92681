"""Figures of an evaluated model: confusion matrix, first predictions, training curves.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot,
so nothing opens a window and no backend needs to be chosen; save it with
:func:`save_figure` or embed it with :func:`figure_to_png`.

Example:
    >>> from emnist_tf.evaluation.figures import plot_history, save_figure
    >>> figure = plot_history({"loss": [1.2, 0.8], "val_loss": [1.0, 0.9],
    ...                        "accuracy": [0.6, 0.75], "val_accuracy": [0.7, 0.72]})
    >>> save_figure(figure, "curves.png")  # doctest: +SKIP
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

CORRECT_COLOR = "#1a7f37"
WRONG_COLOR = "#cf222e"


def save_figure(figure: Figure, path, *, dpi: int = 100) -> Path:
    """Saves ``figure`` as a PNG file at ``path`` and returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=dpi)
    return path


def figure_to_png(figure: Figure, *, dpi: int = 100) -> bytes:
    """Returns ``figure`` as PNG bytes (for embedding in HTML)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _row_rates(counts: np.ndarray) -> np.ndarray:
    totals = counts.sum(axis=1, keepdims=True).astype(np.float64)
    return np.divide(counts, totals, out=np.zeros(counts.shape, dtype=np.float64), where=totals > 0)


def _annotate_cells(axes, values: np.ndarray, rates: np.ndarray, normalize: bool, vmax: float) -> None:
    """Writes the value into every cell that matters (all non-zero cells of small matrices)."""
    size = values.shape[0]
    threshold = 0.0 if size <= 15 else 0.02
    font_size = 9 if size <= 15 else 6
    for row, column in zip(*np.nonzero(rates > threshold)):
        value = values[row, column]
        text = f"{100 * value:.0f}" if normalize else f"{int(value)}"
        color = "white" if value > 0.6 * vmax else "black"
        axes.text(
            column, row, text, ha="center", va="center", fontsize=font_size, color=color, in_layout=False
        )  # inside the cells: keeps the layout pass fast


def plot_confusion_matrix(
    counts, class_names: Sequence[str], *, normalize: bool = True, title: str | None = None
) -> Figure:
    """Draws a confusion matrix that stays readable at 47 classes.

    Characters label both axes (predicted across the top and bottom, true down
    the side); the colour scale is a square-root one so that the few-percent
    mistakes show up next to the bright diagonal. Cells with at least 2% of their
    row (every non-zero cell up to 15 classes) carry their value: the percentage
    of the true class when ``normalize`` is on, else the count.

    Args:
        counts: square matrix of counts, rows true classes, columns predicted.
        class_names: character(s) of each class index.
        normalize: show each row as fractions of its true class (recommended
            when classes differ in size); False shows raw counts.
        title: figure title; a default one says what is shown.

    Returns:
        The figure.
    """
    counts = np.asarray(counts)
    size = counts.shape[0]
    if counts.ndim != 2 or counts.shape[1] != size or len(class_names) != size:
        raise ValueError(
            f"need a square matrix with one class name per row; got shape {counts.shape} and {len(class_names)} names"
        )
    rates = _row_rates(counts)
    values = rates if normalize else counts
    vmax = float(values.max()) or 1.0
    inches = max(5.0, 0.26 * size + 2.5)
    figure = Figure(figsize=(inches + 1.2, inches), layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(values, cmap="Blues", norm=PowerNorm(gamma=0.5, vmin=0.0, vmax=vmax), interpolation="nearest")
    tick_font = 10 if size <= 15 else 8
    positions = np.arange(size)
    axes.set_xticks(positions, labels=list(class_names), fontsize=tick_font)
    axes.set_yticks(positions, labels=list(class_names), fontsize=tick_font)
    axes.tick_params(top=True, labeltop=True, length=2)
    edges = np.arange(size + 1) - 0.5  # cell borders as two line collections (cheaper than minor ticks)
    axes.hlines(edges, -0.5, size - 0.5, color="#dddddd", linewidth=0.4)
    axes.vlines(edges, -0.5, size - 0.5, color="#dddddd", linewidth=0.4)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    _annotate_cells(axes, values, rates, normalize, vmax)
    label = "% of the true class" if normalize else "number of test images"
    colorbar = figure.colorbar(image, ax=axes, shrink=0.75, label=label)
    if normalize:
        colorbar.formatter = PercentFormatter(xmax=1.0, decimals=0)
    default = "Confusion matrix (" + ("row-normalised, % of true class" if normalize else "counts") + ")"
    axes.set_title(title or default, fontsize=12)
    return figure


def _as_image_stack(images) -> np.ndarray:
    array = np.asarray(images, dtype=np.float32)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 3:
        raise ValueError(f"images must have shape (N, 28, 28) or (N, 28, 28, 1), got {np.shape(images)}")
    return array


def plot_predictions(
    images,
    true_labels,
    probabilities,
    class_names: Sequence[str],
    *,
    count: int = 6,
    columns: int = 3,
    title: str | None = None,
) -> Figure:
    """Shows the first ``count`` images with predicted and true character and probability.

    A correct prediction has a green title; a wrong one a red title and a red frame.

    Args:
        images: ``(N, 28, 28[, 1])`` upright images in [0, 1].
        true_labels: 1-D integer array of true class indices.
        probabilities: ``(N, classes)`` predicted probabilities.
        class_names: character(s) of each class index.
        count: how many of the first images to show.
        columns: images per row.
        title: figure title.

    Returns:
        The figure.
    """
    stack = _as_image_stack(images)
    probability_array = np.asarray(probabilities)
    count = min(count, stack.shape[0])
    if count < 1:
        raise ValueError("no images to show: pass at least one image")
    if probability_array.shape[0] < count or len(true_labels) < count:
        raise ValueError("images, true_labels and probabilities must cover the same examples")
    rows = -(-count // columns)
    figure = Figure(figsize=(2.3 * min(count, columns), 2.6 * rows + 0.5), layout="constrained")
    grid = figure.subplots(rows, columns, squeeze=False)
    for index, axes in enumerate(grid.flat):
        if index >= count:
            axes.set_axis_off()
            continue
        predicted = int(np.argmax(probability_array[index]))
        true = int(true_labels[index])
        correct = predicted == true
        color = CORRECT_COLOR if correct else WRONG_COLOR
        axes.imshow(stack[index], cmap="gray_r", vmin=0.0, vmax=1.0)
        axes.set_xticks([])
        axes.set_yticks([])
        mark = "" if correct else "  WRONG"
        axes.set_title(
            f"predicted {class_names[predicted]} ({probability_array[index, predicted]:.0%})\n"
            f"true {class_names[true]}{mark}",
            color=color,
            fontsize=10,
        )
        for spine in axes.spines.values():
            spine.set_edgecolor(color)
            spine.set_linewidth(1 if correct else 3)
    wrong = sum(int(np.argmax(probability_array[i])) != int(true_labels[i]) for i in range(count))
    figure.suptitle(title or f"First {count} test images: {count - wrong} right, {wrong} wrong (red)")
    return figure


def _epoch_axis(axes, epochs: int) -> None:
    """Whole epoch numbers on the x axis, also for a run of one or two epochs."""
    axes.set_xlabel("epoch")
    axes.set_xlim(0.5, max(epochs, 1) + 0.5)
    if epochs <= 15:
        axes.set_xticks(np.arange(1, max(epochs, 1) + 1))
    else:
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(alpha=0.3)


def _plot_pair(axes, history: Mapping, key: str, label: str) -> None:
    for name, style in ((key, "-o"), (f"val_{key}", "--s")):
        values = history.get(name)
        if values is None or len(values) == 0:
            continue
        epochs = np.arange(1, len(values) + 1)
        axes.plot(epochs, values, style, markersize=4, label="validation" if name.startswith("val_") else "training")
    _epoch_axis(axes, max((len(line.get_xdata()) for line in axes.lines), default=1))
    axes.set_ylabel(label)
    axes.set_title(label.capitalize() + " per epoch")
    if axes.lines:
        axes.legend()


def plot_history(history: Mapping[str, Sequence[float]], *, title: str | None = None) -> Figure:
    """Training and validation loss and accuracy per epoch (and the learning rate if recorded).

    Args:
        history: per-epoch lists keyed like Keras' ``History.history``: ``loss``,
            ``accuracy``, ``val_loss``, ``val_accuracy`` and optionally
            ``learning_rate`` (or ``lr``).
        title: figure title.

    Returns:
        The figure, with one panel per quantity.

    Raises:
        ValueError: if the history has neither ``loss`` nor ``accuracy``.
    """
    if not any(len(history.get(key) or []) for key in ("loss", "accuracy", "val_loss", "val_accuracy")):
        raise ValueError(
            f"history has no loss or accuracy values (keys: {sorted(history)}); "
            "pass the per-epoch dict recorded by training"
        )
    rate_key = next((key for key in ("learning_rate", "lr") if len(history.get(key) or [])), None)
    panels = 3 if rate_key else 2
    figure = Figure(figsize=(4.6 * panels, 3.8), layout="constrained")
    grid = figure.subplots(1, panels, squeeze=False)[0]
    _plot_pair(grid[0], history, "loss", "loss")
    _plot_pair(grid[1], history, "accuracy", "accuracy")
    if rate_key:
        rates = history[rate_key]
        grid[2].plot(np.arange(1, len(rates) + 1), rates, "-o", markersize=4, color="tab:purple")
        _epoch_axis(grid[2], len(rates))
        grid[2].set_ylabel("learning rate")
        grid[2].set_title("Learning rate per epoch")
        grid[2].ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
    if title:
        figure.suptitle(title)
    return figure


def plot_per_class_f1(per_class: Sequence[Mapping], *, title: str | None = None) -> Figure:
    """A bar per class with its F1 score, the macro average as a line, worst five in red.

    Args:
        per_class: the list returned by :func:`emnist_tf.evaluation.per_class_report`
            (dicts with ``name`` and ``f1``).
        title: figure title.
    """
    if not per_class:
        raise ValueError("per_class is empty: pass the per-class report of an evaluation")
    names = [str(entry["name"]) for entry in per_class]
    scores = np.array([float(entry["f1"]) for entry in per_class])
    worst = set(np.argsort(scores, kind="stable")[:5].tolist())
    colors = [WRONG_COLOR if index in worst else "tab:blue" for index in range(len(scores))]
    figure = Figure(figsize=(max(6.0, 0.22 * len(names) + 2.0), 3.4), layout="constrained")
    axes = figure.add_subplot()
    axes.bar(np.arange(len(names)), scores, color=colors)
    axes.axhline(scores.mean(), color="black", linewidth=1, linestyle="--", label=f"macro F1 {scores.mean():.3f}")
    axes.set_xticks(np.arange(len(names)), labels=names, fontsize=8)
    axes.set_xlim(-0.6, len(names) - 0.4)
    axes.set_ylim(0, 1.0)
    axes.set_ylabel("F1")
    axes.set_title(title or "F1 per class (the five weakest in red)")
    axes.legend(loc="lower right")
    axes.grid(axis="y", alpha=0.3)
    return figure
