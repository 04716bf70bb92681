"""emnist_tf: a Keras/TensorFlow course on the EMNIST handwritten characters.

The public API is flat: every name below can be imported from ``emnist_tf``
directly. Names are loaded on first use, so ``import emnist_tf`` stays quick and
TensorFlow is imported only by what needs it.

Example:
    >>> import emnist_tf
    >>> images, labels = emnist_tf.load_arrays("balanced", "train", limit=5000)
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    # fast mode and devices
    "fast_mode": "emnist_tf.config",
    "set_fast_mode": "emnist_tf.config",
    "describe_device": "emnist_tf.devices",
    "configure_precision": "emnist_tf.devices",
    # errors
    "EmnistTfError": "emnist_tf.errors",
    "DataError": "emnist_tf.errors",
    "DataNotFoundError": "emnist_tf.errors",
    # data
    "SPLITS": "emnist_tf.data",
    "SplitInfo": "emnist_tf.data",
    "EmnistData": "emnist_tf.data",
    "split_info": "emnist_tf.data",
    "class_names": "emnist_tf.data",
    "load_arrays": "emnist_tf.data",
    "load_emnist": "emnist_tf.data",
    "describe_split": "emnist_tf.data",
    "make_dataset": "emnist_tf.data",
    "train_validation_split": "emnist_tf.data",
    "stratified_folds": "emnist_tf.data",
    "class_count_table": "emnist_tf.data",
    "plot_samples": "emnist_tf.data",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'emnist_tf' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
