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

from matplotlib.figure import Figure

from emnist_tf.course.figures import foundations, inside, training

_DPI = 110

FIGURES: dict[str, Callable[[], Figure]] = {
    "orientation": foundations.orientation,
    "sigmoid_costs": foundations.sigmoid_costs,
    "activations": foundations.activations,
    "initialisation": foundations.initialisation,
    "dropout": foundations.dropout,
    "batch_norm": foundations.batch_norm,
    "penalties": foundations.penalties,
    "convolution": foundations.convolution,
    "schedules": training.schedules,
    "optimizer_paths": training.optimizer_paths,
    "cross_validation": training.cross_validation,
    "hyperband": training.hyperband,
    "precision_recall": training.precision_recall,
    "selectivity": inside.selectivity,
    "separability": inside.separability,
    "psychometric": inside.psychometric,
    "attacks": inside.attacks,
    "prototypes": inside.prototypes,
    "first_layer_optimum": inside.first_layer_optimum,
    "total_variation": inside.total_variation,
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
