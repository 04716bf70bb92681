"""The tuning search space, greedy plan, oracle resume logic and option checks (no training)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras
import keras_tuner
import pytest

from emnist_tf.cli import main
from emnist_tf.modeling import models, optimizers, schedules
from emnist_tf.tuning import distributed, greedy, space, sweep
from emnist_tf.tuning.oracles import CandidateOracle


def _space(kind):
    hp = keras_tuner.HyperParameters()
    space.make_hypermodel(kind).declare_hyperparameters(hp)
    return {item.name: item for item in hp.space}


def _options(hyperparameter):
    config = hyperparameter.get_config()
    if "values" in config:
        return list(config["values"])
    if isinstance(hyperparameter, keras_tuner.engine.hyperparameters.Boolean):
        return [False, True]
    if isinstance(hyperparameter, keras_tuner.engine.hyperparameters.Int):
        return list(range(config["min_value"], config["max_value"] + 1, config.get("step") or 1))
    return [config["min_value"], config["max_value"]]


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_every_technique_the_assignment_asks_for_is_in_the_space(kind):
    declared = _space(kind)
    options = {name: _options(item) for name, item in declared.items()}
    assert len(options["schedule"]) >= 2
    assert len(options["activation"]) >= 3
    assert len(options["optimizer"]) >= 3
    assert set(options["batch_norm"]) == {False, True}
    assert set(options["regularizer"]) == {"none", "l1", "l2"}
    assert 0.0 in options["dropout_rate"] and max(options["dropout_rate"]) > 0
    assert len(options["batch_size"]) >= 2
    low, high = options["learning_rate"]
    assert low < high
    architecture = (
        ("hidden_layers", "units") if kind == "mlp" else ("conv_blocks", "convs_per_block", "filters", "dense_units")
    )
    for name in architecture:
        assert len(options[name]) >= 2, name


def test_every_option_is_accepted_by_the_model_and_training_code():
    assert set(space.SEARCHED_ACTIVATIONS) <= set(models.ACTIVATIONS)
    assert set(space.SEARCHED_OPTIMIZERS) <= set(optimizers.OPTIMIZERS)
    assert set(space.SCHEDULES) <= set(schedules.SCHEDULES)
    assert set(space.REGULARIZERS) <= set(models.REGULARIZERS)


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_the_greedy_stages_reach_every_option_of_every_technique(kind):
    declared = _space(kind)
    baseline = space.baseline_values(kind)
    stages = space.stages(kind)
    assert stages[0].name == "baseline"
    covered = {name for stage in stages for name in stage.keys}
    assert covered == set(declared), "every hyperparameter has a stage"
    for name in ("activation", "optimizer", "schedule", "batch_norm", "regularizer", "dropout_rate", "batch_size"):
        reachable = {candidate[name] for stage in stages for candidate in stage.candidates if name in candidate}
        reachable.add(baseline[name])
        assert reachable == set(_options(declared[name])), name


def test_hyperparameter_values_shape_the_built_model():
    hypermodel = space.make_hypermodel("mlp", num_classes=10)
    hp = keras_tuner.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    hp.values.update(hidden_layers=3, units=512, batch_norm=True, dropout_rate=0.5, regularizer="l1", activation="elu")
    model = hypermodel.build(hp)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [512, 256, 128, 10]
    assert sum(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers) == 3
    assert all(layer.rate == 0.5 for layer in model.layers if isinstance(layer, keras.layers.Dropout))
    assert isinstance(dense[0].kernel_regularizer, keras.regularizers.L1)
    cnn = space.make_hypermodel("cnn", num_classes=10)
    hp = keras_tuner.HyperParameters()
    cnn.declare_hyperparameters(hp)
    hp.values.update(conv_blocks=3, filters=16, dense_units=64)
    conv = [layer.filters for layer in cnn.build(hp).layers if isinstance(layer, keras.layers.Conv2D)]
    assert conv == [16, 32, 64]


def test_a_stage_skips_the_current_configuration_and_the_plan_counts_every_trial():
    stage = next(stage for stage in space.stages("mlp") if stage.name == "activation")
    current = dict(space.baseline_values("mlp"), activation="elu")
    options = greedy.stage_candidates(stage, current, None)
    assert {"activation": "elu"} not in options
    assert len(options) == len(space.SEARCHED_ACTIVATIONS) - 1
    assert greedy.stage_candidates(stage, current, 2) == options[:2]
    full = greedy.planned_trials("mlp", None)
    assert greedy.planned_trials("mlp", 2) < full
    assert full == sum(len(greedy.stage_candidates(s, space.baseline_values("mlp"), None)) for s in space.stages("mlp"))


def _oracle(tmp_path):
    oracle = CandidateOracle({"x": 0}, [{"x": 1}, {"x": 2}, {"x": 3}], seed=0)
    oracle._set_project_dir(str(tmp_path), "project")
    oracle.hyperparameters.Int("x", 0, 3)
    return oracle


def _reloaded(tmp_path):
    oracle = _oracle(tmp_path)
    oracle.reload()
    return oracle


def test_a_kill_between_trial_file_and_oracle_file_neither_loses_nor_repeats_a_trial(tmp_path):
    oracle = _oracle(tmp_path)
    oracle_file = os.path.join(str(tmp_path), "project", "oracle.json")
    first = oracle.create_trial("tuner0")
    oracle.update_trial(first.trial_id, {"val_accuracy": 0.5})
    before_end = Path(oracle_file).read_text()
    first.status = "COMPLETED"
    oracle.end_trial(first)
    # Killed after trial_0/trial.json said COMPLETED but before oracle.json was saved.
    Path(oracle_file).write_text(before_end)
    assert json.loads(before_end)["ongoing_trials"] == {"tuner0": first.trial_id}
    resumed = _reloaded(tmp_path)
    second = resumed.create_trial("tuner0")
    assert second.trial_id != first.trial_id and second.hyperparameters.values["x"] == 2
    before_create = Path(oracle_file).read_text()
    # Killed after trial_1/trial.json was written as RUNNING but before oracle.json.
    Path(oracle_file).write_text(
        json.dumps(dict(json.loads(before_create), ongoing_trials={}, start_order=[first.trial_id]))
    )
    again = _reloaded(tmp_path)
    rerun = again.create_trial("tuner0")
    assert rerun.trial_id == second.trial_id and rerun.hyperparameters.values["x"] == 2
    rerun.status = "COMPLETED"
    again.update_trial(rerun.trial_id, {"val_accuracy": 0.6})
    again.end_trial(rerun)
    third = again.create_trial("tuner0")
    assert third.hyperparameters.values["x"] == 3
    assert sorted(again.trials) == [first.trial_id, second.trial_id, third.trial_id]


def test_options_are_checked_and_every_size_resolved_once_in_fast_mode(capsys):
    settings = sweep.make_settings(model="cnn", strategy="bayesian", folds=5, epochs=30, max_trials=50)
    assert (settings.folds, settings.epochs, settings.max_trials, settings.fast) == (2, 1, 2, True)
    assert settings.final_epochs == 1 and settings.run_eagerly is True  # best.json's epochs; eager in fast mode
    notices = capsys.readouterr().err.strip().splitlines()
    assert len(notices) == 3 and all(line.startswith("fast mode: ") for line in notices)  # folds, epochs, trials
    assert sweep.make_settings(final_epochs=30).final_epochs == 1
    assert "final epochs capped at 1 (asked for 30)" in capsys.readouterr().err
    with pytest.raises(ValueError, match="strategy"):
        sweep.make_settings(strategy="grid")
    with pytest.raises(ValueError, match="folds"):
        sweep.make_settings(folds=1)
    assert sweep.make_settings().confirmation_epochs is None  # fast mode does not turn it on
    assert sweep.make_settings(confirmation_epochs=8).confirmation_epochs == 1
    with pytest.raises(ValueError, match="confirmation stage needs a staged strategy such as greedy"):
        sweep.make_settings(strategy="random", confirmation_epochs=8)


def test_a_sweep_folder_refuses_other_settings(tmp_path):
    sweep.check_settings(tmp_path, sweep.make_settings(model="mlp"))
    sweep.check_settings(tmp_path, sweep.make_settings(model="mlp"))
    with pytest.raises(ValueError, match="model"):
        sweep.check_settings(tmp_path, sweep.make_settings(model="cnn"))


def test_distributed_roles_come_from_the_kerastuner_variables(monkeypatch):
    for name in (distributed.TUNER_ID_ENV, distributed.ORACLE_IP_ENV, distributed.ORACLE_PORT_ENV):
        monkeypatch.delenv(name, raising=False)
    assert distributed.role() == "single"
    for name, value in distributed.environment("worker3", 8123).items():
        monkeypatch.setenv(name, value)
    assert distributed.role() == "worker"
    monkeypatch.setenv(distributed.TUNER_ID_ENV, "chief")
    assert distributed.role() == "chief"
    monkeypatch.delenv(distributed.ORACLE_PORT_ENV)
    with pytest.raises(ValueError, match="KERASTUNER_ORACLE_PORT"):
        distributed.role()


def test_cli_reports_bad_options_in_one_line(tmp_path, capsys):
    assert main(["tune", "--folds", "1", "--dir", str(tmp_path / "sweep")]) == 2
    assert "folds" in capsys.readouterr().err
    assert main(["tune-report", str(tmp_path / "nothing")]) == 2
    assert "not a sweep folder" in capsys.readouterr().err


def test_every_strategy_is_one_registered_object_and_a_new_staged_one_is_one_class():
    from emnist_tf.tuning import strategies

    assert list(strategies.STRATEGIES) == ["greedy", "random", "bayesian", "hyperband"]
    assert all(isinstance(value, strategies.Strategy) for value in strategies.STRATEGIES.values())

    class NoArchitecture(strategies.StagedStrategy):
        name = "no-architecture"

        def stages(self, kind, confirmation=False):
            return tuple(stage for stage in super().stages(kind, confirmation) if stage.name != "architecture")

    shorter = NoArchitecture().planned_trials("mlp", None)
    greedy_trials = strategies.STRATEGIES["greedy"].planned_trials("mlp", None)
    assert shorter == greedy_trials - len(space.stages("mlp")[1].candidates)
    assert NoArchitecture().stage_keys("mlp", "activation") == ("activation",)
    assert strategies.STRATEGIES["random"].stage_keys("mlp", "random") == ()
    with pytest.raises(ValueError, match="unknown strategy 'grid'; choose one of greedy, random"):
        strategies.get_strategy("grid")
    with pytest.raises(ValueError, match="not a joint search"):
        strategies.make_oracle("greedy", max_trials=2)


@pytest.mark.parametrize("strategy", ["random", "bayesian", "hyperband"])
def test_every_oracle_writes_each_trials_epochs_into_its_values(strategy, tmp_path):
    from emnist_tf.tuning.kt_adapter import EPOCHS_VALUE
    from emnist_tf.tuning.strategies import make_oracle

    oracle = make_oracle(strategy, max_trials=3, epochs=2, seed=0)
    oracle._set_project_dir(str(tmp_path), "project")
    oracle.hyperparameters.Int("x", 0, 3)
    epochs = oracle.create_trial("tuner0").hyperparameters.values[EPOCHS_VALUE]
    assert 1 <= epochs <= 2 and (strategy == "hyperband" or epochs == 2)
    candidate = CandidateOracle({"x": 0}, [{"x": 1}], epochs=7)
    candidate._set_project_dir(str(tmp_path), "candidates")
    candidate.hyperparameters.Int("x", 0, 3)
    values = candidate.create_trial("tuner0").hyperparameters.values
    assert values["x"] == 1 and values[EPOCHS_VALUE] == 7
