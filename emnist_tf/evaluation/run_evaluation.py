"""Evaluating a model, or a saved run directory, on the test images of its split.

A run directory (:mod:`emnist_tf.modeling.runs`, the one definition of the format:
``model.keras``, ``history.csv``, ``run.json``). :func:`evaluate_run` adds ``metrics.json``,
``curves.png``, ``confusion.png`` and ``predictions.png`` to it.

Example:
    >>> from emnist_tf.evaluation import evaluate_run
    >>> metrics = evaluate_run("runs/cnn")          # doctest: +SKIP
    >>> print(format_headline(metrics))             # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from emnist_tf import config
from emnist_tf.evaluation import figures
from emnist_tf.evaluation.metrics import (
    classification_metrics,
    confusion_matrix,
    cross_entropy,
    most_confused_pairs,
    per_class_report,
)
from emnist_tf.modeling.runs import HISTORY_FILE, RUN_FILE, TRAIN_HINT, RunError, check_run_dir

METRICS_FILE = "metrics.json"
CURVES_FILE = "curves.png"
CONFUSION_FILE = "confusion.png"
PREDICTIONS_FILE = "predictions.png"
RESULT_FILES = (METRICS_FILE, CURVES_FILE, CONFUSION_FILE, PREDICTIONS_FILE)
"""Files :func:`evaluate_run` writes into a run directory."""
EVALUATE_HINT = "evaluate it (evaluate_run, or the evaluate command)"


def evaluate_predictions(true_labels, probabilities, class_names: Sequence[str], *, top_pairs: int = 10) -> dict:
    """Every test-set metric of predicted probabilities, as one JSON-friendly dict.

    Args:
        true_labels: 1-D integer array of true class indices.
        probabilities: ``(examples, classes)`` predicted probabilities.
        class_names: character(s) of each class index.
        top_pairs: how many most-confused pairs to keep.

    Returns:
        The keys of :func:`classification_metrics` plus ``loss`` (cross-entropy),
        ``per_class`` (list of dicts), ``most_confused`` (list of dicts) and
        ``confusion_matrix`` (list of lists of counts, rows true classes).
    """
    probability_array = np.asarray(probabilities)
    if probability_array.ndim != 2 or probability_array.shape[1] != len(class_names):
        raise ValueError(
            f"probabilities have shape {probability_array.shape} but the split has "
            f"{len(class_names)} classes; evaluate the model on the split it was trained on"
        )
    predicted = probability_array.argmax(axis=1)
    metrics = classification_metrics(true_labels, predicted, num_classes=len(class_names))
    metrics["loss"] = cross_entropy(true_labels, probability_array)
    counts = confusion_matrix(true_labels, predicted, num_classes=len(class_names))
    metrics["per_class"] = per_class_report(true_labels, predicted, class_names)
    metrics["most_confused"] = most_confused_pairs(counts, class_names, top=top_pairs)
    metrics["confusion_matrix"] = counts.tolist()
    return metrics


def evaluate_model(model, images, labels, class_names: Sequence[str], *, training=None, batch_size: int = 512) -> dict:
    """Evaluates an in-memory model on test images (for notebooks; no run directory needed).

    Args:
        model: a Keras model that outputs class probabilities.
        images: test images, e.g. from ``load_arrays(split, "test")``.
        labels: their class indices.
        class_names: character(s) of each class index.
        training: optionally the :class:`~emnist_tf.modeling.training.TrainingResult` of the model,
            whose ``train_seconds``, ``seconds_per_epoch``, ``device`` and ``epochs_run``
            are copied in so that :func:`comparison_table` can use the result.
        batch_size: prediction batch size.

    Returns:
        The dict of :func:`evaluate_predictions` plus ``parameters`` (and the training facts).

    Example:
        >>> metrics = evaluate_model(model, test_images, test_labels, class_names("balanced"),
        ...                          training=result)  # doctest: +SKIP
    """
    probabilities = model.predict(images, batch_size=batch_size, verbose=0)
    metrics = {"parameters": int(model.count_params()), **evaluate_predictions(labels, probabilities, class_names)}
    if training is not None:
        for name in ("train_seconds", "seconds_per_epoch", "device", "epochs_run"):
            metrics[name] = getattr(training, name, None)
    return metrics


def _model_kind(settings: Mapping) -> str | None:
    for key in ("model", "model_kind", "kind"):
        value = settings.get(key)
        if isinstance(value, str):
            return value
    return None


def _run_facts(run_dir: Path, settings: Mapping, model) -> dict:
    """Headline facts about the training, taken from run.json and the model."""
    return {
        "run": run_dir.name,
        "model": _model_kind(settings),
        "split": settings.get("split") or "balanced",
        "parameters": int(model.count_params()),
        "train_seconds": settings.get("train_seconds"),
        "seconds_per_epoch": settings.get("seconds_per_epoch"),
        "epochs_run": settings.get("epochs_run"),
        "device": settings.get("device"),
    }


def _data_provenance(split: str, data_dir, images: np.ndarray) -> dict:
    """Which test images were used: split, folder, count, fast mode and whether the files are NIST's."""
    from emnist_tf.data import sources

    facts = {
        "split": split,
        "subset": "test",
        "data_dir": None if data_dir is None else str(data_dir),
        "test_examples": int(images.shape[0]),
        "fast_mode": config.fast_mode(),
    }
    raw = sources.read_raw_subset(split, "test", data_dir)  # decoded arrays are cached: cheap
    facts["source"] = raw.source
    facts["files"] = dict(raw.provenance)
    return facts


def _check_history(run_dir: Path, history: Mapping) -> None:
    if not any(len(values) for values in history.values()):
        raise RunError(
            f"{run_dir / HISTORY_FILE} is missing or records no epochs; the training did not finish, {TRAIN_HINT}"
        )


def write_figures(
    run_dir, *, history: Mapping, images, true_labels, probabilities, counts, class_names: Sequence[str], title: str
) -> dict[str, Path]:
    """Saves ``curves.png``, ``confusion.png`` and ``predictions.png`` into ``run_dir``.

    Returns:
        File name -> path of every figure written.
    """
    run_dir = Path(run_dir)
    _check_history(run_dir, history)
    drawn = {
        CURVES_FILE: figures.plot_history(history, title=f"{title}: training curves"),
        CONFUSION_FILE: figures.plot_confusion_matrix(
            counts, class_names, normalize=True, title=f"{title}: confusion matrix (% of true class)"
        ),
        PREDICTIONS_FILE: figures.plot_predictions(images, true_labels, probabilities, class_names),
    }
    return {
        name: figures.save_figure(figure, run_dir / name, dpi=110 if name == CONFUSION_FILE else 100)
        for name, figure in drawn.items()
    }


def evaluate_run(run_dir, data_dir=None, *, limit: int | None = None, batch_size: int = 512) -> dict:
    """Evaluates a saved run on its split's test images and writes the results into it.

    Writes ``metrics.json``, ``curves.png``, ``confusion.png`` and
    ``predictions.png`` (the first six test images) into ``run_dir``.

    Args:
        run_dir: a directory written by ``emnist-tf train --out``.
        data_dir: folder of EMNIST files; by default the run's own ``data_dir``,
            else ``EMNIST_TF_DATA``, else tfds.
        limit: evaluate on a stratified subsample of this many test images
            (capped at 1000 in fast mode); ``None`` for the whole test set.
        batch_size: prediction batch size.

    Returns:
        The metrics written to ``metrics.json``: ``accuracy``, ``precision_macro``,
        ``recall_macro``, ``f1_macro``, the ``*_weighted`` ones, ``loss``,
        ``parameters``, ``train_seconds``, ``seconds_per_epoch``, ``device``,
        ``test_examples``, ``data`` (provenance), ``per_class``, ``most_confused``
        and ``confusion_matrix``.

    Raises:
        RunError: if ``run_dir`` lacks ``model.keras`` or ``run.json``.
    """
    from emnist_tf import data
    from emnist_tf.modeling import runs

    run_dir = check_run_dir(run_dir)
    run = runs.load_run(run_dir)
    _check_history(run_dir, run.history)
    settings = dict(run.config)
    split = settings.get("split") or "balanced"
    data_dir = data_dir if data_dir is not None else settings.get("data_dir")
    class_names = data.class_names(split)
    outputs = run.model.output_shape[-1]
    if outputs != len(class_names):
        raise ValueError(
            f"the model in {run_dir} has {outputs} outputs but its run.json names split "
            f"{split!r} with {len(class_names)} classes; fix 'split' in {run_dir / RUN_FILE}"
        )
    images, labels = data.load_arrays(
        split, "test", data_dir=data_dir, limit=config.cap(limit, "test_examples", say="test images")
    )
    probabilities = run.model.predict(images, batch_size=batch_size, verbose=0)
    metrics = {**_run_facts(run_dir, settings, run.model), **evaluate_predictions(labels, probabilities, class_names)}
    metrics["test_examples"] = metrics.pop("examples")
    metrics["data"] = _data_provenance(split, data_dir, images)
    metrics["evaluated_at"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    kind = metrics["model"]
    title = f"{run_dir.name} ({split})" if kind in (None, run_dir.name) else f"{run_dir.name} ({kind}, {split})"
    write_figures(
        run_dir,
        history=run.history,
        images=images[:6],
        true_labels=labels[:6],
        probabilities=probabilities[:6],
        counts=np.asarray(metrics["confusion_matrix"]),
        class_names=class_names,
        title=title,
    )
    (run_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return metrics


def load_metrics(run_dir) -> dict:
    """Reads ``metrics.json`` of an evaluated run.

    Raises:
        RunError: if the run has not been evaluated yet.
    """
    path = check_run_dir(run_dir, required=(METRICS_FILE,), hint=EVALUATE_HINT)
    try:
        return json.loads((path / METRICS_FILE).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise RunError(f"{path / METRICS_FILE} is not valid JSON ({error.msg}); {EVALUATE_HINT} again") from None


def format_headline(metrics: Mapping) -> str:
    """A few lines with the headline numbers of an evaluation (for the terminal)."""

    def seconds(value):
        return "-" if value is None else f"{float(value):.1f} s"

    lines = [
        f"run {metrics.get('run')}: {metrics.get('model') or 'model'} on {metrics.get('split')}, "
        f"{metrics.get('test_examples')} test images"
        + (" (fast mode subsample)" if metrics.get("data", {}).get("fast_mode") else ""),
        f"  {'accuracy':<36}{metrics['accuracy']:.4f}",
        f"  {'precision / recall / F1 (macro)':<36}{metrics['precision_macro']:.4f} / "
        f"{metrics['recall_macro']:.4f} / {metrics['f1_macro']:.4f}",
        f"  {'precision / recall / F1 (weighted)':<36}{metrics['precision_weighted']:.4f} / "
        f"{metrics['recall_weighted']:.4f} / {metrics['f1_weighted']:.4f}",
        f"  parameters {metrics.get('parameters', 0):,}; training {seconds(metrics.get('train_seconds'))}"
        f" ({seconds(metrics.get('seconds_per_epoch'))} per epoch) on {metrics.get('device') or '?'}",
    ]
    pairs = metrics.get("most_confused") or []
    if pairs:
        lines.append(
            "  most confused: "
            + ", ".join(f"{pair['true']}->{pair['predicted']} ({pair['count']})" for pair in pairs[:5])
        )
    return "\n".join(lines)
