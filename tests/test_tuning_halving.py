"""Successive halving inside a greedy stage: who is promoted, at which length a stage is decided, resume."""

from __future__ import annotations

import math

import keras_tuner
import numpy as np
import pytest

from emnist_tf.tuning import greedy, halving, results, space
from emnist_tf.tuning.kt_adapter import EPOCHS_VALUE, TrialStatus
from emnist_tf.tuning.oracles import CandidateOracle


def _drive(count, rungs, growth, table):
    """Runs a stage's plan to the end with scores from ``table[(rung, candidate)]`` (None: the trial fails)."""
    trials = []
    while True:
        decision = halving.next_trial(count, rungs, growth, trials)
        assert decision != ("wait",), "a sequential stage never waits"
        if decision == ("done",):
            return trials
        _, rung, candidate = decision
        trials.append(halving.TrialState(rung, candidate, table[(rung, candidate)]))


def _ranked(scores: dict, count: int) -> set:
    return set(sorted(scores, key=lambda candidate: -scores[candidate])[:count])


@pytest.mark.parametrize("count,rungs,growth", [(7, 3, 3), (6, 2, 3), (9, 2, 2), (2, 3, 3), (1, 2, 3)])
def test_each_rung_promotes_its_best_share_and_at_least_two(count, rungs, growth):
    rng = np.random.default_rng(count * 10 + rungs)
    table = {(rung, candidate): float(rng.random()) for rung in range(rungs) for candidate in range(count)}
    trials = _drive(count, rungs, growth, table)
    by_rung = [{trial.candidate for trial in trials if trial.rung == rung} for rung in range(rungs)]
    assert len(trials) == halving.planned_trials(count, rungs, growth)
    assert [len(candidates) for candidates in by_rung] == halving.rung_sizes(count, rungs, growth)
    assert by_rung[-1], "the last rung always trains"
    alive = set(range(count))
    for rung in range(rungs - 1):
        if not by_rung[rung]:  # too few to halve: they go on untouched
            continue
        assert by_rung[rung] == alive
        keep = min(len(alive), max(2, math.ceil(len(alive) / growth)))
        alive = _ranked({candidate: table[(rung, candidate)] for candidate in alive}, keep)
    assert by_rung[-1] == alive


def test_a_failed_trial_is_never_promoted_and_ties_go_to_the_earlier_candidate():
    table = {(0, 0): 0.5, (0, 1): None, (0, 2): 0.9, (0, 3): 0.5, (0, 4): 0.1}
    table.update({(1, candidate): 0.5 for candidate in range(5)})
    trials = _drive(5, 2, 3, table)
    assert sorted(trial.candidate for trial in trials if trial.rung == 1) == [0, 2]


def test_a_stage_waits_for_its_rung_before_promoting():
    running = [halving.TrialState(0, index, 0.5) for index in range(5)] + [halving.TrialState(0, 5, None, False)]
    assert halving.next_trial(6, 2, 3, running) == ("wait",)
    assert halving.next_trial(6, 2, 3, running[:4]) == ("run", 0, 4)


def test_the_ladder_grows_epochs_and_images_by_the_factor_up_to_the_longest():
    ladder = halving.ladder(2, 3, 3, longest_epochs=10)
    assert [rung.epochs for rung in ladder] == [2, 6, 10]
    assert [rung.images_share for rung in ladder] == pytest.approx([1 / 9, 1 / 3, 1.0])


def _record(trial_id, mean, rung, rungs=2, status="COMPLETED", epochs=6, images=8000):
    fold = results.FoldRecord(score=mean or 0.0, epochs=epochs, seconds=1.0, images=images)
    folds = [fold] if status == "COMPLETED" else []
    return results.TrialRecord("dropout", trial_id, status, {"dropout_rate": mean}, mean, 0.01, folds, "", rung, rungs)


def test_a_stage_is_decided_among_its_longest_trials_and_the_table_says_at_which_length():
    from emnist_tf.tuning import report

    stage = space.stages("cnn")[-2]
    carried = _record("c", 0.80, 1)
    short = [_record("0", 0.95, 0, epochs=2, images=2667), _record("1", 0.70, 0, epochs=2, images=2667)]
    outcome = greedy.stage_outcome(9, stage, carried, [*short, _record("2", 0.83, 1)])
    assert outcome.winner.trial_id == "2", "a short trial's score never decides"
    assert greedy.stage_outcome(9, stage, carried, [*short, _record("2", 0.79, 1)]).winner is carried
    assert outcome.decided_at() == "6 epochs on 8,000 images"
    table = report.stage_table(outcome, stage.keys)
    assert "Decided at 6 epochs on 8,000 images per fold, among the options promoted from 2 shorter" in table
    assert "| 1/2 | 2 epochs on 2,667 images |" in table


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_the_default_models_value_of_every_technique_is_always_a_candidate(kind):
    defaults = space.default_recipe_values(kind)
    elsewhere = dict(space.baseline_values(kind))
    for stage in space.stages(kind)[1:]:
        assert any(all(defaults[name] == value for name, value in option.items()) for option in stage.candidates)
        # whatever the best configuration so far, the default's option stays unless it is that configuration
        for option in stage.candidates:
            current = {**elsewhere, **option}
            kept = greedy.stage_candidates(stage, current, None, rungs=2)
            default_option = next(o for o in stage.candidates if all(defaults[n] == v for n, v in o.items()))
            assert default_option in kept or all(current[n] == v for n, v in default_option.items())


def _finish(oracle, trial, score):
    oracle.update_trial(trial.trial_id, {"val_accuracy": score})
    trial.status = TrialStatus.COMPLETED
    oracle.end_trial(trial)


def _oracle(tmp_path, candidates):
    oracle = CandidateOracle({"x": 0}, candidates, seed=0, rungs=halving.ladder(1, 2, 3), growth=3)
    oracle._set_project_dir(str(tmp_path), "stage")
    oracle.hyperparameters.Int("x", 0, 9)
    return oracle


def test_a_stage_killed_mid_rung_resumes_without_repeating_a_finished_trial(tmp_path):
    """Promoted trials are trials of their own; a reloaded oracle re-runs only the trial that was running."""
    candidates = [{"x": value} for value in range(1, 7)]
    scores = {1: 0.2, 2: 0.9, 3: 0.4, 4: 0.8, 5: 0.1, 6: 0.3}
    oracle = _oracle(tmp_path, candidates)
    for _ in range(6):  # rung 0, every candidate
        trial = oracle.create_trial("tuner0")
        _finish(oracle, trial, scores[trial.hyperparameters.values["x"]])
    promoted = oracle.create_trial("tuner0")  # rung 1 starts; the process is killed here
    assert promoted.hyperparameters.values[halving.RUNG_VALUE] == 1
    before = set(oracle.trials)

    resumed = _oracle(tmp_path, candidates)
    resumed.reload()
    again = resumed.create_trial("tuner0")
    assert again.trial_id == promoted.trial_id, "the running trial runs again, under its own id"
    _finish(resumed, again, 0.7)
    last = resumed.create_trial("tuner0")
    assert last.trial_id not in before
    _finish(resumed, last, 0.75)
    assert resumed.create_trial("tuner0").status == TrialStatus.STOPPED
    longest = [trial for trial in resumed.trials.values() if trial.hyperparameters.values[halving.RUNG_VALUE] == 1]
    assert sorted(trial.hyperparameters.values["x"] for trial in longest) == [2, 4]  # the best third, at least two
    assert all(trial.hyperparameters.values[EPOCHS_VALUE] == 3 for trial in longest)
    assert len(resumed.trials) == halving.planned_trials(6, 2, 3) == 8
    assert resumed.stage_finished()


class _LateBloomer(keras_tuner.HyperModel):
    """A hypermodel that trains nothing: a fold's score comes from a table, by activation and epochs.

    GELU is second after one epoch and best after two: only a stage decided on its longest trials keeps it.
    """

    kind = "mlp"
    scores = {1: {"relu": 0.50, "elu": 0.70, "gelu": 0.60, "selu": 0.20, "swish": 0.30, "leaky_relu": 0.40}}
    scores[2] = {**scores[1], "elu": 0.72, "gelu": 0.90}

    def __init__(self):
        super().__init__(name="mlp")
        self.seen = []

    def build(self, hp):
        return object()

    def fit(self, hp, model, x, y, validation_data=None, epochs=1, callbacks=None):
        from types import SimpleNamespace

        self.seen.append((hp.values["activation"], epochs, len(y)))
        score = self.scores[epochs][hp.values["activation"]]
        return SimpleNamespace(history={"loss": [1.0] * epochs, "val_accuracy": [score] * epochs})


def test_a_greedy_stage_trains_short_trials_on_part_of_the_images_and_decides_on_the_longest(tmp_path, monkeypatch):
    """The whole path (greedy, oracle, cross-validation, records) with a hypermodel that trains nothing."""
    from emnist_tf.tuning import crossval

    monkeypatch.setattr(crossval, "_free_memory", lambda: None)  # nothing is trained: no memory to give back
    labels = np.arange(282) % 47
    images = np.zeros((282, 28, 28, 1), dtype="float32")
    every_stage = space.stages
    monkeypatch.setattr(space, "stages", lambda kind, confirmation=False: every_stage(kind)[:3:2])  # + activation
    hypermodel = _LateBloomer()
    ladder = [halving.Rung(1, 0.5), halving.Rung(2, 1.0)]
    outcome = greedy.run_greedy(tmp_path, hypermodel, images, labels, folds=2, epochs=1, rungs=ladder)
    baseline, activation = greedy.replay(tmp_path, "mlp")
    # one candidate: straight to the longest length
    assert [(record.longest, record.length()) for record in baseline.records] == [(True, "2 epochs on 141 images")]
    short = [record for record in activation.records if not record.longest]
    long = [record for record in activation.records if record.longest]
    assert len(short) == 5 and len(long) == 2  # every activation but the carried ReLU; the best third, at least two
    assert {fold.images for record in short for fold in record.folds} <= {70, 71}  # half the images, half per fold
    assert {(fold.epochs, fold.images) for record in long for fold in record.folds} == {(2, 141)}
    assert sorted(record.values["activation"] for record in long) == ["elu", "gelu"]
    assert activation.winner.values["activation"] == "gelu" and outcome.best_values["activation"] == "gelu"
    assert activation.decided_at() == "2 epochs on 141 images"
    assert len(hypermodel.seen) == 2 * (1 + 5 + 2)  # every trial once, two folds each
