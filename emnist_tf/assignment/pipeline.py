"""The whole assignment, resumable after a kill at any point.

Stages, in order (each skipped when its result is on disk):

1. a cross-validated greedy sweep of the MLP, then of the CNN (``OUT/sweeps/<kind>``, resumable
   trial by trial; they end in ``best.json`` and ``baseline.json``);
2. the baseline and the winner of each trained on the training set with the full recipe
   (``OUT/runs/<kind>-<baseline|best>``, run folders written under a temporary name and renamed
   when complete, then evaluated on the test set from the model reloaded from disk);
3. the hand-in report ``OUT/report.html``.

Example:
    >>> report = run_assignment("runs/assignment", budget="evening")   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

from emnist_tf import config
from emnist_tf.assignment import budgets
from emnist_tf.assignment.layout import CONFIGURATIONS, REPORT_FILE, RUNS, run_dir, sweep_dir  # noqa: F401
from emnist_tf.choices import MODEL_KINDS

SETTINGS_FILE = "assignment.json"


class Progress:
    """Prints the stage that runs and the time left.

    The time left adds, for every unfinished stage: the running sweep's own estimate (from its
    latest trials), a final run's predicted seconds (scaled from its configuration's sweep trial,
    see :meth:`predict`), or else the stage's estimated work at the pace of this process so far.
    """

    def __init__(self, work: dict, stream=None):
        self.work = work
        self.left = dict(work)
        self.predicted: dict[str, float] = {}
        self.stream = stream or sys.stdout
        self.names = list(work)
        self.session_done = 0.0
        self.started = time.perf_counter()
        self.current = None
        self.current_eta: float | None = None

    def time_left(self) -> str:
        from emnist_tf.tuning.progress import format_duration

        elapsed = time.perf_counter() - self.started
        pace = elapsed / self.session_done if self.session_done > 0 and elapsed > 0 else None
        seconds = 0.0
        for name, left in self.left.items():
            if left <= 0:
                continue
            if name == self.current and self.current_eta is not None:
                seconds += self.current_eta
            elif name in self.predicted:
                seconds += self.predicted[name]
            elif pace is None:
                return "estimating"
            else:
                seconds += left * pace
        return format_duration(seconds)

    def skip(self, name: str) -> None:
        """A stage already finished before this process started."""
        self.left[name] = 0.0

    def begin(self, name: str, detail: str = "") -> None:
        self.current = name
        self.current_eta = None
        number = self.names.index(name) + 1
        detail = f" ({detail})" if detail else ""
        self.say(f"stage {number}/{len(self.names)}: {name}{detail} | time left {self.time_left()}")

    def advance(self, amount: float) -> None:
        """This process did ``amount`` more work of the running stage."""
        self.left[self.current] = max(0.0, self.left[self.current] - amount)
        self.session_done += amount

    def preload(self, amount: float) -> None:
        """``amount`` of the running stage was done before this process started (a resumed sweep)."""
        self.left[self.current] = max(0.0, self.left[self.current] - amount)

    def finish(self) -> None:
        """The running stage is complete."""
        self.left[self.current] = 0.0
        self.current_eta = None

    def predict(self, name: str, seconds: float) -> None:
        """Stage ``name`` should take ``seconds`` (measured elsewhere; replaces the work estimate)."""
        self.predicted[name] = seconds

    def say(self, text: str) -> None:
        print(f"[assignment] {text}", file=self.stream, flush=True)


def _sweep(out, kind, budget, settings, progress, data_dir, recycle_after, final_images) -> None:
    from emnist_tf.tuning import configs
    from emnist_tf.tuning.sweep import run_sweep

    folder = sweep_dir(out, kind)
    name = f"sweep {kind}"
    if (folder / configs.BEST_FILE).exists() and (folder / configs.BASELINE_FILE).exists():
        progress.skip(name)
        _predict_final_runs(out, kind, budget, progress, final_images)
        return
    total = progress.work[name]
    state = {"counted": None}

    def listener(sweep_progress):
        trials = max(1, sweep_progress.total)
        if state["counted"] is None:  # trials finished before this process started
            state["counted"] = total * (sweep_progress.finished - sweep_progress.session_finished) / trials
            progress.preload(state["counted"])
        share = total * sweep_progress.finished / trials
        progress.advance(max(0.0, share - state["counted"]))
        state["counted"] = share
        progress.current_eta = sweep_progress.eta()
        _predict_final_runs(out, kind, budget, progress, final_images)  # from the best trial so far
        progress.say(
            f"stage {progress.names.index(name) + 1}/{len(progress.names)}: {name} | trial "
            f"{sweep_progress.finished}/{sweep_progress.total} | time left {progress.time_left()}"
        )

    progress.begin(name, f"{budget.folds}-fold greedy")
    outcome = run_sweep(
        folder,
        model=kind,
        strategy="greedy",
        folds=budget.folds,
        epochs=budget.sweep_epochs,
        max_trials=budget.trials_per_stage,
        seed=settings["seed"],
        split=settings["split"],
        limit=budget.sweep_images,
        data_dir=data_dir,
        stream=progress.stream,
        listeners=[listener],
        recycle_after=recycle_after,
        final=False,
        final_epochs=budget.final_epochs[kind],
        confirmation_epochs=budget.confirmation_epochs,
        rungs=budget.rungs,
        growth=budget.growth,
        longest_epochs=budget.longest_epochs,
    )
    progress.finish()
    _predict_final_runs(out, kind, budget, progress, final_images)
    progress.say(f"{name} done: winner {outcome.best_values}")


def _predict_final_runs(out, kind, budget, progress, final_images) -> None:
    """Predicts the seconds of the final runs of ``kind`` from their configurations' sweep trials.

    During the sweep the winner is the best trial so far (later stages keep its architecture, which
    sets most of the cost); ``final_images`` is the number of images a final run trains on.
    """
    from emnist_tf.tuning import greedy

    outcomes = greedy.replay(sweep_dir(out, kind), kind)
    if not outcomes:
        return
    epochs = budget.final_epochs[kind]
    for name, record in (("baseline", outcomes[0].winner), ("best", outcomes[-1].winner)):
        seconds = budgets.final_seconds_from_trial(budget, record.folds, epochs, final_images) if record else 0.0
        if seconds > 0:  # 0: no winner yet, or none of its folds ran an epoch
            progress.predict(f"train {kind}-{name}", seconds)


def _final_images(budget, split, data_dir) -> int:
    """Images a final run trains on: the budget's, else every training image of the split."""
    from emnist_tf.data.loading import load_labels

    return budget.final_images or len(load_labels(split, "train", data_dir=data_dir))


def _train_and_test(out, kind, name, budget, settings, progress, data_dir) -> None:
    """Trains ``OUT/sweeps/<kind>/<name>.json`` as ``emnist-tf train --config`` would, and tests it."""
    from emnist_tf.evaluation.run_evaluation import METRICS_FILE, evaluate_run
    from emnist_tf.modeling.configuration import TrainingConfig
    from emnist_tf.tuning.final import train_and_test

    target = run_dir(out, kind, name)
    stage = f"train {kind}-{name}"
    if (target / "run.json").exists():
        progress.skip(stage)
        if not (target / METRICS_FILE).exists():  # killed between training and testing
            evaluate_run(target, data_dir=data_dir, limit=budget.test_images)
        return
    configuration = TrainingConfig.load(sweep_dir(out, kind) / f"{name}.json")  # its seed is the sweep's
    progress.begin(stage, f"{configuration.epochs} epoch(s)")
    metrics = train_and_test(
        configuration,
        target,
        split=settings["split"],
        data_dir=data_dir,
        limit=budget.final_images,
        test_limit=budget.test_images,
        verbose=0,
        record={"configuration": f"{kind}/{name}.json"},
    )
    progress.advance(progress.work[stage])
    progress.say(f"{stage} done: {metrics['epochs_run']} epoch(s) in {metrics['train_seconds']:.1f} s")


def run_assignment(
    out,
    *,
    budget: str = "fast",
    folds: int | None = None,
    split: str = "balanced",
    seed: int = 0,
    data_dir=None,
    stream=None,
    recycle_after: int | None = None,
) -> Path:
    """Runs (or resumes) the whole assignment into ``out`` and returns the report's path.

    Args:
        out: the assignment folder (created if needed); rerun with the same arguments to resume.
        budget: "fast", "evening" or "overnight" (:mod:`emnist_tf.assignment.budgets`); fast mode
            runs the fast budget, and the fast budget turns fast mode on.
        folds: cross-validation folds (default: the budget's).
        split: EMNIST split.
        seed: seed of the sweeps and of the final training.
        data_dir: folder of EMNIST files (else EMNIST_TF_DATA, else tfds).
        stream: where progress lines go (stdout by default).
        recycle_after: passed to the sweeps (restart the process after this many trials).

    Raises:
        ValueError: for an unknown budget, fewer than 2 folds, or a folder holding another assignment.
    """
    from emnist_tf.assignment.report import write_report
    from emnist_tf.tuning import distributed, greedy
    from emnist_tf.tuning.settings import check_settings

    if distributed.role() != "single":
        raise ValueError(
            "the assignment runs in one process; to spread a sweep over machines, run the sweep "
            "as chief and workers, then train its best.json"
        )
    chosen = budgets.resolve_budget(budget, folds)  # every size decided here, fast mode included
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    settings = {"budget": dataclasses.asdict(chosen), "split": split, "seed": seed, "fast": config.fast_mode()}
    check_settings(out, settings, file=SETTINGS_FILE, what="an assignment")
    confirmation = chosen.confirmation_epochs is not None
    trials = {
        kind: greedy.planned_rungs(
            kind, chosen.trials_per_stage, confirmation, rungs=chosen.rungs, growth=chosen.growth
        )
        for kind in MODEL_KINDS
    }
    progress = Progress(budgets.estimated_work(chosen, trials), stream)
    progress.say(
        f"the assignment in {out}: {chosen.name} budget, {chosen.folds} folds, "
        f"{sum(trials['mlp'])} MLP and {sum(trials['cnn'])} CNN trials{' (fast mode)' if settings['fast'] else ''}"
    )
    final_images = _final_images(chosen, split, data_dir)
    for kind in MODEL_KINDS:
        _sweep(out, kind, chosen, settings, progress, data_dir, recycle_after, final_images)
    for kind in MODEL_KINDS:
        for name in CONFIGURATIONS:
            _train_and_test(out, kind, name, chosen, settings, progress, data_dir)
    progress.begin("report")
    report = write_report(out, data_dir=data_dir)
    progress.say(f"done: the report is {report}")
    return report
