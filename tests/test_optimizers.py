"""Optimisers by name, with their options, and clear errors for unknown names."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from emnist_tf.modeling.optimizers import OPTIMIZERS, make_optimizer
from emnist_tf.modeling.schedules import make_schedule

EXPECTED_CLASSES = {
    "sgd": keras.optimizers.SGD,
    "averaged_sgd": keras.optimizers.SGD,
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "rmsprop": keras.optimizers.RMSprop,
    "adagrad": keras.optimizers.Adagrad,
    "nadam": keras.optimizers.Nadam,
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_name_gives_its_keras_class(name):
    optimizer = make_optimizer(name, learning_rate=0.02)
    assert type(optimizer) is EXPECTED_CLASSES[name]
    assert float(optimizer.learning_rate) == pytest.approx(0.02)
    assert optimizer.use_ema == (name == "averaged_sgd")


def test_every_name_is_covered():
    assert set(OPTIMIZERS) == set(EXPECTED_CLASSES)


def test_sgd_momentum_and_nesterov():
    optimizer = make_optimizer("sgd", 0.1, momentum=0.5, nesterov=True)
    assert optimizer.momentum == pytest.approx(0.5) and optimizer.nesterov is True
    plain = make_optimizer("sgd", 0.1, momentum=0.0)
    assert plain.momentum == 0.0 and plain.nesterov is False


def test_ema_and_weight_decay_options():
    assert make_optimizer("adam", use_ema=True, ema_momentum=0.9).ema_momentum == pytest.approx(0.9)
    assert make_optimizer("adamw").weight_decay == pytest.approx(1e-4)
    assert make_optimizer("adamw", weight_decay=0.01).weight_decay == pytest.approx(0.01)
    assert make_optimizer("adam").weight_decay is None


def test_schedule_as_learning_rate():
    schedule = make_schedule("exponential", 0.1, steps_per_epoch=10, epochs=2)
    optimizer = make_optimizer("rmsprop", schedule)
    assert float(optimizer.learning_rate) == pytest.approx(0.1)


def _fit_line(optimizer_name):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer=make_optimizer(optimizer_name, 0.05, momentum=0.0, ema_momentum=0.5), loss="mse")
    x = np.ones((8, 2), "float32")
    model.fit(x, np.full((8, 1), 3.0, "float32"), batch_size=8, epochs=3, verbose=0, shuffle=False)
    return model.get_weights()[0]


def test_averaged_sgd_puts_the_average_in_the_model():
    plain, averaged = _fit_line("sgd"), _fit_line("averaged_sgd")
    # Both learn towards the target from zero, but the averaged weights lag behind the last step.
    assert (plain > 0).all() and (averaged > 0).all()
    assert (averaged < plain).all()


@pytest.mark.parametrize("name", ["SGD", "lbfgs", ""])
def test_unknown_name_lists_valid_ones(name):
    with pytest.raises(ValueError, match="sgd, averaged_sgd, adam, adamw, rmsprop, adagrad, nadam"):
        make_optimizer(name)


@pytest.mark.parametrize("options", [{"learning_rate": 0}, {"learning_rate": -1e-3}, {"momentum": 1.0}])
def test_bad_numbers_give_clear_errors(options):
    with pytest.raises(ValueError, match="must be"):
        make_optimizer("sgd", **options)
