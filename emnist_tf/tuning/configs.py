"""A sweep's configuration files: their names; the format is :mod:`emnist_tf.modeling.configuration`.

A sweep writes ``best.json`` and ``baseline.json``, each a :class:`~emnist_tf.modeling.configuration.TrainingConfig`
in its file form; ``emnist-tf train --config`` trains one. The names below stay importable from here.
"""

from __future__ import annotations

from emnist_tf.modeling.configuration import (  # noqa: F401 - the format, importable from its old place
    REGULARIZERS,
    SEARCHED_ACTIVATIONS,
    SEARCHED_OPTIMIZERS,
    TOP_KEYS,
    ConfigError,
    TrainingConfig,
    check_config,
    load_config,
    save_config,
)

BEST_FILE = "best.json"
BASELINE_FILE = "baseline.json"
