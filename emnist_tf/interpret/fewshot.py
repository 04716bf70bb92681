"""Few-shot learning: classify characters the network never saw, from K examples each.

An N-way K-shot *episode* picks ``ways`` classes the network was not trained on, gives
``shots`` labelled *support* images of each and asks for the classes of ``queries``
other images of each. A classifier built on an embedding (the last hidden layer of a
trained network, found by the naming convention of :mod:`emnist_tf.modeling.models`) is compared
with the same classifier on raw pixels and on an untrained copy of the network:

* ``"prototype"``: nearest class mean (a prototype per class, Euclidean distance);
* ``"linear"``: a linear probe (ridge regression onto one-hot classes) fitted on the support set.

Every feature set and classifier sees the same seeded episodes, so the comparison is
paired. Accuracy is reported with a 95% confidence interval over episodes.

Example:
    >>> held_out = held_out_classes(47, count=10, seed=0)
    >>> train_x, train_y = select_classes(images, labels, np.setdiff1d(np.arange(47), held_out))
    >>> # ... train a CNN with len(train classes) outputs on train_x, train_y ...
    >>> pool_x, pool_y = select_classes(test_images, test_labels, held_out, relabel=False)
    >>> features = feature_sets({"CNN": cnn}, pool_x)  # pixels, untrained CNN, CNN
    >>> results = evaluate_fewshot(features, pool_y, shots=(1, 5, 10, 20), seed=0)
    >>> print(fewshot_table(results))
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np

from emnist_tf.interpret.activations import hidden_layer_names, layer_activations, untrained_copy

CLASSIFIERS = ("prototype", "linear")
DEFAULT_SHOTS = (1, 5, 10, 20)


def held_out_classes(num_classes: int, count: int, *, seed: int = 0) -> np.ndarray:
    """Chooses ``count`` of ``num_classes`` classes at random (seeded), sorted.

    Example:
        >>> held_out_classes(47, count=10, seed=0).shape
        (10,)
    """
    if not 0 < count < num_classes:
        raise ValueError(f"count must be between 1 and num_classes - 1 ({num_classes - 1}), got {count}")
    return np.sort(np.random.default_rng(seed).choice(num_classes, size=count, replace=False))


def select_classes(images, labels, classes: Sequence[int], *, relabel: bool = True):
    """Keeps only the images of ``classes``.

    Args:
        images: array (N, ...).
        labels: class indices (N,).
        classes: the classes to keep.
        relabel: renumber the kept classes 0..len(classes)-1 in the order given (for
            training a network on them); otherwise keep the original indices.

    Returns:
        ``(images, labels)`` of the kept examples.
    """
    labels = np.asarray(labels)
    classes = np.asarray(classes)
    keep = np.isin(labels, classes)
    kept_labels = labels[keep]
    if relabel:
        position = {int(label): index for index, label in enumerate(classes)}
        kept_labels = np.array([position[int(label)] for label in kept_labels], dtype=np.int64)
    return np.asarray(images)[keep], kept_labels


@dataclasses.dataclass(frozen=True)
class Episode:
    """One N-way K-shot task; indices point into the pool the episodes were drawn from.

    Attributes:
        classes: the ``ways`` original class indices of this episode.
        support: pool indices of the support images (``ways * shots``).
        support_labels: their episode labels 0..ways-1.
        query: pool indices of the query images (``ways * queries``).
        query_labels: their episode labels 0..ways-1.
    """

    classes: np.ndarray
    support: np.ndarray
    support_labels: np.ndarray
    query: np.ndarray
    query_labels: np.ndarray


def make_episodes(
    labels,
    classes: Sequence[int] | None = None,
    *,
    ways: int = 5,
    shots: int = 1,
    queries: int = 15,
    episodes: int = 100,
    seed: int = 0,
) -> list[Episode]:
    """Draws seeded N-way K-shot episodes from a pool of labelled examples.

    Args:
        labels: class index of each pool example.
        classes: classes an episode may use (the unseen ones); defaults to every class
            in ``labels``. Only classes with at least ``shots + queries`` examples are used.
        ways: classes per episode.
        shots: support examples per class (K).
        queries: query examples per class.
        episodes: number of episodes.
        seed: the same seed gives the same episodes.

    Returns:
        A list of :class:`Episode`; support and query never share an image.

    Raises:
        ValueError: if fewer than ``ways`` classes have enough examples.
    """
    labels = np.asarray(labels)
    for name, value in (("ways", ways), ("shots", shots), ("queries", queries), ("episodes", episodes)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    classes = np.unique(labels) if classes is None else np.unique(np.asarray(classes))
    members = {int(label): np.nonzero(labels == label)[0] for label in classes}
    eligible = np.array([label for label, indices in members.items() if len(indices) >= shots + queries])
    if len(eligible) < ways:
        raise ValueError(
            f"only {len(eligible)} classes have {shots + queries} examples for a {ways}-way "
            f"{shots}-shot episode; use fewer ways, shots or queries, or a larger pool"
        )
    rng = np.random.default_rng(seed)
    return [_draw_episode(rng, members, eligible, ways, shots, queries) for _ in range(int(episodes))]


def _draw_episode(rng, members, eligible, ways, shots, queries) -> Episode:
    chosen = np.sort(rng.choice(eligible, size=ways, replace=False))
    support, query = [], []
    for label in chosen:
        picked = rng.choice(members[int(label)], size=shots + queries, replace=False)
        support.append(picked[:shots])
        query.append(picked[shots:])
    return Episode(
        chosen,
        np.concatenate(support),
        np.repeat(np.arange(ways), shots),
        np.concatenate(query),
        np.repeat(np.arange(ways), queries),
    )


def raw_pixels(images) -> np.ndarray:
    """Flattens images to (N, pixels) float32 feature vectors (the pixel baseline)."""
    images = np.asarray(images, dtype=np.float32)
    return images.reshape(len(images), -1)


def embedding_layer_name(model) -> str:
    """Name of the last hidden layer (the embedding): the last of :func:`hidden_layer_names`.

    Raises:
        ValueError: if the model has no hidden layer to use.
    """
    names = hidden_layer_names(model)
    if not names:
        raise ValueError("model has no hidden Activation layer before its output; pass layer_name explicitly")
    return names[-1]


def embed(model, images, *, layer_name: str | None = None, batch_size: int = 256) -> np.ndarray:
    """Embeds ``images`` with the model's last hidden layer; returns (N, features) float32."""
    layer_name = layer_name or embedding_layer_name(model)
    features = layer_activations(model, images, [layer_name], batch_size=batch_size)[layer_name]
    return features.reshape(len(features), -1)


def feature_sets(
    models: Mapping[str, object], images, *, include_pixels: bool = True, include_untrained: bool = True, seed: int = 0
) -> dict[str, np.ndarray]:
    """Features of the pool images for :func:`evaluate_fewshot`: pixels, untrained and trained embeddings.

    Args:
        models: ``{name: trained model}`` (e.g. ``{"CNN": cnn}``).
        images: the pool images (unseen classes).
        include_pixels: add the raw-pixel baseline as ``"pixels"``.
        include_untrained: add ``"untrained <name>"`` from :func:`untrained_copy` of each model.
        seed: seed of the untrained copies.

    Example:
        >>> features = feature_sets({"CNN": cnn}, pool_images)
        >>> sorted(features)
        ['CNN', 'pixels', 'untrained CNN']
    """
    features = {"pixels": raw_pixels(images)} if include_pixels else {}
    for name, model in models.items():
        if include_untrained:
            features[f"untrained {name}"] = embed(untrained_copy(model, seed=seed), images)
        features[name] = embed(model, images)
    return features


def prototype_accuracy(support, support_labels, query, query_labels) -> float:
    """Nearest-class-mean accuracy: each query gets the class of the closest prototype."""
    ways = int(np.max(support_labels)) + 1
    prototypes = np.stack([support[support_labels == label].mean(axis=0) for label in range(ways)])
    distances = ((query[:, None, :] - prototypes[None, :, :]) ** 2).sum(axis=-1)
    return float(np.mean(np.argmin(distances, axis=1) == query_labels))


def linear_probe_accuracy(support, support_labels, query, query_labels, *, regularization: float = 1.0) -> float:
    """Accuracy of a linear probe fitted on the support set only.

    The probe is ridge regression onto one-hot class targets (a closed-form linear
    classifier, solved in its dual form because support sets are small), with a bias
    from centring; the query gets the class with the largest output.

    Args:
        support: support features (S, D).
        support_labels: their labels 0..ways-1.
        query: query features (Q, D).
        query_labels: their labels.
        regularization: ridge penalty, relative to the mean squared norm of the centred
            support features (1.0 suits the unit-length features of :func:`evaluate_fewshot`).
    """
    support = np.asarray(support, dtype=np.float64)
    query = np.asarray(query, dtype=np.float64)
    ways = int(np.max(support_labels)) + 1
    targets = np.eye(ways)[support_labels]
    mean = support.mean(axis=0)
    centred = support - mean
    gram = centred @ centred.T
    penalty = regularization * max(float(np.trace(gram)) / len(support), 1e-12)
    dual = np.linalg.solve(gram + penalty * np.eye(len(support)), targets - targets.mean(axis=0))
    outputs = (query - mean) @ (centred.T @ dual)
    return float(np.mean(np.argmax(outputs, axis=1) == query_labels))


_CLASSIFY = {"prototype": prototype_accuracy, "linear": linear_probe_accuracy}


def normalize_rows(features) -> np.ndarray:
    """Scales each feature vector to unit length (zero vectors stay zero)."""
    features = np.asarray(features, dtype=np.float32)
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    return features / np.maximum(norms, 1e-12)


def episode_accuracies(features, episodes: Sequence[Episode], classifier: str = "prototype") -> np.ndarray:
    """Accuracy of ``classifier`` on each episode, using rows of ``features`` (the pool)."""
    from threadpoolctl import threadpool_limits

    if classifier not in _CLASSIFY:
        raise ValueError(f"unknown classifier {classifier!r}; choose one of {', '.join(CLASSIFIERS)}")
    features = np.asarray(features, dtype=np.float32)
    classify = _CLASSIFY[classifier]
    with threadpool_limits(limits=1):  # tiny matrices: BLAS threads only add contention
        return np.array(
            [
                classify(
                    features[episode.support], episode.support_labels, features[episode.query], episode.query_labels
                )
                for episode in episodes
            ]
        )


def confidence_interval(values, confidence: float = 0.95) -> float:
    """Half-width of the Student-t confidence interval of the mean of ``values``."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    if values.size < 2:
        return float("nan")
    return float(stats.t.ppf((1 + confidence) / 2, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size))


@dataclasses.dataclass
class FewShotResult:
    """Per-episode accuracies of one feature set and classifier at one K.

    Attributes:
        features: name of the feature set (e.g. ``"pixels"``, ``"CNN"``).
        classifier: ``"prototype"`` or ``"linear"``.
        shots: K.
        ways: N.
        accuracies: accuracy on each episode.
    """

    features: str
    classifier: str
    shots: int
    ways: int
    accuracies: np.ndarray

    @property
    def mean(self) -> float:
        """Mean accuracy over episodes."""
        return float(np.mean(self.accuracies))

    @property
    def ci95(self) -> float:
        """Half-width of the 95% confidence interval of the mean."""
        return confidence_interval(self.accuracies)

    def to_dict(self) -> dict:
        """JSON-ready summary (mean, CI, episodes)."""
        return {
            "features": self.features,
            "classifier": self.classifier,
            "shots": self.shots,
            "ways": self.ways,
            "mean": self.mean,
            "ci95": self.ci95,
            "episodes": int(self.accuracies.size),
        }


def evaluate_fewshot(
    feature_sets: Mapping[str, np.ndarray],
    labels,
    classes: Sequence[int] | None = None,
    *,
    shots: Sequence[int] = DEFAULT_SHOTS,
    ways: int = 5,
    queries: int = 15,
    episodes: int = 100,
    classifiers: Sequence[str] = CLASSIFIERS,
    normalize: bool = True,
    seed: int = 0,
) -> list[FewShotResult]:
    """Few-shot accuracy of every feature set and classifier at every K, on shared episodes.

    Args:
        feature_sets: ``{name: features}``, each (N, D) with one row per pool image, e.g.
            ``{"pixels": raw_pixels(x), "untrained CNN": embed(untrained, x), "CNN": embed(cnn, x)}``.
        labels: class index of each pool image.
        classes: the unseen classes episodes are drawn from (default: all in ``labels``).
        shots: the values of K.
        ways: N, classes per episode.
        queries: query images per class.
        episodes: episodes per K.
        classifiers: any of :data:`CLASSIFIERS`.
        normalize: scale every feature vector to unit length first (same for all sets).
        seed: episode seed (K-th value of ``shots`` uses ``seed + K``).

    Returns:
        One :class:`FewShotResult` per (feature set, classifier, K).
    """
    labels = np.asarray(labels)
    prepared = {}
    for name, features in feature_sets.items():
        if len(features) != len(labels):
            raise ValueError(
                f"feature set {name!r} has {len(features)} rows but there are {len(labels)} labels; "
                "embed the same pool images the labels describe"
            )
        features = np.asarray(features, dtype=np.float32).reshape(len(labels), -1)
        prepared[name] = normalize_rows(features) if normalize else features
    results = []
    for shot in shots:
        episode_list = make_episodes(
            labels, classes, ways=ways, shots=shot, queries=queries, episodes=episodes, seed=seed + int(shot)
        )
        for name, features in prepared.items():
            for classifier in classifiers:
                results.append(
                    FewShotResult(
                        name, classifier, int(shot), ways, episode_accuracies(features, episode_list, classifier)
                    )
                )
    return results


def fewshot_table(results: Sequence[FewShotResult]) -> str:
    """A Markdown table: one row per (features, classifier), one column per K, mean ± 95% CI."""
    shots = sorted({result.shots for result in results})
    rows: dict[tuple[str, str], dict[int, FewShotResult]] = {}
    for result in results:
        rows.setdefault((result.features, result.classifier), {})[result.shots] = result
    header = "| features | classifier | " + " | ".join(f"K={shot}" for shot in shots) + " |"
    lines = [header, "|" + "---|" * (len(shots) + 2)]
    for (features, classifier), by_shot in rows.items():
        cells = [f"{by_shot[shot].mean:.3f} ± {by_shot[shot].ci95:.3f}" if shot in by_shot else "" for shot in shots]
        lines.append(f"| {features} | {classifier} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_fewshot(results: Sequence[FewShotResult]):
    """Accuracy against K with 95% CI error bars; one line per feature set, one panel per classifier.

    Returns:
        A ``matplotlib.figure.Figure``.
    """
    from matplotlib.figure import Figure

    if not results:
        raise ValueError("no few-shot results to plot; run evaluate_fewshot first")
    classifiers = list(dict.fromkeys(result.classifier for result in results))
    names = list(dict.fromkeys(result.features for result in results))
    figure = Figure(figsize=(4.5 * len(classifiers), 3.8), layout="constrained")
    axes = figure.subplots(1, len(classifiers), squeeze=False, sharey=True)[0]
    for axis, classifier in zip(axes, classifiers):
        for index, name in enumerate(names):
            chosen = sorted(
                (r for r in results if r.classifier == classifier and r.features == name), key=lambda r: r.shots
            )
            if chosen:
                axis.errorbar(
                    [r.shots for r in chosen],
                    [r.mean for r in chosen],
                    yerr=[r.ci95 for r in chosen],
                    marker="o",
                    capsize=3,
                    color=f"C{index}",
                    label=name,
                )
        axis.set_xscale("log")
        shots = sorted({r.shots for r in results})
        axis.set_xticks(shots, [str(shot) for shot in shots])
        axis.set_xlabel("shots per class (K)")
        axis.set_title(f"{results[0].ways}-way, {classifier}")
        axis.axhline(1 / results[0].ways, color="gray", linestyle="--", linewidth=0.8)
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("query accuracy")
    axes[0].set_ylim(0, 1)
    axes[0].legend(fontsize="small")
    return figure
