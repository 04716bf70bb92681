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

import keras_tuner

from emnist_tf.choices import MODEL_KINDS, SCHEDULES
from emnist_tf.modeling.configuration import REGULARIZERS, SEARCHED_ACTIVATIONS, SEARCHED_OPTIMIZERS, TrainingConfig

DROPOUT_RATES = (0.0, 0.2, 0.25, 0.3, 0.5)
"""Dropout rates of the space: the default CNN's 0.25 and the default MLP's 0.3 among them."""
BATCH_SIZES = (32, 64, 128, 256)
LEARNING_RATE_RANGE = (1e-4, 1e-1)
STRENGTH_RANGE = (1e-6, 1e-3)
MLP_LAYERS = (3, 5)
MLP_UNITS = (128, 256, 512, 1024)
CNN_BLOCKS = (2, 3)
CNN_CONVS_PER_BLOCK = (1, 2)
CNN_FILTERS = (16, 32, 64)
CNN_DENSE_UNITS = (64, 128, 256, 512)
SMALLEST_WIDTH = 16
FINAL_VALIDATION_FRACTION = 0.05
FINAL_EARLY_STOPPING_PATIENCE = 5
CONFIRMATION_STAGE = "confirmation"
"""Name of the greedy strategy's optional last stage (:func:`confirmation_stage`)."""


@dataclasses.dataclass(frozen=True)
class Stage:
    """One technique explored by the greedy strategy.

    Attributes:
        name: short name used for folders, tables and figures, e.g. ``"activation"``.
        candidates: hyperparameter values to try, each a dict of overrides of the
            best configuration so far.
        confirmation: the stage retrains its candidates for longer and compares them
            only with each other (the short trials' scores are not comparable).
    """

    name: str
    candidates: tuple[dict, ...]
    confirmation: bool = False

    @property
    def keys(self) -> tuple[str, ...]:
        """The hyperparameter names this stage changes."""
        names: list[str] = []
        for candidate in self.candidates:
            names.extend(name for name in candidate if name not in names)
        return tuple(names)


class _EmnistHyperModel(keras_tuner.HyperModel):
    """Shared training half of both hypermodels: optimiser, schedule, batch size."""

    def __init__(self, num_classes: int = 47, seed: int = 0, run_eagerly: bool = False):
        super().__init__(name=self.kind, tunable=True)
        self.num_classes = num_classes
        self.seed = seed
        self.run_eagerly = run_eagerly

    def declare_hyperparameters(self, hp: keras_tuner.HyperParameters) -> None:
        """Declares the whole space at once (model and training choices)."""
        self._declare_model(hp)
        self._declare_training(hp)

    def build(self, hp: keras_tuner.HyperParameters):
        """Builds the (uncompiled) Keras model for these hyperparameter values."""
        from emnist_tf.modeling import models

        architecture = self._declare_model(hp)
        return models.build_model(self.kind, num_classes=self.num_classes, seed=self.seed, **architecture)

    def fit(self, hp, model, x, y, validation_data=None, epochs=1, callbacks=None, **kwargs):
        """Trains ``model`` with the library's one training recipe (:func:`emnist_tf.modeling.training.train`).

        The recipe is the configuration's: optimiser, learning rate, schedule, batch size
        from ``hp``; class weights, label smoothing and augmentation from
        :func:`recipe_for`. Without ``validation_data`` every image trains.

        Args:
            hp: the trial's hyperparameters.
            model: the model returned by :meth:`build`.
            x: training images, float32 (N, 28, 28, 1).
            y: training labels, class indices.
            validation_data: optional ``(images, labels)``.
            epochs: number of epochs.
            callbacks: Keras callbacks.

        Returns:
            The :class:`emnist_tf.modeling.training.TrainingResult` (its ``history`` is a dict
            like a Keras ``History``'s).
        """
        from emnist_tf.modeling import training

        # The trial's own validation set scores it: no held-out share, no early stopping.
        config = config_from_values(self.kind, hp.values, epochs=epochs, seed=self.seed)
        config = config.replace(validation_fraction=0.0, early_stopping_patience=None)
        return training.train(
            config,
            (x, y),
            model=model,
            validation_data=validation_data,
            callbacks=list(callbacks or []),
            verbose=0,
            run_eagerly=self.run_eagerly,
        )

    @staticmethod
    def _declare_training(hp):
        batch_size = hp.Choice("batch_size", list(BATCH_SIZES), default=128)
        optimizer = hp.Choice("optimizer", list(SEARCHED_OPTIMIZERS), default="adam")
        learning_rate = hp.Float("learning_rate", *LEARNING_RATE_RANGE, sampling="log", default=1e-3)
        schedule = hp.Choice("schedule", list(SCHEDULES), default="constant")
        return batch_size, optimizer, learning_rate, schedule

    @staticmethod
    def _declare_layers(hp):
        """The per-layer techniques, common to both models."""
        return dict(
            activation=hp.Choice("activation", list(SEARCHED_ACTIVATIONS), default="relu"),
            batch_norm=hp.Boolean("batch_norm", default=False),
            dropout_rate=hp.Choice("dropout_rate", list(DROPOUT_RATES), default=0.0),
            regularizer=hp.Choice("regularizer", list(REGULARIZERS), default="none"),
            regularization_strength=hp.Float("regularization_strength", *STRENGTH_RANGE, sampling="log", default=1e-4),
        )


class MlpHyperModel(_EmnistHyperModel):
    """The multilayer perceptron: 3 to 5 hidden layers that halve in width from ``units``.

    Example:
        >>> hypermodel = MlpHyperModel(num_classes=47)
        >>> model = hypermodel.build(keras_tuner.HyperParameters())
    """

    kind = "mlp"

    def _declare_model(self, hp):
        hidden_layers = hp.Int("hidden_layers", *MLP_LAYERS, default=3)
        units = hp.Choice("units", list(MLP_UNITS), default=256)
        return {"hidden_units": mlp_widths(hidden_layers, units), **self._declare_layers(hp)}


class CnnHyperModel(_EmnistHyperModel):
    """The convolutional network: 2 or 3 blocks of 1 or 2 convolutions, filters doubling per block.

    Example:
        >>> hypermodel = CnnHyperModel(num_classes=47)
        >>> model = hypermodel.build(keras_tuner.HyperParameters())
    """

    kind = "cnn"

    def _declare_model(self, hp):
        conv_blocks = hp.Int("conv_blocks", *CNN_BLOCKS, default=2)
        convs_per_block = hp.Int("convs_per_block", *CNN_CONVS_PER_BLOCK, default=1)
        filters = hp.Choice("filters", list(CNN_FILTERS), default=32)
        dense_units = hp.Choice("dense_units", list(CNN_DENSE_UNITS), default=128)
        return {
            "filters": [filters * 2**index for index in range(conv_blocks)],
            "convs_per_block": convs_per_block,
            "dense_units": [dense_units],
            **self._declare_layers(hp),
        }


def mlp_widths(hidden_layers: int, units: int) -> list[int]:
    """Widths of an MLP's hidden layers: ``units`` halving per layer, never below 16."""
    return [max(SMALLEST_WIDTH, units // 2**index) for index in range(hidden_layers)]


def recipe_for(kind: str) -> dict:
    """The fixed part of every configuration of ``kind``: class weights, label smoothing, augmentation.

    Taken from the default recipe (:data:`emnist_tf.modeling.training.DEFAULT_TRAINING`), so a
    sweep's folds and its final training use what the default models need on this data.
    """
    from emnist_tf.modeling.training import DEFAULT_TRAINING

    recipe = DEFAULT_TRAINING[kind]
    return {
        "class_weight": recipe.get("class_weight"),
        "label_smoothing": float(recipe.get("label_smoothing", 0.0)),
        "augmentation": recipe.get("augmentation", False),
    }


def config_from_values(kind: str, values: dict, *, epochs: int, seed: int = 0) -> TrainingConfig:
    """The training configuration (``best.json``'s format) of hyperparameter values.

    Args:
        kind: "mlp" or "cnn".
        values: hyperparameter values (missing ones take their defaults; ``tuner/`` entries ignored).
        epochs: training epochs (decided by whoever makes the configuration: a sweep's settings).
        seed: the configuration's seed.

    Returns:
        A :class:`~emnist_tf.modeling.configuration.TrainingConfig` checked against the space.
    """
    hp = keras_tuner.HyperParameters()
    hypermodel = make_hypermodel(kind)
    hypermodel.declare_hyperparameters(hp)
    hp.values.update({name: value for name, value in values.items() if not name.startswith("tuner/")})
    batch_size, optimizer, learning_rate, schedule = hypermodel._declare_training(hp)
    config = {
        "model": kind,
        "architecture": hypermodel._declare_model(hp),
        "optimizer": optimizer,
        "learning_rate": float(learning_rate),
        "schedule": schedule,
        "batch_size": int(batch_size),
        "epochs": int(epochs),
        **recipe_for(kind),
        "validation_fraction": FINAL_VALIDATION_FRACTION,
        "early_stopping_patience": FINAL_EARLY_STOPPING_PATIENCE,
        "seed": int(seed),
    }
    return TrainingConfig.from_dict(config)


def make_hypermodel(kind: str, num_classes: int = 47, seed: int = 0, run_eagerly: bool = False) -> _EmnistHyperModel:
    """Returns the hypermodel for ``kind`` ("mlp" or "cnn"); ``run_eagerly`` trains without tracing a graph
    (for trials of a few batches, where tracing costs more than it saves).

    Raises:
        ValueError: if ``kind`` is not a known model kind.
    """
    if kind == "mlp":
        return MlpHyperModel(num_classes=num_classes, seed=seed, run_eagerly=run_eagerly)
    if kind == "cnn":
        return CnnHyperModel(num_classes=num_classes, seed=seed, run_eagerly=run_eagerly)
    raise ValueError(f"unknown model {kind!r}; choose one of {', '.join(MODEL_KINDS)}")


def baseline_values(kind: str) -> dict:
    """The baseline configuration: every hyperparameter at its declared default."""
    hp = keras_tuner.HyperParameters()
    make_hypermodel(kind).declare_hyperparameters(hp)
    return dict(hp.values)


def _architecture_candidates(kind: str) -> tuple[dict, ...]:
    if kind == "mlp":
        shapes = [(3, 512), (3, 1024), (4, 512), (4, 1024), (5, 1024)]
        return tuple({"hidden_layers": layers, "units": units} for layers, units in shapes)
    shapes = [(2, 2, 32, 128), (2, 2, 32, 256), (2, 2, 64, 256), (3, 1, 32, 256), (3, 2, 32, 256), (2, 2, 32, 512)]
    return tuple(
        {"conv_blocks": blocks, "convs_per_block": convs, "filters": filters, "dense_units": dense}
        for blocks, convs, filters, dense in shapes
    )


def default_recipe_techniques(kind: str) -> dict:
    """The default model's answer to every technique a short trial misjudges.

    Batch normalisation, dropout, a decaying schedule and the optimiser settings that go
    with them pay off over a full training run but slow the first epochs, so a sweep of
    short trials rejects them. These are the values of the default model
    (:func:`emnist_tf.modeling.models.build_model`) and its recipe
    (:data:`emnist_tf.modeling.training.DEFAULT_TRAINING`).
    """
    import inspect

    from emnist_tf.modeling import models
    from emnist_tf.modeling.training import DEFAULT_TRAINING

    builder = {"mlp": models.build_mlp, "cnn": models.build_cnn}[kind]
    defaults = {name: parameter.default for name, parameter in inspect.signature(builder).parameters.items()}
    recipe = DEFAULT_TRAINING[kind]
    return {
        "batch_norm": defaults["batch_norm"],
        "dropout_rate": defaults["dropout_rate"],
        "regularizer": defaults["regularizer"] or "none",
        **{name: recipe[name] for name in ("optimizer", "learning_rate", "schedule", "batch_size")},
    }


def default_recipe_values(kind: str) -> dict:
    """The default model's value of every hyperparameter a stage changes: its architecture,
    activation and :func:`default_recipe_techniques`."""
    import inspect

    from emnist_tf.modeling import models

    builder = {"mlp": models.build_mlp, "cnn": models.build_cnn}[kind]
    defaults = {name: parameter.default for name, parameter in inspect.signature(builder).parameters.items()}
    if kind == "mlp":
        architecture = {"hidden_layers": len(defaults["hidden_units"]), "units": defaults["hidden_units"][0]}
    else:
        dense = defaults["dense_units"]
        architecture = {
            "conv_blocks": len(defaults["filters"]),
            "convs_per_block": defaults["convs_per_block"],
            "filters": defaults["filters"][0],
            "dense_units": dense if isinstance(dense, int) else dense[0],
        }
    return {
        **architecture,
        "activation": defaults["activation"],
        "regularization_strength": defaults["regularization_strength"],
        **default_recipe_techniques(kind),
    }


def with_default(stage: Stage, defaults: dict) -> Stage:
    """``stage`` with the default model's values among its candidates (added last when missing)."""
    if stage.name == "baseline" or stage.confirmation:
        return stage
    if any(all(defaults.get(name) == value for name, value in candidate.items()) for candidate in stage.candidates):
        return stage
    return dataclasses.replace(stage, candidates=(*stage.candidates, {name: defaults[name] for name in stage.keys}))


def confirmation_stage(kind: str) -> Stage:
    """The last greedy stage: the winner against the winner with :func:`default_recipe_techniques`.

    One rung: both are retrained with more epochs per fold than the technique stages, and the
    better mean validation accuracy becomes the sweep's winner. Several rungs: the winner
    already has a score at the last rung's length, so only the variant trains, and the better wins.
    """
    return Stage(CONFIRMATION_STAGE, ({}, default_recipe_techniques(kind)), confirmation=True)


def stages(kind: str, confirmation: bool = False) -> tuple[Stage, ...]:
    """The greedy strategy's stages for ``kind``, in the order they run.

    The baseline stage (one candidate: :func:`baseline_values`) comes first; every
    later stage lists the options of one technique, the default model's among them
    (:func:`default_recipe_values`); with ``confirmation`` the :func:`confirmation_stage` comes last.
    """

    def one(name, values):
        return tuple({name: value} for value in values)

    techniques = (
        Stage("baseline", ({},)),
        Stage("architecture", _architecture_candidates(kind)),
        Stage("activation", one("activation", SEARCHED_ACTIVATIONS)),
        Stage("optimizer", one("optimizer", SEARCHED_OPTIMIZERS)),
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
    defaults = default_recipe_values(kind)
    return tuple(with_default(stage, defaults) for stage in techniques) + (
        (confirmation_stage(kind),) if confirmation else ()
    )


def stage_names(kind: str = "mlp") -> list[str]:
    """Names of the greedy stages, baseline first."""
    return [stage.name for stage in stages(kind)]
