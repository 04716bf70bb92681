"""One sweep from start to end: settings, search, results, test evaluation, report.

:func:`run_sweep` is what ``emnist-tf tune`` calls. Running it again on the same
folder continues an interrupted sweep: finished trials are kept, the trial that
was running is run again, and the final steps are skipped when already done.

Example:
    >>> outcome = run_sweep("sweeps/mlp-greedy", model="mlp", strategy="greedy",
    ...                     folds=3, epochs=5, seed=0)
    >>> outcome.final["best"]["test_accuracy"]
"""

from __future__ import annotations

import dataclasses
import os

from emnist_tf import config
from emnist_tf.tuning import configs, distributed, greedy, report, results, space
from emnist_tf.tuning.crossval import CrossValidationTuner
from emnist_tf.tuning.final import final_results
from emnist_tf.tuning.oracles import make_oracle
from emnist_tf.tuning.progress import Progress
from emnist_tf.tuning.settings import (  # noqa: F401 - the sweep settings, re-exported
    SETTINGS_FILE,
    SweepSettings,
    check_settings,
    load_settings,
    make_settings,
)

JOINT_PROJECT = "00_search"


class RecycleProcess(Exception):  # noqa: N818 (a signal to restart, not an error)
    """Raised between trials when the process should restart to give memory back."""


def _recycler(limit: int):
    def listener(progress):
        if progress.session_finished >= limit and progress.finished < progress.total:
            progress.message(
                f"restarting the process after {progress.session_finished} trials "
                "to free TensorFlow's memory; the sweep resumes"
            )
            raise RecycleProcess(progress.session_finished)

    return listener


@dataclasses.dataclass
class SweepOutcome:
    """What a sweep produced (``final`` and ``report`` are empty on a worker)."""

    settings: SweepSettings
    best_values: dict | None
    final: dict
    report: dict


def _load(settings: SweepSettings, subset: str, data_dir, limit):
    from emnist_tf import data

    return data.load_arrays(settings.split, subset, data_dir=data_dir, limit=limit, seed=settings.seed)


def _progress(directory, settings, stream, listeners) -> Progress:
    done = [record for record in results.load_trials(directory) if record.status in ("COMPLETED", "FAILED")]
    best = results.best_record(done)
    return Progress(
        total=settings.trial_budget(),
        finished=len(done),
        best=None if best is None else best.mean,
        stream=stream,
        listeners=listeners,
    )


def run_sweep(
    directory,
    *,
    model="mlp",
    strategy="greedy",
    folds=3,
    epochs=5,
    max_trials=None,
    seed=0,
    split="balanced",
    limit=None,
    data_dir=None,
    stream=None,
    listeners=None,
    recycle_after: int | None = None,
    final: bool = True,
    final_epochs: int | None = None,
    run_eagerly: bool = False,
    confirmation_epochs: int | None = None,
) -> SweepOutcome:
    """Runs, resumes or (as a distributed worker) helps with a sweep.

    Args:
        directory: the sweep folder (created if needed).
        model: "mlp" or "cnn".
        strategy: "greedy", "random", "bayesian" or "hyperband".
        folds: stratified folds per trial.
        epochs: epochs per fold and for the final training.
        max_trials: greedy: options per stage; joint: trial budget (default: the greedy plan's size).
        seed: seeds data subsampling, folds, models and oracles.
        split: EMNIST split.
        limit: use this many training images (stratified); None for all.
        data_dir: folder of EMNIST files (else EMNIST_TF_DATA, else tfds).
        stream: where progress lines go (stdout by default).
        listeners: callables run after every finished trial with the Progress object.
        recycle_after: raise :class:`RecycleProcess` once this process has finished this many
            trials and more remain (TensorFlow leaks memory with every model trained; the
            command line then restarts itself, which resumes the sweep). None: never.
        final: train the baseline and the best configuration on all training images and test
            them (``final/``, ``best_model.keras``); False stops after ``best.json``/``baseline.json``.
        run_eagerly: train the trials without tracing graphs (quicker for trials of a few batches).
        final_epochs: the ``epochs`` written into ``best.json`` and ``baseline.json`` (default:
            the model's default recipe).
        confirmation_epochs: greedy only: end with the confirmation stage, which retrains the
            winner and the winner with the default recipe's techniques for this many epochs per
            fold and keeps the better (:func:`emnist_tf.tuning.space.confirmation_stage`). None: no such stage.

    The sweep folder gets ``baseline.json`` and ``best.json`` (:mod:`emnist_tf.tuning.configs`)
    as soon as the search has finished: ``emnist-tf train --config DIR/best.json`` trains the winner.

    Raises:
        ValueError: for bad options, a folder holding another sweep, or greedy in distributed mode.
    """
    from emnist_tf import data

    settings = make_settings(
        model=model,
        strategy=strategy,
        folds=folds,
        epochs=epochs,
        max_trials=max_trials,
        seed=seed,
        split=split,
        limit=limit,
        confirmation_epochs=confirmation_epochs,
    )
    role = distributed.role()
    os.makedirs(str(directory), exist_ok=True)
    if role != "worker":
        check_settings(directory, settings)
    hypermodel = space.make_hypermodel(
        settings.model, num_classes=data.split_info(split).num_classes, seed=seed, run_eagerly=run_eagerly
    )
    progress = _progress(directory, settings, stream, listeners)
    if recycle_after:
        progress.listeners.append(_recycler(recycle_after))
    progress.message(
        f"{settings.strategy} sweep of the {settings.model} in {directory}: "
        f"{settings.trial_budget()} trials, {settings.folds} folds, {settings.epochs} epochs"
        f"{' (fast mode)' if settings.fast else ''}; {progress.finished} already finished"
    )
    train = _load(settings, "train", data_dir, settings.limit) if role != "chief" else None
    baseline_values, best_values = _search(directory, settings, hypermodel, train, progress)
    if role == "worker":
        progress.message(f"worker done: ran {len(progress.ran)} trial(s)")
        return SweepOutcome(settings, best_values, {}, {})
    write_configurations(directory, settings.model, baseline_values, best_values, epochs=final_epochs)
    if not final:
        written = report.write_report(directory)
        progress.message(f"search done: {configs.BEST_FILE} and {configs.BASELINE_FILE} in {directory}")
        return SweepOutcome(settings, best_values, {}, written)
    if train is None:
        train = _load(settings, "train", data_dir, settings.limit)
    test = _load(settings, "test", data_dir, config.cap(None, "test_examples"))
    configurations = {"baseline": baseline_values}
    if best_values is not None:
        configurations["best"] = best_values
    final = final_results(
        directory, hypermodel, configurations, train, test, epochs=settings.epochs, seed=seed, progress=progress
    )
    written = report.write_report(directory)
    progress.message(f"done: results in {written['results']}, summary in {written['summary']}")
    return SweepOutcome(settings, best_values, final, written)


def write_configurations(directory, kind: str, baseline_values: dict, best_values: dict | None, *, epochs=None):
    """Writes ``baseline.json`` and ``best.json`` (the baseline's when nothing completed) into the sweep folder."""
    configurations = {configs.BASELINE_FILE: baseline_values, configs.BEST_FILE: best_values or baseline_values}
    for name, values in configurations.items():
        configs.save_config(space.config_from_values(kind, values, epochs=epochs), os.path.join(str(directory), name))


def _search(directory, settings: SweepSettings, hypermodel, train, progress) -> tuple[dict, dict | None]:
    """Runs the search part of the sweep; returns the baseline and the best values found."""
    if settings.strategy == "greedy":
        outcome = greedy.run_greedy(
            directory,
            hypermodel,
            *(train or (None, None)),  # the chief only serves
            folds=settings.folds,
            epochs=settings.epochs,
            seed=settings.seed,
            trials_per_stage=settings.max_trials,
            confirmation_epochs=settings.confirmation_epochs,
            progress=progress,
        )
        return outcome.baseline_values, outcome.best_values
    _run_joint(directory, settings, hypermodel, train, progress)
    best = results.best_record(results.load_trials(directory))
    return space.baseline_values(settings.model), None if best is None else best.values


def _run_joint(directory, settings: SweepSettings, hypermodel, train, progress) -> None:
    oracle = make_oracle(settings.strategy, max_trials=settings.max_trials, epochs=settings.epochs, seed=settings.seed)
    tuner = CrossValidationTuner(
        oracle,
        hypermodel,
        folds=settings.folds,
        epochs=settings.epochs,
        seed=settings.seed,
        progress=progress,
        stage=settings.strategy,
        directory=os.path.join(str(directory), results.PROJECTS),
        project_name=JOINT_PROJECT,
    )
    if train is None:  # the chief only serves the oracle
        tuner.search()
    else:
        tuner.search(*train)
