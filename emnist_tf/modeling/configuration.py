"""One training configuration: what ``train`` runs, what a sweep writes (``best.json``), what ``train --config`` reads.

:class:`TrainingConfig` is a frozen dataclass that travels whole from where it is made (the
default recipe, a budget, a sweep's winner, a file) to :func:`emnist_tf.modeling.training.train`.
Its file form is a JSON object::

    {
      "model": "mlp",
      "architecture": {"hidden_units": [512, 256, 128], "activation": "relu", "batch_norm": true,
                       "dropout_rate": 0.2, "regularizer": "none", "regularization_strength": 0.0001},
      "optimizer": "adam", "learning_rate": 0.002, "schedule": "cosine", "batch_size": 128,
      "epochs": 20, "class_weight": "balanced", "label_smoothing": 0.0, "augmentation": true,
      "validation_fraction": 0.05, "early_stopping_patience": null, "seed": 0
    }

``architecture`` holds the keywords of :func:`emnist_tf.modeling.models.build_mlp` or
:func:`~emnist_tf.modeling.models.build_cnn` (for a CNN: ``filters``, ``convs_per_block``,
``kernel_size``, ``dense_units`` and the same layer options). :meth:`TrainingConfig.from_dict`
(and :meth:`~TrainingConfig.load`) accept exactly what the sweep's search space can express,
within the assignment's rules (an MLP has at least three hidden layers, a CNN at least two
convolution layers), and stop on anything else with one line naming the key (and the file)
and the allowed values. A configuration made in code (``TrainingConfig(epochs=3)``) is only
checked for values ``train`` cannot run.

This module does not import TensorFlow, so the command line can check a file before anything
heavy loads.

Example:
    >>> from emnist_tf.modeling.configuration import TrainingConfig
    >>> from emnist_tf.modeling.training import train
    >>> config = TrainingConfig.load("sweeps/mlp/best.json")
    >>> result = train(config, "balanced")
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from typing import Any

from emnist_tf.choices import MODEL_KINDS, SCHEDULES
from emnist_tf.errors import EmnistTfError
from emnist_tf.files import atomic_write_json

# ------------------------------------------------------------------ the space
SEARCHED_ACTIVATIONS = ("relu", "elu", "selu", "gelu", "swish", "leaky_relu")
"""The activations a sweep tries (every one :data:`emnist_tf.choices.ACTIVATIONS` can build)."""
SEARCHED_OPTIMIZERS = ("adam", "sgd", "rmsprop", "nadam", "adamw")
"""The optimisers a sweep tries and a sweep's configuration may name (of :data:`emnist_tf.choices.OPTIMIZERS`)."""
REGULARIZERS = ("none", "l1", "l2")
MLP_HIDDEN_LAYERS = (3, 5)
"""Fewest and most hidden layers of an MLP (the assignment asks for at least three)."""
CNN_CONV_BLOCKS = (2, 3)
"""Fewest and most convolution blocks of a CNN (each ends in max pooling)."""
CNN_CONVS_PER_BLOCK = (1, 2)
"""Fewest and most convolutions per block: at least 2 x 1 = 2 convolution layers in all."""
WIDTH_RANGE = (16, 1024)
"""Smallest and largest width of a dense layer."""
FILTER_RANGE = (8, 512)
"""Smallest and largest number of filters of a convolution block."""
KERNEL_SIZES = (3, 5)
CNN_DENSE_LAYERS = (1, 2)
DROPOUT_RANGE = (0.0, 0.6)
STRENGTH_RANGE = (0.0, 1e-2)
LEARNING_RATE_RANGE = (1e-5, 1.0)
BATCH_SIZE_RANGE = (8, 2048)
LABEL_SMOOTHING_RANGE = (0.0, 0.5)
VALIDATION_FRACTION_RANGE = (0.0, 0.5)
AUGMENTATION_OPTIONS = ("rotation_degrees", "shift_fraction", "zoom_fraction")

COMMON_ARCHITECTURE = ("activation", "batch_norm", "dropout_rate", "regularizer", "regularization_strength")
ARCHITECTURE_KEYS = {
    "mlp": ("hidden_units", *COMMON_ARCHITECTURE),
    "cnn": ("filters", "convs_per_block", "kernel_size", "dense_units", *COMMON_ARCHITECTURE),
}
TRAINING_KEYS = (
    "optimizer",
    "learning_rate",
    "schedule",
    "batch_size",
    "epochs",
    "class_weight",
    "label_smoothing",
    "augmentation",
    "validation_fraction",
    "early_stopping_patience",
    "seed",
    "optimizer_options",
    "schedule_options",
)
TOP_KEYS = ("model", "architecture", *TRAINING_KEYS)


class ConfigError(EmnistTfError, ValueError):
    """A run configuration has an unknown key or a value outside the search space."""


def _fail(key: str, problem: str, allowed: str) -> ConfigError:
    return ConfigError(f"config key {key!r}: {problem}; allowed: {allowed}")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _choice(config: dict, key: str, label: str, options) -> None:
    if key in config and config[key] not in options:
        raise _fail(label, f"{config[key]!r} is not in the space", ", ".join(map(str, options)))


def _number(config: dict, key: str, label: str, bounds, *, integer=False, exclusive_high=False) -> None:
    if key not in config:
        return
    value = config[key]
    low, high = bounds
    kind = "an integer" if integer else "a number"
    allowed = f"{kind} from {low:g} to {high:g}{' (exclusive)' if exclusive_high else ''}"
    valid = _is_int(value) if integer else _is_number(value)
    inside = valid and low <= value and (value < high if exclusive_high else value <= high)
    if not inside:
        raise _fail(label, f"{value!r} is outside the space", allowed)


def _widths(config: dict, key: str, label: str, counts, bounds, what: str) -> None:
    if key not in config:
        return
    value = config[key]
    fewest, most = counts
    low, high = bounds
    allowed = f"a list of {fewest} to {most} integers, each from {low} to {high}"
    if not isinstance(value, (list, tuple)) or not all(_is_int(item) for item in value):
        raise _fail(label, f"{value!r} is not a list of integers", allowed)
    if not fewest <= len(value) <= most:
        raise _fail(label, f"{len(value)} {what} ({list(value)}) breaks the rule of {fewest} to {most}", allowed)
    if not all(low <= item <= high for item in value):
        raise _fail(label, f"{list(value)} has a size outside {low}..{high}", allowed)


def _unknown(keys, allowed, prefix: str = "") -> None:
    unknown = [key for key in keys if key not in allowed]
    if unknown:
        raise ConfigError(f"config key {prefix + unknown[0]!r} is unknown; allowed keys: {', '.join(allowed)}")


def _check_architecture(kind: str, architecture) -> None:
    if not isinstance(architecture, dict):
        raise _fail("architecture", f"{architecture!r} is not an object", "an object of layer options")
    _unknown(architecture, ARCHITECTURE_KEYS[kind], "architecture.")
    label = "architecture.{}".format
    if kind == "mlp":
        if "hidden_units" not in architecture:
            raise _fail(label("hidden_units"), "missing (an MLP needs its hidden layers)", "a list of 3 to 5 widths")
        _widths(architecture, "hidden_units", label("hidden_units"), MLP_HIDDEN_LAYERS, WIDTH_RANGE, "hidden layers")
    else:
        if "filters" not in architecture:
            raise _fail(label("filters"), "missing (a CNN needs its convolution blocks)", "a list of 2 or 3 counts")
        _widths(architecture, "filters", label("filters"), CNN_CONV_BLOCKS, FILTER_RANGE, "convolution blocks")
        _number(architecture, "convs_per_block", label("convs_per_block"), CNN_CONVS_PER_BLOCK, integer=True)
        _choice(architecture, "kernel_size", label("kernel_size"), KERNEL_SIZES)
        _widths(architecture, "dense_units", label("dense_units"), CNN_DENSE_LAYERS, WIDTH_RANGE, "dense layers")
    _choice(architecture, "activation", label("activation"), SEARCHED_ACTIVATIONS)
    _choice(architecture, "batch_norm", label("batch_norm"), (True, False))
    _number(architecture, "dropout_rate", label("dropout_rate"), DROPOUT_RANGE)
    _choice(architecture, "regularizer", label("regularizer"), REGULARIZERS)
    _number(architecture, "regularization_strength", label("regularization_strength"), STRENGTH_RANGE)


def _check_augmentation(value) -> None:
    if isinstance(value, bool):
        return
    allowed = f"true, false or an object with some of {', '.join(AUGMENTATION_OPTIONS)}"
    if not isinstance(value, dict):
        raise _fail("augmentation", f"{value!r} is not in the space", allowed)
    _unknown(value, AUGMENTATION_OPTIONS, "augmentation.")
    for key, bounds in zip(AUGMENTATION_OPTIONS, ((0, 45), (0, 0.3), (0, 0.3))):
        _number(value, key, f"augmentation.{key}", bounds)


def check_config(config) -> dict:
    """Checks a run configuration against the search space and returns a normalised copy.

    Lists become lists (not tuples), ``regularizer`` ``None`` becomes ``"none"``.

    Raises:
        ConfigError: (a ``ValueError``) with one line naming the key and the allowed values.
    """
    if not isinstance(config, dict):
        raise ConfigError(f"a run configuration is a JSON object with keys {', '.join(TOP_KEYS)}; got {config!r}")
    config = json.loads(json.dumps(config))  # a deep, JSON-typed copy
    _unknown(config, TOP_KEYS)
    if "model" not in config:
        raise _fail("model", "missing", ", ".join(MODEL_KINDS))
    _choice(config, "model", "model", MODEL_KINDS)
    architecture = config.setdefault("architecture", {})
    if isinstance(architecture, dict) and architecture.get("regularizer", "none") is None:
        architecture["regularizer"] = "none"
    _check_architecture(config["model"], architecture)
    _choice(config, "optimizer", "optimizer", SEARCHED_OPTIMIZERS)
    _number(config, "learning_rate", "learning_rate", LEARNING_RATE_RANGE)
    _choice(config, "schedule", "schedule", SCHEDULES)
    _number(config, "batch_size", "batch_size", BATCH_SIZE_RANGE, integer=True)
    _number(config, "epochs", "epochs", (1, 10_000), integer=True)
    _choice(config, "class_weight", "class_weight", ("balanced", None))
    _number(config, "label_smoothing", "label_smoothing", LABEL_SMOOTHING_RANGE, exclusive_high=True)
    if "augmentation" in config:
        _check_augmentation(config["augmentation"])
    _number(config, "validation_fraction", "validation_fraction", VALIDATION_FRACTION_RANGE)
    if config.get("early_stopping_patience") is not None:
        _number(config, "early_stopping_patience", "early_stopping_patience", (1, 1000), integer=True)
    _number(config, "seed", "seed", (0, 2**31 - 1), integer=True)
    for key in ("optimizer_options", "schedule_options"):
        if config.get(key) is not None and not isinstance(config[key], dict):
            raise _fail(key, f"{config[key]!r} is not an object", "an object of keywords, or null")
    return config


def load_config(path) -> dict:
    """Reads and checks a configuration file; returns its dict (:meth:`TrainingConfig.load` returns the object).

    Raises:
        ConfigError: if the file is missing, not JSON, or not in the space (one line naming the file).
    """
    return TrainingConfig.load(path).to_dict()


def save_config(config, path) -> str:
    """Checks ``config`` (a dict or a :class:`TrainingConfig`) and writes it atomically; returns the path."""
    if not isinstance(config, TrainingConfig):
        config = TrainingConfig.from_dict(config)
    return config.save(path)


def _read_json(path: str):
    try:
        with open(path, encoding="utf-8") as stream:
            return json.load(stream)
    except FileNotFoundError:
        raise ConfigError(f"no configuration file {path}; a sweep writes best.json and baseline.json") from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path} is not valid JSON ({error.msg}, line {error.lineno})") from None


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """Everything that decides how a model trains, passed whole from where it is made to ``train``.

    Attributes:
        model: ``"mlp"`` or ``"cnn"`` (built from ``architecture``), or None when ``train`` is
            given a built model.
        architecture: keywords of the model's builder (:func:`emnist_tf.modeling.models.build_model`).
        optimizer: a name from ``emnist_tf.modeling.optimizers.OPTIMIZERS``.
        learning_rate: the starting (or peak, for ``cosine``) learning rate.
        schedule: a name from ``emnist_tf.modeling.schedules.SCHEDULES``.
        batch_size: examples per batch.
        epochs: epochs to run (exactly: nothing downstream changes it).
        class_weight: ``"balanced"``, a dict ``{class index: weight}`` or None (every image weighs 1).
        label_smoothing: share of each label spread over all classes (0: plain cross-entropy).
        augmentation: True (the augmenter's defaults), a dict of its keywords, a function
            ``(images, labels) -> (images, labels)``, or None/False.
        validation_fraction: share of the training images held out for validation (0: none).
        early_stopping_patience: stop after this many epochs without a lower validation loss
            and restore the best weights (None: never stop early).
        seed: seed of the weights, the validation split, shuffling, augmentation, dropout.
        optimizer_options: extra keywords of :func:`emnist_tf.modeling.optimizers.make_optimizer`.
        schedule_options: extra keywords of :func:`emnist_tf.modeling.schedules.make_schedule`.
    """

    model: str | None = None
    architecture: dict = dataclasses.field(default_factory=dict)
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    schedule: str = "constant"
    batch_size: int = 128
    epochs: int = 10
    class_weight: Any = None
    label_smoothing: float = 0.0
    augmentation: Any = None
    validation_fraction: float = 0.1
    early_stopping_patience: int | None = None
    seed: int = 0
    optimizer_options: dict | None = None
    schedule_options: dict | None = None

    def __post_init__(self):
        if not _is_int(self.epochs) or self.epochs < 1:
            raise ConfigError(f"epochs must be a positive integer, got {self.epochs!r}")
        if not _is_int(self.batch_size) or self.batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        if not _is_number(self.validation_fraction) or not 0 <= self.validation_fraction < 1:
            raise ConfigError(f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}")
        patience = self.early_stopping_patience
        if patience is not None and (not _is_int(patience) or patience < 1):
            raise ConfigError(f"early_stopping_patience must be at least 1 (or None), got {patience!r}")
        if self.model is None and self.architecture:
            raise ConfigError("architecture describes a model to build: pass model='mlp' or 'cnn' with it")

    @classmethod
    def from_dict(cls, values, *, source: str | None = None) -> TrainingConfig:
        """The configuration of a file's JSON object, checked against the search space.

        Args:
            values: a dict in the file format (missing keys take the defaults above).
            source: the file it came from, named in errors.

        Raises:
            ConfigError: one line naming the key (and ``source``) and the allowed values.
        """
        try:
            checked = check_config(values)
            return cls(**checked)
        except ConfigError as error:
            raise ConfigError(f"{source}: {error}" if source else str(error)) from None

    @classmethod
    def load(cls, path) -> TrainingConfig:
        """Reads and checks a configuration file (``best.json``, ``baseline.json`` or one of yours).

        Raises:
            ConfigError: if the file is missing, not JSON, or not in the space (one line naming the file).
        """
        path = os.fspath(path)
        return cls.from_dict(_read_json(path), source=path)

    def to_dict(self) -> dict:
        """The file form: a JSON-typed dict (empty option dicts left out)."""
        values = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        for key in ("optimizer_options", "schedule_options"):
            if not values[key]:
                values.pop(key)
        if callable(values["augmentation"]):
            raise ConfigError("a configuration with an augmentation function cannot be written to a file")
        return json.loads(json.dumps(values))

    def save(self, path) -> str:
        """Checks the configuration against the space and writes it as indented JSON, atomically."""
        return atomic_write_json(path, check_config(self.to_dict()), indent=2)

    def replace(self, **changes) -> TrainingConfig:
        """A copy with ``changes`` (field names) applied and checked again."""
        return dataclasses.replace(self, **changes)
