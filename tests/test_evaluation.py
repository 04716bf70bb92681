"""Tests of emnist_tf.evaluation: metrics against scikit-learn, confusion matrix, pairs, figures, runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.image import imread
from sklearn import metrics as sk

from emnist_tf.evaluation import (
    classification_metrics,
    classification_report_text,
    comparison_table,
    confusion_matrix,
    cross_entropy,
    evaluate_predictions,
    format_comparison,
    format_confused_pairs,
    most_confused_pairs,
    per_class_report,
    plot_comparison,
    plot_confusion_matrix,
    plot_history,
    plot_predictions,
    save_figure,
)
from emnist_tf.evaluation.figures import CORRECT_COLOR, WRONG_COLOR

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NAMES_47 = list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabdefghnqrt")


def _noisy_predictions(num_classes=7, examples=300, error_rate=0.3, seed=0):
    """Labels and predictions where some classes are confused more than others."""
    generator = np.random.default_rng(seed)
    true_labels = generator.integers(0, num_classes, size=examples)
    predicted = true_labels.copy()
    wrong = generator.random(examples) < error_rate * (1 + true_labels) / num_classes
    predicted[wrong] = generator.integers(0, num_classes, size=int(wrong.sum()))
    return true_labels, predicted


def _is_png(path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG_SIGNATURE and imread(path).ndim == 3


# --- metrics ------------------------------------------------------------------------------------


def test_classification_metrics_agree_with_scikit_learn():
    true_labels, predicted = _noisy_predictions(num_classes=9)
    labels = np.arange(9)
    result = classification_metrics(true_labels, predicted, num_classes=9)
    assert result["accuracy"] == pytest.approx(sk.accuracy_score(true_labels, predicted))
    for average in ("macro", "weighted"):
        options = {"labels": labels, "average": average, "zero_division": 0}
        assert result[f"precision_{average}"] == pytest.approx(sk.precision_score(true_labels, predicted, **options))
        assert result[f"recall_{average}"] == pytest.approx(sk.recall_score(true_labels, predicted, **options))
        assert result[f"f1_{average}"] == pytest.approx(sk.f1_score(true_labels, predicted, **options))
    assert result["examples"] == len(true_labels)


def test_macro_average_counts_classes_absent_from_the_predictions():
    true_labels = np.array([0, 0, 1, 1])
    predicted = np.array([0, 0, 1, 1])
    perfect = classification_metrics(true_labels, predicted)
    over_four = classification_metrics(true_labels, predicted, num_classes=4)
    assert perfect["f1_macro"] == pytest.approx(1.0)
    assert over_four["f1_macro"] == pytest.approx(0.5)
    assert over_four["accuracy"] == pytest.approx(1.0)


def test_per_class_report_matches_scikit_learn_report():
    true_labels, predicted = _noisy_predictions(num_classes=5, seed=3)
    names = ["O", "0", "l", "1", "I"]
    report = per_class_report(true_labels, predicted, names)
    expected = sk.classification_report(
        true_labels, predicted, labels=range(5), target_names=names, output_dict=True, zero_division=0
    )
    assert [entry["name"] for entry in report] == names
    for entry in report:
        reference = expected[entry["name"]]
        assert entry["precision"] == pytest.approx(reference["precision"])
        assert entry["recall"] == pytest.approx(reference["recall"])
        assert entry["f1"] == pytest.approx(reference["f1-score"])
        assert entry["support"] == reference["support"]


def test_text_report_and_pair_table_carry_the_same_numbers():
    true_labels, predicted = _noisy_predictions(num_classes=5, seed=4)
    names = ["O", "0", "l", "1", "I"]
    text = classification_report_text(true_labels, predicted, names)
    expected = sk.classification_report(
        true_labels, predicted, labels=range(5), target_names=names, digits=3, zero_division=0
    )
    assert text == expected
    pairs = most_confused_pairs(confusion_matrix(true_labels, predicted, num_classes=5), names, top=3)
    lines = format_confused_pairs(pairs).splitlines()
    assert len(lines) == 4
    first = lines[1].split()
    assert first[:3] == [pairs[0]["true"], pairs[0]["predicted"], str(pairs[0]["count"])]
    assert first[3] == f"{100 * pairs[0]['rate']:.1f}%"


def test_confusion_matrix_counts_and_row_normalisation():
    true_labels = np.array([0, 0, 0, 1, 1, 2])
    predicted = np.array([0, 1, 1, 1, 2, 2])
    counts = confusion_matrix(true_labels, predicted, num_classes=4)
    assert counts.tolist() == [[1, 2, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    rates = confusion_matrix(true_labels, predicted, num_classes=4, normalize="true")
    np.testing.assert_allclose(rates[:3].sum(axis=1), 1.0)
    np.testing.assert_allclose(rates[0], [1 / 3, 2 / 3, 0, 0])
    assert rates[3].sum() == 0  # a class without examples stays zero instead of NaN


def test_most_confused_pairs_are_sorted_by_count_then_rate():
    names = ["O", "0", "l", "1", "I"]
    counts = np.array(
        [
            [50, 12, 0, 0, 0],  # O -> 0: 12 of 62
            [9, 80, 0, 0, 0],  # 0 -> O: 9 of 89
            [0, 0, 30, 9, 7],  # l -> 1: 9 of 46 (same count as 0 -> O, higher rate); l -> I: 7 of 46
            [0, 0, 2, 60, 0],
            [0, 0, 7, 1, 30],  # I -> l: 7 of 38 (ties with l -> I, 7 of 46, on count; higher rate)
        ]
    )
    pairs = most_confused_pairs(counts, names, top=5)
    assert [(pair["true"], pair["predicted"]) for pair in pairs] == [
        ("O", "0"),
        ("l", "1"),
        ("0", "O"),
        ("I", "l"),
        ("l", "I"),
    ]
    assert [pair["count"] for pair in pairs] == [12, 9, 9, 7, 7]
    assert pairs[0]["rate"] == pytest.approx(12 / 62)
    assert all(pair["true"] != pair["predicted"] for pair in most_confused_pairs(counts, names, top=20))
    assert len(most_confused_pairs(np.diag([3, 4]), ["a", "b"])) == 0


def test_cross_entropy_matches_scikit_learn_log_loss():
    generator = np.random.default_rng(1)
    probabilities = generator.dirichlet(np.ones(6), size=50)
    true_labels = generator.integers(0, 6, size=50)
    expected = sk.log_loss(true_labels, probabilities, labels=range(6))
    assert cross_entropy(true_labels, probabilities) == pytest.approx(expected, rel=1e-6)


def test_evaluate_predictions_combines_metrics_pairs_and_matrix():
    generator = np.random.default_rng(2)
    true_labels = generator.integers(0, 47, size=400)
    probabilities = generator.dirichlet(np.ones(47) * 0.3, size=400)
    result = evaluate_predictions(true_labels, probabilities, NAMES_47)
    predicted = probabilities.argmax(axis=1)
    assert result["accuracy"] == pytest.approx(sk.accuracy_score(true_labels, predicted))
    assert np.array_equal(
        np.array(result["confusion_matrix"]), sk.confusion_matrix(true_labels, predicted, labels=range(47))
    )
    assert len(result["per_class"]) == 47
    assert result["most_confused"][0]["count"] == max(
        count for (row, column), count in np.ndenumerate(np.array(result["confusion_matrix"])) if row != column
    )
    json.dumps(result)  # must be JSON-serialisable as it goes to metrics.json


@pytest.mark.parametrize(
    "true_labels, predicted, options, message",
    [
        ([0, 1, 2], [0, 1], {}, "same examples"),
        ([0.0, 1.0], [0, 1], {}, "integer"),
        ([0, 5], [0, 1], {"num_classes": 3}, "0..2"),
        ([], [], {}, "empty"),
        ([0, 1], [0, 1], {"normalize": "rows"}, "normalize"),
    ],
)
def test_bad_inputs_raise_value_errors_that_say_what_to_do(true_labels, predicted, options, message):
    with pytest.raises(ValueError, match=message):
        confusion_matrix(np.array(true_labels), np.array(predicted), **options)


def test_most_confused_pairs_rejects_mismatched_names():
    with pytest.raises(ValueError, match="class names"):
        most_confused_pairs(np.eye(3, dtype=int), ["a", "b"])


def test_evaluate_predictions_rejects_probabilities_of_another_split():
    with pytest.raises(ValueError, match="47 classes"):
        evaluate_predictions(np.array([0, 1]), np.full((2, 10), 0.1), NAMES_47)


# --- figures ------------------------------------------------------------------------------------


def test_confusion_matrix_figure_labels_every_class_with_its_character(tmp_path):
    true_labels, predicted = _noisy_predictions(num_classes=47, examples=2000)
    counts = confusion_matrix(true_labels, predicted, num_classes=47)
    figure = plot_confusion_matrix(counts, NAMES_47, normalize=True)
    axes = figure.axes[0]
    assert [tick.label1.get_text() for tick in axes.xaxis.get_major_ticks()] == NAMES_47
    assert [tick.label2.get_text() for tick in axes.xaxis.get_major_ticks()] == NAMES_47  # top too
    assert [tick.label1.get_text() for tick in axes.yaxis.get_major_ticks()] == NAMES_47
    shown = axes.images[0].get_array()
    np.testing.assert_allclose(np.asarray(shown).sum(axis=1), 1.0)
    assert figure.get_size_inches()[1] >= 12  # readable at 47 classes
    raw = plot_confusion_matrix(counts, NAMES_47, normalize=False).axes[0].images[0].get_array()
    assert np.array_equal(np.asarray(raw), counts)
    assert _is_png(save_figure(figure, tmp_path / "confusion.png"))


def test_predictions_figure_marks_wrong_predictions_red(tmp_path):
    generator = np.random.default_rng(0)
    images = generator.random((8, 28, 28, 1)).astype("float32")
    true_labels = np.array([0, 1, 2, 3, 4, 5, 6, 7])
    predicted = np.array([0, 9, 2, 3, 8, 5, 6, 7])  # the 2nd and 5th are wrong
    probabilities = np.full((8, 10), 0.02)
    probabilities[np.arange(8), predicted] = 0.82
    figure = plot_predictions(images, true_labels, probabilities, list("0123456789"))
    panels = [axes for axes in figure.axes if axes.images]
    assert len(panels) == 6
    colors = [to_hex(axes.title.get_color()) for axes in panels]
    assert colors == [CORRECT_COLOR, WRONG_COLOR, CORRECT_COLOR, CORRECT_COLOR, WRONG_COLOR, CORRECT_COLOR]
    assert "predicted 9 (82%)" in panels[1].get_title() and "true 1" in panels[1].get_title()
    assert _is_png(save_figure(figure, tmp_path / "predictions.png"))


def test_history_figure_draws_train_and_validation_curves(tmp_path):
    history = {
        "loss": [1.5, 1.0, 0.8],
        "val_loss": [1.3, 1.1, 1.0],
        "accuracy": [0.5, 0.7, 0.8],
        "val_accuracy": [0.55, 0.65, 0.7],
        "learning_rate": [1e-3, 5e-4, 2.5e-4],
    }
    figure = plot_history(history)
    loss_axes, accuracy_axes, rate_axes = figure.axes
    assert [line.get_label() for line in loss_axes.lines] == ["training", "validation"]
    np.testing.assert_allclose(accuracy_axes.lines[1].get_ydata(), history["val_accuracy"])
    np.testing.assert_allclose(loss_axes.lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(rate_axes.lines[0].get_ydata(), history["learning_rate"])
    one_epoch = plot_history({"loss": [1.0], "accuracy": [0.5]})
    assert len(one_epoch.axes) == 2
    assert list(one_epoch.axes[0].get_xticks()) == [1]  # whole epochs only, even for a single one
    assert _is_png(save_figure(figure, tmp_path / "curves.png"))
    with pytest.raises(ValueError, match="no loss or accuracy"):
        plot_history({"learning_rate": [0.1]})


# --- comparison ---------------------------------------------------------------------------------


def test_comparison_table_and_figure_show_every_run(tmp_path):
    runs = {
        "mlp": {
            "model": "mlp",
            "accuracy": 0.851,
            "precision_macro": 0.85,
            "recall_macro": 0.852,
            "f1_macro": 0.849,
            "parameters": 535_727,
            "train_seconds": 300.0,
            "seconds_per_epoch": 15.0,
        },
        "cnn": {
            "model": "cnn",
            "accuracy": 0.897,
            "precision_macro": 0.9,
            "recall_macro": 0.897,
            "f1_macro": 0.896,
            "parameters": 420_000,
            "train_seconds": 1200.0,
            "seconds_per_epoch": 60.0,
        },
    }
    rows = comparison_table(runs)
    assert [row["run"] for row in rows] == ["mlp", "cnn"]
    for row in rows:
        for key in ("accuracy", "f1_macro", "parameters", "train_seconds", "seconds_per_epoch"):
            assert row[key] == runs[row["run"]][key]
    text = format_comparison(rows)
    assert "0.8970" in text and "535,727" in text and "60.0" in text
    figure = plot_comparison(runs)
    assert len(figure.axes) == 3
    assert [label.get_text() for label in figure.axes[0].get_xticklabels()] == ["mlp", "cnn"]
    assert _is_png(save_figure(figure, tmp_path / "comparison.png"))
    assert comparison_table({"x": {"accuracy": 0.5}})[0]["parameters"] is None
    with pytest.raises(ValueError, match="no runs"):
        comparison_table({})
