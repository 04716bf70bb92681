"""Representations across depth: what each hidden layer of a Keras MLP or CNN makes easy.

For a set of images this module collects the activations of every hidden layer
(:func:`emnist_tf.interpret.activations.hidden_layer_names`) and
measures, per layer:

* a **linear read-out**: scikit-learn's logistic regression trained on the layer's
  activations of training images and scored on held-out images, for the trained
  network, the same architecture untrained (:func:`emnist_tf.interpret.activations.untrained_copy`:
  what training adds) and the raw pixels (what is there before any layer);
* **separability**: k-nearest-neighbour accuracy on held-out images, the silhouette
  score and the Fisher ratio (between-class over within-class scatter);
* **2-D maps** (PCA or t-SNE) coloured by class.

Convolutional activations ``(N, H, W, C)`` are average-pooled over square windows
until at most ``max_features`` numbers remain per image (see :func:`to_features`),
so that the read-outs stay fast; dense activations are used as they are.

Example:
    >>> from emnist_tf.interpret import probes
    >>> table = probes.readout_by_depth(model, train_images, train_labels, test_images, test_labels)
    >>> probes.plot_readout_by_depth(table).savefig("readout.png")
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from matplotlib.figure import Figure

from emnist_tf.interpret.activations import hidden_layer_names, layer_activations, untrained_copy

PIXELS = "pixels"
MAX_FEATURES = 2048
MAP_METHODS = ("pca", "tsne")


# ---------------------------------------------------------------- features
def pool_size_for(shape: tuple[int, ...], max_features: int = MAX_FEATURES) -> int:
    """Smallest square average-pooling window that leaves at most ``max_features`` values.

    ``shape`` is one image's activation shape ``(H, W, C)``; the answer is 1 when
    ``H * W * C`` already fits.
    """
    height, width, channels = shape
    for window in range(1, max(height, width) + 1):
        if math.ceil(height / window) * math.ceil(width / window) * channels <= max_features:
            return window
    return max(height, width)


def to_features(activations: np.ndarray, max_features: int = MAX_FEATURES) -> np.ndarray:
    """Rows of features ``(N, D)`` from a layer's activations.

    Dense activations ``(N, D)`` are returned as float32. Convolutional activations
    ``(N, H, W, C)`` are average-pooled over non-overlapping square windows (the
    smallest window that leaves at most ``max_features`` values, partial windows at
    the edge averaged over what they cover), then flattened.
    """
    activations = np.asarray(activations, dtype=np.float32)
    if activations.ndim == 2:
        return activations
    if activations.ndim != 4:
        return activations.reshape(len(activations), -1)
    window = pool_size_for(activations.shape[1:], max_features)
    if window == 1:
        return activations.reshape(len(activations), -1)
    count, height, width, channels = activations.shape
    rows, columns = math.ceil(height / window), math.ceil(width / window)
    padded = np.full((count, rows * window, columns * window, channels), np.nan, dtype=np.float32)
    padded[:, :height, :width] = activations
    blocks = padded.reshape(count, rows, window, columns, window, channels)
    return np.nanmean(blocks, axis=(2, 4)).reshape(count, -1)


# ---------------------------------------------------------------- measures
def single_threaded():
    """A context in which BLAS and OpenMP use one thread.

    The probes multiply small matrices thousands of times; with several BLAS threads
    on a busy machine each product waits for idle cores, which makes a read-out many
    times slower on a shared server. One thread is as fast on an idle machine.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def linear_readout(
    train_features,
    train_labels,
    test_features,
    test_labels,
    *,
    seed: int = 0,
    max_iter: int = 200,
    regularization: float = 1.0,
    components: int | None = None,
) -> float:
    """Held-out accuracy of a logistic regression trained on ``train_features``.

    Features are standardised on the training rows first (so that lbfgs converges at
    every layer). With ``components`` they are then projected on that many principal
    components of the training rows (still a linear read-out of the layer, much
    faster for wide layers and many classes).

    Args:
        train_features, train_labels: rows and class indices the classifier is fitted on.
        test_features, test_labels: held-out rows it is scored on.
        seed: seed of the solver and of the PCA.
        max_iter: lbfgs iterations (convergence warnings are silenced: the accuracy is what counts).
        regularization: scikit-learn's ``C`` (inverse strength of the L2 penalty).
        components: optional PCA dimension (None: all features).
    """
    import warnings

    from sklearn.decomposition import PCA
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train_features = np.asarray(train_features)
    steps = [StandardScaler()]
    if components is not None and components < min(train_features.shape):
        steps.append(PCA(n_components=components, random_state=seed))
    classifier = make_pipeline(*steps, LogisticRegression(C=regularization, max_iter=max_iter, random_state=seed))
    with warnings.catch_warnings(), single_threaded():
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(train_features, np.asarray(train_labels))
        return float(classifier.score(np.asarray(test_features), np.asarray(test_labels)))


def knn_accuracy(train_features, train_labels, test_features, test_labels, *, neighbors: int = 5) -> float:
    """Held-out accuracy of a k-nearest-neighbour classifier (Euclidean) on the features."""
    from sklearn.neighbors import KNeighborsClassifier

    classifier = KNeighborsClassifier(n_neighbors=neighbors)
    with single_threaded():
        classifier.fit(np.asarray(train_features), np.asarray(train_labels))
        return float(classifier.score(np.asarray(test_features), np.asarray(test_labels)))


def fisher_ratio(features, labels) -> float:
    """Between-class scatter over within-class scatter: trace(S_B) / trace(S_W).

    ``trace(S_B) = sum_c n_c |mu_c - mu|^2`` and ``trace(S_W) = sum_i |x_i - mu_{y_i}|^2``;
    larger means class means lie further apart relative to the spread inside classes.
    Returns ``inf`` when every class collapses to its mean.
    """
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels).ravel()
    overall = features.mean(axis=0)
    between = within = 0.0
    for label in np.unique(labels):
        members = features[labels == label]
        centre = members.mean(axis=0)
        between += len(members) * float(np.sum((centre - overall) ** 2))
        within += float(np.sum((members - centre) ** 2))
    return between / within if within > 0 else math.inf


def silhouette(features, labels, *, sample_size: int | None = 2000, seed: int = 0) -> float:
    """Mean silhouette coefficient of the classes (Euclidean), on a seeded sample."""
    from sklearn.metrics import silhouette_score

    features, labels = np.asarray(features), np.asarray(labels).ravel()
    size = None if sample_size is None or sample_size >= len(labels) else sample_size
    with single_threaded():
        return float(silhouette_score(features, labels, sample_size=size, random_state=seed))


@dataclasses.dataclass
class LayerProbe:
    """Measures of one representation (a layer, or the raw pixels at depth 0).

    Attributes:
        layer: layer name, or ``"pixels"``.
        depth: 0 for pixels, 1 for the first hidden layer, ...
        features: number of features the probes saw (after pooling).
        trained_readout: linear read-out accuracy of the trained network's layer.
        untrained_readout: the same for the untrained copy (None if not measured; equals
            ``trained_readout`` for pixels).
        knn: k-NN accuracy on the trained layer (None if not measured).
        silhouette: silhouette score of the classes (None if not measured).
        fisher: Fisher ratio of the classes (None if not measured).
    """

    layer: str
    depth: int
    features: int
    trained_readout: float
    untrained_readout: float | None = None
    knn: float | None = None
    silhouette: float | None = None
    fisher: float | None = None


def _probe(name, depth, train, test, train_labels, test_labels, *, untrained, separability, neighbors, seed, readout):
    result = LayerProbe(
        layer=name,
        depth=depth,
        features=train.shape[1],
        trained_readout=linear_readout(train, train_labels, test, test_labels, seed=seed, **readout),
    )
    if untrained is not None:
        result.untrained_readout = (
            result.trained_readout
            if untrained is True
            else linear_readout(untrained[0], train_labels, untrained[1], test_labels, seed=seed, **readout)
        )
    if separability:
        result.knn = knn_accuracy(train, train_labels, test, test_labels, neighbors=neighbors)
        result.silhouette = silhouette(test, test_labels, seed=seed)
        result.fisher = fisher_ratio(test, test_labels)
    return result


def readout_by_depth(
    model,
    train_images,
    train_labels,
    test_images,
    test_labels,
    *,
    layer_names=None,
    untrained: bool = True,
    separability: bool = True,
    neighbors: int = 5,
    max_features: int = MAX_FEATURES,
    max_iter: int = 200,
    components: int | None = None,
    seed: int = 0,
) -> list[LayerProbe]:
    """Probes raw pixels and every hidden layer, for the trained and an untrained copy.

    Args:
        model: a trained Keras model.
        train_images, train_labels: images the probes are fitted on (all of them: subsample
            before calling, e.g. with ``emnist_tf.data.stratified_subsample``).
        test_images, test_labels: held-out images they are scored on.
        layer_names: layers to probe; default :func:`hidden_layer_names`.
        untrained: also probe ``untrained_copy(model, seed)``.
        separability: also measure k-NN accuracy, silhouette and Fisher ratio.
        neighbors: k of the k-NN probe.
        max_features: pooling bound for convolutional layers (see :func:`to_features`).
        max_iter: iterations of each logistic regression (lbfgs).
        components: optional PCA dimension of every read-out (see :func:`linear_readout`).
        seed: seed of the untrained copy, the logistic regressions and the sampling.

    Returns:
        One :class:`LayerProbe` per representation, pixels first, then by depth.
    """
    train_labels, test_labels = np.asarray(train_labels).ravel(), np.asarray(test_labels).ravel()
    names = hidden_layer_names(model) if layer_names is None else list(layer_names)
    trained = [layer_activations(model, images, names) for images in (train_images, test_images)]
    copies = None
    if untrained:
        copy = untrained_copy(model, seed=seed)
        copies = [layer_activations(copy, images, names) for images in (train_images, test_images)]
    options = dict(
        separability=separability,
        neighbors=neighbors,
        seed=seed,
        readout=dict(max_iter=max_iter, components=components),
    )
    pixels = [np.asarray(images, dtype=np.float32).reshape(len(images), -1) for images in (train_images, test_images)]
    results = [_probe(PIXELS, 0, *pixels, train_labels, test_labels, untrained=True if untrained else None, **options)]
    for depth, name in enumerate(names, start=1):
        train, test = (to_features(activations[name], max_features) for activations in trained)
        baseline = None
        if copies is not None:
            baseline = tuple(to_features(activations[name], max_features) for activations in copies)
        results.append(_probe(name, depth, train, test, train_labels, test_labels, untrained=baseline, **options))
    return results


# ---------------------------------------------------------------- figures
def plot_readout_by_depth(probes: list[LayerProbe], *, title: str = "Linear read-out by depth") -> Figure:
    """Read-out accuracy against depth: trained, untrained and (if measured) k-NN lines.

    The x axis is the depth (0 = pixels) labelled with the layer names; line labels
    are ``"trained"``, ``"untrained"`` and ``"k-NN (trained)"``.
    """
    figure = Figure(figsize=(max(6, 1.1 * len(probes)), 4), layout="constrained")
    axes = figure.add_subplot()
    depths = [probe.depth for probe in probes]
    axes.plot(depths, [probe.trained_readout for probe in probes], "o-", label="trained")
    if all(probe.untrained_readout is not None for probe in probes):
        axes.plot(depths, [probe.untrained_readout for probe in probes], "s--", label="untrained")
    if all(probe.knn is not None for probe in probes):
        axes.plot(depths, [probe.knn for probe in probes], "^:", label="k-NN (trained)")
    axes.set_xticks(depths, [probe.layer for probe in probes], rotation=30, ha="right")
    axes.set_xlabel("representation (depth)")
    axes.set_ylabel("held-out accuracy")
    axes.set_ylim(0, 1.02)
    axes.grid(alpha=0.3)
    axes.legend()
    axes.set_title(title)
    return figure


def embed_2d(features, *, method: str = "pca", seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """A 2-D map ``(N, 2)`` of feature rows by PCA or t-SNE (features standardised first for t-SNE).

    Raises:
        ValueError: for an unknown method.
    """
    if method not in MAP_METHODS:
        raise ValueError(f"unknown map method {method!r}; choose one of {', '.join(MAP_METHODS)}")
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    features = np.asarray(features, dtype=np.float64)
    with single_threaded():
        if method == "pca":
            return PCA(n_components=2, random_state=seed).fit_transform(features)
        if features.shape[1] > 50:  # t-SNE on at most 50 principal components, the usual speed-up
            features = PCA(n_components=min(50, *features.shape), random_state=seed).fit_transform(features)
        perplexity = min(perplexity, (len(features) - 1) / 3)
        return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(features)


def plot_layer_maps(
    representations: dict[str, np.ndarray],
    labels,
    *,
    method: str = "pca",
    class_names=None,
    seed: int = 0,
    columns: int = 3,
) -> tuple[Figure, dict[str, np.ndarray]]:
    """One 2-D map per representation, points coloured by class.

    Args:
        representations: ``name -> activations (N, ...)`` (e.g. ``{"pixels": ..., **layer_activations(...)}``);
            convolutional activations are pooled by :func:`to_features`.
        labels: class index of every row.
        method: ``"pca"`` or ``"tsne"``.
        class_names: names for the legend (only drawn for 20 classes or fewer).
        seed: seed of the map.
        columns: panels per row.

    Returns:
        ``(figure, maps)`` where ``maps[name]`` is the ``(N, 2)`` embedding drawn in that panel.
    """
    labels = np.asarray(labels).ravel()
    maps = {name: embed_2d(to_features(values), method=method, seed=seed) for name, values in representations.items()}
    rows = math.ceil(len(maps) / columns)
    figure = Figure(figsize=(4 * min(columns, len(maps)), 4 * rows), layout="constrained")
    classes = np.unique(labels)
    colormap = "tab10" if len(classes) <= 10 else "tab20" if len(classes) <= 20 else "gist_ncar"
    for index, (name, points) in enumerate(maps.items()):
        axes = figure.add_subplot(rows, min(columns, len(maps)), index + 1)
        scatter = axes.scatter(
            points[:, 0], points[:, 1], c=labels, cmap=colormap, s=6, vmin=classes.min(), vmax=classes.max()
        )
        axes.set_title(f"{name} ({method.upper() if method == 'pca' else 't-SNE'})")
        axes.set_xticks([])
        axes.set_yticks([])
    if class_names is not None and len(classes) <= 20:
        handles = [
            axes.scatter([], [], color=scatter.cmap(scatter.norm(label)), label=class_names[label], s=12)
            for label in classes
        ]
        figure.legend(handles=handles, loc="outside right", fontsize=8)
    return figure, maps
