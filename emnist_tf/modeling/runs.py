"""Run directories: a trained model, its history and its settings on disk.

This module is the one definition of the format. A run directory (written by
:func:`save_run` or the ``train`` command) holds

* ``model.keras``: the whole model (architecture, weights, optimiser state);
* ``history.csv``: one row per epoch (``epoch``, ``loss``, ``accuracy``,
  ``val_loss``, ``val_accuracy``, ``learning_rate``, ``epoch_seconds``);
* ``run.json``: model kind, split, hyperparameters, seed, ``train_seconds``,
  ``seconds_per_epoch``, ``device``, ``epochs_run``, ``data_dir`` and versions.

Evaluation adds ``metrics.json`` and figures to the same folder.

Example:
    >>> from emnist_tf.modeling.runs import save_run, load_run
    >>> save_run("runs/cnn", result, {"model": "cnn", "split": "balanced"})
    >>> run = load_run("runs/cnn")
    >>> run.model.predict(images), run.config["train_seconds"], run.history["val_accuracy"]
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from emnist_tf.errors import EmnistTfError

if TYPE_CHECKING:
    import keras

MODEL_FILE = "model.keras"
HISTORY_FILE = "history.csv"
RUN_FILE = "run.json"
RUN_FILES = (MODEL_FILE, RUN_FILE)
"""Files a run directory needs before it can be loaded or evaluated."""
TRAIN_HINT = "train a model and save it there (save_run, or the train command)"
"""What to do about a missing or broken run directory (library errors name no command-line flag)."""


class RunError(EmnistTfError, ValueError):
    """A run directory is missing, incomplete or corrupt (the one error of the run-folder format)."""


def check_run_dir(run_dir: str | os.PathLike, required=RUN_FILES, *, hint: str | None = None) -> Path:
    """Returns ``run_dir`` as a Path after checking it exists and holds every file in ``required``.

    Args:
        run_dir: the run directory.
        required: file names it must hold.
        hint: what to do when files are missing (default: the training did not finish).

    Raises:
        RunError: naming the missing folder or files and what to do.
    """
    folder = Path(run_dir)
    if not folder.is_dir():
        raise RunError(f"run directory {folder} does not exist; {TRAIN_HINT}")
    missing = [name for name in required if not (folder / name).is_file()]
    if missing:
        raise RunError(
            f"{folder} is missing {', '.join(missing)}; {hint or 'the training did not finish, ' + TRAIN_HINT}"
        )
    return folder


@dataclasses.dataclass
class Run:
    """A run read back from disk.

    Attributes:
        model: the reloaded Keras model.
        config: the contents of ``run.json``.
        history: per-epoch lists from ``history.csv`` (column name -> values).
    """

    model: keras.Model
    config: dict
    history: dict[str, list[float]]


def save_run(out_dir: str | os.PathLike, result, config: Mapping | None = None) -> Path:
    """Writes ``model.keras``, ``history.csv`` and ``run.json`` into ``out_dir``.

    Args:
        out_dir: the run directory (created if needed; files in it are replaced).
        result: a :class:`emnist_tf.modeling.training.TrainingResult`.
        config: what else to record, e.g. ``{"model": "cnn", "split": "balanced",
            "model_options": {...}}``; it overrides the training settings of the same name.

    Returns:
        The run directory as a Path.
    """
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    result.model.save(folder / MODEL_FILE)
    _write_history(folder / HISTORY_FILE, result.history)
    record = {
        **result.settings,
        **dict(config or {}),
        "train_seconds": round(float(result.train_seconds), 3),
        "seconds_per_epoch": round(float(result.seconds_per_epoch), 3),
        "device": result.device,
        "epochs_run": int(result.epochs_run),
        "parameters": int(result.model.count_params()),
        "saved_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": _versions(),
    }
    (folder / RUN_FILE).write_text(json.dumps(_jsonable(record), indent=2) + "\n", encoding="utf-8")
    return folder


def load_run(run_dir: str | os.PathLike) -> Run:
    """Reads a run directory back: model, ``run.json`` and ``history.csv``.

    Raises:
        RunError: if the folder or one of its files is missing or unreadable.
    """
    import keras

    from emnist_tf.modeling import losses as _losses  # noqa: F401  registers the smoothed loss for load_model

    folder = check_run_dir(run_dir)
    hint = TRAIN_HINT
    try:
        config = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RunError(f"{folder / RUN_FILE} is not valid JSON ({error}); {hint}") from None
    try:
        model = keras.saving.load_model(folder / MODEL_FILE)
    except Exception as error:  # Keras raises many types for a damaged zip or config
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise RunError(f"{folder / MODEL_FILE} cannot be loaded ({reason}); {hint}") from None
    history = _read_history(folder / HISTORY_FILE) if (folder / HISTORY_FILE).is_file() else {}
    return Run(model=model, config=config, history=history)


def _write_history(path: Path, history: Mapping[str, list]) -> None:
    columns = [key for key, values in history.items() if len(values)]
    rows = max((len(history[key]) for key in columns), default=0)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", *columns])
        for index in range(rows):
            values = [history[key][index] if index < len(history[key]) else "" for key in columns]
            writer.writerow([index + 1, *values])


def _read_history(path: Path) -> dict[str, list[float]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise RunError(f"{path} cannot be read ({error}); delete it or train the run again") from None
    columns = [name for name in (rows[0].keys() if rows else []) if name != "epoch"]
    try:
        return {name: [float(row[name]) for row in rows if row[name] not in ("", None)] for name in columns}
    except ValueError as error:
        raise RunError(f"{path} holds a value that is not a number ({error}); train the run again") from None


def _jsonable(value):
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def _versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    return {"tensorflow": tf.__version__, "keras": keras.__version__}
