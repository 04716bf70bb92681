"""Fast mode is decided at the edges: primitives do exactly what their arguments say, even in fast mode."""

from __future__ import annotations

import numpy as np

from emnist_tf import config, scratch


def test_fast_mode_is_on_and_would_cap_these_values():
    assert config.fast_mode()
    assert config.cap(40, "steps") < 40 and config.cap(2, "epochs") < 2 and config.cap(30, "steps") < 30


def test_scratch_fit_runs_every_epoch_asked_for():
    rng = np.random.default_rng(0)
    inputs, labels = rng.random((40, 6)), rng.integers(0, 3, 40)
    history = scratch.Network([6, 5, 3], seed=0).fit(inputs, labels, epochs=2, batch_size=10, learning_rate=0.5)
    assert len(history.train_cost) == len(history.epoch_seconds) == 2


def _tiny_classifier(seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4, 4, 1))
    hidden = keras.layers.Activation("relu", name="hidden_activation")(
        keras.layers.Dense(3)(keras.layers.Flatten()(inputs))
    )
    logits = keras.layers.Dense(2, name="logits")(hidden)
    return keras.Model(inputs, keras.layers.Softmax()(logits))


def test_pgd_takes_every_step_asked_for(monkeypatch):
    from emnist_tf.robustness import adversarial

    calls = []
    real = adversarial.loss_gradient_function

    def counting(model):
        function = real(model)

        def gradient_and_scores(images, classes):
            calls.append(1)
            return function(images, classes)

        return gradient_and_scores

    monkeypatch.setattr(adversarial, "loss_gradient_function", counting)
    images = np.random.default_rng(0).random((3, 4, 4, 1)).astype(np.float32)
    adversarial.pgd(_tiny_classifier(), images, np.array([0, 1, 0]), 0.01, steps=40, include_fgsm=False, seed=0)
    assert len(calls) == 40


def test_maximize_takes_every_step_asked_for():
    from emnist_tf.interpret.features import maximize

    class CountSteps:
        steps_seen = 0

        def on_step(self, step, scores):
            self.steps_seen += 1

    counter = CountSteps()
    result = maximize(_tiny_classifier(), "logits", [0], starts=1, steps=30, callbacks=[counter], seed=0)
    assert counter.steps_seen == result.steps == 30


def test_cap_says_once_when_it_lowers_a_value_the_user_set(capsys):
    assert config.cap(500, "steps", say="PGD steps") == config.FAST_LIMITS.steps
    assert config.cap(5, "steps", say="PGD steps") == 5
    assert config.cap(None, "steps", say="PGD steps") == config.FAST_LIMITS.steps
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [f"fast mode: PGD steps capped at {config.FAST_LIMITS.steps} (asked for 500)"]
