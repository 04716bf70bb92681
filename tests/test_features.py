"""Activation maximisation (emnist_tf.interpret.features): the properties of Erhan et al. (2009).

One small CNN is trained once for the module on a few thousand real images.
``maximize`` is a primitive: it takes every step it is asked for, fast mode or not,
so the tests ask for few.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from emnist_tf import data  # noqa: E402
from emnist_tf.cli import main  # noqa: E402
from emnist_tf.errors import DataError  # noqa: E402
from emnist_tf.interpret import features  # noqa: E402
from emnist_tf.modeling import models  # noqa: E402

NUM_CLASSES = 47


@pytest.fixture(scope="module")
def trained(emnist_dir):
    """A small CNN trained for four epochs on 3000 real balanced images, and 1000 test images."""
    train_images, train_labels = data.load_arrays("balanced", "train", data_dir=emnist_dir, limit=3000, seed=0)
    test_images, test_labels = data.load_arrays("balanced", "test", data_dir=emnist_dir, limit=1000, seed=0)
    tf.keras.utils.set_random_seed(0)
    model = models.build_cnn(
        num_classes=NUM_CLASSES,
        filters=(16, 32),
        convs_per_block=1,
        dense_units=64,
        batch_norm=False,
        dropout_rate=0.0,
        seed=0,
    )
    model.compile(optimizer=tf.keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(train_images, train_labels, batch_size=64, epochs=4, verbose=0)
    return model, test_images, test_labels


def test_first_layer_unit_under_norm_constraint_is_its_weight_vector():
    model = models.build_mlp(num_classes=10, hidden_units=(8,), batch_norm=False, dropout_rate=0.0, seed=3)
    units = [0, 3, 7]
    result = features.maximize(
        model,
        "dense_1",
        units,
        starts=2,
        steps=60,
        regularizers=[],
        constraints=[features.NormConstraint(norm=9.0)],
        input_modifiers=[],
        seed=0,
    )
    weights = model.get_layer("dense_1").kernel.numpy()[:, units].T
    found = result.all_images.reshape(len(units), 2, -1)
    cosine = np.einsum("usp,up->us", found, weights) / (
        np.linalg.norm(found, axis=2) * np.linalg.norm(weights, axis=1)[:, None]
    )
    assert cosine.min() >= 0.99, cosine
    np.testing.assert_allclose(np.linalg.norm(found, axis=2), 9.0, rtol=1e-4)


def test_every_class_preferred_input_is_classified_as_that_class(trained):
    # Regularisers trade activation for natural looks, so the optimiser's power is
    # tested without them: pixels kept in [0, 1], jitter on, the default class score.
    model, test_images, _ = trained
    result = features.maximize_classes(
        model, starts=2, steps=120, regularizers=[], constraints=[features.ClipRange()], seed=0
    )
    assert result.images.shape == (NUM_CLASSES, 28, 28, 1)
    assert result.images.min() >= 0.0 and result.images.max() <= 1.0
    probabilities = model.predict(result.images, verbose=0)
    own = probabilities[np.arange(NUM_CLASSES), np.arange(NUM_CLASSES)]
    assert own.min() >= 0.9, {int(k): round(float(p), 3) for k, p in enumerate(own) if p < 0.9}
    logits = features.unit_activations(model, result.images, "logits")[np.arange(NUM_CLASSES), np.arange(NUM_CLASSES)]
    np.testing.assert_allclose(result.activations, logits, rtol=1e-4, atol=1e-4)
    largest_on_test = features.unit_activations(model, test_images, "logits").max(axis=0)
    assert np.all(logits > largest_on_test), np.flatnonzero(logits <= largest_on_test)


def test_activations_reached_are_the_scores_of_the_returned_images(trained):
    model, _, _ = trained
    result = features.maximize(model, "conv_2_activation", [0, 7, 15], starts=3, steps=10, seed=2)
    again = features.unit_activations(model, result.images, "conv_2_activation", units=[0, 7, 15], spatial="mean")
    np.testing.assert_allclose(np.diag(again), result.activations, rtol=1e-4, atol=1e-5)
    assert np.array_equal(result.activations, result.all_activations.max(axis=1))


def test_total_variation_lowers_the_images_total_variation(trained):
    model, _, _ = trained
    options = dict(
        units=range(0, NUM_CLASSES, 6),
        starts=2,
        steps=20,
        input_modifiers=[],
        constraints=[features.ClipRange()],
        seed=1,
    )
    plain = features.maximize(model, "logits", regularizers=[], **options)
    smooth = features.maximize(model, "logits", regularizers=[features.TotalVariation(weight=0.3)], **options)
    plain_tv = features.total_variation(plain.all_images.reshape(-1, 28, 28, 1)).numpy()
    smooth_tv = features.total_variation(smooth.all_images.reshape(-1, 28, 28, 1)).numpy()
    assert smooth_tv.mean() < 0.8 * plain_tv.mean(), (smooth_tv.mean(), plain_tv.mean())


def test_same_seed_gives_same_images_and_another_seed_other_images(trained):
    model, _, _ = trained
    runs = [
        features.maximize(model, "conv_2_activation", range(4), starts=2, steps=10, seed=seed) for seed in (5, 5, 6)
    ]
    np.testing.assert_array_equal(runs[0].all_images, runs[1].all_images)
    np.testing.assert_array_equal(runs[0].activations, runs[1].activations)
    assert not np.allclose(runs[0].all_images, runs[2].all_images)


def test_top_images_are_the_strongest_in_the_dataset(trained):
    model, test_images, _ = trained
    top = features.top_activating_images(model, test_images, "conv_1_activation", units=[1, 5], count=3)
    everything = features.unit_activations(model, test_images, "conv_1_activation", units=[1, 5], spatial="mean")
    for column in range(2):
        np.testing.assert_allclose(top.activations[column], np.sort(everything[:, column])[::-1][:3], rtol=1e-5)
        np.testing.assert_array_equal(top.images[column], test_images[top.indices[column]])


def test_unknown_layer_and_bad_units_are_user_errors(trained):
    model, _, _ = trained
    with pytest.raises(ValueError, match="no layer 'conv_9'"):
        features.maximize(model, "conv_9", [0])
    with pytest.raises(ValueError, match="unit indices must be in 0..31"):
        features.maximize(model, "conv_2_activation", [32])


def test_maximize_under_mixed_precision():
    previous = tf.keras.mixed_precision.global_policy().name
    tf.keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = models.build_cnn(
            num_classes=5, filters=(4,), convs_per_block=1, dense_units=8, batch_norm=False, dropout_rate=0.0, seed=0
        )
        result = features.maximize(model, "conv_1_activation", [0, 2], starts=2, steps=5, seed=0)
    finally:
        tf.keras.mixed_precision.set_global_policy(previous)
    assert result.images.dtype == np.float32 and np.isfinite(result.images).all()
    assert np.isfinite(result.activations).all() and result.steps == 5


def test_cli_writes_the_figure(trained, tmp_path, emnist_dir, capsys):
    model, _, _ = trained
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    model.save(run_dir / "model.keras")
    (run_dir / "run.json").write_text(json.dumps({"model": "cnn", "split": "balanced", "seed": 0}))
    out = tmp_path / "figures" / "conv.png"
    status = main(
        [
            "visualize",
            str(run_dir),
            "--layer",
            "conv_2_activation",
            "--units",
            "0:3",
            "--steps",
            "5",
            "--starts",
            "1",
            "--examples",
            "200",
            "--out",
            str(out),
            "--data-dir",
            str(emnist_dir),
            "--fast",
        ]
    )
    assert status == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "3 units of conv_2_activation" in capsys.readouterr().out
    status = main(["visualize", str(run_dir), "--layer", "nope", "--out", str(tmp_path / "x.png")])
    assert status == 2
    assert "no layer 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_units_option_accepts_slices_and_lists_and_rejects_words():
    from emnist_tf.cli.visualize import parse_units

    assert parse_units("0:16") == slice(0, 16)
    assert parse_units("::2") == slice(None, None, 2)
    assert parse_units("3,5,9") == [3, 5, 9]
    assert parse_units(None) is None
    with pytest.raises(ValueError, match="--units 'a:b'"):
        parse_units("a:b")


def _tiny_run(folder, **recorded):
    """A run directory holding an untrained 47-class CNN of four filters."""
    model = models.build_cnn(
        num_classes=NUM_CLASSES, filters=(4,), convs_per_block=1, dense_units=8, batch_norm=False, dropout_rate=0.0
    )
    folder.mkdir()
    model.save(folder / "model.keras")
    (folder / "run.json").write_text(json.dumps({"model": "cnn", "split": "balanced", "seed": 0, **recorded}))
    return model


def test_write_preferred_inputs_draws_the_chosen_classes_of_a_saved_run(tmp_path):
    model = _tiny_run(tmp_path / "run")
    out = tmp_path / "figures" / "classes.png"
    missing_data = tmp_path / "no-data-here"
    result = features.write_preferred_inputs(
        tmp_path / "run", "probabilities", out, units=[3, 7], starts=1, steps=4, top=0, data_dir=missing_data, seed=2
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    direct = features.maximize_classes(model, [3, 7], starts=1, steps=4, seed=2)
    assert list(result.units) == [3, 7] and result.layer == "logits" and result.steps == 4
    np.testing.assert_allclose(result.images, direct.images, atol=1e-5)
    with pytest.raises(DataError, match=missing_data.name):
        features.write_preferred_inputs(tmp_path / "run", "logits", tmp_path / "x.png", steps=1, data_dir=missing_data)
    with pytest.raises(ValueError, match="must be >= 0") as error:
        features.write_preferred_inputs(tmp_path / "run", "logits", tmp_path / "y.png", top=-1)
    assert "--" not in str(error.value)
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "y.png").exists()


def test_write_preferred_inputs_searches_the_test_images_of_the_runs_data_folder(tmp_path, emnist_dir):
    _tiny_run(tmp_path / "run", data_dir=str(emnist_dir))
    out = tmp_path / "conv.png"
    result = features.write_preferred_inputs(
        tmp_path / "run", "conv_1_activation", out, units=slice(0, 2), starts=1, steps=2, top=2, examples=40
    )
    assert list(result.units) == [0, 1] and result.layer == "conv_1_activation"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("score", "wrong_rank_outputs", "advice"),
    [
        (features.DenseUnit(), tf.ones((2, 5, 5, 3)), "ChannelMean"),
        (features.ChannelMean(), tf.ones((2, 3)), "DenseUnit"),
        (features.ClassMargin(), tf.ones((2, 5, 5, 3)), "'logits'"),
    ],
)
def test_scores_reject_layer_outputs_of_the_wrong_rank_and_say_what_to_use(score, wrong_rank_outputs, advice):
    with pytest.raises(ValueError, match=f"{type(score).__name__} needs a layer output of rank") as error:
        score(wrong_rank_outputs, tf.constant([0, 1]))
    assert advice in str(error.value)
