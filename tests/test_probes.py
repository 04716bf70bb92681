"""Representations across depth: linear read-outs, separability, 2-D maps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from emnist_tf import data
from emnist_tf.interpret import activations, probes
from emnist_tf.modeling import models


# ---------------------------------------------------------------- numbers on constructed inputs
def test_conv_features_are_block_averages():
    values = np.arange(2 * 4 * 4 * 3, dtype=np.float32).reshape(2, 4, 4, 3)
    features = probes.to_features(values, max_features=12)  # 4x4x3 = 48 > 12, window 2 -> 2x2x3
    expected = values.reshape(2, 2, 2, 2, 2, 3).mean(axis=(2, 4)).reshape(2, -1)
    np.testing.assert_allclose(features, expected)
    odd = np.arange(25, dtype=np.float32).reshape(1, 5, 5, 1)
    pooled = probes.to_features(odd, max_features=9).reshape(3, 3)  # window 2, edge windows partial
    assert pooled[0, 0] == pytest.approx(np.mean([0, 1, 5, 6]))
    assert pooled[2, 2] == pytest.approx(24.0)
    assert pooled[0, 2] == pytest.approx(np.mean([4, 9]))
    assert probes.to_features(values, max_features=48).shape == (2, 48)  # fits: no pooling


@pytest.mark.parametrize("shape", [(28, 28, 16), (14, 14, 32), (7, 7, 64)])
def test_pool_size_is_the_smallest_that_fits(shape):
    window = probes.pool_size_for(shape, 512)
    size = lambda w: math.ceil(shape[0] / w) * math.ceil(shape[1] / w) * shape[2]  # noqa: E731
    assert size(window) <= 512
    assert window == 1 or size(window - 1) > 512


def test_fisher_ratio_of_constructed_classes():
    features = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 0.0], [12.0, 0.0]])
    labels = np.array([0, 0, 1, 1])
    # means 1 and 11, overall 6: between = 2*25 + 2*25 = 100; within = 4 * 1 = 4
    assert probes.fisher_ratio(features, labels) == pytest.approx(100 / 4)
    assert probes.fisher_ratio(features, np.array([0, 1, 0, 1])) < 0.1


def test_unknown_map_method_is_refused():
    with pytest.raises(ValueError, match="pca, tsne"):
        probes.embed_2d(np.zeros((5, 3)), method="umap")


# ---------------------------------------------------------------- a briefly trained CNN on real balanced images
@pytest.fixture(scope="module")
def balanced(emnist_dir):
    train = data.load_arrays("balanced", "train", data_dir=emnist_dir, limit=3000, seed=0)
    test = data.load_arrays("balanced", "test", data_dir=emnist_dir, limit=1000, seed=0)
    return train, test


@pytest.fixture(scope="module")
def trained_cnn(balanced):
    (train_images, train_labels), _ = balanced
    model = models.build_cnn(
        num_classes=47, filters=(16, 32), convs_per_block=1, dense_units=64, batch_norm=False, dropout_rate=0.0, seed=0
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(train_images, train_labels, epochs=2, batch_size=64, verbose=0)
    return model


@pytest.fixture(scope="module")
def depth_probes(trained_cnn, balanced):
    (train_images, train_labels), (test_images, test_labels) = balanced
    keep = data.stratified_subsample(train_labels, 1000, seed=0)  # probes fit on 1,000 of the CNN's images
    return probes.readout_by_depth(
        trained_cnn,
        train_images[keep],
        train_labels[keep],
        test_images,
        test_labels,
        max_features=512,
        max_iter=100,
        seed=0,
    )


def test_probes_cover_pixels_and_every_hidden_layer(depth_probes, trained_cnn):
    assert [probe.layer for probe in depth_probes] == ["pixels", *models.hidden_layer_names(trained_cnn)]
    assert [probe.depth for probe in depth_probes] == list(range(len(depth_probes)))
    assert depth_probes[0].untrained_readout == depth_probes[0].trained_readout  # pixels are not trained
    assert all(probe.features <= 512 for probe in depth_probes[1:])  # conv maps pooled to max_features


def test_readout_rises_from_pixels_to_the_last_hidden_layer(depth_probes):
    pixels, last = depth_probes[0], depth_probes[-1]
    assert last.trained_readout > pixels.trained_readout + 0.05
    assert last.fisher > pixels.fisher  # classes pulled apart relative to their spread


def test_training_beats_the_untrained_copy_at_the_last_hidden_layer(depth_probes):
    # After two short epochs the convolutional layers read out about as well as random
    # ones (random convolutions are good features); the dense layer is where training
    # shows robustly, so the trend is asserted there only.
    last = depth_probes[-1]
    assert last.trained_readout > last.untrained_readout + 0.05


def test_readout_figure_draws_the_measured_numbers(depth_probes):
    figure = probes.plot_readout_by_depth(depth_probes)
    lines = {line.get_label(): line for line in figure.axes[0].lines}
    np.testing.assert_allclose(lines["trained"].get_ydata(), [probe.trained_readout for probe in depth_probes])
    np.testing.assert_allclose(lines["untrained"].get_ydata(), [probe.untrained_readout for probe in depth_probes])
    np.testing.assert_allclose(lines["k-NN (trained)"].get_ydata(), [probe.knn for probe in depth_probes])
    assert [label.get_text() for label in figure.axes[0].get_xticklabels()] == [probe.layer for probe in depth_probes]


def test_layer_maps_draw_the_pca_and_tsne_coordinates(trained_cnn, balanced):
    from sklearn.decomposition import PCA

    _, (test_images, test_labels) = balanced
    keep = data.stratified_subsample(test_labels, 240, seed=0)
    images, labels = test_images[keep], test_labels[keep]
    last = models.hidden_layer_names(trained_cnn)[-1]
    representations = {
        "pixels": images.reshape(len(images), -1),
        **activations.layer_activations(trained_cnn, images, [last]),
    }
    figure, maps = probes.plot_layer_maps(representations, labels, method="pca")
    expected = PCA(n_components=2).fit_transform(representations[last].astype(np.float64))
    np.testing.assert_allclose(np.abs(maps[last]), np.abs(expected), rtol=1e-4, atol=1e-4)  # PCA signs are arbitrary
    for axes, name in zip(figure.axes, maps):
        scatter = axes.collections[0]
        np.testing.assert_allclose(scatter.get_offsets(), maps[name])
        np.testing.assert_array_equal(scatter.get_array(), labels)
    tsne_figure, tsne_maps = probes.plot_layer_maps({last: representations[last]}, labels, method="tsne", seed=0)
    assert tsne_maps[last].shape == (240, 2) and np.all(np.isfinite(tsne_maps[last]))
    np.testing.assert_allclose(tsne_figure.axes[0].collections[0].get_offsets(), tsne_maps[last])
    # Same class, nearby points: the 2-D map of the trained layer keeps neighbours together.
    from sklearn.neighbors import KNeighborsClassifier

    neighbours = KNeighborsClassifier(n_neighbors=1).fit(tsne_maps[last][::2], labels[::2])
    assert neighbours.score(tsne_maps[last][1::2], labels[1::2]) > 3 / 47
