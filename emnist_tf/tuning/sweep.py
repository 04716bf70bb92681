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

from emnist_tf.tuning import configs, distributed, report, results, space
from emnist_tf.tuning.final import final_results
from emnist_tf.tuning.progress import Progress
from emnist_tf.tuning.recycle import RecycleProcess
from emnist_tf.tuning.settings import (  # noqa: F401 - the sweep settings, re-exported
    SETTINGS_FILE,
    SweepSettings,
    check_settings,
    load_settings,
    make_settings,
)
from emnist_tf.tuning.strategies import JOINT_PROJECT, get_strategy  # noqa: F401 - JOINT_PROJECT re-exported


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
    planned = get_strategy(settings.strategy).planned_work(settings)
    return Progress(
        total=settings.trial_budget(),
        finished=len(done),
        best=None if best is None else best.mean,
        stream=stream,
        listeners=listeners,
        work=None if planned is None else (planned, sum(_record_work(settings, record) for record in done)),
    )


def _record_work(settings: SweepSettings, record) -> float:
    """A finished trial's work as :func:`emnist_tf.tuning.progress.trial_work` counts it."""
    if record.rungs == 1 and record.stage == space.CONFIRMATION_STAGE and settings.confirmation_epochs:
        return float(settings.confirmation_epochs)
    rung = settings.ladder()[min(record.rung, settings.rungs - 1)]
    return rung.epochs * rung.images_share


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
    run_eagerly: bool | None = None,
    confirmation_epochs: int | None = None,
    rungs: int = 1,
    growth: int = 3,
    longest_epochs: int | None = None,
) -> SweepOutcome:
    """Runs, resumes or (as a distributed worker) helps with a sweep.

    Args:
        directory: the sweep folder (created if needed).
        model: "mlp" or "cnn".
        strategy: a name of :data:`emnist_tf.tuning.strategies.STRATEGIES`.
        folds: stratified folds per trial.
        epochs: epochs per fold.
        max_trials: staged: options per stage; joint: trial budget (default: the greedy plan's size).
        seed: seeds data subsampling, folds, models and oracles.
        split: EMNIST split.
        limit: use this many training images (stratified); None for all.
        data_dir: folder of EMNIST files (else EMNIST_TF_DATA, else tfds).
        stream: where progress lines go (stdout by default).
        listeners: callables run after every finished trial with the Progress object.
        recycle_after: raise :class:`RecycleProcess` once this process has finished this many
            trials and more remain (TensorFlow leaks memory with every model trained; the
            command line then restarts itself, which resumes the sweep). None: never.
        final: train ``baseline.json`` and ``best.json`` on the sweep's training images and test
            them (``final/``), exactly as ``emnist-tf train --config`` would; False stops after writing them.
        final_epochs: the ``epochs`` of ``best.json`` and ``baseline.json`` (default: the model's
            default recipe).
        run_eagerly: train the trials without tracing graphs (quicker for trials of a few batches;
            None: in fast mode).
        confirmation_epochs: staged strategies only: end with the confirmation stage, which retrains the
            winner and the winner with the default recipe's techniques for this many epochs per
            fold and keeps the better (:func:`emnist_tf.tuning.space.confirmation_stage`). None: no such stage.
            With several rungs it must be the last rung's epochs (only the variant trains).
        rungs: staged strategies only: trial lengths within each stage (successive halving,
            :mod:`emnist_tf.tuning.halving`): every option trains ``epochs`` epochs per fold on
            ``1/growth**(rungs-1)`` of the images, the best ``1/growth`` (at least two) ``growth``
            times longer on ``growth`` times the images, and so on; the last rung decides the stage.
        growth: the rungs' factor.
        longest_epochs: the last rung's epochs per fold (None: ``epochs * growth**(rungs-1)``).

    Every size is resolved once, by :func:`make_settings` (fast-mode caps included), and stored in
    ``sweep.json``. The sweep folder gets ``baseline.json`` and ``best.json``
    (:class:`~emnist_tf.modeling.configuration.TrainingConfig` files) as soon as the search has finished.

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
        final_epochs=final_epochs,
        rungs=rungs,
        growth=growth,
        longest_epochs=longest_epochs,
        run_eagerly=run_eagerly,
    )
    role = distributed.role()
    os.makedirs(str(directory), exist_ok=True)
    if role != "worker":
        check_settings(directory, settings)
    hypermodel = space.make_hypermodel(
        settings.model, num_classes=data.split_info(split).num_classes, seed=seed, run_eagerly=settings.run_eagerly
    )
    progress = _progress(directory, settings, stream, listeners)
    if recycle_after:
        progress.listeners.append(_recycler(recycle_after))
    progress.message(
        f"{settings.strategy} sweep of the {settings.model} in {directory}: "
        f"{settings.trial_budget()} trials, {settings.folds} folds, {_lengths(settings)}"
        f"{' (fast mode)' if settings.fast else ''}; {progress.finished} already finished"
    )
    train = _load(settings, "train", data_dir, settings.limit) if role != "chief" else None
    chosen = get_strategy(settings.strategy)
    baseline_values, best_values = chosen.search(directory, settings, hypermodel, train, progress)
    if role == "worker":
        progress.message(f"worker done: ran {len(progress.ran)} trial(s)")
        return SweepOutcome(settings, best_values, {}, {})
    written_configs = write_configurations(directory, settings, baseline_values, best_values)
    if not final:
        written = report.write_report(directory)
        progress.message(f"search done: {configs.BEST_FILE} and {configs.BASELINE_FILE} in {directory}")
        return SweepOutcome(settings, best_values, {}, written)
    outcome = final_results(
        directory,
        {"baseline": written_configs[configs.BASELINE_FILE], "best": written_configs[configs.BEST_FILE]},
        split=settings.split,
        data_dir=data_dir,
        limit=settings.limit,
        progress=progress,
    )
    written = report.write_report(directory)
    progress.message(f"done: results in {written['results']}, summary in {written['summary']}")
    return SweepOutcome(settings, best_values, outcome, written)


def _lengths(settings: SweepSettings) -> str:
    """``"2 epochs"``, or with several rungs ``"rungs of 2, 6 epochs on 1/3, all the images"``."""
    if settings.rungs == 1:
        return f"{settings.epochs} epochs"
    ladder = settings.ladder()
    shares = ", ".join("all" if rung.images_share >= 1 else f"1/{round(1 / rung.images_share)}" for rung in ladder)
    return f"rungs of {', '.join(str(rung.epochs) for rung in settings.ladder())} epochs on {shares} the images"


def write_configurations(directory, settings: SweepSettings, baseline_values: dict, best_values: dict | None):
    """Writes ``baseline.json`` and ``best.json`` (the baseline's when nothing completed) into the sweep folder.

    Returns:
        ``{file name: TrainingConfig}``.
    """
    written = {}
    for name, values in ((configs.BASELINE_FILE, baseline_values), (configs.BEST_FILE, best_values or baseline_values)):
        written[name] = space.config_from_values(
            settings.model, values, epochs=settings.final_epochs, seed=settings.seed
        )
        written[name].save(os.path.join(str(directory), name))
    return written
