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

Every trial's values carry its epochs per fold (``tuner/epochs``, KerasTuner's own key, which
Hyperband sets itself): the strategy decides them when it makes the oracle, and a distributed
worker trains each trial as long as the chief's oracle says.

Example:
    >>> oracle = CandidateOracle(best_values, [{"activation": "elu"}, {"activation": "gelu"}], epochs=3)
"""

from __future__ import annotations

import os

import keras_tuner

from emnist_tf.files import atomic_write_json
from emnist_tf.tuning import kt_adapter

OBJECTIVE = keras_tuner.Objective("val_accuracy", direction="max")

_FINISHED = (kt_adapter.TrialStatus.COMPLETED, kt_adapter.TrialStatus.FAILED)


def common_options(seed: int) -> dict:
    """Keywords every sweep oracle takes: the objective, its seed, no stop after failed trials."""
    return dict(objective=OBJECTIVE, seed=seed + 1, max_consecutive_failed_trials=None)


class ResumableOracleMixin:
    """Atomic saves, a reload that re-runs exactly the unfinished trials, and each trial's epochs in its values.

    Args:
        epochs: epochs per fold written into every trial's values (None: the oracle sets them, as Hyperband does).
    """

    def __init__(self, *args, epochs: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.trial_epochs = epochs

    def populate_space(self, trial_id):
        proposal = super().populate_space(trial_id)
        if proposal.get("values") is not None and self.trial_epochs is not None:
            proposal["values"].setdefault(kt_adapter.EPOCHS_VALUE, self.trial_epochs)
        return proposal

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


class _CandidateList(keras_tuner.Oracle):
    """Proposes ``base_values`` updated by each of ``candidates``, rung by rung (:mod:`.halving`), then stops."""

    def populate_space(self, trial_id):
        from emnist_tf.tuning import halving

        decision = halving.next_trial(len(self.candidates), len(self.rungs), self.growth, self.trial_states())
        if decision[0] == "done":
            return {"status": kt_adapter.TrialStatus.STOPPED, "values": None}
        if decision[0] == "wait":  # a distributed worker asks while the rung it depends on still runs
            return {"status": kt_adapter.TrialStatus.IDLE, "values": None}
        _, rung, index = decision
        values = dict(self.base_values)
        values.update(self.candidates[index])
        values.update(
            {
                kt_adapter.EPOCHS_VALUE: self.rungs[rung].epochs,
                halving.IMAGES_SHARE_VALUE: self.rungs[rung].images_share,
                halving.RUNG_VALUE: rung,
                halving.RUNGS_VALUE: len(self.rungs),
                halving.CANDIDATE_VALUE: index,
            }
        )
        return {"status": kt_adapter.TrialStatus.RUNNING, "values": values}

    def trial_states(self) -> list:
        """Every trial of this stage as :class:`emnist_tf.tuning.halving.TrialState`."""
        from emnist_tf.tuning import halving

        states = []
        for position, (_, trial) in enumerate(sorted(self.trials.items())):
            values = trial.hyperparameters.values  # trials of sweeps older than the rungs: one rung, in order
            completed = trial.status == kt_adapter.TrialStatus.COMPLETED
            states.append(
                halving.TrialState(
                    rung=int(values.get(halving.RUNG_VALUE, 0)),
                    candidate=int(values.get(halving.CANDIDATE_VALUE, position)),
                    score=trial.score if completed else None,
                    finished=trial.status in _FINISHED,
                )
            )
        return states

    def stage_finished(self) -> bool:
        """True when every trial the stage needs has ended."""
        from emnist_tf.tuning import halving

        states = self.trial_states()
        done = halving.next_trial(len(self.candidates), len(self.rungs), self.growth, states) == ("done",)
        return done and all(state.finished for state in states)


class CandidateOracle(ResumableOracleMixin, _CandidateList):
    """Proposes a fixed list of configurations (one stage of a staged strategy), by successive halving.

    Args:
        base_values: every hyperparameter's value (the best configuration so far).
        candidates: dicts of overrides; candidate ``i`` runs ``base_values | candidates[i]``.
        epochs: epochs per fold of a one-rung stage.
        seed: kept for KerasTuner; the order is fixed.
        rungs: the trial lengths (:func:`emnist_tf.tuning.halving.ladder`; default one rung of
            ``epochs`` epochs on every image).
        growth: a rung promotes a ``1/growth`` share of its candidates (at least two).
    """

    def __init__(
        self, base_values: dict, candidates: list[dict], *, epochs: int = 1, seed: int = 0, rungs=None, growth: int = 3
    ):
        from emnist_tf.tuning import halving

        self.rungs = list(rungs or [halving.Rung(epochs, 1.0)])
        self.growth = growth
        planned = halving.planned_trials(len(candidates), len(self.rungs), growth)
        super().__init__(epochs=None, max_trials=max(1, planned), **common_options(seed))
        self.base_values = dict(base_values)
        self.candidates = [dict(candidate) for candidate in candidates]


class RandomSearchOracle(ResumableOracleMixin, keras_tuner.oracles.RandomSearchOracle):
    """KerasTuner's random search, resumable."""


class BayesianOptimizationOracle(ResumableOracleMixin, keras_tuner.oracles.BayesianOptimizationOracle):
    """KerasTuner's Bayesian optimisation (Gaussian process), resumable."""


class HyperbandOracle(ResumableOracleMixin, keras_tuner.oracles.HyperbandOracle):
    """KerasTuner's Hyperband, resumable and stopped after ``max_trials`` trials."""

    def __init__(self, max_trials: int, **kwargs):
        super().__init__(**kwargs)
        self.max_trials = max_trials
