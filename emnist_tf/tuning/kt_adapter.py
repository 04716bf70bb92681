"""Every use of KerasTuner beyond its public API, in one place.

KerasTuner 1.4.8 (pinned in requirements.txt) has no public way to do a few things the
sweeps need; each name below says which gap it fills. ``tests/test_kt_adapter.py`` checks
that every symbol listed in :data:`PRIVATE_SYMBOLS` still exists, and names the one that
moved, so a KerasTuner upgrade fails loudly there instead of deep inside a sweep.

Public extension points are used everywhere else: ``HyperModel.build``/``HyperModel.fit``,
``Tuner.run_trial``, ``Oracle.populate_space``, ``Oracle.save``/``reload``.
"""

from __future__ import annotations

import importlib

# Gap: trial states ("COMPLETED", "FAILED"...) and reading a trial file back are not exported
# from the top-level package.
from keras_tuner.src.engine.trial import Trial, TrialStatus  # noqa: F401 - re-exported for the sweep modules

EPOCHS_VALUE = "tuner/epochs"
"""KerasTuner's convention (Hyperband's rungs) for a trial value that sets its epochs; the greedy
confirmation stage uses it too, so a distributed worker trains a trial as long as the chief asks."""

PRIVATE_SYMBOLS = (
    ("keras_tuner.src.engine.trial", "Trial"),
    ("keras_tuner.src.engine.trial", "TrialStatus"),
    ("keras_tuner.src.engine.metrics_tracking", "MetricsTracker"),
    ("keras_tuner.src.distribute.utils", "is_chief_oracle"),
    ("keras_tuner.src.distribute.oracle_chief", "OracleServicer"),
    ("keras_tuner.src.distribute.oracle_chief", "exit_chief"),
    ("keras_tuner.src.protos", "get_service_grpc"),
    ("keras_tuner.Tuner", "_get_tuner_fname"),
    ("keras_tuner.Tuner", "_is_worker"),
    ("keras_tuner.Oracle", "_get_oracle_fname"),
    ("keras_tuner.Oracle", "_get_trial_dir"),
    ("keras_tuner.Oracle", "_record_values"),
    ("keras_tuner.Oracle", "_set_project_dir"),
)
"""``(module or class, attribute)`` pairs this module relies on; instance attributes
(``start_order``, ``end_order``, ``_retry_queue`` of an oracle) are checked by the test on an oracle."""

ORACLE_STATE_ATTRIBUTES = ("start_order", "end_order", "_retry_queue", "trials")


def resolve(owner: str, attribute: str):
    """Imports ``owner`` (a module, or ``package.Class``) and returns its ``attribute``.

    Raises:
        ImportError: naming the symbol when KerasTuner no longer has it.
    """
    module_name, _, class_name = owner.rpartition(".")
    try:
        holder = importlib.import_module(owner)
    except ImportError:
        try:
            holder = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError):
            raise ImportError(
                f"KerasTuner no longer has {owner}.{attribute}: adapt emnist_tf/tuning/kt_adapter.py"
            ) from None
    if not hasattr(holder, attribute):
        raise ImportError(f"KerasTuner no longer has {owner}.{attribute}: adapt emnist_tf/tuning/kt_adapter.py")
    return getattr(holder, attribute)


def new_metrics_tracker():
    """Gap: an oracle cannot reset a trial's partial metrics before re-running it (resume after a kill)."""
    from keras_tuner.src.engine.metrics_tracking import MetricsTracker

    return MetricsTracker()


def is_chief_oracle() -> bool:
    """Gap: no public test whether this process is the distributed chief (it must serve, not train)."""
    from keras_tuner.src.distribute import utils

    return utils.is_chief_oracle()


def oracle_server(oracle):
    """Gap: KerasTuner's own chief loop polls every 20 s; serving the same servicer ourselves ends
    a sweep promptly. Returns ``(servicer, add_to_server, exit_chief)``."""
    from keras_tuner.src import protos
    from keras_tuner.src.distribute import oracle_chief

    servicer = oracle_chief.OracleServicer(oracle)
    return servicer, protos.get_service_grpc().add_OracleServicer_to_server, oracle_chief.exit_chief


def tuner_state_file(tuner) -> str:
    """Gap: the tuner's state file path (written atomically by the sweep, so a kill cannot truncate it)."""
    return tuner._get_tuner_fname()


def is_worker(tuner) -> bool:
    """Gap: whether a tuner runs as a distributed worker (a worker must not save the oracle)."""
    return tuner._is_worker()


def oracle_state_file(oracle) -> str:
    """Gap: the oracle's state file path (written atomically by the resumable oracles)."""
    return oracle._get_oracle_fname()


def trial_dir(oracle, trial_id: str) -> str:
    """Gap: the folder of one trial's ``trial.json`` (written atomically by the resumable oracles)."""
    return oracle._get_trial_dir(trial_id)


def record_values(oracle, trial) -> None:
    """Gap: registering a trial's values with an oracle that reloaded it from its trial file only."""
    oracle._record_values(trial)


def retry_queue(oracle) -> list:
    """Gap: the queue of trials to run again after a kill (reconciled with the trial files on reload)."""
    return oracle._retry_queue
