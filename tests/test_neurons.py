"""Single neurons: weight heatmaps, top-k images, class selectivity, one-unit portraits."""

from __future__ import annotations

import numpy as np
import pytest

from emnist_tf import data, scratch
from emnist_tf.interpret import neurons
from emnist_tf.interpret.activations import unit_activations


# ---------------------------------------------------------------- numbers on constructed units
def test_selectivity_index_of_constructed_units():
    labels = np.repeat(np.arange(4), 5)  # 4 classes, 5 images each
    activations = np.zeros((20, 3))
    activations[:, 0] = np.where(labels == 2, 4.0, 1.0)  # prefers class 2: (4 - 1) / (4 + 1)
    activations[:, 1] = 0.7  # answers every class alike
    # unit 2 stays silent
    result = neurons.class_selectivity(activations, labels)
    np.testing.assert_allclose(result.class_means[0], [1, 1, 4, 1])
    np.testing.assert_allclose(result.index, [(4 - 1) / (4 + 1), 0.0, 0.0], atol=1e-12)
    assert result.preferred_class[0] == 2
    assert result.labels == ["class-selective", "feature-selective", "dead"]
    assert result.counts() == {"class-selective": 1, "feature-selective": 1, "dead": 1}


def test_selectivity_threshold_and_one_class_unit():
    labels = np.repeat(np.arange(3), 4)
    only_class_one = (labels == 1).astype(float)[:, None]  # index exactly 1
    mild = np.where(labels == 0, 2.0, 1.0)[:, None]  # (2 - 1) / (2 + 1) = 1/3
    result = neurons.class_selectivity(np.hstack([only_class_one, mild]), labels, threshold=0.3)
    np.testing.assert_allclose(result.index, [1.0, 1 / 3])
    assert result.labels == ["class-selective", "class-selective"]
    assert neurons.class_selectivity(np.hstack([only_class_one, mild]), labels).labels[1] == "feature-selective"


def test_a_unit_answering_two_classes_alike_is_feature_selective():
    labels = np.repeat(np.arange(10), 3)
    two_classes = np.isin(labels, [3, 8]).astype(float)[:, None]  # index (1 - 1/9) / (1 + 1/9) = 0.8
    result = neurons.class_selectivity(two_classes, labels)
    assert result.index[0] == pytest.approx((1 - 1 / 9) / (1 + 1 / 9))
    assert result.dominance_ratio[0] == pytest.approx(1.0)
    assert result.labels == ["feature-selective"]


def test_selectivity_rejects_negative_activations_and_missing_classes():
    with pytest.raises(ValueError, match="non-negative"):
        neurons.class_selectivity(np.array([[-1.0], [1.0]]), np.array([0, 1]))
    with pytest.raises(ValueError, match="no images"):
        neurons.class_selectivity(np.ones((2, 1)), np.array([0, 2]), num_classes=3)


def test_selectivity_figure_counts_match_the_histogram():
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(5), 40)
    activations = rng.random((200, 30)) * (rng.random(30) < 0.9)  # some dead units
    activations[:, :5] += 3.0 * (labels[:, None] == np.arange(5))  # five selective units
    result = neurons.class_selectivity(activations, labels)
    figure = neurons.plot_selectivity(result, bins=10)
    heights = [patch.get_height() for patch in figure.axes[0].patches]
    expected, _ = np.histogram(result.index[~result.dead], bins=10, range=(0, 1))
    np.testing.assert_array_equal(heights, expected)
    assert figure.axes[0].lines[0].get_xdata()[0] == result.threshold
    assert f"{result.counts()['class-selective']} class-selective" in figure.axes[0].get_legend().texts[0].get_text()


# ---------------------------------------------------------------- real models
@pytest.fixture(scope="module")
def keras_mlp(digits):
    from emnist_tf.modeling import models

    (train_images, train_labels), _ = digits
    model = models.build_mlp(num_classes=10, hidden_units=(32, 16), batch_norm=False, dropout_rate=0.0, seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(train_images, train_labels, epochs=1, batch_size=64, verbose=0)
    return model


@pytest.fixture(scope="module")
def scratch_network(digits):
    (train_images, train_labels), _ = digits
    network = scratch.Network([784, 20, 10], seed=0)
    network.fit(train_images, train_labels, epochs=1, batch_size=10, learning_rate=3.0)
    return network


def test_keras_heatmaps_are_the_weights_in_image_orientation(keras_mlp, digits):
    _, (test_images, _) = digits
    kernel, bias = keras_mlp.get_layer("dense_1").get_weights()
    figure = neurons.plot_weight_heatmaps(keras_mlp, units=[0, 5, 7])
    for axes, unit in zip(figure.axes, [0, 5, 7]):
        image = axes.images[0]
        shown = np.asarray(image.get_array())
        np.testing.assert_array_equal(shown, kernel[:, unit].reshape(28, 28))
        assert image.norm.vmin == -image.norm.vmax == -np.abs(shown).max()  # centred on zero
        assert image.get_cmap().name == neurons.HEATMAP_COLORMAP
    # Weights drawn over the upright image give the unit's input: the heatmap is not transposed.
    image = test_images[0, :, :, 0]
    weights = neurons.first_layer_weights(keras_mlp)
    expected = unit_activations(keras_mlp, test_images[:1])[0, 5]
    assert max(float(np.sum(weights[5] * image) + bias[5]), 0.0) == pytest.approx(float(expected), abs=1e-4)


def test_heatmaps_of_a_scratch_network(scratch_network):
    figure = neurons.plot_weight_heatmaps(scratch_network, units=range(20), columns=5)
    assert len(figure.axes) == 20
    np.testing.assert_array_equal(figure.axes[13].images[0].get_array(), scratch_network.weights[0][13].reshape(28, 28))


def test_heatmaps_refuse_a_cnn():
    from emnist_tf.modeling import models

    cnn = models.build_cnn(
        num_classes=10, filters=(8,), convs_per_block=1, dense_units=8, batch_norm=False, dropout_rate=0.0, seed=0
    )
    with pytest.raises(ValueError, match="784"):
        neurons.first_layer_weights(cnn)


def test_portrait_from_saved_scratch_parameters(scratch_network, digits, tmp_path):
    _, (test_images, test_labels) = digits
    loaded = scratch.Network.load(scratch_network.save(tmp_path / "net.json"))
    unit = 3
    figure = neurons.plot_unit_portrait(loaded, unit, test_images, test_labels, class_names=data.class_names("digits"))
    heatmap_axes, *top_axes, bar_axes = figure.axes
    assert len(top_axes) == 8
    np.testing.assert_array_equal(heatmap_axes.images[0].get_array(), scratch_network.weights[0][unit].reshape(28, 28))
    activations = scratch_network.hidden_activations(scratch.to_vectors(test_images))
    top = np.argsort(-activations[:, unit], kind="stable")[:8]
    for axes, index in zip(top_axes, top):
        np.testing.assert_array_equal(axes.images[0].get_array(), test_images[index, :, :, 0])
    heights = np.array([patch.get_height() for patch in bar_axes.patches])
    expected = [activations[test_labels == label, unit].mean() for label in range(10)]
    np.testing.assert_allclose(heights, expected, rtol=1e-9)
    preferred = bar_axes.patches[int(np.argmax(expected))].get_facecolor()
    assert preferred != bar_axes.patches[(int(np.argmax(expected)) + 1) % 10].get_facecolor()


def test_portrait_of_a_deeper_keras_unit_uses_the_weighted_mean_image(keras_mlp, digits):
    from emnist_tf.modeling import models

    _, (test_images, test_labels) = digits
    layer = models.hidden_layer_names(keras_mlp)[1]
    activations = unit_activations(keras_mlp, test_images, layer)
    unit = int(np.argmax(activations.sum(axis=0)))  # a live unit
    figure = neurons.plot_unit_portrait(keras_mlp, unit, test_images, test_labels, layer=layer, activations=activations)
    pixels = test_images.reshape(len(test_images), -1).astype(np.float64)
    weights = activations[:, unit].astype(np.float64)
    expected = (weights @ pixels / weights.sum() - pixels.mean(axis=0)).reshape(28, 28)
    np.testing.assert_allclose(figure.axes[0].images[0].get_array(), expected, rtol=1e-6, atol=1e-9)
    assert "weighted mean" in figure.axes[0].get_title()
