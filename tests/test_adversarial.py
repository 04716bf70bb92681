"""FGSM and PGD attacks, robust-accuracy curves, the gallery and adversarial training."""

from __future__ import annotations

import numpy as np
import pytest

from emnist_tf.robustness import adversarial, attacks
from emnist_tf.robustness.corruptions import accuracy

SEED = 0
TOLERANCE = 1e-6  # float32 rounding of x +- epsilon


@pytest.fixture(scope="module")
def data(emnist_dir):
    from emnist_tf.data import load_arrays

    train = load_arrays("balanced", "train", data_dir=emnist_dir, limit=3000, seed=SEED)
    test = load_arrays("balanced", "test", data_dir=emnist_dir, limit=300, seed=SEED)
    return train, test


def _train(model, images, labels, epochs=2):
    from emnist_tf.modeling.training import compile_model

    compile_model(model, learning_rate=2e-3)
    model.fit(images, labels, epochs=epochs, batch_size=32, verbose=0)
    return model


@pytest.fixture(scope="module")
def models(data):
    import keras

    from emnist_tf.modeling.models import build_cnn, build_mlp

    (images, labels), _ = data
    keras.utils.set_random_seed(SEED)
    mlp = _train(build_mlp(hidden_units=(128,), batch_norm=False, dropout_rate=0.0, seed=SEED), images, labels)
    cnn = _train(
        build_cnn(filters=(16, 32), convs_per_block=1, dense_units=64, batch_norm=False, dropout_rate=0.0, seed=SEED),
        images,
        labels,
    )
    return {"MLP": mlp, "CNN": cnn}


def _probabilities(model, images, classes):
    return np.asarray(model(images, training=False))[np.arange(len(classes)), classes]


def _assert_valid(adversarial_images, originals, epsilon):
    assert adversarial_images.shape == originals.shape and adversarial_images.dtype == np.float32
    assert adversarial_images.min() >= 0.0 and adversarial_images.max() <= 1.0
    assert np.abs(adversarial_images.astype(np.float64) - originals).max() <= epsilon + TOLERANCE


def test_every_adversarial_image_stays_within_epsilon_and_range(models, data):
    _, (images, labels) = data
    targets = (labels + 1) % 47
    for model in models.values():
        for epsilon in (0.03, 0.1):
            _assert_valid(adversarial.fgsm(model, images, labels, epsilon), images, epsilon)
            _assert_valid(adversarial.pgd(model, images, labels, epsilon, steps=10, seed=SEED), images, epsilon)
            _assert_valid(
                adversarial.pgd(
                    model, images, labels, epsilon, steps=10, target_labels=targets, step_size=epsilon, seed=SEED
                ),
                images,
                epsilon,
            )
    # a large step that overshoots must still be projected back onto the ball
    big = adversarial.pgd(models["MLP"], images, labels, 0.05, steps=3, step_size=0.5, seed=SEED)
    _assert_valid(big, images, 0.05)
    assert np.isclose(np.abs(big - images).max(), 0.05, atol=1e-6)


def test_epsilon_zero_changes_nothing(models, data):
    _, (images, labels) = data
    model = models["CNN"]
    np.testing.assert_array_equal(adversarial.fgsm(model, images, labels, 0.0), images)
    np.testing.assert_array_equal(adversarial.pgd(model, images, labels, 0.0, seed=SEED), images)
    curve = adversarial.robust_accuracy_curve(model, images, labels, [0.0], method="pgd")
    assert curve.accuracies[0] == pytest.approx(accuracy(model, images, labels))


def test_pgd_is_never_weaker_than_fgsm(models, data):
    _, (images, labels) = data
    epsilons = [0.02, 0.05, 0.1]
    for name, model in models.items():
        fgsm = adversarial.robust_accuracy_curve(model, images, labels, epsilons, method="fgsm")
        pgd = adversarial.robust_accuracy_curve(model, images, labels, epsilons, method="pgd", steps=20, seed=SEED)
        clean = accuracy(model, images, labels)
        assert np.all(pgd.accuracies <= fgsm.accuracies), (name, fgsm.accuracies, pgd.accuracies)
        assert np.all(fgsm.accuracies < clean), name
        assert np.all(np.diff(pgd.accuracies) <= 0), name
        assert pgd.accuracies[-1] < clean / 2, name
        # projected gradient steps alone (without trying the FGSM image) already beat FGSM here
        pure = adversarial.robust_accuracy(
            model, images, labels, 0.05, method="pgd", steps=20, include_fgsm=False, seed=SEED
        )
        assert pure < fgsm.accuracies[1], (name, pure, fgsm.accuracies[1])


def test_targeted_attack_raises_the_target_probability(models, data):
    _, (images, labels) = data
    targets = (labels + 1 + np.arange(len(labels)) % 46) % 47
    assert np.all(targets != labels)
    for name, model in models.items():
        before = _probabilities(model, images, targets)
        hits = {}
        for method, attacked in (
            ("fgsm", adversarial.fgsm(model, images, labels, 0.1, target_labels=targets)),
            ("pgd", adversarial.pgd(model, images, labels, 0.1, steps=10, target_labels=targets, seed=SEED)),
        ):
            after = _probabilities(model, attacked, targets)
            assert np.mean(after > before) > 0.9, (name, method)
            assert after.mean() > 2 * before.mean(), (name, method)
            hits[method] = np.mean(np.argmax(np.asarray(model(attacked, training=False)), axis=1) == targets)
        clean_hits = np.mean(np.argmax(np.asarray(model(images, training=False)), axis=1) == targets)
        assert hits["pgd"] >= hits["fgsm"] and hits["pgd"] > clean_hits + 0.05, (name, hits, clean_hits)


def test_pgd_is_reproducible_by_seed(models, data):
    _, (images, labels) = data
    model = models["MLP"]
    first = adversarial.pgd(model, images[:50], labels[:50], 0.05, steps=3, seed=4)
    np.testing.assert_array_equal(first, adversarial.pgd(model, images[:50], labels[:50], 0.05, steps=3, seed=4))
    assert not np.array_equal(first, adversarial.pgd(model, images[:50], labels[:50], 0.05, steps=3, seed=5))


def test_attacks_reject_bad_arguments(models, data):
    _, (images, labels) = data
    model = models["MLP"]
    with pytest.raises(ValueError, match="epsilon"):
        adversarial.fgsm(model, images, labels, 2.0)
    with pytest.raises(ValueError, match="unknown attack"):
        adversarial.robust_accuracy(model, images, labels, 0.1, method="deepfool")
    with pytest.raises(ValueError, match="one target class per image"):
        adversarial.pgd(model, images, labels, 0.1, target_labels=labels[:3])


def test_epsilon_figure_and_gallery(models, data):
    _, (images, labels) = data
    curves = {
        name: {"fgsm": adversarial.robust_accuracy_curve(model, images[:60], labels[:60], [0, 0.1], method="fgsm")}
        for name, model in models.items()
    }
    figure = adversarial.plot_epsilon_curves(curves)
    assert [line.get_label() for line in figure.get_axes()[0].get_lines()] == ["MLP FGSM", "CNN FGSM"]
    attacked = adversarial.pgd(models["CNN"], images[:6], labels[:6], 0.1, steps=10, seed=SEED)
    gallery = adversarial.plot_gallery(models["CNN"], images[:6], labels[:6], attacked, count=6)
    axes = gallery.get_axes()
    assert len(axes) == 18
    predicted = np.argmax(np.asarray(models["CNN"](attacked, training=False)), axis=1)
    assert [axis.get_title() for axis in axes[12:]] == [f"pred {value}" for value in predicted]


def test_adversarial_training_improves_robust_accuracy(data):
    """FGSM training against the same standard training: more robust at the training epsilon."""
    import keras

    from emnist_tf.modeling.models import build_mlp
    from emnist_tf.modeling.training import compile_model

    (images, labels), (test_images, test_labels) = data
    epsilon = 0.1

    def fresh():
        keras.utils.set_random_seed(SEED)
        return build_mlp(hidden_units=(128,), batch_norm=False, dropout_rate=0.0, seed=SEED)

    standard = fresh()
    compile_model(standard, learning_rate=2e-3)
    standard.fit(images, labels, epochs=1, batch_size=16, verbose=0)
    defended = fresh()
    result = adversarial.adversarial_training(
        defended, images, labels, epsilon=epsilon, method="fgsm", epochs=1, batch_size=16, learning_rate=2e-3, seed=SEED
    )
    assert result.model is defended and result.epochs_run == 1 and np.isfinite(result.history["loss"][0])
    assert result.settings["adversarial"]["method"] == "fgsm" and result.settings["train_examples"] == len(labels)
    table = adversarial.defence_table(
        {"standard": standard, "adversarial": defended}, test_images, test_labels, epsilon, steps=10
    )
    for method in ("fgsm", "pgd"):
        assert table["adversarial"][method] > table["standard"][method] + 0.03, (method, table)
        assert table["adversarial"][method] > 1.5 * table["standard"][method], (method, table)
    assert table["adversarial"]["clean"] > 0.2, table


def test_more_restarts_never_weaken_pgd(models, data):
    _, (images, labels) = data
    model = models["MLP"]
    options = dict(steps=5, include_fgsm=False, seed=SEED)
    once = adversarial.pgd(model, images[:150], labels[:150], 0.03, restarts=1, **options)
    twice = adversarial.pgd(model, images[:150], labels[:150], 0.03, restarts=2, **options)
    _assert_valid(twice, images[:150], 0.03)
    assert accuracy(model, twice, labels[:150]) <= accuracy(model, once, labels[:150])


def _tiny_run(images, labels, **options):
    import keras

    from emnist_tf.modeling.models import build_mlp

    keras.utils.set_random_seed(SEED)
    model = build_mlp(hidden_units=(16,), batch_norm=False, dropout_rate=0.0, seed=SEED)
    before = [weight.copy() for weight in model.get_weights()]
    options = dict(epsilon=0.1, epochs=1, batch_size=32, seed=SEED) | options
    return before, adversarial.adversarial_training(model, images[:256], labels[:256], **options)


@pytest.mark.parametrize("method", ["fgsm", "pgd"])
def test_adversarial_training_goes_through_the_recipe_with_class_weights_and_label_smoothing(data, method):
    (images, labels), _ = data
    before, zero_weighted = _tiny_run(
        images, labels, method=method, steps=2, class_weight=dict.fromkeys(range(47), 0.0)
    )
    assert zero_weighted.history["loss"][0] == 0.0  # every image weighs nothing: the weights reach the loss
    for old, new in zip(before, zero_weighted.model.get_weights()):
        np.testing.assert_array_equal(old, new)  # ... and the step: nothing moved
    _, plain = _tiny_run(images, labels, method=method, steps=2)
    _, smoothed = _tiny_run(images, labels, method=method, steps=2, label_smoothing=0.5)
    assert smoothed.settings["label_smoothing"] == 0.5 and smoothed.history["loss"][0] != plain.history["loss"][0]
    assert any(not np.array_equal(old, new) for old, new in zip(before, plain.model.get_weights()))
    expected = {"fgsm": {}, "pgd": dict(attacks.PGD().__dict__, steps=2) | adversarial.TRAINING_OPTIONS}[method]
    assert plain.settings["adversarial"]["options"] == expected  # Madry's training PGD: the last iterate


@pytest.fixture
def mixed_float16():
    import keras

    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy("mixed_float16")
    yield
    keras.mixed_precision.set_global_policy(previous)


def test_attacks_and_adversarial_training_under_mixed_precision(data, mixed_float16):
    (images, labels), _ = data
    _, result = _tiny_run(images, labels, method="pgd", steps=2)
    assert result.settings["precision"] == "mixed_float16" and np.isfinite(result.history["loss"][0])
    attacked = adversarial.pgd(result.model, images[:20], labels[:20], 0.1, steps=3, seed=SEED)
    _assert_valid(attacked, images[:20], 0.1)
    _assert_valid(adversarial.fgsm(result.model, images[:20], labels[:20], 0.1), images[:20], 0.1)


@pytest.mark.parametrize(("count", "fraction"), [(257, 0.5), (256, 0.0)])
def test_adversarial_training_with_batches_that_attack_no_image(data, count, fraction):
    """A last batch of one image at fraction 0.5 (rounds to none), or fraction 0: no empty batch reaches batch norm."""
    import keras

    from emnist_tf.modeling.models import build_cnn

    (images, labels), _ = data
    keras.utils.set_random_seed(SEED)
    model = build_cnn(filters=(4,), convs_per_block=1, dense_units=8, batch_norm=True, dropout_rate=0.0, seed=SEED)
    result = adversarial.adversarial_training(
        model,
        images[:count],
        labels[:count],
        epsilon=0.1,
        adversarial_fraction=fraction,
        epochs=1,
        batch_size=32,
        seed=SEED,
    )
    assert result.epochs_run == 1 and np.isfinite(result.history["loss"][0])
    assert result.settings["train_examples"] == count


# ---------------------------------------------------------------- the registry (synthetic images, untrained models)
def _untrained_mlp(seed=SEED):
    import keras

    from emnist_tf.modeling.models import build_mlp

    keras.utils.set_random_seed(seed)
    return build_mlp(hidden_units=(32,), batch_norm=False, dropout_rate=0.0, seed=seed)


def _synthetic(count=24, seed=SEED):
    rng = np.random.default_rng(seed)
    images = rng.random((count, 28, 28, 1)).astype(np.float32)
    images[: count // 3] = 0.0  # dark and saturated images: the [0, 1] clipping matters
    images[count // 3 : 2 * count // 3] = 1.0
    return images, rng.integers(0, 47, count)


def _small_options(method):
    return attacks.options_for(method, {"steps": 4, "restarts": 2})


@pytest.mark.parametrize("targeted", [False, True], ids=["untargeted", "targeted"])
@pytest.mark.parametrize("method", sorted(attacks.ATTACKS))
def test_every_attack_gives_the_same_images_eagerly_and_in_a_graph(precision, method, targeted):
    import tensorflow as tf

    assert set(attacks.ATTACKS) >= {"fgsm", "pgd"}
    model = _untrained_mlp()
    images, labels = _synthetic()
    classes = (labels + 5) % 47 if targeted else labels
    chosen = attacks.make_attack(method, **_small_options(method))
    target = adversarial.attacked_model(model, compiled=False)
    seed = adversarial.batch_seed(7, 0)

    def run(x, y):
        return chosen.perturb(target, x, y, epsilon=0.1, targeted=targeted, seed=seed)

    inputs = tf.constant(images), tf.constant(classes, tf.int64)
    eager = run(*inputs).numpy()
    graph = tf.function(run)(*inputs).numpy()
    through_the_library = adversarial.attack(
        model,
        images,
        labels,
        0.1,
        method=method,
        target_labels=classes if targeted else None,
        seed=7,
        **_small_options(method),
    )
    np.testing.assert_array_equal(eager, graph)
    np.testing.assert_array_equal(eager, through_the_library)
    _assert_valid(eager, images, 0.1)
    assert not np.array_equal(eager, images)


def test_pgd_random_start_is_clipped_to_the_unit_interval():
    """With a zero gradient PGD stays at its random start: inside the ball, inside [0, 1], and random."""
    import tensorflow as tf

    from emnist_tf.robustness.attacks import PGD, AttackedModel

    images = np.concatenate([np.zeros((4, 6, 6, 1)), np.ones((4, 6, 6, 1))]).astype(np.float32)
    classes = tf.zeros(8, tf.int64)
    flat = AttackedModel(
        gradient=lambda x, c: (tf.zeros_like(x), tf.one_hot(c, 3)),  # never fooled, never moved
        scores=lambda x: tf.one_hot(tf.zeros(tf.shape(x)[0], tf.int64), 3),
    )
    attack = PGD(steps=3, include_fgsm=False)
    started = attack.perturb(flat, tf.constant(images), classes, epsilon=0.2, targeted=False, seed=[1, 2]).numpy()
    _assert_valid(started, images, 0.2)
    assert 0 < np.mean(started[:4] > 0) < 1 and 0 < np.mean(started[4:] < 1) < 1  # half the noise was clipped
    again = attack.perturb(flat, tf.constant(images), classes, epsilon=0.2, targeted=False, seed=[1, 2]).numpy()
    other = attack.perturb(flat, tf.constant(images), classes, epsilon=0.2, targeted=False, seed=[1, 3]).numpy()
    np.testing.assert_array_equal(started, again)
    assert not np.array_equal(started, other)


def test_pgd_without_its_extras_is_the_textbook_algorithm(precision):
    """No random start, no FGSM try, the last iterate: the plain loop a student writes from FGSM."""
    import keras
    import tensorflow as tf

    model = _untrained_mlp()
    images, labels = _synthetic()
    epsilon, step_size, steps = 0.1, 0.03, 5
    attacked = adversarial.pgd(
        model,
        images,
        labels,
        epsilon,
        steps=steps,
        step_size=step_size,
        random_start=False,
        include_fgsm=False,
        keep_first_success=False,
    )
    logits = keras.Model(model.inputs, model.get_layer("logits").output)
    current = tf.constant(images)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            tape.watch(current)
            loss = keras.losses.sparse_categorical_crossentropy(
                labels, tf.cast(logits(current), tf.float32), from_logits=True
            )
        stepped = current + step_size * tf.sign(tape.gradient(loss, current))
        current = tf.clip_by_value(tf.clip_by_value(stepped, images - epsilon, images + epsilon), 0.0, 1.0)
    np.testing.assert_allclose(attacked, current.numpy(), atol=1e-6)
    _assert_valid(attacked, images, epsilon)


def test_make_attack_and_register_reject_bad_input():
    with pytest.raises(ValueError, match="unknown attack 'deepfool'; choose one of fgsm, pgd"):
        attacks.make_attack("deepfool")
    with pytest.raises(ValueError, match="the fgsm attack takes no option steps"):
        attacks.make_attack("fgsm", steps=3)
    with pytest.raises(ValueError, match="steps must be at least 1"):
        attacks.make_attack("pgd", steps=0)
    assert attacks.make_attack("pgd", steps=3, restarts=2) == attacks.PGD(steps=3, restarts=2)
    assert attacks.options_for("fgsm", {"steps": 3}) == {} and attacks.options_for("pgd", {"steps": 3}) == {"steps": 3}

    class Unnamed(attacks.Attack):
        pass

    with pytest.raises(TypeError, match="non-empty name"):
        attacks.register(Unnamed)

    class AnotherFgsm(attacks.FGSM):
        pass

    with pytest.raises(ValueError, match="already registered"):
        attacks.register(AnotherFgsm)
    assert attacks.ATTACKS["fgsm"] is attacks.FGSM


def test_a_class_defined_again_replaces_its_earlier_version():
    """A notebook cell that defines and registers an attack can be run twice."""

    def cell():
        @attacks.register
        class Unchanged(attacks.Attack):
            name = "unchanged"

            def perturb(self, target, images, classes, *, epsilon, targeted, seed):
                return images

        return Unchanged

    try:
        first, second = cell(), cell()
        assert first is not second and attacks.ATTACKS["unchanged"] is second
    finally:
        attacks.ATTACKS.pop("unchanged", None)


@pytest.fixture
def toy_attack():
    """A registered toy attack (a random corner of the ball), removed after the test."""
    import dataclasses

    import tensorflow as tf

    @attacks.register
    @dataclasses.dataclass(frozen=True)
    class RandomCorner(attacks.Attack):
        name = "random_corner"
        scale: float = 1.0

        def perturb(self, target, images, classes, *, epsilon, targeted, seed):
            corner = tf.sign(tf.random.stateless_uniform(tf.shape(images), seed, -1.0, 1.0))
            return attacks.project(images + self.scale * epsilon * corner, images, epsilon)

    yield RandomCorner
    del attacks.ATTACKS[RandomCorner.name]


def test_adversarial_training_accepts_any_registered_attack(toy_attack, precision):
    images, labels = _synthetic(96)

    def run(**options):
        model = _untrained_mlp()
        options = dict(epsilon=0.2, epochs=1, batch_size=32, seed=SEED) | options
        return adversarial.adversarial_training(model, images, labels, **options)

    toy = run(method="random_corner", steps=3)  # steps: only for the attacks that take it
    assert toy.settings["adversarial"]["method"] == "random_corner"
    assert toy.settings["adversarial"]["options"] == {"scale": 1.0}
    assert toy.settings["precision"] == precision and np.isfinite(toy.history["loss"][0])
    clean = run(method="random_corner", adversarial_fraction=0.0)
    fgsm = run(method="fgsm")
    assert toy.history["loss"][0] != clean.history["loss"][0]  # the attack changed the batches...
    assert toy.history["loss"][0] != fgsm.history["loss"][0]  # ... and it was the toy attack, not FGSM
    again = run(method=toy_attack(scale=1.0))  # an attack object works as well as its name
    assert again.history["loss"][0] == pytest.approx(toy.history["loss"][0])
    table = adversarial.defence_table({"toy": toy.model}, images[:20], labels[:20], 0.1, steps=2)
    assert set(table["toy"]) == {"clean", "fgsm", "pgd", "random_corner"}
    with pytest.raises(ValueError, match="no attack among fgsm takes steps"):
        adversarial.defence_table({"toy": toy.model}, images[:20], labels[:20], 0.1, methods=["fgsm"], steps=2)
