"""What single neurons do: weight heatmaps, top images, class selectivity, one-unit portraits.

Works on a Keras MLP/CNN (layers named as in ``emnist_tf.modeling.models``: first MLP layer
``dense_1``, hidden post-activation layers from ``hidden_layer_names``) and on a
:class:`emnist_tf.scratch.Network` (hidden layers numbered 1, 2, ...).

Class selectivity of a unit follows Morcos et al. (2018): with ``mu_c`` the mean
activation over the images of class c, ``max = max_c mu_c`` and ``others`` the mean
of the remaining class means, the index is ``(max - others) / (max + others)``:
0 when the unit answers every class alike, 1 when it answers one class only. It
needs non-negative activations (post-ReLU or sigmoid). A unit is labelled

* ``"class-selective"`` when the index is at least :data:`CLASS_SELECTIVE_THRESHOLD`
  (0.5: its preferred class drives it at least three times as hard as the average
  other class) AND its preferred class drives it at least :data:`DOMINANCE` (1.5)
  times as hard as the runner-up class (it singles out one class: with 10 classes a
  unit answering 3 classes alike already has index 0.64, so the index alone would
  call it class-selective),
* ``"dead"`` when it is zero on every image,
* ``"feature-selective"`` otherwise (it answers a stroke or part shared by several classes).

Example:
    >>> from emnist_tf.interpret import neurons
    >>> neurons.plot_weight_heatmaps(model, units=range(16)).savefig("weights.png")
    >>> activations = unit_activations(model, test_images)   # from emnist_tf.interpret.activations
    >>> selectivity = neurons.class_selectivity(activations, test_labels)
    >>> neurons.plot_unit_portrait(model, 3, test_images, test_labels).savefig("unit3.png")
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from emnist_tf.interpret.activations import default_layer, is_scratch_network, strongest, unit_activations

CLASS_SELECTIVE_THRESHOLD = 0.5
DOMINANCE = 1.5
HEATMAP_COLORMAP = "RdBu_r"  # diverging: red excitatory, blue inhibitory, white zero
FIRST_DENSE = "dense_1"
IMAGE_SIDE = 28


# ---------------------------------------------------------------- weights
def first_layer_weights(model, *, layer: str = FIRST_DENSE) -> np.ndarray:
    """Incoming weights of every first-layer unit as images ``(units, 28, 28)``.

    Args:
        model: a Keras MLP whose first Dense layer (named ``layer``) reads the flattened
            28x28 image, or a scratch network with 784 inputs.
        layer: name of that Dense layer in a Keras model.

    Raises:
        ValueError: if the layer does not read 784 pixels (e.g. a CNN) or does not exist.
    """
    if is_scratch_network(model):
        kernel = model.weights[0]  # (units, 784)
    else:
        try:
            kernel = np.asarray(model.get_layer(layer).get_weights()[0]).T  # (784, units) -> (units, 784)
        except (ValueError, IndexError):
            raise ValueError(
                f"the model has no Dense layer {layer!r} with weights; pass the first Dense layer's name"
            ) from None
        names = [each.name for each in model.layers]
        before = model.layers[: names.index(layer)]
        if any(type(each).__name__ != "Flatten" for each in before):
            raise ValueError(
                f"layer {layer!r} does not read the 784 pixels directly (it follows {before[-1].name!r}); "
                "heatmaps need an MLP's first layer"
            )
    if kernel.ndim != 2 or kernel.shape[1] != IMAGE_SIDE * IMAGE_SIDE:
        raise ValueError(
            f"layer {layer!r} does not read the 784 pixels (weights {kernel.shape}); heatmaps need an MLP's first layer"
        )
    return kernel.reshape(-1, IMAGE_SIDE, IMAGE_SIDE)


def symmetric_limit(values: np.ndarray) -> float:
    """The colour limit v of a diverging map centred on zero: max |value| (1 if all zero)."""
    limit = float(np.max(np.abs(values))) if np.size(values) else 0.0
    return limit if limit > 0 else 1.0


def _draw_heatmap(axes, weights: np.ndarray, title: str | None = None):
    limit = symmetric_limit(weights)
    image = axes.imshow(weights, cmap=HEATMAP_COLORMAP, norm=Normalize(vmin=-limit, vmax=limit))
    axes.set_xticks([])
    axes.set_yticks([])
    if title:
        axes.set_title(title, fontsize=8)
    return image


def plot_weight_heatmaps(model, units=None, *, columns: int = 8, layer: str = FIRST_DENSE) -> Figure:
    """Heatmaps of first-layer units' weights, diverging colours centred on zero per unit.

    Args:
        model: a Keras MLP or a scratch network (see :func:`first_layer_weights`).
        units: unit indices to draw; default the first 32.
        columns: panels per row.
        layer: the Keras MLP's first Dense layer.

    Returns:
        The figure; panel i shows unit ``units[i]`` with colour limits ``-v..v``,
        ``v = max |w|`` of that unit.
    """
    weights = first_layer_weights(model, layer=layer)
    units = list(range(min(32, len(weights)))) if units is None else [int(unit) for unit in units]
    if not units or min(units) < 0 or max(units) >= len(weights):
        raise ValueError(f"units must be indices 0..{len(weights) - 1} of the first layer, got {units}")
    columns = min(columns, len(units))
    rows = math.ceil(len(units) / columns)
    figure = Figure(figsize=(1.3 * columns, 1.4 * rows + 0.4), layout="constrained")
    for index, unit in enumerate(units):
        _draw_heatmap(figure.add_subplot(rows, columns, index + 1), weights[unit], f"unit {unit}")
    figure.suptitle("First-layer weights (red excitatory, blue inhibitory)", fontsize=9)
    return figure


# ---------------------------------------------------------------- top images
def plot_top_images(images, activations, unit: int, *, k: int = 8, labels=None, class_names=None) -> Figure:
    """The k images that activate ``unit`` most, titled with the activation (and class)."""
    figure = Figure(figsize=(1.3 * k, 1.7), layout="constrained")
    _draw_top_images(figure.subplots(1, k, squeeze=False)[0], images, activations, unit, k, labels, class_names)
    figure.suptitle(f"Images that most activate unit {unit}", fontsize=9)
    return figure


def _draw_top_images(axes_row, images, activations, unit, k, labels, class_names):
    indices = strongest(np.asarray(activations)[:, [unit]], min(k, len(activations)))[0][0]
    for axes, index in zip(axes_row, indices):
        axes.imshow(np.asarray(images[index]).reshape(IMAGE_SIDE, IMAGE_SIDE), cmap="gray_r", vmin=0, vmax=1)
        title = f"{activations[index, unit]:.2f}"
        if labels is not None:
            label = int(labels[index])
            title = f"{class_names[label] if class_names is not None else label}: {title}"
        axes.set_title(title, fontsize=8)
        axes.set_xticks([])
        axes.set_yticks([])
    for axes in axes_row[len(indices) :]:
        axes.set_axis_off()
    return indices


# ---------------------------------------------------------------- selectivity
@dataclasses.dataclass
class Selectivity:
    """Class selectivity of every unit of a layer.

    Attributes:
        class_means: ``(units, classes)`` mean activation per class.
        index: ``(units,)`` selectivity index in [0, 1] (0 for dead units).
        preferred_class: ``(units,)`` class of the largest mean.
        dead: ``(units,)`` True where the unit is zero on every image.
        threshold: index at or above which a unit can be class-selective.
        dominance: preferred-class mean over runner-up mean needed as well.
    """

    class_means: np.ndarray
    index: np.ndarray
    preferred_class: np.ndarray
    dead: np.ndarray
    threshold: float = CLASS_SELECTIVE_THRESHOLD
    dominance: float = DOMINANCE

    @property
    def dominance_ratio(self) -> np.ndarray:
        """``(units,)`` preferred-class mean / runner-up class mean (inf when the runner-up is 0)."""
        ordered = np.sort(self.class_means, axis=1)
        top, second = ordered[:, -1], ordered[:, -2]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(second > 0, top / np.where(second > 0, second, 1.0), np.where(top > 0, np.inf, 0.0))

    @property
    def labels(self) -> list[str]:
        """``"class-selective"``, ``"feature-selective"`` or ``"dead"`` for each unit."""
        selective = (self.index >= self.threshold) & (self.dominance_ratio >= self.dominance)
        return [
            "dead" if dead else "class-selective" if chosen else "feature-selective"
            for chosen, dead in zip(selective, self.dead)
        ]

    def counts(self) -> dict[str, int]:
        """How many units carry each label."""
        labels = self.labels
        return {name: labels.count(name) for name in ("class-selective", "feature-selective", "dead")}


def selectivity_index(class_means: np.ndarray) -> np.ndarray:
    """(max - mean of the others) / (max + mean of the others) per row of class means (0 for all-zero rows)."""
    class_means = np.asarray(class_means, dtype=np.float64)
    if class_means.shape[1] < 2:
        raise ValueError("selectivity needs at least two classes")
    top = class_means.max(axis=1)
    others = (class_means.sum(axis=1) - top) / (class_means.shape[1] - 1)
    total = top + others
    return np.divide(top - others, total, out=np.zeros_like(total), where=total > 0)


def class_selectivity(
    activations,
    labels,
    *,
    num_classes: int | None = None,
    threshold: float = CLASS_SELECTIVE_THRESHOLD,
    dominance: float = DOMINANCE,
) -> Selectivity:
    """Mean activation per class and selectivity index of every unit.

    Args:
        activations: ``(N, units)`` non-negative activations (post-ReLU or sigmoid).
        labels: ``(N,)`` class indices.
        num_classes: number of classes (default ``max(labels) + 1``); every class needs images.
        threshold: index from which a unit can be labelled class-selective.
        dominance: how many times the runner-up class's mean the preferred class's must be.

    Raises:
        ValueError: for negative activations, mismatched lengths or a class without images.
    """
    activations = np.asarray(activations, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64).ravel()
    if activations.ndim != 2 or len(activations) != len(labels):
        raise ValueError(f"need activations (N, units) and N labels, got {activations.shape} and {labels.shape}")
    if np.any(activations < 0):
        raise ValueError("the selectivity index needs non-negative activations; use a post-ReLU or sigmoid layer")
    num_classes = int(labels.max()) + 1 if num_classes is None else int(num_classes)
    counts = np.bincount(labels, minlength=num_classes)
    if np.any(counts == 0):
        raise ValueError(f"classes {np.flatnonzero(counts == 0).tolist()} have no images; use a stratified sample")
    sums = np.zeros((num_classes, activations.shape[1]))
    np.add.at(sums, labels, activations)
    class_means = (sums / counts[:, None]).T
    return Selectivity(
        class_means=class_means,
        index=selectivity_index(class_means),
        preferred_class=class_means.argmax(axis=1),
        dead=~np.any(activations > 0, axis=0),
        threshold=threshold,
        dominance=dominance,
    )


def plot_selectivity(
    selectivity: Selectivity, *, bins: int = 20, title: str = "Class selectivity of a layer"
) -> Figure:
    """Histogram of the selectivity index over a layer's live units (bins over [0, 1]).

    A dashed line marks the class-selective threshold; the legend counts each label.
    """
    figure = Figure(figsize=(6, 3.5), layout="constrained")
    axes = figure.add_subplot()
    live = selectivity.index[~selectivity.dead]
    axes.hist(live, bins=bins, range=(0.0, 1.0), color="#4c72b0", edgecolor="white")
    counts = selectivity.counts()
    axes.axvline(
        selectivity.threshold,
        color="black",
        linestyle="--",
        label=f"threshold {selectivity.threshold:g}: {counts['class-selective']} class-selective, "
        f"{counts['feature-selective']} feature-selective, {counts['dead']} dead",
    )
    axes.set_xlabel("selectivity index (max - others) / (max + others)")
    axes.set_ylabel("units")
    axes.set_xlim(0, 1)
    axes.legend(fontsize=8)
    axes.set_title(title)
    return figure


# ---------------------------------------------------------------- portrait
def unit_heatmap(model, unit: int, layer, images, activations) -> tuple[np.ndarray, str]:
    """What the portrait shows as the unit's 28x28 heatmap, and its caption.

    For a first-layer unit of an MLP (Keras ``dense_1`` or scratch layer 1): its
    incoming weights. For any other unit: the activation-weighted mean of the
    images minus the plain mean image (the average input that drives it).
    """
    try:
        if layer == default_layer(model):
            return first_layer_weights(model)[unit], "incoming weights"
    except ValueError:
        pass
    pixels = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    weights = np.asarray(activations[:, unit], dtype=np.float64)
    mean_image = pixels.mean(axis=0)
    if weights.sum() <= 0:
        return np.zeros((IMAGE_SIDE, IMAGE_SIDE)), "activation-weighted mean - mean (unit silent)"
    weighted = weights @ pixels / weights.sum()
    return (weighted - mean_image).reshape(IMAGE_SIDE, IMAGE_SIDE), "activation-weighted mean - mean"


def plot_unit_portrait(
    model, unit: int, images, labels, *, layer=None, class_names=None, k: int = 8, activations: np.ndarray | None = None
) -> Figure:
    """One figure about one unit: heatmap, top-k images and per-class mean activation.

    Args:
        model: a Keras model or a scratch network.
        unit: the unit's index in its layer.
        images: ``(N, 28, 28, 1)`` test images (every class present).
        labels: their class indices.
        layer: Keras layer name or scratch hidden layer; default the first hidden layer.
        class_names: names for the bar chart's ticks.
        k: number of top images (8 by default).
        activations: the layer's activations for ``images`` if already computed.

    Returns:
        The figure: axes 0 the heatmap, axes 1..k the top images, the last axes the bar
        chart (one bar per class, height = mean activation, the preferred class highlighted).
    """
    layer = default_layer(model) if layer is None else layer
    if activations is None:
        activations = unit_activations(model, images, layer, spatial="max")
    if not 0 <= unit < activations.shape[1]:
        raise ValueError(f"unit must be 0..{activations.shape[1] - 1} in layer {layer!r}, got {unit}")
    labels = np.asarray(labels).astype(np.int64).ravel()
    column = np.asarray(activations[:, unit], dtype=np.float64)
    num_classes = len(class_names) if class_names is not None else int(labels.max()) + 1
    means = np.array(
        [column[labels == label].mean() if np.any(labels == label) else 0.0 for label in range(num_classes)]
    )
    index_text = f"{selectivity_index(means[None])[0]:.2f}" if column.min() >= 0 else "n/a (negative activations)"
    figure = Figure(figsize=(max(10, 1.2 * k + 3), 5.5), layout="constrained")
    grid = figure.add_gridspec(2, k + 2, height_ratios=(1, 1.3))
    heatmap, caption = unit_heatmap(model, unit, layer, images, activations)
    _draw_heatmap(figure.add_subplot(grid[0, :2]), heatmap, caption)
    _draw_top_images(
        [figure.add_subplot(grid[0, 2 + index]) for index in range(k)],
        images,
        activations,
        unit,
        k,
        labels,
        class_names,
    )
    bars = figure.add_subplot(grid[1, :])
    colors = ["#cf222e" if label == int(np.argmax(means)) else "#4c72b0" for label in range(len(means))]
    bars.bar(np.arange(len(means)), means, color=colors)
    names = class_names if class_names is not None else [str(index) for index in range(len(means))]
    bars.set_xticks(np.arange(len(means)), names, fontsize=8 if len(means) <= 26 else 6)
    bars.set_ylabel("mean activation")
    bars.set_xlim(-0.6, len(means) - 0.4)
    figure.suptitle(f"Unit {unit} of layer {layer}: selectivity index {index_text}", fontsize=10)
    return figure
