"""``emnist-tf train`` end to end in fast mode on real data, and its user errors."""

from __future__ import annotations

import json

import pytest

from emnist_tf.cli import main
from emnist_tf.modeling.training import DEFAULT_TRAINING

RUN_FILES = ("model.keras", "history.csv", "run.json", "metrics.json", "curves.png", "confusion.png", "predictions.png")


def test_train_cnn_fast_writes_a_complete_run(emnist_dir, tmp_path, capsys):
    pytest.importorskip("emnist_tf.evaluation")
    out = tmp_path / "cnn"
    status = main(["train", "--model", "cnn", "--fast", "--out", str(out), "--data-dir", str(emnist_dir)])
    printed = capsys.readouterr().out
    assert status == 0
    assert [name for name in RUN_FILES if not (out / name).is_file()] == []
    run = json.loads((out / "run.json").read_text())
    assert run["model"] == "cnn" and run["split"] == "balanced" and run["epochs_run"] == 1
    assert run["data_dir"] == str(emnist_dir) and run["fast_mode"] is True
    assert run["class_weight"] == DEFAULT_TRAINING["cnn"].get("class_weight")
    assert run["label_smoothing"] == DEFAULT_TRAINING["cnn"].get("label_smoothing", 0.0)
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 <= metrics["accuracy"] <= 1 and metrics["device"] == run["device"]
    assert "val_accuracy" in printed  # Keras' progress line
    assert f"Test accuracy {metrics['accuracy']:.4f}" in printed
    assert all((out / name).stat().st_size > 1000 for name in ("curves.png", "confusion.png", "predictions.png"))


def test_class_weight_and_label_smoothing_options_override_the_recipe(emnist_dir, tmp_path, capsys):
    runs = {}
    for choice in ("none", "balanced"):
        out = tmp_path / choice
        status = main(
            [
                "train",
                "--model",
                "mlp",
                "--fast",
                "--class-weight",
                choice,
                "--out",
                str(out),
                "--label-smoothing",
                "0.05",
                "--data-dir",
                str(emnist_dir),
            ]
        )
        assert status == 0
        runs[choice] = (json.loads((out / "run.json").read_text()), (out / "history.csv").read_text())
    capsys.readouterr()
    assert runs["none"][0]["class_weight"] is None
    assert runs["balanced"][0]["class_weight"] == "balanced"
    assert runs["none"][0]["label_smoothing"] == 0.05
    assert runs["none"][1] != runs["balanced"][1]  # same seed, so only the weights can change the losses


def test_unknown_split_is_a_one_line_error(capsys):
    assert main(["train", "--model", "mlp", "--split", "nosuch", "--fast"]) == 2
    notice, error = capsys.readouterr().err.strip().splitlines()  # the fast-mode cap, then the error
    assert notice == f"fast mode: epochs capped at 1 (asked for {DEFAULT_TRAINING['mlp']['epochs']})"
    assert error.startswith("emnist-tf: error:") and "balanced" in error


def test_unknown_model_is_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["train", "--model", "rnn"])
    assert caught.value.code == 2
    assert "mlp" in capsys.readouterr().err


def test_the_train_command_resolves_its_configuration_once_and_names_no_flag_in_errors(tmp_path, capsys):
    from emnist_tf.tuning.final import resolve_config

    config = resolve_config("cnn", epochs=5, class_weight=None, seed=3)
    assert (config.model, config.epochs, config.class_weight, config.seed) == ("cnn", 1, None, 3)  # fast mode: 1
    assert config.label_smoothing == DEFAULT_TRAINING["cnn"]["label_smoothing"]
    assert capsys.readouterr().err == "fast mode: epochs capped at 1 (asked for 5)\n"
    path = config.replace(architecture={"filters": [16, 32]}).save(tmp_path / "cnn.json")
    assert resolve_config(None, path, learning_rate=0.01).learning_rate == 0.01
    for kind, where in (("mlp", path), (None, None)):
        with pytest.raises(ValueError) as caught:
            resolve_config(kind, where)
        assert "--" not in str(caught.value) and "\n" not in str(caught.value)
