"""How much the assignment trains: the fast, evening and overnight budgets.

The sizes are chosen by arithmetic on the default CNN's seconds per epoch (the README's
"The whole assignment" section shows it); :func:`estimated_work` counts the work of each
stage in full-training-set epochs of the default MLP, so the pipeline can say the time left.
"""

from __future__ import annotations

import dataclasses
import sys

from emnist_tf.choices import MODEL_KINDS

BALANCED_TRAIN_IMAGES = 112_800
CNN_COST = 9.0
"""A default-CNN epoch costs about this many default-MLP epochs (ratio of their images/s in the README's
throughput row); only used to weigh stages for the time-left estimate."""
FOLD_OVERHEAD = 0.3
"""Fixed cost of one fold or run (building, compiling, first batch), in default-MLP epochs; dominates tiny budgets."""


@dataclasses.dataclass(frozen=True)
class Budget:
    """What one budget trains.

    Attributes:
        name: "fast", "evening" or "overnight".
        sweep_images: training images the sweeps cross-validate on (stratified; None: all).
        folds: cross-validation folds per trial.
        sweep_epochs: epochs per fold.
        trials_per_stage: options tried per greedy stage (None: all).
        final_epochs: epochs of the final training of each model kind.
        final_images: training images of the final training (None: all).
        test_images: test images evaluated (None: all).
        confirmation_epochs: epochs per fold of the sweep's confirmation stage, which tries the
            greedy winner with the default recipe's techniques and keeps the better
            (:func:`emnist_tf.tuning.space.confirmation_stage`); None: no confirmation stage. With
            several rungs it is the last rung's epochs.
        rungs: trial lengths within each greedy stage (successive halving,
            :mod:`emnist_tf.tuning.halving`): rung 0 trains ``sweep_epochs`` epochs on
            ``1/growth**(rungs-1)`` of ``sweep_images``, each later rung ``growth`` times the epochs
            and the images (at most ``longest_epochs`` epochs) for the best ``1/growth`` (at least 2).
        growth: the rungs' factor.
        longest_epochs: epochs per fold of the last rung (None: ``sweep_epochs * growth**(rungs-1)``).
    """

    name: str
    sweep_images: int | None
    folds: int
    sweep_epochs: int
    trials_per_stage: int | None
    final_epochs: dict
    final_images: int | None
    test_images: int | None
    confirmation_epochs: int | None = None
    rungs: int = 1
    growth: int = 3
    longest_epochs: int | None = None

    def ladder(self) -> list:
        """The trial lengths of a greedy stage, shortest first (:func:`emnist_tf.tuning.halving.ladder`)."""
        from emnist_tf.tuning import halving

        return halving.ladder(self.sweep_epochs, self.rungs, self.growth, self.longest_epochs)

    def with_folds(self, folds: int | None) -> Budget:
        """The same budget with another number of folds (None: unchanged).

        Raises:
            ValueError: for fewer than 2 folds.
        """
        if folds is None:
            return self
        if not isinstance(folds, int) or folds < 2:
            raise ValueError(f"cross-validation needs at least 2 folds, got {folds!r}")
        return dataclasses.replace(self, folds=folds)


BUDGETS = {
    # Fast mode (CI and a first look): every stage runs, on a few hundred images, in a few minutes.
    "fast": Budget("fast", 600, 2, 1, 1, {"mlp": 1, "cnn": 1}, 1000, 500, confirmation_epochs=1, rungs=2),
    # Each greedy stage: every option 2 epochs per fold on 5,000 images, the best third (at least two)
    # 6 epochs on 15,000, decided there; the confirmation stage at that length too. Sized by arithmetic
    # on a measured one-rung sweep (README, "The whole assignment"); about 5 hours, estimated.
    "evening": Budget(
        "evening", 15_000, 3, 2, None, {"mlp": 20, "cnn": 12}, None, None, confirmation_epochs=6, rungs=2
    ),
    # Later decisions than the evening's: 3 epochs on 8,000 images, then 9 on 24,000; longer final training.
    "overnight": Budget(
        "overnight", 24_000, 3, 3, None, {"mlp": 30, "cnn": 20}, None, None, confirmation_epochs=9, rungs=2
    ),
}


FAST_BUDGET = "fast"


def get_budget(name: str, folds: int | None = None) -> Budget:
    """The budget called ``name``, with ``folds`` folds if given.

    Raises:
        ValueError: for an unknown name or fewer than 2 folds.
    """
    if name not in BUDGETS:
        raise ValueError(f"unknown budget {name!r}; choose one of {', '.join(BUDGETS)}")
    return BUDGETS[name].with_folds(folds)


def resolve_budget(name: str, folds: int | None = None) -> Budget:
    """The budget the assignment runs: where every size of the assignment is decided, once.

    The fast budget and fast mode are one switch: fast mode runs the fast budget whatever budget
    was named (one line on standard error says so), and the fast budget turns fast mode on for
    this process and the processes it starts.

    Raises:
        ValueError: for an unknown name or fewer than 2 folds.
    """
    from emnist_tf import config

    get_budget(name, folds)  # an unknown name or bad folds stop here, in fast mode too
    if config.fast_mode() and name != FAST_BUDGET:
        print(f"fast mode: the {FAST_BUDGET} budget instead of {name}", file=sys.stderr)
        name = FAST_BUDGET
    if name == FAST_BUDGET:
        config.set_fast_mode(True)
    return get_budget(name, folds)


def _cost(kind: str) -> float:
    return CNN_COST if kind == "cnn" else 1.0


def _fold_images(budget: Budget) -> float:
    """Images one fold of a sweep trial trains on each epoch: (k-1)/k of the sweep's images."""
    return (budget.sweep_images or BALANCED_TRAIN_IMAGES) * (budget.folds - 1) / budget.folds


def sweep_work(budget: Budget, kind: str, trials: list[int]) -> float:
    """Work of a sweep in default-MLP full epochs, ``trials`` counting its trials at each rung
    (:func:`emnist_tf.tuning.greedy.planned_rungs`): every fold trains on (k-1)/k of the rung's
    images; a one-rung sweep's confirmation trials train for their own number of epochs."""
    work = 0.0
    for count, rung in zip(trials, budget.ladder()):
        images = budget.folds * rung.epochs * _fold_images(budget) * rung.images_share
        work += count * (_cost(kind) * images / BALANCED_TRAIN_IMAGES + budget.folds * FOLD_OVERHEAD)
    if budget.confirmation_epochs is not None and budget.rungs == 1:
        from emnist_tf.tuning import space

        confirmations = len(space.confirmation_stage(kind).candidates)
        longer = budget.folds * (budget.confirmation_epochs - budget.sweep_epochs) * _fold_images(budget)
        work += confirmations * _cost(kind) * longer / BALANCED_TRAIN_IMAGES
    return work


def final_work(budget: Budget, kind: str) -> float:
    """Work of one final training run in default-MLP full epochs."""
    images = budget.final_images or BALANCED_TRAIN_IMAGES
    return _cost(kind) * budget.final_epochs[kind] * images / BALANCED_TRAIN_IMAGES + FOLD_OVERHEAD


def final_seconds_from_trial(budget: Budget, folds: list, epochs: int, images: int | None) -> float:
    """Seconds a final run should take, scaled from the folds of its configuration's sweep trial.

    A fold trains on the images it recorded (else (k-1)/k of the sweep's images); the final run
    trains ``epochs`` epochs on ``images`` images (None: all). A fold's fixed cost (building,
    tracing: its seconds beyond its epochs at the pace of its last epoch) is paid once, not scaled
    with the images; a fold that recorded no epoch time is scaled whole. Early stopping can only shorten the run.

    Args:
        budget: the budget the sweep ran with.
        folds: the trial's fold records (``seconds``, ``epochs``, ``last_epoch_seconds``).
        epochs: epochs of the final run.
        images: training images of the final run (None: all).
    """
    predictions = []
    for fold in folds:
        if fold.epochs <= 0:
            continue
        scale = (images or BALANCED_TRAIN_IMAGES) / (fold.images or _fold_images(budget))
        per_epoch = fold.last_epoch_seconds or fold.seconds / fold.epochs
        fixed = max(0.0, fold.seconds - per_epoch * fold.epochs)
        predictions.append(fixed + epochs * per_epoch * scale)
    return sum(predictions) / len(predictions) if predictions else 0.0


def estimated_work(budget: Budget, trials: dict) -> dict:
    """Work of every stage of the pipeline, in order: ``{stage name: default-MLP epochs}``
    (``trials``: ``{kind: trials at each rung}``)."""
    work = {f"sweep {kind}": sweep_work(budget, kind, trials[kind]) for kind in MODEL_KINDS}
    for kind in MODEL_KINDS:
        for name in ("baseline", "best"):
            work[f"train {kind}-{name}"] = final_work(budget, kind)
    work["report"] = 0.0
    return work
