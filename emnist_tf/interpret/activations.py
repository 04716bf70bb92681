"""Activations of a layer: the one place that reads what a network computes inside.

Every analysis that looks inside a model (single neurons, probes across depth,
few-shot embeddings, preferred inputs, adversarial gradients, corrupted-image
predictions) goes through this module:

* :func:`hidden_layer_names`: the post-activation hidden layers, in depth order
  (the naming convention of :mod:`emnist_tf.modeling.models`);
* :func:`submodel`: a Keras model from the input to some layers' outputs;
* :func:`forward`: one batched forward pass in inference mode, as NumPy;
* :func:`layer_activations` / :func:`unit_activations`: what layers and units answer;
* :func:`top_activating_images`: the images that drive each unit hardest;
* :func:`untrained_copy`: the same architecture with fresh, seeded weights.

Example:
    >>> from emnist_tf.interpret import activations
    >>> values = activations.layer_activations(model, images)        # every hidden layer
    >>> per_unit = activations.unit_activations(model, images, "conv_2_activation", spatial="mean")
    >>> top = activations.top_activating_images(model, images, "logits", units=range(10), count=4)
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

SPATIAL_REDUCTIONS = ("mean", "max")


def hidden_layer_names(model) -> list[str]:
    """The post-activation hidden layers of a Keras model, in depth order.

    The rule is :func:`emnist_tf.modeling.models.hidden_layer_names` (the builders name the layers).
    """
    from emnist_tf.modeling import models

    return list(models.hidden_layer_names(model))


def is_scratch_network(model) -> bool:
    """True for a :class:`emnist_tf.scratch.Network` (hidden layers numbered 1, 2, ...), False for Keras."""
    from emnist_tf.scratch import Network

    return isinstance(model, Network)


def model_input(model):
    """The input tensor of a built Keras model (a list when it has several).

    Raises:
        ValueError: if the model has no defined input yet.
    """
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        raise ValueError("the model has no defined input; build it with an input shape (keras.Input) first")
    return inputs[0] if len(inputs) == 1 else inputs


def submodel(model, outputs):
    """A Keras model from ``model``'s input to the given layers' outputs (sharing its weights).

    Args:
        model: a built Keras model (Sequential or functional).
        outputs: a layer name or a Keras tensor of the model, or a list of them (the
            sub-model then has one output per item, in that order).

    Raises:
        ValueError: if a layer name is unknown or the model has no input.
    """
    import keras

    inputs = model_input(model)
    several = isinstance(outputs, (list, tuple))
    items = list(outputs) if several else [outputs]
    known = [layer.name for layer in model.layers]
    unknown = [item for item in items if isinstance(item, str) and item not in known]
    if unknown:
        raise ValueError(f"unknown layer(s) {', '.join(unknown)}; the model has {', '.join(known)}")
    tensors = [model.get_layer(item).output if isinstance(item, str) else item for item in items]
    return keras.Model(inputs, tensors if several else tensors[0])


def forward(model, images, *, batch_size: int = 256):
    """Runs ``model`` on ``images`` batch by batch in inference mode.

    Direct calls, not ``predict``: a sub-model built for one analysis would retrace
    ``predict``'s ``tf.function`` at every call, and ``predict`` is slower on small sets.

    Args:
        model: a Keras model (or any callable taking ``(batch, training=False)``).
        images: array ``(N, ...)``; converted to float32.
        batch_size: images per call.

    Returns:
        A float32 array ``(N, ...)``, or a list of them when the model has several outputs.

    Raises:
        ValueError: for a batch size below 1.
    """
    import keras

    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    images = np.asarray(images, dtype=np.float32)
    batches = []
    for start in range(0, max(len(images), 1), batch_size):  # an empty set still gets its output shapes
        outputs = model(images[start : start + batch_size], training=False)
        several = isinstance(outputs, (list, tuple))
        batches.append(
            [keras.ops.convert_to_numpy(output).astype(np.float32) for output in (outputs if several else [outputs])]
        )
    joined = [np.concatenate(parts) for parts in zip(*batches)]
    return joined if several else joined[0]


def layer_activations(model, images, layer_names=None, *, batch_size: int = 256) -> dict[str, np.ndarray]:
    """Outputs of the named layers for a batch of images, in one forward pass.

    Args:
        model: a built Keras model taking ``images``.
        images: ``(N, 28, 28, 1)`` float32 images.
        layer_names: layer names; default every hidden layer (:func:`hidden_layer_names`).
        batch_size: images per forward pass.

    Returns:
        An ordered dict ``name -> array (N, ...)`` in the order of ``layer_names``.

    Raises:
        ValueError: if there is no layer to read, a name is unknown or the model has no input.
    """
    names = hidden_layer_names(model) if layer_names is None else list(layer_names)
    if not names:
        raise ValueError("no layers to read; pass layer_names or a model with hidden Activation layers")
    values = forward(submodel(model, names), images, batch_size=batch_size)
    return dict(zip(names, values if isinstance(values, list) else [values]))  # Keras unwraps one output


def default_layer(model):
    """The first hidden layer: 1 for a scratch network, the first hidden layer's name for Keras.

    Raises:
        ValueError: if a Keras model has no hidden layer.
    """
    if is_scratch_network(model):
        return 1
    names = hidden_layer_names(model)
    if not names:
        raise ValueError("the model has no hidden Activation layer; pass the layer's name")
    return names[0]


def resolve_units(units, unit_count: int) -> np.ndarray:
    """Unit indices from ``None`` (all), a slice, a range, a list or an array, checked against ``unit_count``.

    Raises:
        ValueError: if no unit is selected or an index is out of range.
    """
    if units is None:
        return np.arange(unit_count)
    if isinstance(units, slice):
        resolved = np.arange(unit_count)[units]
    else:
        resolved = np.atleast_1d(np.asarray(units if isinstance(units, np.ndarray) else list(units), dtype=np.int64))
    if resolved.size == 0:
        raise ValueError(f"no units selected; pass unit indices between 0 and {unit_count - 1}")
    if resolved.min() < 0 or resolved.max() >= unit_count:
        raise ValueError(f"unit indices must be in 0..{unit_count - 1}, got {resolved.min()}..{resolved.max()}")
    return resolved


def reduce_positions(values: np.ndarray, spatial: str | None, layer="the layer") -> np.ndarray:
    """One number per image and unit: ``(N, units)`` from ``(N, ..., units)``.

    Args:
        values: a layer's activations; dense ``(N, units)`` are returned as they are.
        spatial: for convolutional maps, ``"mean"`` (average over positions, the score
            the preferred-input search maximises) or ``"max"`` (strongest response anywhere).
        layer: the layer's name, for the error message.

    Raises:
        ValueError: for a convolutional map without a (known) ``spatial`` reduction.
    """
    values = np.asarray(values)
    if values.ndim <= 2:
        return values
    if spatial not in SPATIAL_REDUCTIONS:
        raise ValueError(
            f"{layer} gives a map per unit; choose how it becomes one number: spatial='mean' or 'max', got {spatial!r}"
        )
    axes = tuple(range(1, values.ndim - 1))
    return values.mean(axis=axes) if spatial == "mean" else values.max(axis=axes)


def unit_activations(
    model, images, layer=None, *, units=None, spatial: str | None = None, batch_size: int = 256
) -> np.ndarray:
    """Activations ``(N, units)`` of one layer's units for a batch of images.

    Args:
        model: a Keras model or a :class:`emnist_tf.scratch.Network`.
        images: ``(N, 28, 28, 1)`` images (flattened for a scratch network).
        layer: Keras layer name or scratch hidden layer number; default :func:`default_layer`.
        units: unit indices (see :func:`resolve_units`); default every unit.
        spatial: needed for convolutional layers: ``"mean"`` or ``"max"`` over positions
            (see :func:`reduce_positions`).
        batch_size: images per forward pass.

    Raises:
        ValueError: for an unknown layer or unit, or a convolutional layer without ``spatial``.
    """
    layer = default_layer(model) if layer is None else layer
    if is_scratch_network(model):
        values = model.hidden_activations(np.asarray(images).reshape(len(images), -1), int(layer))
    else:
        values = reduce_positions(
            layer_activations(model, images, [layer], batch_size=batch_size)[layer], spatial, f"layer {layer!r}"
        )
    return values[:, resolve_units(units, values.shape[1])]


@dataclasses.dataclass
class TopImages:
    """For each unit, the dataset images with the largest activation.

    Attributes:
        units: unit indices, ``(units,)``.
        indices: positions in the dataset, strongest first, ``(units, count)``.
        activations: those images' activations, ``(units, count)``.
        images: the images themselves, ``(units, count, height, width, channels)``.
    """

    units: np.ndarray
    indices: np.ndarray
    activations: np.ndarray
    images: np.ndarray


def strongest(activations: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Per column of ``activations (N, units)``: the rows of the ``count`` largest values, strongest first.

    Returns:
        ``(indices, values)``, both ``(units, count)``; ties keep dataset order.

    Raises:
        ValueError: if ``count`` is not between 1 and N.
    """
    activations = np.asarray(activations)
    if not 1 <= count <= len(activations):
        raise ValueError(f"count must be between 1 and the number of images ({len(activations)}), got {count}")
    order = np.argsort(-activations, axis=0, kind="stable")[:count].T
    return order, np.take_along_axis(activations.T, order, axis=1)


def top_activating_images(
    model, images, layer=None, *, units=None, count: int = 4, spatial: str = "mean", batch_size: int = 256
) -> TopImages:
    """Finds, for each unit, the ``count`` images with the largest activation.

    Args:
        model: a Keras model or a scratch network.
        images: the dataset to search, ``(N, height, width, channels)``.
        layer: the layer (see :func:`unit_activations`).
        units: unit indices; default every unit.
        count: images kept per unit.
        spatial: reduction of convolutional maps; ``"mean"`` matches the activations
            reported by :func:`emnist_tf.interpret.features.maximize`.
        batch_size: images per forward pass.

    Returns:
        A :class:`TopImages`.
    """
    images = np.asarray(images)
    values = unit_activations(model, images, layer, spatial=spatial, batch_size=batch_size)
    chosen = resolve_units(units, values.shape[1])
    order, best = strongest(values[:, chosen], count)
    return TopImages(units=chosen, indices=order, activations=best, images=images[order])


def untrained_copy(model, *, seed: int = 0):
    """The same architecture with fresh random weights, reproducible from ``seed``.

    Keras' global seed is set from ``seed`` and every initializer that carries its own
    seed (the library's builders seed theirs) gets a new one derived from ``seed``, so
    the copy never repeats the original's initial weights and one seed always gives
    the same copy.
    """
    import keras

    keras.utils.set_random_seed(seed)
    counter = itertools.count(1)

    def fresh_layer(layer):
        layer_config = layer.get_config()
        for key, value in layer_config.items():
            if key.endswith("_initializer") and isinstance(value, dict) and "seed" in value.get("config", {}):
                value["config"]["seed"] = seed * 1000 + next(counter)
        return layer.__class__.from_config(layer_config)

    copy = keras.models.clone_model(model, clone_function=fresh_layer)
    if not copy.built:
        copy.build(model.input_shape)
    return copy
