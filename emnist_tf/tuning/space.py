"""The search space: hypermodels for the MLP and the CNN, and the technique stages.

Every technique the assignment asks students to explore is a KerasTuner
hyperparameter declared where it is used: the model's shape and layers in
``build`` and the optimiser, learning rate, schedule and batch size in ``fit``.
The same hypermodel serves the greedy staged search (one technique at a time,
see :data:`STAGES`) and the joint searches (random, Bayesian, Hyperband).

Example:
    >>> import keras_tuner
    >>> hypermodel = make_hypermodel("mlp", num_classes=47)
    >>> hp = keras_tuner.HyperParameters()
    >>> hypermodel.declare_hyperparameters(hp)
    >>> sorted(hp.values)[:3]
    ['activation', 'batch_norm', 'batch_size']
"""

from __future__ import annotations

import dataclasses
import math

import keras_tuner

from emnist_tf.choices import MODEL_KINDS, REGULARIZERS, SCHEDULES

ACTIVATIONS = ("relu", "elu", "selu", "gelu", "swish", "leaky_relu")
OPTIMIZERS = ("adam", "sgd", "rmsprop", "nadam", "adamw")
DROPOUT_RATES = (0.0, 0.2, 0.5)
BATCH_SIZES = (32, 64, 128, 256)
LEARNING_RATE_RANGE = (1e-4, 1e-1)
STRENGTH_RANGE = (1e-6, 1e-3)
MLP_UNITS = (64, 128, 256, 512)
CNN_FILTERS = (16, 32, 64)
CNN_DENSE_UNITS = (64, 128, 256)


@dataclasses.dataclass(frozen=True)
class Stage:
    """One technique explored by the greedy strategy.

    Attributes:
        name: short name used for folders, tables and figures, e.g. ``"activation"``.
        candidates: hyperparameter values to try, each a dict of overrides of the
            best configuration so far.
    """

    name: str
    candidates: tuple[dict, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """The hyperparameter names this stage changes."""
        names: list[str] = []
        for candidate in self.candidates:
            names.extend(name for name in candidate if name not in names)
        return tuple(names)


class _EmnistHyperModel(keras_tuner.HyperModel):
    """Shared training half of both hypermodels: optimiser, schedule, batch size."""

    def __init__(self, num_classes: int = 47, seed: int = 0):
        super().__init__(name=self.kind, tunable=True)
        self.num_classes = num_classes
        self.seed = seed

    def declare_hyperparameters(self, hp: keras_tuner.HyperParameters) -> None:
        """Declares the whole space at once (model and training choices)."""
        self._declare_model(hp)
        self._declare_training(hp)

    def build(self, hp: keras_tuner.HyperParameters):
        """Builds the (uncompiled) Keras model for these hyperparameter values."""
        return self._build_model(hp)

    def fit(self, hp, model, x, y, validation_data=None, epochs=1, callbacks=None, **kwargs):
        """Compiles ``model`` with the training hyperparameters and trains it.

        Args:
            hp: the trial's hyperparameters.
            model: the model returned by :meth:`build`.
            x: training images, float32 (N, 28, 28, 1).
            y: training labels, class indices.
            validation_data: optional ``(images, labels)``.
            epochs: number of epochs.
            callbacks: Keras callbacks.

        Returns:
            The Keras ``History`` object.
        """
        from emnist_tf import config, data, devices
        from emnist_tf.modeling import schedules, training

        batch_size, optimizer, learning_rate, schedule = self._declare_training(hp)
        steps_per_epoch = max(1, math.ceil(len(x) / batch_size))
        training.compile_model(
            model,
            optimizer=optimizer,
            learning_rate=learning_rate,
            schedule=schedule,
            steps_per_epoch=steps_per_epoch,
            epochs=epochs,
        )
        if not devices.gpu_names():
            # XLA compilation costs seconds per model on a CPU: more than a short trial trains.
            model.jit_compile = False
        if config.fast_mode():
            # A fast-mode fold trains a handful of batches: tracing the graph costs more.
            model.run_eagerly = True
        train_set = data.make_dataset(x, y, batch_size=batch_size, shuffle=True, seed=self.seed)
        validation_set = None
        if validation_data is not None:
            validation_set = data.make_dataset(*validation_data, batch_size=512, shuffle=False)
        monitor = "val_loss" if validation_set is not None else "loss"
        callbacks = list(callbacks or []) + schedules.schedule_callbacks(schedule, monitor=monitor)
        return model.fit(
            train_set, validation_data=validation_set, epochs=epochs, shuffle=False, callbacks=callbacks, verbose=0
        )

    @staticmethod
    def _declare_training(hp):
        batch_size = hp.Choice("batch_size", list(BATCH_SIZES), default=128)
        optimizer = hp.Choice("optimizer", list(OPTIMIZERS), default="adam")
        learning_rate = hp.Float("learning_rate", *LEARNING_RATE_RANGE, sampling="log", default=1e-3)
        schedule = hp.Choice("schedule", list(SCHEDULES), default="constant")
        return batch_size, optimizer, learning_rate, schedule

    @staticmethod
    def _declare_layers(hp):
        """The per-layer techniques, common to both models."""
        regularizer = hp.Choice("regularizer", list(REGULARIZERS), default="none")
        return dict(
            activation=hp.Choice("activation", list(ACTIVATIONS), default="relu"),
            batch_norm=hp.Boolean("batch_norm", default=False),
            dropout_rate=hp.Choice("dropout_rate", list(DROPOUT_RATES), default=0.0),
            regularizer=None if regularizer == "none" else regularizer,
            regularization_strength=hp.Float("regularization_strength", *STRENGTH_RANGE, sampling="log", default=1e-4),
        )


class MlpHyperModel(_EmnistHyperModel):
    """The multilayer perceptron: hidden layers halve in width from ``units``.

    Example:
        >>> hypermodel = MlpHyperModel(num_classes=47)
        >>> model = hypermodel.build(keras_tuner.HyperParameters())
    """

    kind = "mlp"

    def _declare_model(self, hp):
        hidden_layers = hp.Int("hidden_layers", 1, 3, default=2)
        units = hp.Choice("units", list(MLP_UNITS), default=256)
        return hidden_layers, units, self._declare_layers(hp)

    def _build_model(self, hp):
        from emnist_tf.modeling import models

        hidden_layers, units, layers = self._declare_model(hp)
        hidden_units = tuple(max(16, units // 2**index) for index in range(hidden_layers))
        return models.build_mlp(num_classes=self.num_classes, hidden_units=hidden_units, seed=self.seed, **layers)


class CnnHyperModel(_EmnistHyperModel):
    """The convolutional network: filters double per block from ``filters``.

    Example:
        >>> hypermodel = CnnHyperModel(num_classes=47)
        >>> model = hypermodel.build(keras_tuner.HyperParameters())
    """

    kind = "cnn"

    def _declare_model(self, hp):
        conv_blocks = hp.Int("conv_blocks", 1, 3, default=2)
        filters = hp.Choice("filters", list(CNN_FILTERS), default=32)
        dense_units = hp.Choice("dense_units", list(CNN_DENSE_UNITS), default=128)
        return conv_blocks, filters, dense_units, self._declare_layers(hp)

    def _build_model(self, hp):
        from emnist_tf.modeling import models

        conv_blocks, filters, dense_units, layers = self._declare_model(hp)
        block_filters = tuple(filters * 2**index for index in range(conv_blocks))
        # One convolution per block keeps a sweep's many trials affordable on a CPU.
        return models.build_cnn(
            num_classes=self.num_classes,
            filters=block_filters,
            convs_per_block=1,
            dense_units=dense_units,
            seed=self.seed,
            **layers,
        )


def make_hypermodel(kind: str, num_classes: int = 47, seed: int = 0) -> _EmnistHyperModel:
    """Returns the hypermodel for ``kind`` ("mlp" or "cnn").

    Raises:
        ValueError: if ``kind`` is not a known model kind.
    """
    if kind == "mlp":
        return MlpHyperModel(num_classes=num_classes, seed=seed)
    if kind == "cnn":
        return CnnHyperModel(num_classes=num_classes, seed=seed)
    raise ValueError(f"unknown model {kind!r}; choose one of {', '.join(MODEL_KINDS)}")


def baseline_values(kind: str) -> dict:
    """The baseline configuration: every hyperparameter at its declared default."""
    hp = keras_tuner.HyperParameters()
    make_hypermodel(kind).declare_hyperparameters(hp)
    return dict(hp.values)


def _architecture_candidates(kind: str) -> tuple[dict, ...]:
    if kind == "mlp":
        shapes = [(1, 128), (1, 512), (2, 128), (2, 512), (3, 256), (3, 512)]
        return tuple({"hidden_layers": layers, "units": units} for layers, units in shapes)
    shapes = [(1, 32, 128), (2, 16, 128), (2, 64, 128), (3, 32, 128), (2, 32, 256), (2, 32, 64)]
    return tuple({"conv_blocks": blocks, "filters": filters, "dense_units": dense} for blocks, filters, dense in shapes)


def stages(kind: str) -> tuple[Stage, ...]:
    """The greedy strategy's stages for ``kind``, in the order they run.

    The baseline stage (one candidate: :func:`baseline_values`) comes first; every
    later stage lists the options of one technique.
    """

    def one(name, values):
        return tuple({name: value} for value in values)

    return (
        Stage("baseline", ({},)),
        Stage("architecture", _architecture_candidates(kind)),
        Stage("activation", one("activation", ACTIVATIONS)),
        Stage("optimizer", one("optimizer", OPTIMIZERS)),
        Stage("learning_rate", one("learning_rate", (3e-4, 1e-3, 3e-3, 1e-2))),
        Stage("schedule", one("schedule", SCHEDULES)),
        Stage("batch_norm", one("batch_norm", (False, True))),
        Stage(
            "regularization",
            (
                {"regularizer": "none"},
                {"regularizer": "l1", "regularization_strength": 1e-5},
                {"regularizer": "l2", "regularization_strength": 1e-4},
            ),
        ),
        Stage("dropout", one("dropout_rate", DROPOUT_RATES)),
        Stage("batch_size", one("batch_size", BATCH_SIZES)),
    )


def stage_names(kind: str = "mlp") -> list[str]:
    """Names of the greedy stages, baseline first."""
    return [stage.name for stage in stages(kind)]
