"""From a training configuration to a tested run: the one path of ``emnist-tf train``, a sweep's end and the assignment.

:func:`train_and_test` trains a :class:`~emnist_tf.modeling.configuration.TrainingConfig` on a
split's training images, writes the run folder (under a temporary name, renamed when complete,
so a kill leaves it whole or absent) and evaluates the saved model on the test set. Every
command that trains a configuration file goes through it, so the test accuracy a sweep reports
for its ``best.json`` is the accuracy ``emnist-tf train --config best.json`` gets on the same
data and seed.

:func:`train_command` is the recipe of ``emnist-tf train`` (the configuration from a file or the
default recipe, the options given, the fast-mode caps); :func:`final_results` is a sweep's end
(``final/<name>/`` run folders and ``final/<name>.json`` results, skipped when present).

Example:
    >>> config = TrainingConfig.load("sweeps/mlp/best.json")
    >>> metrics = train_and_test(config, "runs/mlp-best", split="balanced")
    >>> metrics["accuracy"]
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from emnist_tf import config as fast
from emnist_tf.files import atomic_write_json
from emnist_tf.modeling.configuration import TrainingConfig

FINAL = "final"


def train_and_test(
    config: TrainingConfig,
    out_dir,
    *,
    split: str = "balanced",
    data_dir=None,
    limit: int | None = None,
    test_limit: int | None = None,
    distribute: str | None = None,
    tensorboard_dir=None,
    verbose="auto",
    record: dict | None = None,
) -> dict:
    """Trains ``config``, saves the run into ``out_dir``, evaluates the saved model on the test set.

    Args:
        config: what to train (its seed seeds everything).
        out_dir: the run folder (replaced if it exists).
        split: EMNIST split.
        data_dir: folder of EMNIST files (else EMNIST_TF_DATA, else tfds).
        limit: training images (stratified; None: all).
        test_limit: test images (None: all, or the fast-mode cap of ``evaluate_run``).
        distribute: see :func:`emnist_tf.modeling.training.train`.
        tensorboard_dir: write TensorBoard logs there.
        verbose: Keras' ``fit`` verbosity; 0 also silences ``train``'s lines.
        record: more facts for ``run.json``.

    Returns:
        The metrics of :func:`emnist_tf.evaluation.run_evaluation.evaluate_run`, plus the run's
        ``train_seconds``, ``epochs_run`` and ``train_examples``.
    """
    from emnist_tf.evaluation.run_evaluation import evaluate_run
    from emnist_tf.modeling.runs import save_run
    from emnist_tf.modeling.training import train

    target = Path(out_dir)
    result = train(
        config,
        split,
        data_dir=data_dir,
        limit=limit,
        distribute=distribute,
        tensorboard_dir=tensorboard_dir,
        verbose=verbose,
    )
    partial = target.with_name(f".partial-{target.name}")
    if partial.exists():
        shutil.rmtree(partial)
    save_run(partial, result, {"model": config.model, "split": split, **(record or {})})
    if target.exists():
        shutil.rmtree(target)
    os.replace(partial, target)  # the run folder appears complete or not at all
    metrics = evaluate_run(target, data_dir=data_dir, limit=test_limit)
    return {
        **metrics,
        "train_seconds": round(result.train_seconds, 2),
        "epochs_run": result.epochs_run,
        "train_examples": result.settings["train_examples"],
    }


def resolve_config(kind: str | None = None, path=None, **changes) -> TrainingConfig:
    """The configuration of ``emnist-tf train``: a file or ``kind``'s default recipe, then ``changes``, then fast mode.

    Args:
        kind: "mlp" or "cnn" (the default recipe), or the kind the file must hold.
        path: a configuration file (``best.json``...); None: the default recipe of ``kind``.
        **changes: fields of :class:`TrainingConfig` to replace (``seed`` among them; the file's, else 0).

    Raises:
        ValueError: nothing to train, or ``kind`` contradicting the file.
    """
    from emnist_tf.modeling.training import default_config

    if path is not None:
        config = TrainingConfig.load(path)
        if kind is not None and kind != config.model:
            raise ValueError(f"the model {kind!r} asked for contradicts the model {config.model!r} of {path}")
        config = config.replace(**changes)
    elif kind is None:
        raise ValueError("say what to train: a model kind (mlp or cnn) or a configuration file")
    else:
        config = default_config(kind, **changes)
    return config.replace(epochs=fast.cap(config.epochs, "epochs", say="epochs"))


def train_command(
    out_dir, config: TrainingConfig, *, split="balanced", data_dir=None, limit=None, **options
) -> tuple[Path, dict]:
    """What ``emnist-tf train`` does once its configuration is resolved: fast-mode data caps, precision, train, test.

    Args:
        out_dir: the run folder.
        config: from :func:`resolve_config`.
        split: EMNIST split.
        data_dir: folder of EMNIST files.
        limit: training images (None: all; capped in fast mode).
        **options: ``distribute``, ``tensorboard_dir`` for :func:`train_and_test`.

    Returns:
        ``(run folder, metrics)``.
    """
    from emnist_tf import devices

    precision = devices.configure_precision()
    record = {"precision": precision, "fast_mode": fast.fast_mode()}
    limit = fast.cap(limit, "train_examples", say="training images")
    metrics = train_and_test(config, out_dir, split=split, data_dir=data_dir, limit=limit, record=record, **options)
    return Path(out_dir), metrics


def final_results(directory, configurations: dict, *, split: str, data_dir=None, limit=None, progress=None) -> dict:
    """Trains and tests every named configuration not tested yet, as ``emnist-tf train --config`` would.

    Args:
        directory: the sweep folder; runs go to ``final/<name>/``, results to ``final/<name>.json``.
        configurations: ``{"baseline": TrainingConfig, "best": TrainingConfig}``.
        split: EMNIST split.
        data_dir: folder of EMNIST files.
        limit: training images (the sweep's; None: all).
        progress: optional progress printer.

    Returns:
        ``{name: result dict}`` with test_accuracy, test_loss, train_seconds, epochs, train_examples,
        test_examples.
    """
    folder = os.path.join(str(directory), FINAL)
    outcome = load_final(directory)
    for name, config in configurations.items():
        if name in outcome:
            continue
        if progress is not None:
            progress.message(f"final: training the {name} configuration ({config.epochs} epoch(s)) and testing it")
        metrics = train_and_test(
            config, os.path.join(folder, name), split=split, data_dir=data_dir, limit=limit, verbose=0
        )
        result = {
            "test_accuracy": float(metrics["accuracy"]),
            "test_loss": float(metrics["loss"]),
            "train_seconds": metrics["train_seconds"],
            "epochs": metrics["epochs_run"],
            "train_examples": metrics["train_examples"],
            "test_examples": metrics["test_examples"],
        }
        atomic_write_json(os.path.join(folder, f"{name}.json"), result)
        outcome[name] = result
    return outcome


def load_final(directory) -> dict:
    """The test results written so far (``{}`` before the sweep's end)."""
    folder = os.path.join(str(directory), FINAL)
    outcome = {}
    if os.path.isdir(folder):
        for name in sorted(os.listdir(folder)):
            if name.endswith(".json"):
                with open(os.path.join(folder, name)) as stream:
                    outcome[name[:-5]] = json.load(stream)
    return outcome
