"""Training on real EMNIST images, run directories, early stopping, NaN losses, augmentation."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from emnist_tf import config, devices
from emnist_tf.data import load_arrays
from emnist_tf.modeling.augmentation import make_augmenter
from emnist_tf.modeling.models import build_mlp, hidden_layer_names
from emnist_tf.modeling.runs import HISTORY_FILE, MODEL_FILE, RUN_FILE, RunError, load_run, save_run
from emnist_tf.modeling.training import STEPS_PER_EXECUTION, TrainingDivergedError, _class_weights, compile_model, train

PEAK_RATE = 1e-2


@pytest.fixture(scope="module")
def trained(emnist_dir, tmp_path_factory):
    """One tiny MLP trained for one epoch on 3,000 images of the real balanced split, with TensorBoard logs."""
    logs = tmp_path_factory.mktemp("tensorboard")
    model = build_mlp(num_classes=47, hidden_units=(64, 32), seed=0)
    result = train(
        model,
        "balanced",
        data_dir=emnist_dir,
        limit=3000,
        epochs=1,
        learning_rate=PEAK_RATE,
        schedule="cosine",
        tensorboard_dir=logs,
        verbose=0,
    )
    return result, logs


@pytest.fixture(scope="module")
def test_images(emnist_dir):
    return load_arrays("balanced", "test", data_dir=emnist_dir, limit=200)


def test_fast_run_records_one_entry_per_epoch(trained):
    result, _ = trained
    assert result.epochs_run == 1
    expected = {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "epoch_seconds"}
    assert expected <= set(result.history)
    assert all(len(values) == result.epochs_run for values in result.history.values())
    assert result.settings["train_examples"] + result.settings["validation_examples"] == 3000
    assert result.settings["validation_examples"] == pytest.approx(300, abs=47)  # 10%, rounded per class
    assert result.device == devices.describe_device()
    assert result.train_seconds >= result.history["epoch_seconds"][0] > 0
    assert result.history["val_accuracy"][0] > 3 / 47  # well above chance after one epoch


def test_learning_rate_recorded_follows_the_schedule(trained):
    result, _ = trained
    # Cosine starts its warm-up at 5% of the peak rate.
    assert result.history["learning_rate"][0] == pytest.approx(PEAK_RATE * 0.05, rel=1e-4)


def test_tensorboard_logs_are_written(trained):
    _, logs = trained
    assert list(logs.rglob("events.out.tfevents.*"))


def test_save_and_load_give_identical_predictions(trained, test_images, tmp_path):
    result, _ = trained
    folder = save_run(tmp_path / "run", result, {"model": "mlp", "split": "balanced"})
    assert all((folder / name).is_file() for name in (MODEL_FILE, HISTORY_FILE, RUN_FILE))
    run = load_run(folder)
    images, _ = test_images
    np.testing.assert_array_equal(run.model.predict(images, verbose=0), result.model.predict(images, verbose=0))
    assert run.config["model"] == "mlp" and run.config["split"] == "balanced"
    assert run.config["epochs_run"] == 1 and run.config["device"] == result.device
    assert run.config["train_seconds"] == pytest.approx(result.train_seconds, abs=1e-3)
    assert set(run.history) == set(result.history)
    for key, values in result.history.items():
        np.testing.assert_allclose(run.history[key], values, rtol=1e-6)


def test_broken_run_directories_give_one_line_errors(trained, tmp_path):
    result, _ = trained
    with pytest.raises(RunError, match="does not exist"):
        load_run(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunError, match="missing model.keras, run.json"):
        load_run(tmp_path / "empty")
    folder = save_run(tmp_path / "run", result, {"model": "mlp"})
    (folder / RUN_FILE).write_text("{not json")
    with pytest.raises(RunError, match="not valid JSON") as caught:
        load_run(folder)
    assert "\n" not in str(caught.value)
    (folder / RUN_FILE).write_text(json.dumps({"model": "mlp"}))
    (folder / MODEL_FILE).write_bytes(b"not a zip file")
    with pytest.raises(RunError, match="cannot be loaded") as caught:
        load_run(folder)
    assert "\n" not in str(caught.value)


def test_nan_loss_stops_with_a_clear_error():
    images = np.full((64, 28, 28, 1), np.nan, dtype="float32")
    labels = np.arange(64) % 10
    # elu passes NaN on (relu on oneDNN turns it into 0), so the loss is NaN from the first batch.
    model = build_mlp(num_classes=10, hidden_units=(8,), activation="elu", batch_norm=False, dropout_rate=0.0)
    with pytest.raises(TrainingDivergedError, match=r"diverged at epoch 1 .*lower the learning rate") as caught:
        train(model, (images, labels), validation_fraction=0.0, epochs=1, batch_size=32, verbose=0)
    assert isinstance(caught.value, ValueError) and "\n" not in str(caught.value)


class _SpoilOutputLayer(keras.callbacks.Callback):
    """From the second epoch on, replaces the output weights with large random ones."""

    def on_epoch_begin(self, epoch, logs=None):
        if epoch >= 1:
            kernel = self.model.get_layer("logits").kernel
            kernel.assign(np.random.default_rng(epoch).normal(scale=30.0, size=kernel.shape))


def test_early_stopping_restores_the_best_weights(emnist_dir):
    images, labels = load_arrays("balanced", "train", data_dir=emnist_dir, limit=1500, seed=1)
    validation = load_arrays("balanced", "test", data_dir=emnist_dir, limit=300)
    model = build_mlp(num_classes=47, hidden_units=(32,), batch_norm=False, dropout_rate=0.0, seed=0)
    result = train(
        model,
        (images, labels),
        validation_data=validation,
        epochs=6,
        early_stopping_patience=1,
        callbacks=[_SpoilOutputLayer()],
        verbose=0,
    )
    losses = result.history["val_loss"]
    assert result.epochs_run == 2 < 6
    assert losses[1] > losses[0]
    restored_loss, _ = result.model.evaluate(*validation, verbose=0)
    assert restored_loss == pytest.approx(losses[0], rel=1e-4)


def test_augmentation_options_are_applied_and_recorded(test_images):
    images, labels = test_images

    def first_layer_after(augmentation):
        model = build_mlp(num_classes=47, hidden_units=(16,), batch_norm=False, dropout_rate=0.0, seed=0)
        result = train(
            model,
            (images, labels),
            validation_fraction=0.0,
            epochs=1,
            batch_size=50,
            augmentation=augmentation,
            verbose=0,
        )
        return result, model.layers[1].get_weights()[0]

    _, plain = first_layer_after(False)
    still, unmoved = first_layer_after({"rotation_degrees": 0, "shift_fraction": 0, "zoom_fraction": 0})
    rotated, moved = first_layer_after({"rotation_degrees": 20})
    np.testing.assert_allclose(unmoved, plain, rtol=1e-5, atol=1e-7)
    assert not np.allclose(moved, plain)
    assert rotated.settings["augmentation"] == {"rotation_degrees": 20}
    assert still.settings["augmentation"]["zoom_fraction"] == 0
    with pytest.raises(ValueError, match="unknown augmentation option.*rotate.*rotation_degrees"):
        first_layer_after({"rotate": 5})


def test_class_weights_pull_predictions_towards_heavier_classes(test_images):
    images, labels = test_images
    favoured = int(labels[0])

    def trained_with(class_weight):
        model = build_mlp(num_classes=47, hidden_units=(32,), batch_norm=False, dropout_rate=0.0, seed=0)
        result = train(
            model,
            (images, labels),
            validation_fraction=0.0,
            epochs=1,
            batch_size=10,
            learning_rate=1e-2,
            class_weight=class_weight,
            verbose=0,
        )
        predicted = model.predict(images, verbose=0).argmax(axis=1)
        return result, model.layers[1].get_weights()[0], np.mean(predicted == favoured)

    _, plain, plain_share = trained_with(None)
    _, unit, _ = trained_with({index: 1.0 for index in range(47)})
    _, _, favoured_share = trained_with({index: 30.0 if index == favoured else 1.0 for index in range(47)})
    balanced, _, _ = trained_with("balanced")
    np.testing.assert_allclose(unit, plain, rtol=1e-5, atol=1e-7)
    assert favoured_share > plain_share + 0.2
    assert balanced.settings["class_weight"] == "balanced"
    with pytest.raises(ValueError, match="class_weight must be 'balanced'"):
        trained_with("even")
    with pytest.raises(ValueError, match="outside 0..46"):
        trained_with({47: 2.0})


def test_balanced_class_weights_follow_scikit_learn():
    from sklearn.utils.class_weight import compute_class_weight

    labels = np.array([0, 0, 0, 0, 1, 2, 2, 4])  # class 3 is absent
    weights = _class_weights("balanced", labels, num_classes=5)
    expected = compute_class_weight("balanced", classes=np.array([0, 1, 2, 4]), y=labels)
    np.testing.assert_allclose([weights[k] for k in (0, 1, 2, 4)], expected)
    assert weights[3] == 0.0
    counts = np.bincount(labels, minlength=5)
    assert {round(weights[k] * counts[k], 9) for k in (0, 1, 2, 4)} == {2.0}  # each class weighs the same


def test_batches_run_several_per_graph_call_yet_every_epoch_is_logged(trained, test_images):
    result, _ = trained
    assert result.model.steps_per_execution == STEPS_PER_EXECUTION
    images, labels = test_images  # 200 images: 4 batches of 64, the last one partial
    model = build_mlp(num_classes=47, hidden_units=(16,), seed=0)
    short = train(model, (images, labels), validation_fraction=0.0, epochs=2, batch_size=64, verbose=0)
    assert model.steps_per_execution == 4
    assert len(short.history["loss"]) == 2 and all(np.isfinite(short.history["loss"]))


def test_bad_arguments_fail_before_training():
    images = np.zeros((20, 28, 28, 1), "float32")
    model = build_mlp(num_classes=10, hidden_units=(8,))
    with pytest.raises(ValueError, match="num_classes"):
        train(model, (images, np.full(20, 12)), validation_fraction=0.0)
    with pytest.raises(ValueError, match="epochs"):
        train(model, (images, np.zeros(20, "int64")), epochs=0)
    with pytest.raises(ValueError, match="split name"):
        train(model, images)
    with pytest.raises(ValueError, match="steps_per_epoch and epochs"):
        compile_model(model, "adam", 1e-3, "cosine")


def test_augmentation_moves_pixels_but_keeps_shapes(test_images):
    images, labels = test_images
    batch = images[:32]
    augmented, same_labels = make_augmenter(seed=0)(batch, labels[:32])
    augmented = keras.ops.convert_to_numpy(augmented)
    assert augmented.shape == batch.shape
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(same_labels), labels[:32])
    assert not np.allclose(augmented, batch)
    assert augmented.min() >= -1e-6 and augmented.max() <= 1 + 1e-6
    unchanged, _ = make_augmenter(rotation_degrees=0, shift_fraction=0, zoom_fraction=0)(batch, labels[:32])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(unchanged), batch)
    with pytest.raises(ValueError, match="rotation_degrees"):
        make_augmenter(rotation_degrees=90)


def test_epochs_are_exact_even_in_fast_mode_and_verbose_zero_is_silent(test_images, capfd):
    assert config.fast_mode()  # the session's fast mode does not touch an explicit value
    images, labels = test_images
    model = build_mlp(num_classes=47, hidden_units=(16,), seed=0)
    result = train(
        model, (images, labels), validation_fraction=0.0, epochs=3, batch_size=64, early_stopping_patience=5, verbose=0
    )
    assert result.epochs_run == 3 and len(result.history["loss"]) == 3
    assert capfd.readouterr().out == ""
    train(model, (images, labels), validation_fraction=0.0, epochs=1, batch_size=64, verbose=2)
    assert "Trained 1 epoch(s)" in capfd.readouterr().out


def test_a_model_kind_and_architecture_build_the_model_it_trains(test_images):
    images, labels = test_images
    architecture = {"filters": [8, 16], "convs_per_block": 1, "dense_units": [16], "activation": "elu"}
    result = train(
        "cnn",
        (images, labels),
        architecture=architecture,
        num_classes=47,
        validation_fraction=0.0,
        epochs=1,
        verbose=0,
    )
    assert hidden_layer_names(result.model) == ["conv_1_activation", "conv_2_activation", "dense_1_activation"]
    assert result.model.get_layer("conv_2").filters == 16 and result.model.output_shape[-1] == 47
    assert result.settings["model"] == "cnn" and result.settings["architecture"] == architecture
    with pytest.raises(ValueError, match="pass model='mlp' or 'cnn'"):
        train(build_mlp(num_classes=47), (images, labels), architecture=architecture, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="distribute must be None or one of mirrored"):
        train("mlp", (images, labels), distribute="everywhere", epochs=1, verbose=0)


def _batch_norm_on_pixels(momentum=0.99):
    """Pixels straight into batch normalisation, inside a nested model, then a softmax."""
    inner = keras.Sequential([keras.Input((784,)), keras.layers.BatchNormalization(momentum=momentum)])
    return keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), inner, keras.layers.Dense(4, activation="softmax")]
    )


def test_settle_batch_norm_lowers_momentum_only_for_short_runs():
    from emnist_tf.modeling.training import settle_batch_norm

    model = _batch_norm_on_pixels()
    (layer,) = model.layers[1].layers
    assert settle_batch_norm(model, 10_000) is None and layer.momentum == 0.99  # 0.99**10000 is tiny
    momentum = settle_batch_norm(model, 50)
    assert momentum == pytest.approx(0.01 ** (1 / 50)) and layer.momentum == momentum
    assert layer.momentum**50 == pytest.approx(0.01)
    assert settle_batch_norm(model, 50) is None  # already low enough: left alone


def test_a_short_run_ends_with_moving_statistics_of_its_data(precision):
    """Four steps at Keras' 0.99 would leave the moving mean at 4% of the pixels' mean; settled, it is near it."""
    rng = np.random.default_rng(0)
    images = (0.5 + 0.1 * rng.random((64, 28, 28, 1))).astype("float32")
    labels = np.arange(64) % 4
    model = _batch_norm_on_pixels()
    train(model, (images, labels), epochs=2, batch_size=32, validation_fraction=0.0, class_weight=None, verbose=0)
    (layer,) = model.layers[1].layers
    moving_mean = keras.ops.convert_to_numpy(layer.moving_mean)
    assert np.all(np.isfinite(moving_mean))
    assert np.mean(moving_mean) > 0.5, f"moving mean {np.mean(moving_mean):.3f} against pixels' mean 0.55"
