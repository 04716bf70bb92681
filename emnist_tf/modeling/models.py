"""The two model families of the course: a fully connected MLP and a small CNN.

Both builders return a ``keras.Sequential`` whose layers follow one naming
convention that the rest of the library (and the notebooks) rely on:

* every hidden block ends in an ``Activation`` layer; :func:`hidden_layer_names`
  lists those post-activation layers in depth order;
* MLP: ``flatten`` then, per hidden layer *i*, ``dense_i`` (then
  ``dense_i_batch_norm``), ``dense_i_activation`` (then ``dense_i_dropout``);
* CNN: per conv layer *i* ``conv_i`` (``conv_i_batch_norm``), ``conv_i_activation``;
  per block *b* ``pool_b``; a ``pool_<last>_dropout`` when dropout is on, then
  ``flatten`` and the hidden dense blocks named as in the MLP;
* the output is ``Dense(num_classes, name="logits")`` followed by
  ``Activation("softmax", dtype="float32", name="probabilities")``.

Only built-in Keras layers, activations, initialisers and regularisers are used,
so a saved ``.keras`` file reloads without custom objects.

Example:
    >>> from emnist_tf.modeling.models import build_cnn, hidden_layer_names
    >>> model = build_cnn(num_classes=47, filters=(32, 64), convs_per_block=1, dropout_rate=0.4)
    >>> hidden_layer_names(model)
    ['conv_1_activation', 'conv_2_activation', 'dense_1_activation']
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from emnist_tf.choices import ACTIVATIONS, MODEL_KINDS, REGULARIZERS

OUTPUT_LAYER = "probabilities"
LOGITS_LAYER = "logits"


def build_mlp(
    num_classes: int = 47,
    hidden_units: Sequence[int] = (1024, 512, 256),
    activation: str = "relu",
    batch_norm: bool = True,
    dropout_rate: float = 0.3,
    regularizer: str | None = None,
    regularization_strength: float = 1e-4,
    input_shape: Sequence[int] = (28, 28, 1),
    seed: int | None = None,
) -> keras.Sequential:
    """Builds a multilayer perceptron: ``Flatten`` then fully connected blocks.

    Each hidden block is ``Dense -> [BatchNormalization] -> Activation -> [Dropout]``.

    Args:
        num_classes: number of output classes (``emnist_tf.data.split_info(split).num_classes``).
        hidden_units: width of each hidden layer, input side first.
        activation: one of ``ACTIVATIONS``.
        batch_norm: insert batch normalisation before each hidden activation.
        dropout_rate: dropout after each hidden block; 0 turns it off.
        regularizer: ``None``/``"none"``, ``"l1"`` or ``"l2"`` weight penalty on every kernel.
        regularization_strength: the penalty's factor.
        input_shape: shape of one image.
        seed: seed of the initialisers and dropout layers (None: not reproducible).

    Returns:
        An uncompiled ``keras.Sequential`` that outputs class probabilities.

    Raises:
        ValueError: for an unknown activation or regulariser, or a bad size or rate.

    Example:
        >>> model = build_mlp(hidden_units=(512, 256, 128), dropout_rate=0.2)
    """
    hidden_units = _positive_ints(hidden_units, "hidden_units", allow_empty=False)
    _check_common(num_classes, activation, dropout_rate, regularizer, regularization_strength)
    model = keras.Sequential(name="mlp")
    model.add(keras.Input(shape=tuple(input_shape), name="image"))
    model.add(layers.Flatten(name="flatten"))
    seeds = _SeedCounter(seed)
    for index, units in enumerate(hidden_units, start=1):
        _add_dense_block(
            model, index, units, activation, batch_norm, dropout_rate, regularizer, regularization_strength, seeds
        )
    _add_output(model, num_classes, regularizer, regularization_strength, seeds)
    return model


def build_cnn(
    num_classes: int = 47,
    filters: Sequence[int] = (32, 64),
    kernel_size: int | Sequence[int] = 3,
    convs_per_block: int = 2,
    dense_units: int | Sequence[int] = 256,
    activation: str = "relu",
    batch_norm: bool = True,
    dropout_rate: float = 0.25,
    regularizer: str | None = None,
    regularization_strength: float = 1e-4,
    input_shape: Sequence[int] = (28, 28, 1),
    seed: int | None = None,
) -> keras.Sequential:
    """Builds a convolutional network: conv blocks with max pooling, then dense layers.

    The defaults are the course's default CNN (two blocks of two 3x3 convolutions,
    32 and 64 filters, 256 dense units, dropout 0.25), trained with
    ``emnist_tf.modeling.training.DEFAULT_TRAINING["cnn"]``; its test accuracy is in the
    README's benchmark section (``benchmarks/accuracy.py``).

    Block *b* has ``convs_per_block`` layers ``Conv2D(filters[b], same padding) ->
    [BatchNormalization] -> Activation`` and ends in ``MaxPooling2D(2)``. When
    dropout is on, ``dropout_rate / 2`` is applied after the last pooling and
    ``dropout_rate`` after each hidden dense block.

    Args:
        num_classes: number of output classes.
        filters: number of filters of each block, input side first (one block each).
        kernel_size: one size for all blocks, or one per block.
        convs_per_block: convolution layers in each block.
        dense_units: width of the hidden dense layer(s) after ``Flatten``; 0 or ``()`` for none.
        activation: one of ``ACTIVATIONS``.
        batch_norm: insert batch normalisation before each hidden activation.
        dropout_rate: see above; 0 turns dropout off.
        regularizer: ``None``/``"none"``, ``"l1"`` or ``"l2"`` weight penalty on every kernel.
        regularization_strength: the penalty's factor.
        input_shape: shape of one image.
        seed: seed of the initialisers and dropout layers (None: not reproducible).

    Returns:
        An uncompiled ``keras.Sequential`` that outputs class probabilities.

    Raises:
        ValueError: for an unknown name, a bad size or rate, or more pooling blocks
            than the image size allows.

    Example:
        >>> model = build_cnn(filters=(32, 64, 128), kernel_size=(5, 3, 3), batch_norm=False)
    """
    filters = _positive_ints(filters, "filters", allow_empty=False)
    kernel_sizes = _kernel_sizes(kernel_size, len(filters))
    dense_units = _positive_ints(dense_units, "dense_units", allow_empty=True)
    if not isinstance(convs_per_block, int) or convs_per_block < 1:
        raise ValueError(f"convs_per_block must be a positive integer, got {convs_per_block!r}")
    _check_common(num_classes, activation, dropout_rate, regularizer, regularization_strength)
    _check_pooling(input_shape, len(filters))
    model = keras.Sequential(name="cnn")
    model.add(keras.Input(shape=tuple(input_shape), name="image"))
    seeds = _SeedCounter(seed)
    conv_index = 0
    for block, (block_filters, size) in enumerate(zip(filters, kernel_sizes), start=1):
        for _ in range(convs_per_block):
            conv_index += 1
            _add_conv_layer(
                model,
                conv_index,
                block_filters,
                size,
                activation,
                batch_norm,
                regularizer,
                regularization_strength,
                seeds,
            )
        model.add(layers.MaxPooling2D(2, name=f"pool_{block}"))
    if dropout_rate > 0:
        model.add(layers.Dropout(dropout_rate / 2, seed=seeds.next(), name=f"pool_{len(filters)}_dropout"))
    model.add(layers.Flatten(name="flatten"))
    for index, units in enumerate(dense_units, start=1):
        _add_dense_block(
            model, index, units, activation, batch_norm, dropout_rate, regularizer, regularization_strength, seeds
        )
    _add_output(model, num_classes, regularizer, regularization_strength, seeds)
    return model


def build_model(kind: str, num_classes: int = 47, **options) -> keras.Sequential:
    """Builds ``"mlp"`` or ``"cnn"`` by name, passing ``options`` to its builder.

    Raises:
        ValueError: if ``kind`` is not one of ``MODEL_KINDS``.
    """
    builders = {"mlp": build_mlp, "cnn": build_cnn}
    if kind not in builders:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {', '.join(MODEL_KINDS)}")
    return builders[kind](num_classes=num_classes, **options)


def hidden_layer_names(model: keras.Model) -> list[str]:
    """Returns the names of the post-activation layers of the hidden blocks, in depth order.

    For an MLP there is one per hidden dense layer; for a CNN one per conv layer and
    one per hidden dense layer. The output ``probabilities`` layer is not included.

    Example:
        >>> hidden_layer_names(build_mlp(hidden_units=(64, 32)))
        ['dense_1_activation', 'dense_2_activation']
    """
    return [layer.name for layer in model.layers if isinstance(layer, layers.Activation) and layer.name != OUTPUT_LAYER]


class _SeedCounter:
    """Hands out distinct seeds derived from one base seed (or None when unseeded)."""

    def __init__(self, seed: int | None):
        self._seed = seed
        self._count = 0

    def next(self) -> int | None:
        if self._seed is None:
            return None
        self._count += 1
        return self._seed * 1000 + self._count


def _initializer(activation: str, seed: int | None) -> keras.initializers.Initializer:
    if activation == "selu":
        return keras.initializers.LecunNormal(seed=seed)
    return keras.initializers.HeNormal(seed=seed)


def _weight_penalty(regularizer: str | None, strength: float):
    if regularizer in (None, "none") or strength == 0:
        return None
    return keras.regularizers.L1(strength) if regularizer == "l1" else keras.regularizers.L2(strength)


def _add_dense_block(model, index, units, activation, batch_norm, dropout_rate, regularizer, strength, seeds) -> None:
    name = f"dense_{index}"
    model.add(
        layers.Dense(
            units,
            use_bias=not batch_norm,
            kernel_initializer=_initializer(activation, seeds.next()),
            kernel_regularizer=_weight_penalty(regularizer, strength),
            name=name,
        )
    )
    if batch_norm:
        model.add(layers.BatchNormalization(name=f"{name}_batch_norm"))
    model.add(layers.Activation(activation, name=f"{name}_activation"))
    if dropout_rate > 0:
        model.add(layers.Dropout(dropout_rate, seed=seeds.next(), name=f"{name}_dropout"))


def _add_conv_layer(model, index, filters, size, activation, batch_norm, regularizer, strength, seeds) -> None:
    name = f"conv_{index}"
    model.add(
        layers.Conv2D(
            filters,
            size,
            padding="same",
            use_bias=not batch_norm,
            kernel_initializer=_initializer(activation, seeds.next()),
            kernel_regularizer=_weight_penalty(regularizer, strength),
            name=name,
        )
    )
    if batch_norm:
        model.add(layers.BatchNormalization(name=f"{name}_batch_norm"))
    model.add(layers.Activation(activation, name=f"{name}_activation"))


def _add_output(model, num_classes, regularizer, strength, seeds) -> None:
    model.add(
        layers.Dense(
            num_classes,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seeds.next()),
            kernel_regularizer=_weight_penalty(regularizer, strength),
            name=LOGITS_LAYER,
        )
    )
    model.add(layers.Activation("softmax", dtype="float32", name=OUTPUT_LAYER))


def _check_common(num_classes, activation, dropout_rate, regularizer, strength) -> None:
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer of at least 2, got {num_classes!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
    if not 0 <= dropout_rate < 1:
        raise ValueError(f"dropout_rate must be in [0, 1) (0 turns dropout off), got {dropout_rate!r}")
    if regularizer not in (None, *REGULARIZERS):
        raise ValueError(f"unknown regularizer {regularizer!r}; choose one of None, {', '.join(REGULARIZERS)}")
    if strength < 0:
        raise ValueError(f"regularization_strength must be 0 or more, got {strength!r}")


def _positive_ints(values, name: str, allow_empty: bool) -> tuple[int, ...]:
    if values is None or values == 0:
        values = ()
    elif isinstance(values, int):
        values = (values,)
    values = tuple(values)
    if not values and not allow_empty:
        raise ValueError(f"{name} needs at least one layer size, e.g. {name}=(128,)")
    if any(not isinstance(value, int) or value < 1 for value in values):
        raise ValueError(f"{name} must hold positive integers, got {values!r}")
    return values


def _kernel_sizes(kernel_size, blocks: int) -> tuple[int, ...]:
    sizes = (kernel_size,) * blocks if isinstance(kernel_size, int) else tuple(kernel_size)
    if len(sizes) != blocks:
        raise ValueError(f"kernel_size needs one size or one per block ({blocks}), got {kernel_size!r}")
    return _positive_ints(sizes, "kernel_size", allow_empty=False)


def _check_pooling(input_shape, blocks: int) -> None:
    side = min(input_shape[:2])
    if side // 2**blocks < 1:
        raise ValueError(
            f"{blocks} pooling blocks shrink a {side}-pixel image below 1 pixel; use at most "
            f"{max(side.bit_length() - 1, 0)} blocks in filters"
        )
