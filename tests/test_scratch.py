"""The NumPy network from scratch: gradients, training on real EMNIST, JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emnist_tf import config, data, scratch

CONFIGURATIONS = [
    ("sigmoid", "quadratic", "sigmoid"),
    ("sigmoid", "cross_entropy", "sigmoid"),
    ("relu", "quadratic", "sigmoid"),
    ("relu", "cross_entropy", "softmax"),
]


def _tiny_batch(seed: int = 1, features: int = 7, classes: int = 3, batch: int = 6):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(batch, features)), scratch.one_hot(rng.integers(0, classes, batch), classes)


@pytest.mark.parametrize(("activation", "cost", "output"), CONFIGURATIONS)
def test_backprop_matches_finite_differences_and_gradient_tape(activation, cost, output):
    network = scratch.Network([7, 5, 4, 3], activation=activation, cost=cost, output_activation=output, seed=2)
    inputs, targets = _tiny_batch()
    errors = scratch.gradient_check(network, inputs, targets)
    assert errors["finite_differences"] < 1e-6
    assert errors["tensorflow"] < 1e-6


def test_gradient_check_detects_a_wrong_gradient(monkeypatch):
    network = scratch.Network([7, 5, 3], seed=0)
    inputs, targets = _tiny_batch()
    correct = scratch.Network.backprop

    def off_by_half(self, x, y):
        weights, biases = correct(self, x, y)
        return [0.5 * weights[0]] + weights[1:], biases

    monkeypatch.setattr(scratch.Network, "backprop", off_by_half)
    errors = scratch.gradient_check(network, inputs, targets)
    assert errors["finite_differences"] > 0.1 and errors["tensorflow"] > 0.1


def test_textbook_loop_gives_the_same_weights_as_the_vectorised_epoch():
    rng = np.random.default_rng(0)
    inputs, targets = rng.random((53, 12)), scratch.one_hot(rng.integers(0, 4, 53), 4)
    vectorised, textbook = (scratch.Network([12, 6, 4], seed=3) for _ in range(2))
    vectorised.train_epoch(inputs, targets, batch_size=10, learning_rate=0.5, rng=np.random.default_rng(9))
    textbook.train_epoch_per_example(inputs, targets, batch_size=10, learning_rate=0.5, rng=np.random.default_rng(9))
    for first, second in zip(vectorised.weights + vectorised.biases, textbook.weights + textbook.biases):
        np.testing.assert_allclose(first, second, rtol=1e-10, atol=1e-12)
    assert not np.allclose(vectorised.weights[0], scratch.Network([12, 6, 4], seed=3).weights[0])


def test_bad_arguments_raise_value_errors():
    with pytest.raises(ValueError, match="softmax"):
        scratch.Network([4, 2], cost="quadratic", output_activation="softmax")
    with pytest.raises(ValueError, match="activation"):
        scratch.Network([4, 2], activation="tanh")
    with pytest.raises(ValueError, match="sizes"):
        scratch.Network([4])
    with pytest.raises(ValueError, match="class indices"):
        scratch.one_hot(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="784"):
        scratch.Network([784, 3]).predict(np.zeros((2, 10)))
    with pytest.raises(ValueError, match="float64"):
        scratch.gradient_check(scratch.Network([3, 2], dtype=np.float32), np.zeros((1, 3)), np.zeros((1, 2)))


@pytest.fixture(scope="module")
def trained_digits(digits):
    (train_images, train_labels), (test_images, test_labels) = digits
    network = scratch.Network([784, 30, 10], activation="sigmoid", cost="quadratic", seed=0)
    history = network.fit(
        train_images,
        train_labels,
        epochs=config.cap(3, "epochs"),
        batch_size=10,
        learning_rate=3.0,
        test_data=(test_images, test_labels),
        seed=0,
    )
    return network, history


def test_classic_recipe_beats_chance_on_real_digits(trained_digits, digits):
    network, history = trained_digits
    (_, train_labels), (test_images, test_labels) = digits
    assert len(train_labels) <= 3000  # fast mode: a small real subset
    assert history.best_test_accuracy > 0.7  # chance is 0.1
    assert history.test_accuracy[-1] == pytest.approx(network.accuracy(scratch.to_vectors(test_images), test_labels))
    untrained = scratch.Network([784, 30, 10], seed=0).accuracy(scratch.to_vectors(test_images), test_labels)
    assert history.best_test_accuracy > untrained + 0.4


def test_relu_cross_entropy_trains_on_real_letters(emnist_dir):
    train_images, train_labels = data.load_arrays("letters", "train", data_dir=emnist_dir, limit=3000, seed=0)
    test_images, test_labels = data.load_arrays("letters", "test", data_dir=emnist_dir, limit=1000, seed=0)
    assert train_labels.min() == 0 and train_labels.max() == 25
    network = scratch.Network(
        [784, 40, 26], activation="relu", cost="cross_entropy", output_activation="softmax", seed=0
    )
    history = network.fit(
        train_images,
        train_labels,
        epochs=config.cap(2, "epochs"),
        batch_size=10,
        learning_rate=0.1,
        test_data=(test_images, test_labels),
        seed=0,
    )
    assert history.best_test_accuracy > 0.3  # chance is 1/26
    assert history.train_cost[-1] < np.log(26)  # below the cost of a uniform guess


def test_json_round_trip_gives_identical_outputs(trained_digits, digits, tmp_path):
    network, _ = trained_digits
    (_, _), (test_images, _) = digits
    path = network.save(tmp_path / "network.json")
    saved = json.loads(path.read_text())
    assert saved["sizes"] == [784, 30, 10] and saved["activation"] == "sigmoid"
    loaded = scratch.Network.load(path)
    inputs = scratch.to_vectors(test_images[:200])
    np.testing.assert_array_equal(loaded.predict(inputs), network.predict(inputs))
    assert (loaded.cost, loaded.output_activation) == (network.cost, network.output_activation)


def test_loading_something_else_raises(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"format": "keras"}))
    with pytest.raises(ValueError, match="not a saved scratch network"):
        scratch.Network.load(path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not a JSON file"):
        scratch.Network.load(path)
