"""Side-by-side comparison of evaluated runs (e.g. the MLP against the CNN).

The input is a mapping from a run's label to its metrics (the contents of its
``metrics.json``, as returned by :func:`emnist_tf.evaluation.evaluate_run`).

Example:
    >>> rows = comparison_table({"mlp": {"model": "mlp", "accuracy": 0.85},
    ...                          "cnn": {"model": "cnn", "accuracy": 0.90}})
    >>> [row["accuracy"] for row in rows]
    [0.85, 0.9]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter

COMPARISON_COLUMNS: tuple[tuple[str, str], ...] = (
    ("run", "run"),
    ("model", "model"),
    ("accuracy", "accuracy"),
    ("precision_macro", "precision (macro)"),
    ("recall_macro", "recall (macro)"),
    ("f1_macro", "F1 (macro)"),
    ("parameters", "parameters"),
    ("train_seconds", "training time (s)"),
    ("seconds_per_epoch", "time per epoch (s)"),
)
"""(key, heading) of every column of the comparison table, in order."""

SCORE_KEYS = ("accuracy", "precision_macro", "recall_macro", "f1_macro")


def comparison_table(metrics_by_run: Mapping[str, Mapping]) -> list[dict]:
    """One row per run with the columns of :data:`COMPARISON_COLUMNS`.

    Args:
        metrics_by_run: run label -> metrics dict (``metrics.json`` contents).
            Values a run lacks are ``None`` in its row.

    Returns:
        Rows in the order of ``metrics_by_run``.

    Raises:
        ValueError: if there is no run to compare.
    """
    if not metrics_by_run:
        raise ValueError("no runs to compare: pass at least one run's metrics")
    rows = []
    for label, metrics in metrics_by_run.items():
        row = {key: metrics.get(key) for key, _ in COMPARISON_COLUMNS}
        row["run"] = str(label)
        rows.append(row)
    return rows


def format_value(key: str, value) -> str:
    """Formats one table cell: scores with 4 decimals, parameters with separators, seconds with 1."""
    if value is None:
        return "-"
    if key in SCORE_KEYS:
        return f"{float(value):.4f}"
    if key == "parameters":
        return f"{int(value):,}"
    if key in ("train_seconds", "seconds_per_epoch"):
        return f"{float(value):.1f}"
    return str(value)


def format_comparison(rows: list[dict]) -> str:
    """The comparison table as aligned plain text (for the terminal)."""
    headings = [heading for _, heading in COMPARISON_COLUMNS]
    cells = [[format_value(key, row.get(key)) for key, _ in COMPARISON_COLUMNS] for row in rows]
    widths = [max(len(text) for text in column) for column in zip(headings, *cells)]
    lines = ["  ".join(text.ljust(width) for text, width in zip(line, widths)) for line in [headings, *cells]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _bar_panel(axes, labels, values, title: str, ylabel: str, fmt: str) -> None:
    heights = [np.nan if value is None else float(value) for value in values]
    bars = axes.bar(np.arange(len(labels)), np.nan_to_num(heights), color="tab:gray")
    axes.bar_label(bars, labels=[fmt.format(h) if not np.isnan(h) else "n/a" for h in heights], fontsize=8)
    axes.set_xticks(np.arange(len(labels)), labels=labels, rotation=20 if len(labels) > 3 else 0)
    axes.set_title(title)
    axes.set_ylabel(ylabel)
    axes.margins(y=0.15)


def plot_comparison(metrics_by_run: Mapping[str, Mapping], *, title: str | None = None) -> Figure:
    """One figure: scores side by side, parameter counts, and training time per run.

    Args:
        metrics_by_run: run label -> metrics dict.
        title: figure title.

    Returns:
        A three-panel figure.
    """
    rows = comparison_table(metrics_by_run)
    labels = [row["run"] for row in rows]
    figure = Figure(figsize=(max(12.0, 2.6 * len(rows) + 8.0), 4.2), layout="constrained")
    score_axes, parameter_axes, time_axes = figure.subplots(1, 3, gridspec_kw={"width_ratios": [2, 1, 1]})
    width = 0.8 / len(SCORE_KEYS)
    positions = np.arange(len(rows))
    lowest = 1.0
    for offset, key in enumerate(SCORE_KEYS):
        values = np.array([np.nan if row[key] is None else float(row[key]) for row in rows])
        bars = score_axes.bar(
            positions + (offset - 1.5) * width, np.nan_to_num(values), width, label=dict(COMPARISON_COLUMNS)[key]
        )
        score_axes.bar_label(bars, fmt="%.3f", fontsize=7, rotation=90, padding=2)
        if not np.all(np.isnan(values)):
            lowest = min(lowest, float(np.nanmin(values)))
    score_axes.set_xticks(positions, labels=labels)
    score_axes.set_ylim(max(0.0, lowest - 0.1), 1.04)
    score_axes.set_ylabel("score on the test set")
    score_axes.set_title("Accuracy, precision, recall, F1")
    score_axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=len(SCORE_KEYS), fontsize=8)
    score_axes.grid(axis="y", alpha=0.3)
    _bar_panel(parameter_axes, labels, [row["parameters"] for row in rows], "Parameters", "parameters", "{:,.0f}")
    parameter_axes.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    time_labels = [
        row["run"]
        if row["seconds_per_epoch"] is None
        else f"{row['run']}\n{float(row['seconds_per_epoch']):.1f} s/epoch"
        for row in rows
    ]
    _bar_panel(time_axes, time_labels, [row["train_seconds"] for row in rows], "Training time", "seconds", "{:,.1f} s")
    figure.suptitle(title or "Comparison of " + " vs ".join(labels))
    return figure
