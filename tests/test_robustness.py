"""Noise corruptions, accuracy-versus-level curves, psychometric fits, confusions, and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emnist_tf.robustness import corruptions

SEED = 0


# ---------------------------------------------------------------- small unit tests (synthetic)


@pytest.fixture(scope="module")
def random_images():
    return np.random.default_rng(1).random((16, 28, 28, 1)).astype(np.float32)


@pytest.mark.parametrize("corruption", corruptions.CORRUPTIONS)
def test_corruption_keeps_range_shape_and_is_seeded(random_images, corruption):
    level = corruptions.DEFAULT_LEVELS[corruption][4]
    first = corruptions.corrupt(random_images, corruption, level, seed=3)
    again = corruptions.corrupt(random_images, corruption, level, seed=3)
    assert first.shape == random_images.shape and first.dtype == np.float32
    assert first.min() >= 0.0 and first.max() <= 1.0
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, random_images)
    np.testing.assert_array_equal(corruptions.corrupt(random_images, corruption, 0.0, seed=3), random_images)


def test_gaussian_and_salt_and_pepper_depend_on_seed(random_images):
    for corruption in ("gaussian", "salt_and_pepper", "occlusion"):
        assert not np.array_equal(
            corruptions.corrupt(random_images, corruption, 0.3, seed=1),
            corruptions.corrupt(random_images, corruption, 0.3, seed=2),
        )


def test_occlusion_covers_the_requested_area():
    ones = np.ones((5, 28, 28, 1), dtype=np.float32)
    occluded = corruptions.corrupt(ones, "occlusion", 0.25, seed=0)
    assert np.all((occluded == 0).sum(axis=(1, 2, 3)) == 14 * 14)


def test_salt_and_pepper_changes_about_the_requested_fraction():
    grey = np.full((20, 28, 28, 1), 0.5, dtype=np.float32)
    noisy = corruptions.corrupt(grey, "salt_and_pepper", 0.3, seed=0)
    assert abs(np.mean(noisy != 0.5) - 0.3) < 0.02
    assert set(np.unique(noisy)) == {0.0, 0.5, 1.0}


def test_corrupt_rejects_bad_arguments(random_images):
    with pytest.raises(ValueError, match="unknown corruption"):
        corruptions.corrupt(random_images, "fog", 0.1)
    with pytest.raises(ValueError, match=">= 0"):
        corruptions.corrupt(random_images, "blur", -1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        corruptions.corrupt(random_images, "occlusion", 1.5)


def test_psychometric_is_halfway_at_threshold_and_fit_recovers_it():
    assert corruptions.psychometric(0.4, 0.4, 10.0, 0.1, 0.9) == pytest.approx(0.5)
    levels = np.linspace(0, 1, 11)
    truth = corruptions.psychometric(levels, 0.37, 12.0, 1 / 47, 0.85)
    noisy = truth + np.random.default_rng(0).normal(0, 0.01, size=levels.shape)
    fit = corruptions.fit_psychometric(levels, noisy, chance=1 / 47, clean_accuracy=0.85)
    assert fit.threshold == pytest.approx(0.37, abs=0.03)
    assert fit.predict(fit.threshold) == pytest.approx((0.85 + 1 / 47) / 2)
    with pytest.raises(ValueError, match="two distinct levels"):
        corruptions.fit_psychometric([0.1, 0.1], [0.5, 0.4], chance=0.1)


# ---------------------------------------------------------------- real data, small trained models


@pytest.fixture(scope="module")
def trained(emnist_dir):
    """An MLP and a CNN trained briefly on 3000 real balanced images, and 400 test images."""
    import keras

    from emnist_tf.data import load_arrays
    from emnist_tf.modeling.models import build_cnn, build_mlp
    from emnist_tf.modeling.training import compile_model

    images, labels = load_arrays("balanced", "train", data_dir=emnist_dir, limit=3000, seed=SEED)
    test_images, test_labels = load_arrays("balanced", "test", data_dir=emnist_dir, limit=400, seed=SEED)
    keras.utils.set_random_seed(SEED)
    models = {
        "MLP": build_mlp(hidden_units=(128,), batch_norm=False, dropout_rate=0.0, seed=SEED),
        "CNN": build_cnn(
            filters=(16, 32), convs_per_block=1, dense_units=64, batch_norm=False, dropout_rate=0.0, seed=SEED
        ),
    }
    for model in models.values():
        compile_model(model, learning_rate=2e-3)
        model.fit(images, labels, epochs=2, batch_size=32, verbose=0)
    return models, test_images, test_labels


@pytest.fixture(scope="module")
def curves(trained):
    models, images, labels = trained
    return {name: corruptions.noise_curves(model, images, labels, seed=SEED) for name, model in models.items()}


def test_accuracy_at_zero_noise_equals_clean_accuracy(trained, curves):
    models, images, labels = trained
    for name, model in models.items():
        clean = float(np.mean(np.argmax(model.predict(images, verbose=0), axis=1) == labels))
        assert clean > 3 / 47, f"{name} did not learn anything; the test would be meaningless"
        for curve in curves[name].values():
            assert curve.levels[0] == 0
            assert curve.accuracies[0] == pytest.approx(clean)


def test_curves_do_not_rise_with_noise_on_average(curves):
    for name, by_corruption in curves.items():
        for corruption, curve in by_corruption.items():
            assert np.mean(np.diff(curve.accuracies)) < 0, (name, corruption)
            assert curve.accuracies[-1] < curve.accuracies[0] - 0.1, (name, corruption)


def test_fitted_threshold_lies_inside_the_tested_range(curves):
    for name, by_corruption in curves.items():
        for corruption, curve in by_corruption.items():
            fit = corruptions.fit_curve(curve)
            assert curve.levels[0] < fit.threshold < curve.levels[-1], (name, corruption, fit)
            assert fit.chance == pytest.approx(1 / 47)
            # the measured accuracies straddle the halfway point around the threshold
            halfway = (fit.clean_accuracy + fit.chance) / 2
            assert curve.accuracies[curve.levels <= fit.threshold].max() >= halfway - 0.05
            assert curve.accuracies[curve.levels >= fit.threshold].min() <= halfway + 0.05


def test_plot_overlays_models_in_one_figure(curves):
    figure = corruptions.plot_noise_curves(curves)
    axes = figure.get_axes()
    assert len(axes) == len(corruptions.CORRUPTIONS)
    labels = [line.get_label() for line in axes[0].get_lines()]
    assert "MLP" in labels and "CNN" in labels
    assert sum(label.startswith("CNN fit") for label in labels) == 1


def test_confusion_at_levels_matches_accuracy(trained, curves):
    models, images, labels = trained
    matrices = corruptions.confusion_at_levels(models["CNN"], images, labels, "gaussian", [0.0, 0.6], seed=SEED)
    assert set(matrices) == {0.0, 0.6}
    for level, matrix in matrices.items():
        assert matrix.shape == (47, 47)
        np.testing.assert_array_equal(matrix.sum(axis=1), np.bincount(labels, minlength=47))
        index = list(curves["CNN"]["gaussian"].levels).index(level)
        assert np.trace(matrix) / matrix.sum() == pytest.approx(curves["CNN"]["gaussian"].accuracies[index])
    assert np.trace(matrices[0.6]) < np.trace(matrices[0.0])
    figure = corruptions.plot_confusions(matrices, corruption="gaussian")
    assert len(figure.get_axes()) == 3  # two panels and a colour bar


def test_cli_writes_its_files(trained, emnist_dir, tmp_path, capsys):
    from emnist_tf.cli import main
    from emnist_tf.modeling.runs import save_run
    from emnist_tf.modeling.training import TrainingResult

    models, _, _ = trained
    run_dirs = []
    for kind, model in (("mlp", models["MLP"]), ("cnn", models["CNN"])):
        result = TrainingResult(
            model=model,
            history={"loss": [1.0]},
            train_seconds=1.0,
            seconds_per_epoch=1.0,
            device="CPU",
            epochs_run=1,
            settings={"split": "balanced"},
        )
        run_dirs.append(str(save_run(tmp_path / f"{kind}_run", result, {"model": kind, "split": "balanced"})))
    out = tmp_path / "report"
    status = main(
        [
            "robustness",
            *run_dirs,
            "--fast",
            "--data-dir",
            str(emnist_dir),
            "--out",
            str(out),
            "--examples",
            "200",
            "--attack-examples",
            "100",
            "--epsilons",
            "0",
            "0.05",
            "0.1",
            "--steps",
            "5",
        ]
    )
    assert status == 0
    for name in ("noise_curves.png", "noise_confusion.png", "epsilon_curves.png", "adversarial_gallery.png"):
        assert (out / name).stat().st_size > 5000, name
    report = json.loads((out / "robustness.json").read_text())
    assert list(report["models"]) == ["MLP", "CNN"]
    for result in report["models"].values():
        assert result["test_examples"] == 200 and result["attack_examples"] == 100
        assert result["noise"]["gaussian"]["accuracies"][0] == pytest.approx(result["clean_accuracy"])
        levels = result["noise"]["blur"]["levels"]
        assert levels[0] < result["noise"]["blur"]["fit"]["threshold"] < levels[-1]
        pgd = result["adversarial"]["pgd"]["accuracies"]
        fgsm = result["adversarial"]["fgsm"]["accuracies"]
        assert pgd[0] == fgsm[0] and all(p <= f for p, f in zip(pgd, fgsm)) and pgd[-1] < pgd[0]
    noisy_pairs = report["models"]["MLP"]["most_confused"]["gaussian 0.6"]
    assert noisy_pairs and all(pair["true"] != pair["predicted"] for pair in noisy_pairs)
    printed = capsys.readouterr().out
    assert "MLP: clean accuracy" in printed and "CNN: clean accuracy" in printed


def test_cli_reports_a_missing_run_as_a_user_error(tmp_path, capsys):
    from emnist_tf.cli import main

    assert main(["robustness", str(tmp_path / "nowhere")]) == 2
    assert "emnist-tf: error:" in capsys.readouterr().err
