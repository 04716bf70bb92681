"""The one module for activations of a layer: sub-models, the batched forward pass, units, top images, copies."""

from __future__ import annotations

import numpy as np
import pytest

from emnist_tf import scratch
from emnist_tf.interpret import activations
from emnist_tf.modeling import models


def _mlp(seed=0):
    return models.build_mlp(num_classes=5, hidden_units=(8, 6), batch_norm=False, dropout_rate=0.0, seed=seed)


def _cnn(seed=0):
    return models.build_cnn(
        num_classes=10, filters=(8,), convs_per_block=1, dense_units=8, batch_norm=False, dropout_rate=0.0, seed=seed
    )


def _images(count=7, seed=0):
    return np.random.default_rng(seed).random((count, 28, 28, 1)).astype(np.float32)


def test_layer_activations_of_an_mlp_match_a_hand_forward_pass():
    model, images = _mlp(), _images()
    names = activations.hidden_layer_names(model)
    values = activations.layer_activations(model, images, batch_size=3)  # three batches, one partial
    assert list(values) == names == models.hidden_layer_names(model)
    first_kernel, first_bias = model.get_layer("dense_1").get_weights()
    second_kernel, second_bias = model.get_layer("dense_2").get_weights()
    first = np.maximum(images.reshape(7, -1) @ first_kernel + first_bias, 0)
    np.testing.assert_allclose(values[names[0]], first, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        values[names[1]], np.maximum(first @ second_kernel + second_bias, 0), rtol=1e-5, atol=1e-6
    )
    with pytest.raises(ValueError, match="unknown layer"):
        activations.layer_activations(model, images, ["nope"])


def test_forward_matches_the_model_and_keeps_shapes_for_an_empty_set():
    model, images = _mlp(), _images(5)
    expected = model.predict(images, verbose=0)
    np.testing.assert_allclose(activations.forward(model, images, batch_size=2), expected, rtol=1e-5, atol=1e-6)
    assert activations.forward(model, images[:0]).shape == (0, 5)
    several = activations.forward(activations.submodel(model, ["dense_1", "logits"]), images)
    assert [part.shape for part in several] == [(5, 8), (5, 5)]
    with pytest.raises(ValueError, match="batch_size"):
        activations.forward(model, images, batch_size=0)


def test_unit_activations_reduce_conv_maps_only_when_told_how():
    cnn, images = _cnn(), _images(6)
    conv = activations.hidden_layer_names(cnn)[0]
    maps = activations.layer_activations(cnn, images, [conv])[conv]
    np.testing.assert_allclose(
        activations.unit_activations(cnn, images, conv, spatial="max"), maps.max(axis=(1, 2)), rtol=1e-6
    )
    np.testing.assert_allclose(
        activations.unit_activations(cnn, images, conv, units=[1, 4], spatial="mean"),
        maps.mean(axis=(1, 2))[:, [1, 4]],
        rtol=1e-6,
    )
    with pytest.raises(ValueError, match="spatial='mean' or 'max'"):
        activations.unit_activations(cnn, images, conv)
    with pytest.raises(ValueError, match="unit indices must be in 0..7"):
        activations.unit_activations(cnn, images, conv, units=[8], spatial="max")


def test_unit_activations_of_a_deeper_keras_layer_and_of_a_scratch_network():
    model, images = _mlp(), _images()
    first = activations.unit_activations(model, images)  # default: the first hidden layer
    second = activations.unit_activations(model, images, activations.hidden_layer_names(model)[1])
    kernel, bias = model.get_layer("dense_2").get_weights()
    np.testing.assert_allclose(second, np.maximum(first @ kernel + bias, 0), rtol=1e-4, atol=1e-5)
    network = scratch.Network([784, 4, 3], seed=0)
    np.testing.assert_allclose(
        activations.unit_activations(network, images), network.hidden_activations(images.reshape(7, -1), 1)
    )


def test_strongest_and_top_images_are_the_largest_in_order():
    values = np.random.default_rng(0).random((500, 6))
    indices, best = activations.strongest(values[:, [4]], 8)
    column = values[:, 4]
    assert indices.shape == best.shape == (1, 8)
    assert set(indices[0]) == set(np.argsort(column)[-8:]) and np.all(np.diff(best[0]) <= 0)
    with pytest.raises(ValueError, match="count must be between 1 and the number of images"):
        activations.strongest(values, 0)
    model, images = _mlp(), _images(30)
    top = activations.top_activating_images(model, images, "logits", units=[0, 3], count=4)
    everything = activations.unit_activations(model, images, "logits")
    for row, unit in enumerate([0, 3]):
        np.testing.assert_allclose(top.activations[row], np.sort(everything[:, unit])[::-1][:4], rtol=1e-6)
        np.testing.assert_array_equal(top.images[row], images[top.indices[row]])


def test_untrained_copy_has_the_architecture_fresh_weights_and_one_seeding_rule():
    model = _mlp(seed=0)
    initial = model.get_layer("dense_1").get_weights()[0].copy()
    model.get_layer("dense_1").set_weights([w + 1.0 for w in model.get_layer("dense_1").get_weights()])
    copy = activations.untrained_copy(model, seed=3)
    assert [layer.name for layer in copy.layers] == [layer.name for layer in model.layers]
    copy_kernel = copy.get_layer("dense_1").get_weights()[0]
    assert copy_kernel.shape == initial.shape and abs(copy_kernel.mean()) < 0.1  # fresh, around zero
    assert not np.allclose(copy_kernel, initial)  # not the original's seeded initial weights either
    again = activations.untrained_copy(model, seed=3).get_layer("dense_1").get_weights()[0]
    other = activations.untrained_copy(model, seed=4).get_layer("dense_1").get_weights()[0]
    np.testing.assert_array_equal(copy_kernel, again)
    assert not np.allclose(copy_kernel, other)


def test_a_model_without_input_is_a_clear_error():
    import keras

    unbuilt = keras.Sequential([keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="no defined input"):
        activations.submodel(unbuilt, [])
