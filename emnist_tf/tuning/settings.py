"""What defines a sweep: its settings, stored in ``sweep.json`` and checked on resume.

Kept apart from :mod:`.sweep` (which runs a sweep) and :mod:`.report` (which reports one),
so that both read the settings without importing each other.
"""

from __future__ import annotations

import dataclasses
import json
import os

from emnist_tf import config
from emnist_tf.choices import MODEL_KINDS, STRATEGIES
from emnist_tf.files import atomic_write_json
from emnist_tf.tuning import greedy

SETTINGS_FILE = "sweep.json"


@dataclasses.dataclass(frozen=True)
class SweepSettings:
    """Everything that defines a sweep; stored in ``sweep.json`` and checked on resume.

    Attributes:
        model: "mlp" or "cnn".
        strategy: "greedy", "random", "bayesian" or "hyperband".
        folds: cross-validation folds per trial (after the fast-mode cap).
        epochs: epochs per fold and for the final training.
        max_trials: greedy: options per stage (None: all); joint: the trial budget.
        seed: the seed of everything random.
        split: EMNIST split.
        limit: training images used (None: the whole split).
        fast: whether fast mode was on.
        confirmation_epochs: greedy: epochs per fold of the confirmation stage (None: no such stage).
    """

    model: str = "mlp"
    strategy: str = "greedy"
    folds: int = 3
    epochs: int = 5
    max_trials: int | None = None
    seed: int = 0
    split: str = "balanced"
    limit: int | None = None
    fast: bool = False
    confirmation_epochs: int | None = None

    def trial_budget(self) -> int:
        """Trials the sweep runs: the greedy plan, or the joint budget (same by default)."""
        if self.strategy == "greedy":
            return greedy.planned_trials(self.model, self.max_trials, self.confirmation_epochs is not None)
        return self.max_trials


def make_settings(**options) -> SweepSettings:
    """Validates the options and applies the fast-mode caps.

    Args:
        **options: :class:`SweepSettings` fields other than ``fast`` (missing ones take its defaults).

    Raises:
        ValueError: for an unknown model or strategy, a count below its minimum, or a
            confirmation stage asked of a joint search.
        TypeError: for an option that is not a sweep setting.
    """
    wanted = SweepSettings(**options)
    if wanted.model not in MODEL_KINDS:
        raise ValueError(f"unknown model {wanted.model!r}; choose one of {', '.join(MODEL_KINDS)}")
    if wanted.strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {wanted.strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if wanted.folds < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, got {wanted.folds}")
    if wanted.epochs < 1 or (wanted.max_trials is not None and wanted.max_trials < 1):
        raise ValueError(f"epochs and trials must be at least 1, got {wanted.epochs} and {wanted.max_trials}")
    confirmation = wanted.confirmation_epochs
    if confirmation is not None and (wanted.strategy != "greedy" or confirmation < 1):
        raise ValueError(
            f"a confirmation stage needs the greedy strategy and at least 1 epoch, got {wanted.strategy} "
            f"and {confirmation} epoch(s)"
        )
    max_trials = wanted.max_trials
    if wanted.strategy != "greedy" and max_trials is None:  # the greedy plan's size with these options
        max_trials = greedy.planned_trials(wanted.model, config.cap(None, "trials"))
    return dataclasses.replace(
        wanted,
        folds=config.cap(wanted.folds, "folds"),
        epochs=config.cap(wanted.epochs, "epochs"),
        max_trials=config.cap(max_trials, "trials"),
        limit=config.cap(wanted.limit, "train_examples"),
        fast=config.fast_mode(),
        confirmation_epochs=None if confirmation is None else config.cap(confirmation, "epochs"),
    )


def check_settings(directory, settings: SweepSettings) -> None:
    """Stores the settings in a new sweep folder, or checks they match an existing one.

    Raises:
        ValueError: when ``directory`` holds a sweep with other settings.
    """
    path = os.path.join(str(directory), SETTINGS_FILE)
    wanted = dataclasses.asdict(settings)
    if os.path.exists(path):
        with open(path) as stream:
            stored = json.load(stream)
        different = sorted(name for name in wanted if stored.get(name) != wanted[name])
        if different:
            changes = ", ".join(f"{name} {stored.get(name)!r} -> {wanted[name]!r}" for name in different)
            raise ValueError(
                f"{directory} holds a sweep with other settings ({changes}); "
                "rerun it with the same options or choose another --dir"
            )
        return
    atomic_write_json(path, wanted)


def load_settings(directory) -> SweepSettings:
    """Reads ``sweep.json`` back.

    Raises:
        FileNotFoundError: if ``directory`` is not a sweep folder.
    """
    path = os.path.join(str(directory), SETTINGS_FILE)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"{directory} is not a sweep folder (no {SETTINGS_FILE}); run `emnist-tf tune --dir` first"
        )
    with open(path) as stream:
        return SweepSettings(**json.load(stream))
