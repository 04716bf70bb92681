"""The assignment's rules on the search space, and the run-configuration format (no training, no data)."""

from __future__ import annotations

import dataclasses
import json

import keras
import keras_tuner
import pytest

from emnist_tf.cli import main
from emnist_tf.tuning import configs, greedy, space
from emnist_tf.tuning.strategies import make_oracle


def _counts(model) -> tuple[int, int]:
    """(hidden dense layers, convolution layers) of a built model."""
    dense = sum(isinstance(layer, keras.layers.Dense) for layer in model.layers) - 1  # the output layer
    convs = sum(isinstance(layer, keras.layers.Conv2D) for layer in model.layers)
    return dense, convs


def _assert_within_the_rules(kind, model, values):
    dense, convs = _counts(model)
    if kind == "mlp":
        assert dense >= 3, f"an MLP with {dense} hidden layers from {values}"
    else:
        assert convs >= 2, f"a CNN with {convs} convolutions from {values}"


def _build(kind, values):
    hypermodel = space.make_hypermodel(kind, num_classes=47)
    hp = keras_tuner.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    hp.values.update(values)
    return hypermodel.build(hp)


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_every_greedy_candidate_keeps_the_rules(kind):
    """Every stage's options on top of the baseline and of every architecture the sweep can carry on."""
    baseline = space.baseline_values(kind)
    architectures = next(stage for stage in space.stages(kind) if stage.name == "architecture").candidates
    starts = [baseline] + [dict(baseline, **shape) for shape in architectures]
    seen = set()
    for start in starts:
        for stage in space.stages(kind):
            for candidate in greedy.stage_candidates(stage, start, None):
                values = dict(start, **candidate)
                key = json.dumps(values, sort_keys=True)
                if key in seen or stage.name not in ("baseline", "architecture", "batch_norm", "dropout"):
                    continue  # the other stages do not change the layers
                seen.add(key)
                _assert_within_the_rules(kind, _build(kind, values), values)
    assert len(seen) > len(architectures)


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
@pytest.mark.parametrize("strategy", ["random", "bayesian", "hyperband"])
def test_joint_strategies_only_sample_models_within_the_rules(kind, strategy, tmp_path):
    hp = keras_tuner.HyperParameters()
    space.make_hypermodel(kind).declare_hyperparameters(hp)
    oracle = make_oracle(strategy, max_trials=30, epochs=2, seed=3)
    oracle._set_project_dir(str(tmp_path), "project")
    oracle.update_space(hp)
    sampled = set()
    for index in range(12):
        proposal = oracle.populate_space(f"{index:02d}")
        values = proposal["values"]
        if values is None:
            break
        architecture = {
            name: values[name]
            for name in values
            if name in {"hidden_layers", "units", "conv_blocks", "convs_per_block", "filters"}
        }
        sampled.add(json.dumps(architecture, sort_keys=True))
        _assert_within_the_rules(kind, _build(kind, values), values)
    assert len(sampled) >= 2  # the oracle did explore the architecture


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_widths_and_depths_reach_beyond_the_default_recipe(kind):
    hp = keras_tuner.HyperParameters()
    space.make_hypermodel(kind).declare_hyperparameters(hp)
    declared = {item.name: item.get_config() for item in hp.space}
    if kind == "mlp":
        assert max(declared["units"]["values"]) == 1024 and declared["hidden_layers"]["max_value"] >= 4
    else:
        assert declared["conv_blocks"]["max_value"] == 3 and declared["convs_per_block"]["max_value"] == 2


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_configurations_of_the_space_pass_the_check_and_build_the_same_model(kind):
    values = dict(space.baseline_values(kind), batch_norm=True, dropout_rate=0.2, regularizer="l2")
    config = space.config_from_values(kind, values, epochs=3).to_dict()
    assert configs.check_config(config) == config
    assert set(config) <= set(configs.TOP_KEYS) and config["model"] == kind
    from emnist_tf.modeling.models import build_model

    built = build_model(kind, num_classes=47, seed=0, **config["architecture"])
    expected = _build(kind, values)
    assert [layer.name for layer in built.layers] == [layer.name for layer in expected.layers]
    assert built.count_params() == expected.count_params()


def _mlp_config(**changes):
    config = space.config_from_values("mlp", space.baseline_values("mlp"), epochs=3).to_dict()
    for key, value in changes.items():
        if key.startswith("architecture."):
            config["architecture"][key.split(".", 1)[1]] = value
        else:
            config[key] = value
    return config


@pytest.mark.parametrize(
    ("changes", "key", "allowed"),
    [
        ({"momentum": 0.9}, "'momentum' is unknown", "allowed keys: model, architecture, optimizer"),
        ({"architecture.hidden_units": [256, 128]}, "'architecture.hidden_units': 2 hidden layers", "3 to 5"),
        ({"architecture.hidden_units": [4096, 128, 64]}, "'architecture.hidden_units'", "each from 16 to 1024"),
        ({"architecture.activation": "tanh"}, "'architecture.activation'", "relu, elu, selu"),
        ({"architecture.kernel_size": 3}, "'architecture.kernel_size' is unknown", "hidden_units, activation"),
        ({"optimizer": "lbfgs"}, "'optimizer'", "adam, sgd, rmsprop"),
        ({"learning_rate": 5.0}, "'learning_rate'", "a number from 1e-05 to 1"),
        ({"batch_size": 12.5}, "'batch_size'", "an integer from 8 to 2048"),
        ({"model": "rnn"}, "'model'", "mlp, cnn"),
        ({"augmentation": {"rotate": 5}}, "'augmentation.rotate' is unknown", "rotation_degrees"),
    ],
)
def test_bad_configurations_stop_with_one_line_naming_the_key_and_the_allowed_values(changes, key, allowed):
    with pytest.raises(configs.ConfigError) as caught:
        configs.check_config(_mlp_config(**changes))
    message = str(caught.value)
    assert key in message and allowed in message and "\n" not in message
    assert isinstance(caught.value, ValueError)


def test_a_cnn_needs_two_convolutions_and_the_cli_says_so_in_one_line(tmp_path, capsys):
    config = space.config_from_values("cnn", space.baseline_values("cnn"), epochs=1).to_dict()
    config["architecture"]["filters"] = [32]
    path = tmp_path / "one-conv.json"
    path.write_text(json.dumps(config))
    assert main(["train", "--config", str(path), "--out", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "'architecture.filters'" in error and "2 to 3" in error
    path.write_text("{not json")
    assert main(["train", "--config", str(path)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_saved_configurations_round_trip_exactly(tmp_path):
    values = dict(space.baseline_values("cnn"), conv_blocks=3, convs_per_block=2)
    config = space.config_from_values("cnn", values, epochs=4, seed=7)
    path = config.save(tmp_path / "best.json")
    assert configs.TrainingConfig.load(path) == config
    assert configs.load_config(path) == config.to_dict() and config.to_dict()["seed"] == 7
    assert config.architecture["filters"] == [32, 64, 128] and config.architecture["convs_per_block"] == 2


def test_budgets_are_checked_and_weigh_every_stage():
    from emnist_tf.assignment import budgets

    with pytest.raises(ValueError, match="unknown budget 'weekend'; choose one of fast, evening, overnight"):
        budgets.get_budget("weekend")
    with pytest.raises(ValueError, match="at least 2 folds"):
        budgets.get_budget("fast", folds=1)
    assert budgets.get_budget("evening", folds=5).folds == 5
    evening = budgets.get_budget("evening")
    trials = {kind: greedy.planned_rungs(kind, None, True, rungs=evening.rungs) for kind in ("mlp", "cnn")}
    work = budgets.estimated_work(evening, trials)
    assert list(work) == [
        "sweep mlp",
        "sweep cnn",
        "train mlp-baseline",
        "train mlp-best",
        "train cnn-baseline",
        "train cnn-best",
        "report",
    ]
    assert work["sweep cnn"] > work["sweep mlp"] > 0 and work["train cnn-best"] > work["train mlp-best"] > 0
    # a promoted trial trains growth x the epochs on growth x the images of a first-rung trial
    overhead = evening.folds * budgets.FOLD_OVERHEAD
    short, long = (budgets.sweep_work(evening, "mlp", counts) - overhead for counts in ([1, 0], [0, 1]))
    assert long == pytest.approx(evening.growth**2 * short)
    # one rung: the confirmation stage's two trials train their own, longer epochs
    one_rung = dataclasses.replace(evening, rungs=1, sweep_images=12_000, sweep_epochs=3, confirmation_epochs=8)
    unconfirmed = dataclasses.replace(one_rung, confirmation_epochs=None)
    confirmations = len(space.confirmation_stage("mlp").candidates)
    assert confirmations == 2  # the winner, and the winner with the default recipe's techniques
    longer = confirmations * 3 * (8 - 3) * 8_000 / budgets.BALANCED_TRAIN_IMAGES  # in MLP epochs
    plain = budgets.sweep_work(unconfirmed, "mlp", [30])
    assert budgets.sweep_work(one_rung, "mlp", [30]) == pytest.approx(plain + longer)
    fast = budgets.estimated_work(budgets.get_budget("fast"), {"mlp": [5, 5], "cnn": [5, 5]})
    assert fast["sweep cnn"] < 3 * fast["sweep mlp"]  # tiny folds: their fixed cost dominates


def test_final_runs_are_predicted_from_their_sweep_trials():
    from types import SimpleNamespace

    from emnist_tf.assignment import budgets

    budget = budgets.Budget("test", 30_000, 3, 3, None, {"cnn": 12}, None, None)

    def fold(seconds, last_epoch_seconds=None):
        return SimpleNamespace(seconds=seconds, epochs=3, last_epoch_seconds=last_epoch_seconds, images=None)

    # a fold trains 3 epochs on 2/3 of 30,000 = 20,000 images; a final run 12 epochs on 112,800 or 60,000
    whole = [fold(36.0)] * 3
    assert budgets.final_seconds_from_trial(budget, whole, 12, None) == pytest.approx(12 * 12 * 112_800 / 20_000)
    assert budgets.final_seconds_from_trial(budget, whole, 12, 60_000) == pytest.approx(12 * 12 * 3)
    # 10 s a traced epoch: the 6 s the fold spent building and tracing are paid once, not scaled
    traced = [fold(36.0, 10.0), fold(36.0, 10.0), fold(36.0, 10.0)]
    assert budgets.final_seconds_from_trial(budget, traced, 12, 60_000) == pytest.approx(6 + 12 * 10 * 3)
    assert budgets.final_seconds_from_trial(budget, [], 12, 60_000) == 0.0


def test_the_time_left_adds_the_sweeps_estimate_and_the_predicted_runs(capsys):
    from emnist_tf.assignment.pipeline import Progress

    progress = Progress({"sweep cnn": 10.0, "train cnn-baseline": 2.0, "train cnn-best": 2.0, "report": 0.0})
    progress.predict("train cnn-best", 3600.0)
    progress.begin("sweep cnn")
    progress.current_eta = 600.0
    assert progress.time_left() == "estimating"  # nothing yet measures the baseline's run
    progress.predict("train cnn-baseline", 300.0)
    assert progress.time_left() == "1:15:00"  # 600 + 300 + 3600
    progress.finish()
    progress.begin("train cnn-baseline")
    assert "stage 2/4: train cnn-baseline | time left 1:05:00" in capsys.readouterr().out


def test_during_a_sweep_its_final_runs_are_predicted_from_the_best_trial_so_far(tmp_path, monkeypatch, capsys):
    """A sweep resumed mid-way says the time left from measured trials, not from the default-model cost."""
    from types import SimpleNamespace

    from emnist_tf.assignment import budgets, pipeline
    from emnist_tf.tuning import sweep

    monkeypatch.delenv("EMNIST_TF_FAST", raising=False)

    def trial(fold_seconds):
        fold = SimpleNamespace(seconds=fold_seconds, epochs=3, last_epoch_seconds=None, images=None)
        return SimpleNamespace(winner=SimpleNamespace(folds=[fold] * 3))

    stages = [trial(40.0)]  # the baseline stage, then the architecture stage half done

    def fake_sweep(folder, listeners, **options):
        stages.append(trial(100.0))
        for listener in listeners:  # one trial ran before this process, one in it
            listener(SimpleNamespace(total=4, finished=2, session_finished=1, eta=lambda: 600.0))
        return SimpleNamespace(best_values={})

    monkeypatch.setattr(greedy, "replay", lambda directory, kind: list(stages))
    monkeypatch.setattr(sweep, "run_sweep", fake_sweep)
    budget = budgets.Budget("test", 20_000, 3, 3, None, {"mlp": 20, "cnn": 12}, None, None)
    work = {"sweep cnn": 10.0, "train cnn-baseline": 2.0, "train cnn-best": 2.0, "report": 0.0}
    progress = pipeline.Progress(work)
    pipeline._sweep(tmp_path, "cnn", budget, {"seed": 0, "split": "balanced"}, progress, None, None, 60_000)
    trial_line = [line for line in capsys.readouterr().out.splitlines() if "trial 2/4" in line]
    # a trial trains 120,000 images; a final run 12 epochs x 60,000: 6x the trial's 120 s and 300 s
    assert trial_line and trial_line[0].endswith("time left 0:52:00")  # 600 + 720 + 1800
    assert progress.predicted == {"train cnn-baseline": 720.0, "train cnn-best": 1800.0}


def test_fast_mode_and_the_fast_budget_are_one_switch(capsys, monkeypatch):
    from emnist_tf import config
    from emnist_tf.assignment import budgets

    assert budgets.resolve_budget("evening") == budgets.BUDGETS["fast"]  # the session runs in fast mode
    assert capsys.readouterr().err == "fast mode: the fast budget instead of evening\n"
    monkeypatch.delenv(config.FAST_ENV)
    assert budgets.resolve_budget("evening", folds=4) == budgets.BUDGETS["evening"].with_folds(4)
    assert not config.fast_mode()
    assert budgets.resolve_budget("fast") == budgets.BUDGETS["fast"] and config.fast_mode()
    with pytest.raises(ValueError, match="unknown budget 'weekend'"):
        budgets.resolve_budget("weekend")


def test_a_folder_of_other_settings_or_a_damaged_settings_file_stops_in_one_line_naming_the_file(tmp_path):
    from emnist_tf.assignment import budgets
    from emnist_tf.tuning.settings import check_settings

    evening = {"budget": dataclasses.asdict(budgets.get_budget("evening")), "seed": 0}
    check_settings(tmp_path, evening, file="assignment.json", what="an assignment")
    check_settings(tmp_path, evening, file="assignment.json", what="an assignment")  # the same: resumes
    overnight = {"budget": dataclasses.asdict(budgets.get_budget("overnight")), "seed": 0}
    with pytest.raises(ValueError) as refused:
        check_settings(tmp_path, overnight, file="assignment.json", what="an assignment")
    message = str(refused.value)
    assert str(tmp_path / "assignment.json") in message and "other settings" in message and "\n" not in message
    (tmp_path / "assignment.json").write_text('{"budget": {"name": "ev')  # killed mid-write by another tool
    with pytest.raises(ValueError) as damaged:
        check_settings(tmp_path, evening, file="assignment.json", what="an assignment")
    message = str(damaged.value)
    assert str(tmp_path / "assignment.json") in message and "damaged" in message and "\n" not in message


def test_a_sweep_folder_from_before_the_rungs_resumes_and_one_from_other_rungs_is_refused(tmp_path):
    import json

    from emnist_tf.tuning import sweep

    settings = sweep.make_settings(epochs=1)
    stored = dataclasses.asdict(settings)
    for name in ("rungs", "growth", "longest_epochs"):  # a sweep.json written before these settings existed
        del stored[name]
    (tmp_path / sweep.SETTINGS_FILE).write_text(json.dumps(stored))
    sweep.check_settings(tmp_path, settings)
    with pytest.raises(ValueError, match=f"{tmp_path / sweep.SETTINGS_FILE} holds a sweep with other settings"):
        sweep.check_settings(tmp_path, sweep.make_settings(epochs=1, rungs=2))


def test_a_damaged_best_json_stops_the_final_run_in_one_line_naming_it(tmp_path):
    from emnist_tf.assignment import budgets, pipeline
    from emnist_tf.errors import EmnistTfError

    folder = pipeline.sweep_dir(tmp_path, "mlp")
    folder.mkdir(parents=True)
    (folder / "best.json").write_text('{"model": "mlp", "archi')
    progress = pipeline.Progress({"train mlp-best": 1.0})
    with pytest.raises(EmnistTfError) as damaged:
        pipeline._train_and_test(tmp_path, "mlp", "best", budgets.get_budget("fast"), {}, progress, None)
    message = str(damaged.value)
    assert str(folder / "best.json") in message and "not valid JSON" in message and "\n" not in message


def test_multi_rung_settings_are_resolved_once_and_checked():
    from emnist_tf.tuning import sweep

    settings = sweep.make_settings(epochs=2, rungs=2, confirmation_epochs=6)
    assert settings.longest_epochs == 1 and settings.confirmation_epochs == 1  # fast mode: every length tiny
    assert [rung.images_share for rung in settings.ladder()] == pytest.approx([1 / 3, 1.0])
    assert settings.trial_budget() == greedy.planned_trials("mlp", 2, True, rungs=2)
    with pytest.raises(ValueError, match="rungs within stages need a staged strategy"):
        sweep.make_settings(strategy="hyperband", rungs=2)
    with pytest.raises(ValueError, match="growth of at least 2"):
        sweep.make_settings(rungs=2, growth=1)
