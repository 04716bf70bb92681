"""The MLP and CNN builders: every option, the naming convention and clear errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from emnist_tf.modeling.models import ACTIVATIONS, build_cnn, build_mlp, build_model, hidden_layer_names


def _layers_of(model, kind):
    return [layer for layer in model.layers if isinstance(layer, kind)]


@pytest.mark.parametrize("hidden_units", [(64,), (64, 32, 16), (128, 64, 32, 16)])
def test_mlp_has_one_dense_block_per_hidden_layer(hidden_units):
    model = build_mlp(num_classes=10, hidden_units=hidden_units, batch_norm=False, dropout_rate=0.0)
    dense = _layers_of(model, keras.layers.Dense)
    assert [layer.units for layer in dense] == [*hidden_units, 10]
    assert hidden_layer_names(model) == [f"dense_{i}_activation" for i in range(1, len(hidden_units) + 1)]
    assert not _layers_of(model, keras.layers.Conv2D)


def test_mlp_naming_convention():
    model = build_mlp(num_classes=47, hidden_units=(32, 16))
    names = [layer.name for layer in model.layers]
    assert names[0] == "flatten" and names[1] == "dense_1"
    assert names[-2:] == ["logits", "probabilities"]
    output = model.get_layer("probabilities")
    assert output.activation is keras.activations.softmax
    assert output.dtype_policy.compute_dtype == "float32"
    assert model.output_shape == (None, 47)
    probabilities = model.predict(np.zeros((2, 28, 28, 1), "float32"), verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("builder", [build_mlp, build_cnn])
@pytest.mark.parametrize("batch_norm", [True, False])
def test_batch_norm_present_or_absent(builder, batch_norm):
    model = builder(num_classes=10, batch_norm=batch_norm)
    norms = _layers_of(model, keras.layers.BatchNormalization)
    hidden = hidden_layer_names(model)
    assert len(norms) == (len(hidden) if batch_norm else 0)
    # With batch norm the layer before it has no bias (the norm's beta replaces it).
    weighted = [layer for layer in model.layers if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D))]
    assert all(layer.use_bias != batch_norm for layer in weighted if layer.name != "logits")


@pytest.mark.parametrize("builder", [build_mlp, build_cnn])
def test_dropout_rate_zero_turns_dropout_off(builder):
    assert not _layers_of(builder(num_classes=10, dropout_rate=0.0), keras.layers.Dropout)
    rates = [layer.rate for layer in _layers_of(builder(num_classes=10, dropout_rate=0.3), keras.layers.Dropout)]
    assert rates and max(rates) == pytest.approx(0.3)


@pytest.mark.parametrize("regularizer, kind", [("l1", keras.regularizers.L1), ("l2", keras.regularizers.L2)])
@pytest.mark.parametrize("builder", [build_mlp, build_cnn])
def test_regularizer_on_every_kernel(builder, regularizer, kind):
    model = builder(num_classes=10, regularizer=regularizer, regularization_strength=3e-4)
    weighted = [layer for layer in model.layers if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D))]
    assert all(isinstance(layer.kernel_regularizer, kind) for layer in weighted)
    factor = weighted[0].kernel_regularizer.get_config()[regularizer]
    assert factor == pytest.approx(3e-4)
    assert len(model.losses) == len(weighted)


@pytest.mark.parametrize("regularizer", [None, "none"])
def test_no_regularizer(regularizer):
    model = build_mlp(num_classes=10, regularizer=regularizer)
    assert all(getattr(layer, "kernel_regularizer", None) is None for layer in model.layers)
    assert model.losses == []


def test_cnn_blocks_filters_kernels_and_dense_layers():
    model = build_cnn(
        num_classes=26,
        filters=(8, 16, 32),
        kernel_size=(5, 3, 3),
        convs_per_block=2,
        dense_units=(64, 32),
        batch_norm=False,
        dropout_rate=0.0,
    )
    convs = _layers_of(model, keras.layers.Conv2D)
    assert [layer.filters for layer in convs] == [8, 8, 16, 16, 32, 32]
    assert [layer.kernel_size for layer in convs] == [(5, 5)] * 2 + [(3, 3)] * 4
    assert len(_layers_of(model, keras.layers.MaxPooling2D)) == 3
    assert [layer.units for layer in _layers_of(model, keras.layers.Dense)] == [64, 32, 26]
    assert hidden_layer_names(model) == [f"conv_{i}_activation" for i in range(1, 7)] + [
        "dense_1_activation",
        "dense_2_activation",
    ]
    assert model.get_layer("logits").output.shape == (None, 26)


def test_cnn_without_hidden_dense_layer():
    model = build_cnn(num_classes=10, filters=(8,), convs_per_block=1, dense_units=0)
    assert [layer.units for layer in _layers_of(model, keras.layers.Dense)] == [10]
    assert hidden_layer_names(model) == ["conv_1_activation"]


def test_default_cnn_is_two_blocks_of_two_convolutions():
    model = build_cnn()
    assert [layer.filters for layer in _layers_of(model, keras.layers.Conv2D)] == [32, 32, 64, 64]
    assert [layer.rate for layer in _layers_of(model, keras.layers.Dropout)] == [0.125, 0.25]
    assert model.get_layer("logits").output.shape == (None, 47)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_builds_and_predicts(activation):
    model = build_mlp(num_classes=5, hidden_units=(8,), activation=activation)
    layer = model.get_layer("dense_1_activation")
    assert keras.activations.get(layer.get_config()["activation"]) is keras.activations.get(activation)
    assert np.isfinite(model.predict(np.ones((1, 28, 28, 1), "float32"), verbose=0)).all()


def test_same_seed_same_weights():
    first = build_cnn(num_classes=10, filters=(8,), dense_units=16, seed=3)
    second = build_cnn(num_classes=10, filters=(8,), dense_units=16, seed=3)
    other = build_cnn(num_classes=10, filters=(8,), dense_units=16, seed=4)
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.get_weights()[0], other.get_weights()[0])


def test_build_model_by_kind():
    assert build_model("mlp", num_classes=10, hidden_units=(8,)).name == "mlp"
    assert build_model("cnn", num_classes=10, filters=(8,)).name == "cnn"
    with pytest.raises(ValueError, match="mlp, cnn"):
        build_model("rnn")


@pytest.mark.parametrize(
    "options, message",
    [
        ({"activation": "sigmoidish"}, "relu, leaky_relu, elu, selu, gelu, swish"),
        ({"regularizer": "l3"}, "l1, l2"),
        ({"dropout_rate": 1.0}, "dropout_rate"),
        ({"dropout_rate": -0.1}, "dropout_rate"),
        ({"regularization_strength": -1.0}, "regularization_strength"),
        ({"num_classes": 1}, "num_classes"),
    ],
)
@pytest.mark.parametrize("builder", [build_mlp, build_cnn])
def test_bad_options_give_clear_errors(builder, options, message):
    with pytest.raises(ValueError, match=message):
        builder(**options)


@pytest.mark.parametrize(
    "builder, options, message",
    [
        (build_mlp, {"hidden_units": ()}, "hidden_units"),
        (build_mlp, {"hidden_units": (64, 0)}, "hidden_units"),
        (build_cnn, {"filters": (8, 8, 8, 8, 8, 8)}, "at most 4 blocks"),
        (build_cnn, {"filters": (8, 16), "kernel_size": (3, 3, 3)}, "kernel_size"),
        (build_cnn, {"convs_per_block": 0}, "convs_per_block"),
    ],
)
def test_bad_sizes_give_clear_errors(builder, options, message):
    with pytest.raises(ValueError, match=message):
        builder(**options)
