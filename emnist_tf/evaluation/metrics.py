"""Classification metrics of a set of predictions, computed with scikit-learn.

Everything here works on plain arrays of class indices (and, where it matters,
predicted probabilities) and returns JSON-friendly values (floats, ints, lists,
dicts), so that the results can go straight into ``metrics.json``.

Example:
    >>> import numpy as np
    >>> true_labels = np.array([0, 0, 1, 2])
    >>> predicted_labels = np.array([0, 1, 1, 2])
    >>> round(classification_metrics(true_labels, predicted_labels)["accuracy"], 2)
    0.75
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NORMALIZE_CHOICES = (None, "true", "pred", "all")
"""Allowed ``normalize`` values of :func:`confusion_matrix` (as in scikit-learn)."""


def _as_labels(values, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class indices, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(
            f"{name} must hold integer class indices, got dtype {array.dtype}; take argmax of probabilities first"
        )
    return array.astype(np.int64)


def _check_pair(true_labels, predicted_labels, num_classes: int | None):
    true_array = _as_labels(true_labels, "true_labels")
    predicted_array = _as_labels(predicted_labels, "predicted_labels")
    if true_array.shape != predicted_array.shape:
        raise ValueError(
            f"true_labels has {true_array.size} entries but predicted_labels has "
            f"{predicted_array.size}; pass the predictions of the same examples"
        )
    if true_array.size == 0:
        raise ValueError("no predictions to evaluate: the label arrays are empty")
    largest = int(max(true_array.max(), predicted_array.max()))
    if num_classes is None:
        num_classes = largest + 1
    elif largest >= num_classes or min(true_array.min(), predicted_array.min()) < 0:
        raise ValueError(
            f"class indices must lie in 0..{num_classes - 1}, found {largest}; "
            "check num_classes or the label offset of the split"
        )
    return true_array, predicted_array, num_classes


def classification_metrics(true_labels, predicted_labels, *, num_classes: int | None = None) -> dict:
    """Accuracy and macro/weighted precision, recall and F1 of class predictions.

    The averages run over every class ``0..num_classes-1``; a class with no
    examples and no predictions counts as 0 (scikit-learn's ``zero_division=0``),
    so pass ``num_classes`` of the split to average over all of its classes.

    Args:
        true_labels: 1-D integer array of true class indices.
        predicted_labels: 1-D integer array of predicted class indices, same length.
        num_classes: number of classes; by default the largest index seen plus one.

    Returns:
        A dict with ``accuracy``, ``precision_macro``, ``recall_macro``, ``f1_macro``,
        ``precision_weighted``, ``recall_weighted``, ``f1_weighted`` (floats) and
        ``examples`` (int).

    Raises:
        ValueError: if the arrays differ in length, are empty or hold bad indices.
    """
    from sklearn import metrics

    true_array, predicted_array, num_classes = _check_pair(true_labels, predicted_labels, num_classes)
    labels = np.arange(num_classes)
    result = {"accuracy": float(metrics.accuracy_score(true_array, predicted_array))}
    for average in ("macro", "weighted"):
        precision, recall, f1, _ = metrics.precision_recall_fscore_support(
            true_array, predicted_array, labels=labels, average=average, zero_division=0
        )
        result[f"precision_{average}"] = float(precision)
        result[f"recall_{average}"] = float(recall)
        result[f"f1_{average}"] = float(f1)
    result["examples"] = int(true_array.size)
    return result


def per_class_report(true_labels, predicted_labels, class_names: Sequence[str]) -> list[dict]:
    """Precision, recall, F1 and support of every class (scikit-learn's per-class report).

    Args:
        true_labels: 1-D integer array of true class indices.
        predicted_labels: 1-D integer array of predicted class indices.
        class_names: the character(s) of each class index, e.g. from
            ``emnist_tf.data.class_names(split)``.

    Returns:
        One dict per class, in class-index order, with ``index``, ``name``,
        ``precision``, ``recall``, ``f1`` and ``support``.
    """
    from sklearn import metrics

    true_array, predicted_array, num_classes = _check_pair(true_labels, predicted_labels, len(class_names))
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        true_array, predicted_array, labels=np.arange(num_classes), average=None, zero_division=0
    )
    return [
        {
            "index": index,
            "name": str(class_names[index]),
            "precision": float(precision[index]),
            "recall": float(recall[index]),
            "f1": float(f1[index]),
            "support": int(support[index]),
        }
        for index in range(num_classes)
    ]


def classification_report_text(true_labels, predicted_labels, class_names: Sequence[str], *, digits: int = 3) -> str:
    """scikit-learn's per-class report as text (precision, recall, F1, support per class).

    Example:
        >>> print(classification_report_text(np.array([0, 1]), np.array([0, 0]), ["O", "0"]))  # doctest: +SKIP
    """
    from sklearn import metrics

    true_array, predicted_array, num_classes = _check_pair(true_labels, predicted_labels, len(class_names))
    return metrics.classification_report(
        true_array,
        predicted_array,
        labels=np.arange(num_classes),
        target_names=[str(name) for name in class_names],
        digits=digits,
        zero_division=0,
    )


def confusion_matrix(
    true_labels, predicted_labels, *, num_classes: int | None = None, normalize: str | None = None
) -> np.ndarray:
    """The confusion matrix: rows are true classes, columns predicted classes.

    Args:
        true_labels: 1-D integer array of true class indices.
        predicted_labels: 1-D integer array of predicted class indices.
        num_classes: size of the matrix; by default the largest index seen plus one.
        normalize: ``None`` for counts, ``"true"`` to divide each row by its total
            (the rate at which a true class gets each prediction), ``"pred"`` for
            columns, ``"all"`` for the whole matrix. Empty rows stay 0.

    Returns:
        A ``(num_classes, num_classes)`` array (int64 counts or float64 rates).
    """
    from sklearn import metrics

    if normalize not in NORMALIZE_CHOICES:
        raise ValueError(f"normalize must be one of {NORMALIZE_CHOICES}, got {normalize!r}")
    true_array, predicted_array, num_classes = _check_pair(true_labels, predicted_labels, num_classes)
    return metrics.confusion_matrix(true_array, predicted_array, labels=np.arange(num_classes), normalize=normalize)


def most_confused_pairs(counts: np.ndarray, class_names: Sequence[str], *, top: int = 10) -> list[dict]:
    """The off-diagonal cells of a confusion matrix with the most mistakes.

    Args:
        counts: confusion matrix of counts (rows true, columns predicted).
        class_names: character(s) of each class index.
        top: how many pairs to return at most; pairs with zero mistakes are never returned.

    Returns:
        Dicts ``{"true", "predicted", "true_index", "predicted_index", "count", "rate"}``
        sorted by count, largest first (ties: higher rate first, then class order),
        where ``rate`` is the fraction of that true class predicted as ``predicted``.

    Example:
        >>> pairs = most_confused_pairs(np.array([[8, 2], [5, 5]]), ["O", "0"], top=1)
        >>> (pairs[0]["true"], pairs[0]["predicted"], pairs[0]["count"])
        ('0', 'O', 5)
    """
    matrix = np.asarray(counts)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"counts must be a square confusion matrix, got shape {matrix.shape}")
    if len(class_names) != matrix.shape[0]:
        raise ValueError(
            f"{len(class_names)} class names for a {matrix.shape[0]}-class matrix; pass class_names of the same split"
        )
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    row_totals = matrix.sum(axis=1)
    pairs = []
    for true_index, predicted_index in zip(*np.nonzero(matrix)):
        if true_index == predicted_index:
            continue
        count = int(matrix[true_index, predicted_index])
        pairs.append(
            {
                "true": str(class_names[true_index]),
                "predicted": str(class_names[predicted_index]),
                "true_index": int(true_index),
                "predicted_index": int(predicted_index),
                "count": count,
                "rate": float(count / row_totals[true_index]),
            }
        )
    pairs.sort(key=lambda pair: (-pair["count"], -pair["rate"], pair["true_index"], pair["predicted_index"]))
    return pairs[:top]


def cross_entropy(true_labels, probabilities) -> float:
    """Mean categorical cross-entropy (natural log) of predicted probabilities.

    Args:
        true_labels: 1-D integer array of true class indices.
        probabilities: ``(examples, classes)`` array of predicted probabilities.
    """
    true_array = _as_labels(true_labels, "true_labels")
    probability_array = np.asarray(probabilities, dtype=np.float64)
    if probability_array.ndim != 2 or probability_array.shape[0] != true_array.size:
        raise ValueError(f"probabilities must have shape ({true_array.size}, classes), got {probability_array.shape}")
    picked = probability_array[np.arange(true_array.size), true_array]
    return float(-np.mean(np.log(np.clip(picked, 1e-12, 1.0))))


def format_confused_pairs(pairs: Sequence[dict]) -> str:
    """The most-confused pairs as an aligned text table (true, predicted as, images, % of true class)."""
    lines = [f"{'true':<6}{'predicted as':<14}{'images':>7}{'% of true':>11}"]
    lines += [
        f"{pair['true']:<6}{pair['predicted']:<14}{pair['count']:>7}{100 * pair['rate']:>10.1f}%" for pair in pairs
    ]
    return "\n".join(lines)
