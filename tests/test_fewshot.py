"""Few-shot episodes on unseen classes, prototype and linear-probe classifiers, CIs, table and figure."""

from __future__ import annotations

import numpy as np
import pytest

from emnist_tf import config
from emnist_tf.interpret import fewshot
from emnist_tf.interpret.activations import untrained_copy

SEED = 0


# ---------------------------------------------------------------- small unit tests (synthetic)


def test_episodes_use_only_the_given_classes_and_are_reproducible():
    labels = np.repeat(np.arange(12), 30)
    unseen = [2, 3, 5, 7, 8, 11]
    episodes = fewshot.make_episodes(labels, unseen, ways=4, shots=3, queries=5, episodes=50, seed=7)
    assert config.fast_mode() and len(episodes) == 50  # a primitive: fast mode does not cap it
    for episode in episodes:
        assert set(episode.classes) <= set(unseen) and len(set(episode.classes)) == 4
        assert set(labels[episode.support]) == set(episode.classes) == set(labels[episode.query])
        assert not set(episode.support) & set(episode.query)
        assert len(episode.support) == 12 and len(episode.query) == 20
        np.testing.assert_array_equal(episode.classes[episode.support_labels], labels[episode.support])
        np.testing.assert_array_equal(episode.classes[episode.query_labels], labels[episode.query])
    again = fewshot.make_episodes(labels, unseen, ways=4, shots=3, queries=5, episodes=50, seed=7)
    other = fewshot.make_episodes(labels, unseen, ways=4, shots=3, queries=5, episodes=50, seed=8)
    assert all(
        np.array_equal(a.support, b.support) and np.array_equal(a.query, b.query) for a, b in zip(episodes, again)
    )
    assert not all(np.array_equal(a.support, b.support) for a, b in zip(episodes, other))


def test_episodes_need_enough_examples_per_class():
    labels = np.repeat(np.arange(6), 10)
    with pytest.raises(ValueError, match="only 6 classes"):
        fewshot.make_episodes(labels, ways=7, shots=1, queries=5)
    with pytest.raises(ValueError, match="have 25 examples"):
        fewshot.make_episodes(labels, ways=5, shots=20, queries=5)


def test_held_out_and_select_classes():
    held_out = fewshot.held_out_classes(47, count=10, seed=3)
    assert len(set(held_out)) == 10 and held_out.max() < 47
    np.testing.assert_array_equal(held_out, fewshot.held_out_classes(47, count=10, seed=3))
    labels = np.arange(47).repeat(2)
    images = labels[:, None].astype(np.float32)
    seen = np.setdiff1d(np.arange(47), held_out)
    kept_images, kept_labels = fewshot.select_classes(images, labels, seen)
    assert set(kept_labels) == set(range(37))
    np.testing.assert_array_equal(seen[kept_labels], kept_images[:, 0].astype(int))
    _, original = fewshot.select_classes(images, labels, held_out, relabel=False)
    assert set(original) == set(held_out)


def test_classifiers_on_separable_features():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 10, size=(5, 8))
    labels = np.repeat(np.arange(5), 4)
    features = centres[labels] + rng.normal(0, 0.1, size=(20, 8))
    support, query = np.arange(20) % 4 == 0, np.arange(20) % 4 != 0
    for classify in (fewshot.prototype_accuracy, fewshot.linear_probe_accuracy):
        assert classify(features[support], labels[support], features[query], labels[query]) == 1.0
    wrong = (labels[query] + 1) % 5
    assert fewshot.prototype_accuracy(features[support], labels[support], features[query], wrong) == 0.0


def test_confidence_interval_matches_student_t():
    from scipy import stats

    values = np.array([0.5, 0.6, 0.55, 0.7, 0.65])
    low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    assert fewshot.confidence_interval(values) == pytest.approx((high - low) / 2)


# ---------------------------------------------------------------- real data: a CNN trained on seen classes


@pytest.fixture(scope="module")
def fewshot_results(emnist_dir):
    """A CNN trained on 37 balanced classes; few-shot on the 10 it never saw."""
    import keras

    from emnist_tf.data import load_arrays
    from emnist_tf.modeling.models import build_cnn
    from emnist_tf.modeling.training import compile_model

    images, labels = load_arrays("balanced", "train", data_dir=emnist_dir, limit=3000, seed=SEED)
    held_out = fewshot.held_out_classes(47, count=10, seed=SEED)
    seen = np.setdiff1d(np.arange(47), held_out)
    train_images, train_labels = fewshot.select_classes(images, labels, seen)
    pool_images, pool_labels = fewshot.select_classes(images, labels, held_out, relabel=False)
    keras.utils.set_random_seed(SEED)
    cnn = build_cnn(
        num_classes=len(seen),
        filters=(16, 32),
        convs_per_block=1,
        dense_units=128,
        batch_norm=False,
        dropout_rate=0.0,
        seed=SEED,
    )
    untrained = untrained_copy(cnn, seed=SEED)
    compile_model(cnn, learning_rate=2e-3)
    cnn.fit(train_images, train_labels, epochs=2, batch_size=16, verbose=0)
    features = {
        "pixels": fewshot.raw_pixels(pool_images),
        "untrained CNN": fewshot.embed(untrained, pool_images),
        "CNN": fewshot.embed(cnn, pool_images),
    }
    results = fewshot.evaluate_fewshot(
        features,
        pool_labels,
        held_out,
        shots=(1, 5, 10, 20),
        ways=5,
        queries=15,
        episodes=config.cap(100, "episodes"),
        seed=SEED,
    )
    return dict(
        cnn=cnn,
        untrained=untrained,
        held_out=held_out,
        train_labels=seen[train_labels],
        pool_images=pool_images,
        pool_labels=pool_labels,
        features=features,
        results=results,
    )


def test_pool_and_training_classes_are_disjoint(fewshot_results):
    held_out = set(fewshot_results["held_out"])
    assert not held_out & set(fewshot_results["train_labels"])
    assert set(fewshot_results["pool_labels"]) == held_out
    episodes = fewshot.make_episodes(fewshot_results["pool_labels"], ways=5, shots=5, episodes=5, seed=SEED)
    assert all(set(episode.classes) <= held_out for episode in episodes)


def test_embedding_is_the_last_hidden_layer(fewshot_results):
    cnn, untrained = fewshot_results["cnn"], fewshot_results["untrained"]
    assert fewshot.embedding_layer_name(cnn) == "dense_1_activation"
    assert fewshot_results["features"]["CNN"].shape[1] == 128
    assert not np.allclose(cnn.get_layer("dense_1").get_weights()[0], untrained.get_layer("dense_1").get_weights()[0])
    sets = fewshot.feature_sets({"CNN": cnn}, fewshot_results["pool_images"][:20], seed=SEED)
    assert list(sets) == ["pixels", "untrained CNN", "CNN"]
    for name, features in sets.items():
        np.testing.assert_allclose(features, fewshot_results["features"][name][:20], rtol=1e-5, atol=1e-6)
    again = untrained_copy(cnn, seed=SEED)
    np.testing.assert_array_equal(
        again.get_layer("conv_1").get_weights()[0], untrained.get_layer("conv_1").get_weights()[0]
    )


def test_trained_embedding_beats_raw_pixels_at_every_k(fewshot_results):
    by_key = {(r.features, r.classifier, r.shots): r for r in fewshot_results["results"]}
    for classifier in fewshot.CLASSIFIERS:
        for shots in (1, 5, 10, 20):
            trained, pixels = by_key[("CNN", classifier, shots)], by_key[("pixels", classifier, shots)]
            assert trained.accuracies.size == 20  # capped episodes, shared by both feature sets
            assert trained.mean > pixels.mean, (classifier, shots, trained.mean, pixels.mean)
            assert pixels.mean > 1 / 5 + 0.1  # the baseline itself is far above chance


def test_accuracy_grows_with_k_and_table_and_figure_report_it(fewshot_results):
    results = fewshot_results["results"]
    cnn = sorted((r for r in results if r.features == "CNN" and r.classifier == "prototype"), key=lambda r: r.shots)
    assert cnn[-1].mean > cnn[0].mean + 0.05
    assert all(0 < r.ci95 < 0.25 for r in results)
    table = fewshot.fewshot_table(results)
    lines = table.splitlines()
    assert lines[0] == "| features | classifier | K=1 | K=5 | K=10 | K=20 |"
    assert len(lines) == 2 + 3 * 2
    assert f"{cnn[0].mean:.3f} ± {cnn[0].ci95:.3f}" in table
    figure = fewshot.plot_fewshot(results)
    axes = figure.get_axes()
    assert len(axes) == 2
    assert [text.get_text() for text in axes[0].get_legend().get_texts()] == ["pixels", "untrained CNN", "CNN"]
