"""The greedy strategy against KerasTuner's Hyperband and Bayesian optimisation, given the same hours, on the CNN.

Every strategy searches the same space (:mod:`emnist_tf.tuning.space`) on the same training images,
with the same stratified folds and seed, for at most ``--hours`` of wall-clock time: a search stops
launching trials once its time is spent (the trial running then ends first), so the time can exceed
the budget by one trial. The greedy strategy runs its stages by successive halving
(``--rungs``: every option ``--epochs`` epochs per fold on a share of the images, the best longer on
more); Hyperband promotes its own brackets up to the greedy's longest length; Bayesian optimisation
trains every trial at that longest length. ``max_trials`` is set far above what the hours allow,
so time, not a trial count, ends the joint searches. Each winner is then trained and tested by the
one path every sweep ends with (:func:`emnist_tf.tuning.final.train_and_test`) with the same
recipe length (``--final-epochs``) on every training image.

One folder per strategy under ``--out``; killed and started again with the same command, each
search resumes without repeating a finished trial, its search time so far kept in ``clock.json``
(the trial running at a kill is lost time, not counted), and a tested winner is not trained again.
Prints one table: strategy, trials run, search wall time, the winner's configuration, its test accuracy.

Run (one hour per strategy, about three hours and the final runs in all; be kind to a shared machine)::

    EMNIST_TF_DATA=/path/to/emnist nice -n 10 python benchmarks/strategies.py --hours 1 --out runs/strategies
    EMNIST_TF_DATA=/path/to/emnist EMNIST_TF_FAST=1 python benchmarks/strategies.py --hours 0.01 --out /tmp/s
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

STRATEGY_NAMES = ("greedy", "hyperband", "bayesian")
CLOCK_FILE = "clock.json"
RESULT_FILE = "result.json"
MANY_TRIALS = 10_000
"""The joint searches' ``max_trials``: far more than any number of hours allows, so time ends them."""


class TimeSpent(Exception):  # noqa: N818 (a signal to stop, not an error)
    """Raised between trials once a search has used its hours."""


class SearchClock:
    """A search's wall time, added up over every process that worked on its folder (``clock.json``)."""

    def __init__(self, folder: Path, seconds: float):
        self.path = folder / CLOCK_FILE
        self.budget = seconds
        self.before = json.loads(self.path.read_text())["seconds"] if self.path.exists() else 0.0
        self.started = time.perf_counter()

    def spent(self) -> float:
        return self.before + time.perf_counter() - self.started

    def save(self) -> None:
        from emnist_tf.files import atomic_write_json

        atomic_write_json(str(self.path), {"seconds": round(self.spent(), 1)})

    def listener(self, progress) -> None:
        """After every finished trial: records the time and stops the search once it is spent."""
        self.save()
        if self.spent() >= self.budget:
            progress.message(f"time spent ({self.spent() / 3600:.2f} h): no more trials")
            raise TimeSpent


def search(name: str, folder: Path, args) -> None:
    """Runs (or resumes) one strategy's search until it ends or its hours are spent."""
    from emnist_tf.tuning.sweep import run_sweep

    clock = SearchClock(folder, args.hours * 3600)
    if clock.spent() >= clock.budget:
        return
    longest = args.epochs * args.growth ** (args.rungs - 1)
    options = dict(model="cnn", strategy=name, folds=args.folds, seed=args.seed, limit=args.limit, final=False)
    if name == "greedy":
        options.update(epochs=args.epochs, rungs=args.rungs, growth=args.growth)
    else:
        options.update(epochs=longest, max_trials=MANY_TRIALS)
    try:
        run_sweep(folder, data_dir=args.data_dir, listeners=[clock.listener], **options)
    except TimeSpent:
        pass
    finally:
        clock.save()


def winner(folder: Path):
    """The search's winner as a training configuration (the baseline when no trial completed) and its trial count."""
    from emnist_tf.tuning import results, space
    from emnist_tf.tuning.settings import load_settings
    from emnist_tf.tuning.strategies import get_strategy

    settings = load_settings(folder)
    outcomes = get_strategy(settings.strategy).outcomes(folder, settings)
    best = outcomes[-1].winner if outcomes else None
    values = {**space.baseline_values("cnn"), **(best.values if best is not None else {})}
    finished = [record for record in results.load_trials(folder) if record.status in ("COMPLETED", "FAILED")]
    return values, len(finished)


def final_result(name: str, folder: Path, args) -> dict:
    """Trains and tests the strategy's winner once (``result.json``), as every sweep's end does."""
    from emnist_tf import config
    from emnist_tf.assignment.report import describe_architecture
    from emnist_tf.files import atomic_write_json
    from emnist_tf.tuning import space
    from emnist_tf.tuning.final import train_and_test

    path = folder / RESULT_FILE
    if path.exists():
        return json.loads(path.read_text())
    values, trials = winner(folder)
    epochs = config.cap(args.final_epochs, "epochs")
    configuration = space.config_from_values("cnn", values, epochs=epochs, seed=args.seed)
    print(f"[strategies] {name}: training its winner ({epochs} epochs) and testing it", flush=True)
    metrics = train_and_test(
        configuration,
        folder / "final",
        data_dir=args.data_dir,
        limit=config.cap(None, "train_examples"),
        verbose=0,
        record={"strategy": name},
    )
    result = {
        "strategy": name,
        "trials": trials,
        "search_hours": round(json.loads((folder / CLOCK_FILE).read_text())["seconds"] / 3600, 3),
        "winner": describe_architecture(configuration.to_dict()),
        "test_accuracy": float(metrics["accuracy"]),
        "test_examples": metrics["test_examples"],
    }
    atomic_write_json(str(path), result)
    return result


def table(rows: list[dict]) -> str:
    lines = [
        "| strategy | trials run | search wall time (h) | winner | test accuracy |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['strategy']} | {row['trials']} | {row['search_hours']:.2f} | {row['winner']} "
            f"| {100 * row['test_accuracy']:.2f}% ({row['test_examples']} test images) |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=1.0, help="wall-clock hours of search per strategy")
    parser.add_argument("--out", required=True, help="benchmark folder: one sub-folder per strategy (resumable)")
    parser.add_argument("--strategies", default=",".join(STRATEGY_NAMES), help="comma-separated, in order")
    parser.add_argument("--limit", type=int, default=12_000, help="training images every search uses")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2, help="greedy's first rung: epochs per fold")
    parser.add_argument("--rungs", type=int, default=2, help="greedy's rungs per stage")
    parser.add_argument("--growth", type=int, default=3, help="greedy's rung factor (epochs and images)")
    parser.add_argument("--final-epochs", type=int, default=12, help="epochs of every winner's final run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None, help="folder of EMNIST files (else EMNIST_TF_DATA)")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.strategies.split(",") if name.strip()]
    unknown = sorted(set(names) - set(STRATEGY_NAMES))
    if unknown or args.hours <= 0:
        print(f"choose strategies among {', '.join(STRATEGY_NAMES)} and positive hours", file=sys.stderr)
        return 2
    rows = []
    for name in names:
        folder = Path(args.out) / name
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / RESULT_FILE).exists():
            search(name, folder, args)
        rows.append(final_result(name, folder, args))
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    raise SystemExit(main())
