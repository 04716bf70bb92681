"""Notebook 11's analytic check: a trained first-layer unit's preferred input is its weight vector.

A first-layer unit computes z = w . x + b; on the sphere |x| = r its maximum is at
x = r w / |w| (Cauchy-Schwarz). Gradient ascent in the paper's setting (norm
constraint only, Erhan et al. 2009) must find it, with the step length and the
number of steps notebook 11 uses in fast mode, on an MLP trained on real images.
"""

from __future__ import annotations

import numpy as np
import pytest

from emnist_tf import config

keras = pytest.importorskip("keras")

from emnist_tf.interpret import features  # noqa: E402
from emnist_tf.modeling import models  # noqa: E402

UNITS = [0, 5, 11, 17, 23, 31]
NORM = 10.0


def _trained_mlp(digits, seed: int = 0):
    (train_images, train_labels), _ = digits
    keras.utils.set_random_seed(seed)
    model = models.build_mlp(num_classes=10, hidden_units=(32, 16), batch_norm=False, dropout_rate=0.0, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(train_images, train_labels, batch_size=64, epochs=config.cap(2, "epochs"), verbose=0)
    return model


def _cosines(images: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Cosine similarity of every image with every unit's weight vector: (images, units)."""
    flat = images.reshape(len(images), -1)
    flat = flat / np.linalg.norm(flat, axis=1, keepdims=True)
    return flat @ (weights / np.linalg.norm(weights, axis=0, keepdims=True))


@pytest.mark.parametrize("policy", ["float32", "mixed_float16"])
def test_preferred_input_of_a_trained_first_layer_unit_is_its_weight_vector(digits, policy):
    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = _trained_mlp(digits)
        result = features.maximize(
            model,
            "dense_1",
            UNITS,
            starts=1,
            steps=config.cap(200, "steps"),
            learning_rate=5.0,
            regularizers=[],
            constraints=[features.NormConstraint(NORM)],
            input_modifiers=[],
            seed=0,
        )
    finally:
        keras.mixed_precision.set_global_policy(previous)
    weights = model.get_layer("dense_1").kernel.numpy().astype(np.float32)
    cosines = _cosines(result.images, weights[:, UNITS])
    assert np.diag(cosines).min() >= 0.99, np.diag(cosines)
    off_diagonal = cosines[~np.eye(len(UNITS), dtype=bool)]
    assert off_diagonal.max() < 0.9, "each image should match its own unit's weights, not another unit's"
    np.testing.assert_allclose(np.linalg.norm(result.images.reshape(len(UNITS), -1), axis=1), NORM, rtol=1e-3)
