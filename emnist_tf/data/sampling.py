"""Seeded, stratified choices of indices: subsamples, a validation split, k folds."""

from __future__ import annotations

import numpy as np

from emnist_tf.errors import DataError


def stratified_subsample(labels: np.ndarray, size: int, *, seed: int = 0) -> np.ndarray:
    """Returns sorted indices of ``size`` examples, each class in its share of ``labels``.

    Shares are rounded by largest remainder, so the total is exactly ``size``.

    Example:
        >>> stratified_subsample(np.array([0, 0, 0, 0, 1, 1]), 3, seed=0).size
        3
    """
    labels = np.asarray(labels)
    if size <= 0:
        raise DataError(f"a subsample needs a positive size, got {size}")
    if size >= len(labels):
        return np.arange(len(labels))
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * size / len(labels)
    quotas = np.floor(exact).astype(int)
    remainder = size - quotas.sum()
    quotas[np.argsort(quotas - exact, kind="stable")[:remainder]] += 1
    rng = np.random.default_rng(seed)
    chosen = [
        rng.choice(np.flatnonzero(labels == label), quota, replace=False) for label, quota in zip(classes, quotas)
    ]
    return np.sort(np.concatenate(chosen))


def per_class_subsample(labels: np.ndarray, per_class: int, *, seed: int = 0) -> np.ndarray:
    """Returns sorted indices of at most ``per_class`` randomly chosen examples of each class."""
    if per_class <= 0:
        raise DataError(f"per_class must be positive, got {per_class}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        chosen.append(rng.choice(members, min(per_class, len(members)), replace=False))
    return np.sort(np.concatenate(chosen))


def stratified_holdout(labels: np.ndarray, fraction: float, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Splits indices into (kept, held out) with ``fraction`` of every class held out.

    Raises:
        DataError: if ``fraction`` is not strictly between 0 and 1.
    """
    if not 0.0 < fraction < 1.0:
        raise DataError(f"validation_fraction must be between 0 and 1, got {fraction}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    held_out = []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        held_out.append(members[: int(round(fraction * len(members)))])
    held = np.sort(np.concatenate(held_out))
    kept = np.setdiff1d(np.arange(len(labels)), held, assume_unique=True)
    return kept, held


def stratified_folds(labels: np.ndarray, *, folds: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified k-fold split for cross-validation.

    Args:
        labels: class index of each example.
        folds: number of folds (at least 2).
        seed: shuffling seed.

    Returns:
        ``folds`` pairs ``(train_indices, validation_indices)``; the validation
        parts are disjoint and together cover every example once.

    Raises:
        DataError: if ``folds`` < 2 or a class has fewer examples than folds.
    """
    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray(labels)
    if folds < 2:
        raise DataError(f"cross-validation needs at least 2 folds, got {folds}")
    counts = np.bincount(labels) if labels.size else np.zeros(1, dtype=int)
    present = counts[counts > 0] if labels.size else counts
    if present.min() < folds:
        raise DataError(
            f"a class has only {present.min()} examples, fewer than the {folds} folds; "
            "use fewer folds or more examples per class"
        )
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [(train, validation) for train, validation in splitter.split(np.zeros(len(labels)), labels)]
