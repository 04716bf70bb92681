"""Looking at the data: class counts as a table, and a grid of samples with their characters."""

from __future__ import annotations

import numpy as np

from emnist_tf.data.splits import class_names


def class_counts(labels: np.ndarray, split: str) -> dict[str, int]:
    """Returns the number of examples of each class, keyed by its characters, in class order."""
    names = class_names(split)
    counts = np.bincount(np.asarray(labels), minlength=len(names))
    return {name: int(count) for name, count in zip(names, counts)}


def class_count_table(labels: np.ndarray, split: str, columns: int = 4) -> str:
    """Formats the per-class counts as a plain-text table (several class columns side by side).

    Example:
        >>> print(class_count_table(labels, "digits"))   # doctest: +SKIP
        class char  count | class char  count | ...
    """
    counts = list(class_counts(labels, split).items())
    rows = (len(counts) + columns - 1) // columns
    header = " | ".join(["class char   count"] * min(columns, len(counts)))
    lines = [header, "-" * len(header)]
    for row in range(rows):
        cells = []
        for column in range(columns):
            index = column * rows + row
            if index < len(counts):
                name, count = counts[index]
                cells.append(f"{index:5d} {name:<4s} {count:7d}")
        lines.append(" | ".join(cells))
    total = sum(count for _, count in counts)
    lines.append(f"total {total} images in {len(counts)} classes")
    return "\n".join(lines)


def plot_samples(
    images: np.ndarray, labels: np.ndarray, split: str, *, count: int = 36, columns: int = 9, seed: int | None = None
):
    """Draws a grid of sample images, each titled with its characters.

    Args:
        images: upright images (N, 28, 28, 1) or (N, 28, 28).
        labels: class indices.
        split: the split, for the characters.
        count: how many images (the first ``count``, or a seeded random choice).
        columns: images per row.
        seed: if given, choose the images at random with this seed.

    Returns:
        A matplotlib Figure.
    """
    from matplotlib.figure import Figure

    names = class_names(split)
    count = min(count, len(images))
    chosen = np.arange(count) if seed is None else np.random.default_rng(seed).choice(len(images), count, replace=False)
    rows = (count + columns - 1) // columns
    figure = Figure(figsize=(columns * 1.1, rows * 1.25), layout="constrained")
    for position, index in enumerate(chosen):
        axes = figure.add_subplot(rows, columns, position + 1)
        axes.imshow(np.squeeze(images[index]), cmap="gray_r", vmin=0.0, vmax=1.0)
        axes.set_title(names[int(labels[index])], fontsize=10)
        axes.axis("off")
    return figure
