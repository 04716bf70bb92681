"""Run configurations: what a sweep writes (``best.json``, ``baseline.json``) and ``train --config`` reads.

A configuration is a JSON object whose keys are keyword arguments of
:func:`emnist_tf.modeling.training.train`, so ``train(**config)`` trains it::

    {
      "model": "mlp",
      "architecture": {"hidden_units": [512, 256, 128], "activation": "relu", "batch_norm": true,
                       "dropout_rate": 0.2, "regularizer": "none", "regularization_strength": 0.0001},
      "optimizer": "adam", "learning_rate": 0.002, "schedule": "cosine", "batch_size": 128,
      "epochs": 20, "class_weight": "balanced", "label_smoothing": 0.0, "augmentation": true,
      "validation_fraction": 0.05, "early_stopping_patience": null
    }

``architecture`` holds the keywords of :func:`emnist_tf.modeling.models.build_mlp` or
:func:`~emnist_tf.modeling.models.build_cnn` (for a CNN: ``filters``, ``convs_per_block``,
``kernel_size``, ``dense_units`` and the same layer options). :func:`check_config` accepts
exactly what the sweep's search space can express, within the assignment's rules (an MLP has
at least three hidden layers, a CNN at least two convolution layers), and stops on anything
else with one line naming the key and the allowed values.

This module does not import TensorFlow or KerasTuner, so the command line can check a file
before anything heavy loads.

Example:
    >>> from emnist_tf.tuning.configs import load_config
    >>> from emnist_tf.modeling.training import train
    >>> config = load_config("sweeps/mlp/best.json")
    >>> result = train(data="balanced", **config)
"""

from __future__ import annotations

import json
import math
import os

from emnist_tf.choices import MODEL_KINDS, SCHEDULES
from emnist_tf.errors import EmnistTfError
from emnist_tf.files import atomic_write_json

FORMAT_VERSION = 1
BEST_FILE = "best.json"
BASELINE_FILE = "baseline.json"

# ------------------------------------------------------------------ the space
ACTIVATIONS = ("relu", "elu", "selu", "gelu", "swish", "leaky_relu")
OPTIMIZERS = ("adam", "sgd", "rmsprop", "nadam", "adamw")
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
    _choice(architecture, "activation", label("activation"), ACTIVATIONS)
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
    _choice(config, "optimizer", "optimizer", OPTIMIZERS)
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
    return config


def load_config(path) -> dict:
    """Reads and checks a configuration file (``best.json``, ``baseline.json`` or one of yours).

    Raises:
        ConfigError: if the file is missing, not JSON, or not in the space (one line).
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as stream:
            config = json.load(stream)
    except FileNotFoundError:
        raise ConfigError(f"no configuration file {path}; a sweep writes best.json and baseline.json") from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path} is not valid JSON ({error.msg}, line {error.lineno})") from None
    try:
        return check_config(config)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def save_config(config: dict, path) -> str:
    """Checks ``config`` and writes it as indented JSON, atomically (a kill leaves the old file or the new)."""
    return atomic_write_json(path, check_config(config), indent=2)
