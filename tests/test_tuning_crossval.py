"""Cross-validation inside a trial: the folds, and failing trials that do not stop the sweep."""

from __future__ import annotations

import csv
from pathlib import Path

import keras
import keras_tuner
import numpy as np
import pytest

from emnist_tf import data
from emnist_tf.tuning import results
from emnist_tf.tuning.crossval import CrossValidationTuner
from emnist_tf.tuning.oracles import CandidateOracle
from emnist_tf.tuning.progress import Progress


@pytest.fixture(scope="module")
def small_train():
    """376 synthetic images of 47 classes (8 each): the logic under test needs no real characters."""
    rng = np.random.default_rng(0)
    labels = np.arange(376) % 47
    images = rng.random((376, 28, 28, 1), dtype=np.float32) * 0.2 + labels[:, None, None, None] / 47
    return images.astype("float32"), labels


def test_folds_are_stratified_disjoint_and_cover_every_image(small_train):
    _, labels = small_train
    folds = data.stratified_folds(labels, folds=2, seed=0)
    assert len(folds) == 2
    validation = np.concatenate([validation for _, validation in folds])
    assert sorted(validation.tolist()) == list(range(len(labels)))
    for train, validation in folds:
        assert not set(train.tolist()) & set(validation.tolist())
        assert len(train) + len(validation) == len(labels)
        # Stratified: every class is in both halves, in about the same proportion.
        overall = np.bincount(labels, minlength=47) / len(labels)
        part = np.bincount(labels[validation], minlength=47) / len(validation)
        assert np.abs(part - overall).max() < 0.02


class _TroubleHyperModel(keras_tuner.HyperModel):
    """A tiny model whose trials succeed, raise, or go NaN, as ``mode`` says."""

    def build(self, hp):
        mode = hp.Choice("mode", ["ok", "raise", "nan"])
        if mode == "raise":
            raise RuntimeError("boom: this configuration cannot be built")
        scale = float("nan") if mode == "nan" else 1.0
        model = keras.Sequential(
            [
                keras.Input((28, 28, 1)),
                keras.layers.Rescaling(scale),
                keras.layers.Flatten(),
                keras.layers.Dense(47, activation="softmax"),
            ]
        )
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.jit_compile = False
        return model

    def fit(self, hp, model, x, y, validation_data=None, epochs=1, callbacks=None, **kwargs):
        return model.fit(
            x, y, validation_data=validation_data, epochs=epochs, batch_size=128, callbacks=callbacks, verbose=0
        )


def _search(tmp_path, oracle, hypermodel, train, *, stage):
    """Runs every trial the oracle proposes (for the epochs it says), with 2 folds, and returns the tuner."""
    tuner = CrossValidationTuner(
        oracle,
        hypermodel,
        folds=2,
        seed=0,
        progress=Progress(total=oracle.max_trials),
        stage=stage,
        directory=str(tmp_path / "projects"),
        project_name=f"00_{stage}",
    )
    tuner.search(*train)
    return tuner


def test_failing_trials_are_recorded_with_their_reason_and_the_sweep_goes_on(tmp_path, small_train, capsys):
    candidates = [{"mode": "raise"}, {"mode": "nan"}, {"mode": "raise"}, {"mode": "ok"}]
    oracle = CandidateOracle({"mode": "ok"}, candidates, epochs=1)
    tuner = _search(tmp_path, oracle, _TroubleHyperModel(), small_train, stage="trouble")
    records = results.load_project(tuner.project_dir)
    assert [record.status for record in records] == ["FAILED", "FAILED", "FAILED", "COMPLETED"]
    assert "boom" in records[0].reason and "RuntimeError" in records[0].reason
    assert "NaN" in records[1].reason
    assert records[3].mean == pytest.approx(np.mean([fold.score for fold in records[3].folds]))
    assert len(records[3].folds) == 2
    path = results.write_results_csv(records, tmp_path / "results.csv")
    rows = list(csv.DictReader(Path(path).read_text().splitlines()))
    assert [row["status"] for row in rows] == ["FAILED"] * 3 + ["COMPLETED"] * 2
    assert all(row["reason"] for row in rows[:3]) and all(row["mode"] for row in rows)
    output = capsys.readouterr().out
    assert "trial 4/4 done" in output and "FAILED" in output


def test_each_fold_records_the_seconds_of_its_last_epoch(tmp_path, small_train):
    """The final-run prediction needs a fold's pace once traced, apart from its building and tracing."""
    from emnist_tf.tuning import space

    hypermodel = space.make_hypermodel("mlp", num_classes=47)
    tuner = _search(tmp_path, CandidateOracle({}, [{}], epochs=2), hypermodel, small_train, stage="pace")
    (record,) = results.load_project(tuner.project_dir)
    assert record.completed and len(record.folds) == 2
    for fold in record.folds:
        assert fold.epochs == 2
        assert 0 < fold.last_epoch_seconds < fold.seconds


def _record(trial_id: str, mean: float | None, status: str = "COMPLETED") -> results.TrialRecord:
    return results.TrialRecord("stage", trial_id, status, {}, mean, 0.0, [])


def test_a_confirmation_stage_compares_only_its_own_trials():
    from emnist_tf.tuning import greedy, space

    confirmation, technique = space.confirmation_stage("cnn"), space.stages("cnn")[2]
    carried = _record("short", 0.99)  # a short trial's score: not comparable with longer trials
    longer = [_record("0", 0.80), _record("1", 0.85)]
    outcome = greedy.stage_outcome(11, confirmation, carried, longer)
    assert outcome.winner.trial_id == "1" and outcome.carried is None
    assert greedy.stage_outcome(2, technique, carried, longer).winner is carried
    failed = [_record("0", None, "FAILED"), _record("1", None, "FAILED")]
    assert greedy.stage_outcome(11, confirmation, carried, failed).winner is carried


def test_the_confirmation_stage_retrains_the_winner_and_its_regularised_variant_for_longer(
    tmp_path, small_train, monkeypatch
):
    from emnist_tf.tuning import greedy, space

    every_stage = space.stages

    def three_stages(kind, confirmation=False):  # the baseline, one technique, then the confirmation
        techniques = every_stage(kind)
        return techniques[:2] + every_stage(kind, confirmation)[len(techniques) :]

    monkeypatch.setattr(space, "stages", three_stages)
    hypermodel = space.make_hypermodel("mlp", num_classes=47, run_eagerly=True)
    outcome = greedy.run_greedy(
        tmp_path, hypermodel, *small_train, folds=2, epochs=1, trials_per_stage=1, confirmation_epochs=2
    )
    stages = greedy.replay(tmp_path, "mlp")
    assert [stage.name for stage in stages] == ["baseline", "architecture", "confirmation"]
    shorter, confirmation = stages[1], stages[2]
    assert all(fold.epochs == 1 for stage in stages[:2] for record in stage.records for fold in record.folds)
    assert len(confirmation.records) == 2
    assert all(fold.epochs == 2 for record in confirmation.records for fold in record.folds)
    assert confirmation.records[0].values == shorter.winner.values  # the winner so far, retrained
    techniques = space.default_recipe_techniques("mlp")
    variant = confirmation.records[1].values
    assert {name: variant[name] for name in techniques} == techniques
    assert variant["hidden_layers"] == shorter.winner.values["hidden_layers"]  # its architecture kept
    best = max(confirmation.records, key=lambda record: record.mean)
    assert confirmation.winner.trial_id == best.trial_id
    assert outcome.best_values == {**space.baseline_values("mlp"), **best.values}
