"""Technique sweeps with KerasTuner: greedy staged search, joint search, cross-validation.

The pieces, one concept per module:

* :mod:`.space`: the MLP and CNN hypermodels and the greedy stages.
* :mod:`.crossval`: a KerasTuner tuner whose trials are stratified k-fold cross-validations.
* :mod:`.oracles`: KerasTuner oracles that resume exactly after any kill.
* :mod:`.greedy`: one technique at a time from a baseline, the winner carried forward.
* :mod:`.sweep`: a whole sweep (settings, search, test evaluation, report); what the CLI runs.
* :mod:`.results`, :mod:`.report`: ``results.csv``, stage tables and figures, ``summary.md``.
* :mod:`.progress`, :mod:`.distributed`: progress lines; KerasTuner's chief/worker mode.

Example:
    >>> from emnist_tf.tuning import run_sweep
    >>> outcome = run_sweep("sweeps/mlp", model="mlp", strategy="greedy", folds=3, epochs=5)
"""

from emnist_tf.tuning.crossval import CrossValidationTuner
from emnist_tf.tuning.greedy import run_greedy
from emnist_tf.tuning.oracles import CandidateOracle, make_oracle
from emnist_tf.tuning.report import format_report, write_report
from emnist_tf.tuning.results import load_trials, write_results_csv
from emnist_tf.tuning.space import CnnHyperModel, MlpHyperModel, baseline_values, make_hypermodel, stages
from emnist_tf.tuning.sweep import run_sweep

__all__ = [
    "CandidateOracle",
    "CnnHyperModel",
    "CrossValidationTuner",
    "MlpHyperModel",
    "baseline_values",
    "format_report",
    "load_trials",
    "make_hypermodel",
    "make_oracle",
    "run_greedy",
    "run_sweep",
    "stages",
    "write_report",
    "write_results_csv",
]
