"""The smoothed sparse cross-entropy: its maths, its errors and its round trip through a saved model."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from emnist_tf.modeling.losses import SmoothedSparseCrossentropy, classification_loss
from emnist_tf.modeling.models import build_mlp
from emnist_tf.modeling.runs import load_run, save_run
from emnist_tf.modeling.training import train


def _probabilities(rows, classes, seed=0):
    logits = np.random.default_rng(seed).normal(size=(rows, classes))
    return (np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)).astype("float32")


@pytest.mark.parametrize("smoothing", [0.05, 0.1, 0.3])
def test_matches_keras_one_hot_cross_entropy_with_the_same_smoothing(smoothing):
    probabilities = _probabilities(16, 7)
    labels = np.random.default_rng(1).integers(0, 7, size=16)
    ours = SmoothedSparseCrossentropy(smoothing)(labels, probabilities)
    keras_loss = keras.losses.CategoricalCrossentropy(label_smoothing=smoothing)
    expected = keras_loss(keras.utils.to_categorical(labels, 7), probabilities)
    assert float(ours) == pytest.approx(float(expected), rel=1e-5)
    plain = keras.losses.SparseCategoricalCrossentropy()(labels, probabilities)
    assert float(ours) != pytest.approx(float(plain), rel=1e-3)


def test_no_smoothing_is_keras_own_loss_and_bad_values_fail():
    assert classification_loss(0.0) == "sparse_categorical_crossentropy"
    assert classification_loss(0.2).label_smoothing == 0.2
    for bad in (-0.1, 1.0, "0.1", True):
        with pytest.raises(ValueError, match=r"label_smoothing must be a number in \[0, 1\)"):
            classification_loss(bad)


def test_a_run_trained_with_smoothing_saves_and_reloads_identically(emnist_dir, tmp_path):
    from emnist_tf.data import load_arrays

    images, labels = load_arrays("balanced", "test", data_dir=emnist_dir, limit=200)
    model = build_mlp(num_classes=47, hidden_units=(16,), seed=0)
    result = train(
        model, (images, labels), validation_fraction=0.0, epochs=1, batch_size=50, label_smoothing=0.1, verbose=0
    )
    assert result.settings["label_smoothing"] == 0.1
    assert isinstance(model.loss, SmoothedSparseCrossentropy)
    save_run(tmp_path / "run", result, {"model": "mlp", "split": "balanced"})
    reloaded = load_run(tmp_path / "run").model
    assert reloaded.loss.label_smoothing == pytest.approx(0.1)
    np.testing.assert_array_equal(reloaded.predict(images, verbose=0), model.predict(images, verbose=0))
