"""What every lesson figure is drawn with: the seed, synthetic glyphs, a 'valid' correlation, an empty figure."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

SEED = 0


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
    return smooth(image)


def smooth(image: np.ndarray) -> np.ndarray:
    """``image`` blurred by a separable [1/4, 1/2, 1/4] kernel, same shape."""
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


def new_figure(width: float, height: float) -> Figure:
    """An empty figure of the given size (inches) with the constrained layout."""
    return Figure(figsize=(width, height), layout="constrained")
