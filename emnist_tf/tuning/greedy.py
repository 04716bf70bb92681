"""The greedy staged strategy: one technique at a time from a baseline.

Runs the stages of a staged strategy (:class:`emnist_tf.tuning.strategies.StagedStrategy`;
greedy's are :func:`emnist_tf.tuning.space.stages`). Stage 0 cross-validates the baseline
configuration. Every later stage is a KerasTuner search over one technique's options
with every other hyperparameter fixed at the best configuration so far; the
winner (the best mean validation accuracy, the configuration carried in from the
previous stage included) is carried forward. Short trials favour what learns fast,
so a stage can run by successive halving (:mod:`.halving`): every option briefly, the
best share longer on more images, the winner chosen among the longest-trained only.
An optional last stage (:func:`emnist_tf.tuning.space.confirmation_stage`) tries the
winner with the default recipe's techniques all at once.
Each stage is its own KerasTuner
project, so an interrupted sweep resumes inside the stage it was in, and the
choice of winners is recomputed identically from the recorded trials.

Example:
    >>> outcome = run_greedy("sweeps/mlp", make_hypermodel("mlp"), images, labels,
    ...                      folds=3, epochs=5, seed=0)
    >>> outcome.best_values["activation"]
"""

from __future__ import annotations

import dataclasses
import os

from emnist_tf.tuning import distributed, halving, results, space
from emnist_tf.tuning.crossval import CrossValidationTuner
from emnist_tf.tuning.oracles import CandidateOracle

StageOutcome = results.StageOutcome
"""Kept importable from here; defined in :mod:`.results`."""


@dataclasses.dataclass
class GreedyOutcome:
    """The whole greedy sweep: its stages, the baseline and the final configuration."""

    stages: list[StageOutcome]
    baseline_values: dict
    best_values: dict
    best: results.TrialRecord | None


def project_name(number: int, name: str) -> str:
    """KerasTuner project folder of a stage, e.g. ``project_name(2, "activation") == "02_activation"``."""
    return f"{number:02d}_{name}"


def _matches(candidate: dict, values: dict) -> bool:
    return bool(candidate) and all(values.get(name) == value for name, value in candidate.items())


def stage_candidates(stage: space.Stage, current: dict, trials_per_stage: int | None, rungs: int = 1) -> list[dict]:
    """The options a stage tries: its candidates minus the current configuration, capped.

    A one-rung sweep's confirmation stage is never capped: it has at most two candidates, and
    the first (``{}``: the current configuration itself) is always kept. With several rungs the
    current configuration already has a score at the last rung's length (the previous stage's
    winner), so the confirmation stage only tries its variant against it.
    """
    if stage.name == "baseline":
        return [{}]
    if stage.confirmation and rungs == 1:
        return list(stage.candidates)
    options = [candidate for candidate in stage.candidates if candidate and not _matches(candidate, current)]
    return options if trials_per_stage is None else options[:trials_per_stage]


def planned_rungs(
    kind: str, trials_per_stage: int | None, confirmation: bool = False, *, stages=None, rungs: int = 1, growth: int = 3
) -> list[int]:
    """How many trials the staged sweep runs at each rung, shortest first, when none fails.

    A stage only changes its own hyperparameters, so which candidate equals the
    current configuration can be known from the baseline alone.

    Args:
        kind: "mlp" or "cnn".
        trials_per_stage: at most this many options per stage (None: all).
        confirmation: with the confirmation stage.
        stages: the strategy's stages (default: greedy's, :func:`emnist_tf.tuning.space.stages`).
        rungs: trial lengths per stage (successive halving, :mod:`.halving`; a stage of one or two
            candidates, the baseline's among them, trains at the last only).
        growth: the rungs' factor.
    """
    baseline = space.baseline_values(kind)
    stages = space.stages(kind, confirmation) if stages is None else stages
    counts = [0] * rungs
    for stage in stages:
        count = len(stage_candidates(stage, baseline, trials_per_stage, rungs))
        for rung, size in enumerate(halving.rung_sizes(count, rungs, growth)):
            counts[rung] += size
    return counts


def planned_trials(kind: str, trials_per_stage: int | None, confirmation: bool = False, **plan) -> int:
    """How many trials the staged sweep runs in all (arguments as :func:`planned_rungs`)."""
    return sum(planned_rungs(kind, trials_per_stage, confirmation, **plan))


def choose_winner(carried: results.TrialRecord | None, records: list[results.TrialRecord]):
    """The best of the carried configuration and this stage's trials of the last rung; the carried one wins ties."""
    best = carried
    for record in records:
        if record.completed and record.longest and (best is None or record.mean > best.mean):
            best = record
    return best


def stage_outcome(number: int, stage: space.Stage, carried, records) -> StageOutcome:
    """What a stage chose, among its longest-trained trials and the carried configuration.

    A one-rung sweep's confirmation stage compares its own (longer) trials only and keeps the
    carried configuration only when all of them failed.
    """
    if stage.confirmation and all(record.rungs == 1 for record in records):
        return StageOutcome(number, stage.name, None, records, choose_winner(None, records) or carried)
    return StageOutcome(number, stage.name, carried, records, choose_winner(carried, records))


def replay(directory, kind: str, *, stages=None) -> list[StageOutcome]:
    """Recomputes the stage outcomes from the trials recorded in ``directory`` (``stages``: as for
    :func:`planned_trials`, with the confirmation stage)."""
    outcomes = []
    carried = None
    projects = {os.path.basename(path): path for path in results.project_dirs(directory)}
    for number, stage in enumerate(space.stages(kind, confirmation=True) if stages is None else stages):
        path = projects.get(project_name(number, stage.name))
        if path is None:
            break
        outcomes.append(stage_outcome(number, stage, carried, results.load_project(path)))
        carried = outcomes[-1].winner
    return outcomes


def run_greedy(
    directory,
    hypermodel,
    images,
    labels,
    *,
    folds: int,
    epochs: int,
    seed: int = 0,
    trials_per_stage: int | None = None,
    confirmation_epochs: int | None = None,
    rungs: list | None = None,
    growth: int = 3,
    progress=None,
    stages=None,
) -> GreedyOutcome:
    """Runs (or resumes) every stage in order and returns the outcome.

    Args:
        directory: the sweep folder; stages go to ``directory/projects/NN_name``.
        hypermodel: from :func:`emnist_tf.tuning.space.make_hypermodel`.
        images: training images used for cross-validation.
        labels: their class indices.
        folds: stratified folds per trial.
        epochs: epochs per fold.
        seed: seeds folds, models and oracles.
        trials_per_stage: at most this many options per stage (None: all).
        confirmation_epochs: epochs per fold of the confirmation stage
            (:func:`emnist_tf.tuning.space.confirmation_stage`); None: no confirmation stage. With
            several rungs it trains at the last rung's length.
        rungs: the trial lengths of every stage (:func:`emnist_tf.tuning.halving.ladder`; None: one
            rung of ``epochs`` epochs on every image); a stage of one or two candidates trains at the last only.
        growth: a rung promotes a ``1/growth`` share of its candidates (at least two).
        progress: optional :class:`emnist_tf.tuning.progress.Progress`.
        stages: the stages to run (default: greedy's, with the confirmation stage when
            ``confirmation_epochs`` is given).
    """
    kind = hypermodel.kind
    baseline = space.baseline_values(kind)
    role = distributed.role()
    if role == "worker":
        _work_for_the_chief(directory, hypermodel, images, labels, folds, seed, progress)
        return GreedyOutcome(stages=[], baseline_values=baseline, best_values=None, best=None)
    current = dict(baseline)
    carried = None
    outcomes = []
    server = None
    all_stages = space.stages(kind, confirmation_epochs is not None) if stages is None else stages
    for number, stage in enumerate(all_stages):
        if progress is not None:
            progress.stage_numbers[stage.name] = number + 1
            progress.stage_count = len(all_stages)
        ladder = list(rungs or [halving.Rung(epochs, 1.0)])  # a stage of one candidate trains at the last rung only
        if stage.confirmation and len(ladder) == 1:
            ladder = [halving.Rung(confirmation_epochs, 1.0)]
        candidates = stage_candidates(stage, current, trials_per_stage, len(ladder))
        oracle = CandidateOracle(current, candidates, seed=seed, rungs=ladder, growth=growth)
        tuner = CrossValidationTuner(
            oracle,
            hypermodel,
            folds=folds,
            seed=seed,
            progress=progress,
            stage=stage.name,
            directory=os.path.join(str(directory), results.PROJECTS),
            project_name=project_name(number, stage.name),
        )
        if role == "chief":  # serve the stage to the workers; they train
            tuner.save()
            server = server or distributed.StagedServer(oracle)
            server.serve_stage(oracle)
        else:
            tuner.search(images, labels)
        outcomes.append(stage_outcome(number, stage, carried, results.load_project(tuner.project_dir)))
        winner = outcomes[-1].winner
        if winner is not None:
            carried = winner
            current = dict(baseline)
            current.update(winner.values)  # records leave tuner/ values out
        if progress is not None and winner is not None:
            progress.message(
                f"stage {stage.name} done: keeps {_describe(stage, current)} (val_accuracy {winner.mean:.4f}; "
                f"decided at {outcomes[-1].decided_at()})"
            )
    if server is not None:
        server.finish()
    return GreedyOutcome(stages=outcomes, baseline_values=baseline, best_values=current, best=carried)


WORKERS = "workers"


def _work_for_the_chief(directory, hypermodel, images, labels, folds, seed, progress) -> None:
    """A distributed worker: one search against the chief's staged oracle, trials of every stage in turn.

    The chief hands out full configurations, so the worker needs no stage logic; its own tuner
    files go to ``directory/workers/<tuner id>``.
    """
    placeholder = CandidateOracle(space.baseline_values(hypermodel.kind), [{}], seed=seed)
    tuner = CrossValidationTuner(
        placeholder,
        hypermodel,
        folds=folds,
        seed=seed,
        progress=progress,
        stage="greedy",
        directory=os.path.join(str(directory), WORKERS),
        project_name=os.environ[distributed.TUNER_ID_ENV],
    )
    tuner.search(images, labels)


def _describe(stage: space.Stage, values: dict) -> str:
    keys = stage.keys or tuple(sorted(values))
    return ", ".join(f"{name}={values.get(name)}" for name in keys)
