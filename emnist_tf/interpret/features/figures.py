"""Figures: each unit's preferred input beside the dataset images it likes best.

Example:
    >>> figure = plot_preferred_inputs(result, top, unit_labels=class_names("balanced"))
    >>> figure.savefig("classes.png")
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from emnist_tf.interpret.features.maximize import PreferredInputs


def _display_range(images: np.ndarray) -> tuple[float, float] | None:
    """(0, 1) when the images are in the data's range, else None (scale each image itself)."""
    if images.min() >= -1e-3 and images.max() <= 1 + 1e-3:
        return 0.0, 1.0
    return None


def _show(axis, image: np.ndarray, display_range) -> None:
    picture = image[..., 0] if image.ndim == 3 else image
    if display_range is None:
        low, high = float(picture.min()), float(picture.max())
        display_range = (low, high if high > low else low + 1)
    axis.imshow(picture, cmap="gray", vmin=display_range[0], vmax=display_range[1], interpolation="nearest")
    axis.set_xticks([])
    axis.set_yticks([])


def plot_preferred_inputs(
    result: PreferredInputs,
    top=None,
    *,
    unit_labels: Sequence[str] | None = None,
    columns: int | None = None,
    title: str | None = None,
):
    """Draws a grid with, per unit, its preferred input (framed) then its top dataset images.

    Args:
        result: what :func:`emnist_tf.interpret.features.maximize` returned.
        top: a :class:`emnist_tf.interpret.features.TopImages` for the same units, or ``None``
            for the preferred inputs alone.
        unit_labels: a name per unit index of the layer (e.g. class names for
            ``"logits"``); default ``"unit <index>"``.
        columns: units per row of the grid; chosen from the number of units by default.
        title: the figure's title; default names the layer and the steps.

    Returns:
        A ``matplotlib.figure.Figure``.
    """
    from matplotlib.figure import Figure

    units = np.asarray(result.units)
    if top is not None and not np.array_equal(np.asarray(top.units), units):
        raise ValueError("top images are for other units than the result; compute both for the same units")
    per_unit = 1 + (0 if top is None else top.images.shape[1])
    if columns is None:
        columns = max(1, min(len(units), 16 // per_unit if per_unit > 1 else 8))
    rows = math.ceil(len(units) / columns)
    size = 0.85
    figure = Figure(figsize=(columns * per_unit * size, rows * (size + 0.25) + 0.6))
    grid = figure.add_gridspec(rows, columns * per_unit, wspace=0.08, hspace=0.45)
    preferred_range = _display_range(result.images)
    for position, unit in enumerate(units):
        row, column = divmod(position, columns)
        axis = figure.add_subplot(grid[row, column * per_unit])
        _show(axis, result.images[position], preferred_range)
        for spine in axis.spines.values():
            spine.set_edgecolor("tab:red")
            spine.set_linewidth(2)
        label = unit_labels[unit] if unit_labels is not None else f"unit {unit}"
        axis.set_title(f"{label}: {result.activations[position]:.3g}", fontsize=7, color="tab:red")
        for rank in range(per_unit - 1):
            axis = figure.add_subplot(grid[row, column * per_unit + 1 + rank])
            _show(axis, top.images[position, rank], (0.0, 1.0))
            axis.set_title(f"{top.activations[position, rank]:.3g}", fontsize=6)
    figure.suptitle(
        title or f"Preferred inputs of layer {result.layer!r} ({result.steps} steps; framed) and top dataset images",
        fontsize=9,
    )
    return figure
