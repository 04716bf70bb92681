"""Technique sweeps with KerasTuner: greedy staged search, joint search, cross-validation.

The pieces, one concept per module:

* :mod:`.configs`: the names of a sweep's configuration files (the format, ``TrainingConfig``, is in
  :mod:`emnist_tf.modeling.configuration`).
* :mod:`.strategies`: ``STRATEGIES``, every search strategy by name (greedy, random, bayesian, hyperband).
* :mod:`.space`: the MLP and CNN hypermodels and the greedy stages.
* :mod:`.crossval`: a KerasTuner tuner whose trials are stratified k-fold cross-validations.
* :mod:`.oracles`: KerasTuner oracles that resume exactly after any kill.
* :mod:`.greedy`: runs a staged strategy's stages, the winner carried forward.
* :mod:`.final`: a configuration trained and tested (a sweep's end, ``emnist-tf train``, the assignment).
* :mod:`.sweep`: a whole sweep (settings, search, test evaluation, report); what the CLI runs.
* :mod:`.results`, :mod:`.report`: ``results.csv``, stage tables and figures, ``summary.md``.
* :mod:`.progress`, :mod:`.distributed`: progress lines; KerasTuner's chief/worker mode.

Example:
    >>> from emnist_tf.tuning import run_sweep
    >>> outcome = run_sweep("sweeps/mlp", model="mlp", strategy="greedy", folds=3, epochs=5)
"""

from __future__ import annotations

import importlib

# public name -> module that defines it; loaded on first use so that ``emnist_tf.tuning.configs``
# (read by ``emnist-tf train --config``) does not pull in KerasTuner and TensorFlow.
_EXPORTS = {
    "CandidateOracle": "emnist_tf.tuning.oracles",
    "STRATEGIES": "emnist_tf.tuning.strategies",
    "TrainingConfig": "emnist_tf.modeling.configuration",
    "train_and_test": "emnist_tf.tuning.final",
    "CnnHyperModel": "emnist_tf.tuning.space",
    "ConfigError": "emnist_tf.modeling.configuration",
    "CrossValidationTuner": "emnist_tf.tuning.crossval",
    "MlpHyperModel": "emnist_tf.tuning.space",
    "baseline_values": "emnist_tf.tuning.space",
    "check_config": "emnist_tf.modeling.configuration",
    "config_from_values": "emnist_tf.tuning.space",
    "format_report": "emnist_tf.tuning.report",
    "load_config": "emnist_tf.modeling.configuration",
    "load_trials": "emnist_tf.tuning.results",
    "make_hypermodel": "emnist_tf.tuning.space",
    "make_oracle": "emnist_tf.tuning.strategies",
    "run_greedy": "emnist_tf.tuning.greedy",
    "run_sweep": "emnist_tf.tuning.sweep",
    "save_config": "emnist_tf.modeling.configuration",
    "stages": "emnist_tf.tuning.space",
    "write_report": "emnist_tf.tuning.report",
    "write_results_csv": "emnist_tf.tuning.results",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'emnist_tf.tuning' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
