"""KerasTuner oracles that survive being killed at any moment.

KerasTuner 1.4.8 already sends the trials listed as running in ``oracle.json`` back
for another run when a project is reloaded. Three gaps remain, closed here:

* ``oracle.json`` and ``trial.json`` are written in place, so a SIGKILL during a
  write leaves a truncated file that cannot be reloaded. Here every write goes to a
  temporary file first and is renamed over the old one (atomic on POSIX).
* ``create_trial`` writes the new ``trial.json`` before ``oracle.json``; a kill in
  between leaves a running trial the oracle does not know to re-run, so it would
  never run yet count towards ``max_trials``. ``end_trial`` writes ``trial.json``
  (finished) before ``oracle.json`` (still running); a kill in between would run a
  finished trial again. :meth:`ResumableOracleMixin.reload` reconciles both from
  the trial files, which are the source of truth.
* After three failed trials in a row KerasTuner stops the search; a sweep must go
  on, so the limit is off by default.

Example:
    >>> oracle = make_oracle("random", max_trials=10, seed=0)
"""

from __future__ import annotations

import os

import keras_tuner

from emnist_tf.files import atomic_write_json
from emnist_tf.tuning import kt_adapter

OBJECTIVE = keras_tuner.Objective("val_accuracy", direction="max")

_FINISHED = (kt_adapter.TrialStatus.COMPLETED, kt_adapter.TrialStatus.FAILED)


class ResumableOracleMixin:
    """Atomic saves and a reload that re-runs exactly the unfinished trials."""

    def save(self):
        atomic_write_json(kt_adapter.oracle_state_file(self), self.get_state())

    def _save_trial(self, trial):
        path = os.path.join(kt_adapter.trial_dir(self, trial.trial_id), "trial.json")
        atomic_write_json(path, trial.get_state())

    def reload(self):
        super().reload()
        self.reconcile_trials()

    def reconcile_trials(self) -> list[str]:
        """Makes the oracle's queues agree with the trial files; returns the ids sent to re-run."""
        rerun = []
        queue = kt_adapter.retry_queue(self)
        for trial_id, trial in sorted(self.trials.items()):
            if trial_id not in self.start_order:
                self.start_order.append(trial_id)
                kt_adapter.record_values(self, trial)
            if trial.status in _FINISHED:
                if trial_id in queue:
                    queue.remove(trial_id)
                if trial_id not in self.end_order:
                    self.end_order.append(trial_id)
                continue
            # Running (or idle/invalid) when the process died: forget partial
            # metrics and run it again.
            trial.metrics = kt_adapter.new_metrics_tracker()
            trial.score = None
            trial.best_step = 0
            if trial_id not in queue:
                queue.append(trial_id)
            rerun.append(trial_id)
        # Re-run in id order: create_trial pops from the end.
        queue.sort(reverse=True)
        return rerun


class CandidateOracle(ResumableOracleMixin, keras_tuner.Oracle):
    """Proposes a fixed list of configurations in order (one greedy stage).

    Args:
        base_values: every hyperparameter's value (the best configuration so far).
        candidates: dicts of overrides; trial ``i`` runs ``base_values | candidates[i]``.
        seed: kept for KerasTuner; the order is fixed.
    """

    def __init__(self, base_values: dict, candidates: list[dict], seed: int = 0, max_consecutive_failed_trials=None):
        super().__init__(
            objective=OBJECTIVE,
            max_trials=max(1, len(candidates)),
            seed=seed + 1,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
        )
        self.base_values = dict(base_values)
        self.candidates = [dict(candidate) for candidate in candidates]

    def populate_space(self, trial_id):
        index = len(self.trials)
        if index >= len(self.candidates):
            return {"status": kt_adapter.TrialStatus.STOPPED, "values": None}
        values = dict(self.base_values)
        values.update(self.candidates[index])
        return {"status": kt_adapter.TrialStatus.RUNNING, "values": values}


class RandomSearchOracle(ResumableOracleMixin, keras_tuner.oracles.RandomSearchOracle):
    """KerasTuner's random search, resumable."""


class BayesianOptimizationOracle(ResumableOracleMixin, keras_tuner.oracles.BayesianOptimizationOracle):
    """KerasTuner's Bayesian optimisation (Gaussian process), resumable."""


class HyperbandOracle(ResumableOracleMixin, keras_tuner.oracles.HyperbandOracle):
    """KerasTuner's Hyperband, resumable and stopped after ``max_trials`` trials."""

    def __init__(self, max_trials: int, **kwargs):
        super().__init__(**kwargs)
        self.max_trials = max_trials


def make_oracle(strategy: str, *, max_trials: int, epochs: int = 1, seed: int = 0):
    """Returns a resumable oracle for a joint search.

    Args:
        strategy: "random", "bayesian" or "hyperband".
        max_trials: the trial budget.
        epochs: the most epochs a trial trains (Hyperband's ``max_epochs``).
        seed: seeds the oracle's sampling.

    Raises:
        ValueError: for an unknown strategy.
    """
    common = dict(objective=OBJECTIVE, seed=seed + 1, max_consecutive_failed_trials=None)
    if strategy == "random":
        return RandomSearchOracle(max_trials=max_trials, **common)
    if strategy == "bayesian":
        return BayesianOptimizationOracle(max_trials=max_trials, num_initial_points=min(max_trials, 3), **common)
    if strategy == "hyperband":
        # Hyperband's own length depends on max_epochs; iterate until the budget is spent.
        return HyperbandOracle(
            max_trials=max_trials, max_epochs=max(1, epochs), factor=3, hyperband_iterations=max_trials, **common
        )
    raise ValueError(f"unknown strategy {strategy!r} for a joint search; choose random, bayesian or hyperband")
