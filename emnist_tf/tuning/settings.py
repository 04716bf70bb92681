"""What defines a sweep: its settings, stored in ``sweep.json`` and checked on resume.

Kept apart from :mod:`.sweep` (which runs a sweep) and :mod:`.report` (which reports one),
so that both read the settings without importing each other.
"""

from __future__ import annotations

import dataclasses
import json
import os

from emnist_tf import config
from emnist_tf.choices import MODEL_KINDS
from emnist_tf.files import atomic_write_json
from emnist_tf.tuning.strategies import get_strategy

SETTINGS_FILE = "sweep.json"


@dataclasses.dataclass(frozen=True)
class SweepSettings:
    """Everything that defines a sweep; stored in ``sweep.json`` and checked on resume.

    Attributes:
        model: "mlp" or "cnn".
        strategy: a name of :data:`emnist_tf.tuning.strategies.STRATEGIES`.
        folds: cross-validation folds per trial (after the fast-mode cap).
        epochs: epochs per fold.
        max_trials: staged: options per stage (None: all); joint: the trial budget.
        seed: the seed of everything random.
        split: EMNIST split.
        limit: training images used (None: the whole split).
        fast: whether fast mode was on.
        confirmation_epochs: staged: epochs per fold of the confirmation stage (None: no such stage).
        final_epochs: the epochs of ``best.json`` and ``baseline.json``, which the sweep's end trains.
        run_eagerly: train the trials without tracing graphs (None: in fast mode, whose folds are a
            few batches and tracing costs more than it saves).
        rungs: staged: trial lengths per stage (successive halving, :mod:`emnist_tf.tuning.halving`);
            rung 0 trains ``epochs`` epochs on ``1/growth**(rungs-1)`` of the images, each later rung
            ``growth`` times the epochs and the images; 1: every candidate at ``epochs`` on every image.
        growth: staged: each rung's factor, and the share of candidates it promotes (``1/growth``, at least 2).
        longest_epochs: staged: the epochs per fold of the last rung (None with one rung).
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
    final_epochs: int | None = None
    run_eagerly: bool | None = None
    rungs: int = 1
    growth: int = 3
    longest_epochs: int | None = None

    def trial_budget(self) -> int:
        """Trials the sweep runs: the staged plan, or the joint budget (the greedy plan's size by default)."""
        return get_strategy(self.strategy).planned_trials(
            self.model, self.max_trials, self.confirmation_epochs is not None, rungs=self.rungs, growth=self.growth
        )

    def ladder(self) -> list:
        """The trial lengths of a stage, shortest first (:func:`emnist_tf.tuning.halving.ladder`)."""
        from emnist_tf.tuning import halving

        return halving.ladder(self.epochs, self.rungs, self.growth, self.longest_epochs)


def make_settings(**options) -> SweepSettings:
    """Validates the options and resolves every size of the sweep once: the fast-mode caps, the trial
    budget of a joint search, the final epochs.

    This is the one place a sweep's sizes are decided; everything after runs them as given.

    Args:
        **options: :class:`SweepSettings` fields other than ``fast`` (missing ones take its defaults;
            ``final_epochs`` None: the model's default recipe).

    Raises:
        ValueError: for an unknown model or strategy, a count below its minimum, or a
            confirmation stage asked of a joint search.
        TypeError: for an option that is not a sweep setting.
    """
    from emnist_tf.modeling.training import DEFAULT_TRAINING

    wanted = SweepSettings(**options)
    if wanted.model not in MODEL_KINDS:
        raise ValueError(f"unknown model {wanted.model!r}; choose one of {', '.join(MODEL_KINDS)}")
    strategy = get_strategy(wanted.strategy)
    if wanted.folds < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, got {wanted.folds}")
    if wanted.epochs < 1 or (wanted.max_trials is not None and wanted.max_trials < 1):
        raise ValueError(f"epochs and trials must be at least 1, got {wanted.epochs} and {wanted.max_trials}")
    if wanted.final_epochs is not None and wanted.final_epochs < 1:
        raise ValueError(f"final epochs must be at least 1, got {wanted.final_epochs}")
    if wanted.rungs < 1 or wanted.growth < 2:
        raise ValueError(
            f"a stage needs at least 1 rung and a growth of at least 2, got {wanted.rungs} and {wanted.growth}"
        )
    strategy.check(wanted)
    max_trials = strategy.resolve_trials(wanted.model, wanted.max_trials)
    epochs = config.cap(wanted.epochs, "epochs", say="epochs per fold")
    longest = None
    if wanted.rungs > 1:
        longest = config.cap(wanted.longest_epochs or wanted.epochs * wanted.growth ** (wanted.rungs - 1), "epochs")
        if longest < epochs:
            raise ValueError(f"the last rung needs at least the first rung's {epochs} epochs, got {longest}")
    confirmation = _confirmation_epochs(wanted.confirmation_epochs, longest)
    final_epochs = wanted.final_epochs or DEFAULT_TRAINING[wanted.model]["epochs"]
    return dataclasses.replace(
        wanted,
        folds=config.cap(wanted.folds, "folds", say="folds"),
        epochs=epochs,
        longest_epochs=longest,
        max_trials=config.cap(max_trials, "trials", say="trials"),
        limit=config.cap(wanted.limit, "train_examples", say="training images"),
        fast=config.fast_mode(),
        run_eagerly=config.fast_mode() if wanted.run_eagerly is None else wanted.run_eagerly,
        confirmation_epochs=confirmation,
        final_epochs=config.cap(final_epochs, "epochs", say="final epochs" if wanted.final_epochs else None),
    )


def _confirmation_epochs(wanted: int | None, longest: int | None) -> int | None:
    """The confirmation stage's epochs after the fast-mode cap; with several rungs it trains at the last rung's length.

    Raises:
        ValueError: for a multi-rung sweep whose confirmation asks another length than its last rung.
    """
    if wanted is None:
        return None
    epochs = config.cap(wanted, "epochs", say="confirmation epochs")
    if longest is not None and epochs != longest:
        raise ValueError(
            f"with several rungs the confirmation stage trains as long as the last rung ({longest} epochs per fold), "
            f"not {epochs}; ask for {longest} or leave the confirmation out"
        )
    return epochs


def check_settings(directory, settings, *, file: str = SETTINGS_FILE, what: str = "a sweep") -> None:
    """Stores the settings in a new folder, or checks they match the ones stored there (sweeps and the assignment).

    Args:
        directory: the sweep (or assignment) folder.
        settings: a dataclass or a JSON-friendly dict.
        file: the settings file's name in ``directory``.
        what: what the folder holds, for the error.

    Raises:
        ValueError: when ``directory`` holds a run with other settings (one line naming them).
    """
    path = os.path.join(str(directory), file)
    wanted = dataclasses.asdict(settings) if dataclasses.is_dataclass(settings) else dict(settings)
    if os.path.exists(path):
        stored = read_json(path, what)
        # A setting added after the folder was made matches it at its default (the folder ran without it).
        defaults = (
            {field.name: field.default for field in dataclasses.fields(settings)}
            if dataclasses.is_dataclass(settings)
            else {}
        )
        different = sorted(name for name in wanted if stored.get(name, defaults.get(name)) != wanted[name])
        if different:
            changes = ", ".join(f"{name} {stored.get(name)!r} -> {wanted[name]!r}" for name in different)
            raise ValueError(
                f"{path} holds {what} with other settings ({changes}); "
                "rerun it with the settings it was started with, or use another folder"
            )
        return
    atomic_write_json(path, wanted, indent=2)


def load_settings(directory) -> SweepSettings:
    """Reads ``sweep.json`` back.

    Raises:
        FileNotFoundError: if ``directory`` is not a sweep folder.
    """
    path = os.path.join(str(directory), SETTINGS_FILE)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{directory} is not a sweep folder (no {SETTINGS_FILE}); run a sweep into it first")
    return SweepSettings(**read_json(path, "a sweep"))


def read_json(path: str, what: str) -> dict:
    """A settings file's contents.

    Raises:
        ValueError: for a file that is not a JSON object (one line naming it and what to do).
    """
    try:
        with open(path) as stream:
            stored = json.load(stream)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is damaged ({error}); restore it or start {what} in another folder") from None
    if not isinstance(stored, dict):
        raise ValueError(f"{path} is damaged (not a JSON object); restore it or start {what} in another folder")
    return stored
