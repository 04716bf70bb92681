"""How well a sweep trial predicts its configuration's final run: the assignment's time-left line.

Takes the baseline or the winner of a finished sweep, runs one cross-validated trial of it at a
budget's sweep size (as the assignment's sweep does), predicts the final run from the trial's folds
(``budgets.final_seconds_from_trial``: each fold's fixed cost once, its last epoch's pace scaled to
the final run's images), then trains the final run and prints both, measured in the same process on
the same machine. It prints the older prediction beside them too (each fold's whole time scaled with
the images, what sweeps that did not record the last epoch's time still get).

Run (a CNN baseline takes about 5 minutes on 2 cores, an MLP winner about 5, a CNN winner over an hour)::

    EMNIST_TF_DATA=/path/to/emnist python benchmarks/final_run_prediction.py \\
        --sweep runs/assignment/sweeps/cnn --which baseline --budget evening
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def trial_folds(kind: str, values: dict, budget, split: str, seed: int) -> list:
    """Runs one cross-validated trial of ``values`` at the budget's sweep size; returns its fold records."""
    from emnist_tf import data
    from emnist_tf.tuning import results, space
    from emnist_tf.tuning.crossval import CrossValidationTuner
    from emnist_tf.tuning.oracles import CandidateOracle
    from emnist_tf.tuning.progress import Progress

    images, labels = data.load_arrays(split, "train", limit=budget.sweep_images, seed=seed)
    with tempfile.TemporaryDirectory() as folder:
        tuner = CrossValidationTuner(
            CandidateOracle(values, [{}], epochs=budget.sweep_epochs),
            space.make_hypermodel(kind, num_classes=data.split_info(split).num_classes, seed=seed),
            folds=budget.folds,
            seed=seed,
            progress=Progress(total=1, stream=io.StringIO()),
            stage="prediction",
            directory=folder,
            project_name="00_prediction",
        )
        tuner.search(images, labels)
        (record,) = results.load_project(tuner.project_dir)
    if not record.completed:
        raise SystemExit(f"the trial failed: {record.reason}")
    return record.folds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", required=True, help="a finished greedy sweep folder (holds best.json)")
    parser.add_argument("--which", choices=("baseline", "best"), default="baseline")
    parser.add_argument("--budget", choices=("fast", "evening", "overnight"), default="evening")
    parser.add_argument("--split", default="balanced")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from emnist_tf import config, data
    from emnist_tf.assignment import budgets
    from emnist_tf.modeling.configuration import TrainingConfig
    from emnist_tf.modeling.training import train
    from emnist_tf.tuning import greedy

    if not os.environ.get(config.DATA_ENV):
        print(f"set {config.DATA_ENV} to the folder of EMNIST files", file=sys.stderr)
        return 2
    sweep = Path(args.sweep)
    configuration = TrainingConfig.load(sweep / f"{args.which}.json").replace(seed=args.seed)
    kind = configuration.model
    outcomes = greedy.replay(sweep, kind)
    values = (outcomes[0] if args.which == "baseline" else outcomes[-1]).winner.values
    budget = budgets.get_budget(args.budget)
    final_images = len(data.load_labels(args.split, "train"))

    started = time.perf_counter()
    folds = trial_folds(kind, values, budget, args.split, args.seed)
    trial_seconds = time.perf_counter() - started
    epochs = configuration.epochs
    predicted = budgets.final_seconds_from_trial(budget, folds, epochs, final_images)
    whole = [dataclasses.replace(fold, last_epoch_seconds=None) for fold in folds]
    predicted_whole = budgets.final_seconds_from_trial(budget, whole, epochs, final_images)

    started = time.perf_counter()
    result = train(configuration, args.split, verbose=0)
    run_seconds = time.perf_counter() - started
    full_epochs = run_seconds * epochs / result.epochs_run  # early stopping shortens a run, not its prediction
    figures = {
        "configuration": f"{kind}/{args.which}",
        "trial_seconds": round(trial_seconds, 1),
        "folds": [dataclasses.asdict(fold) for fold in folds],
        "final_epochs": epochs,
        "epochs_run": result.epochs_run,
        "final_run_seconds": round(run_seconds, 1),
        "final_run_seconds_all_epochs": round(full_epochs, 1),
        "predicted_seconds": round(predicted, 1),
        "predicted_seconds_whole_fold_scaling": round(predicted_whole, 1),
        "predicted_over_measured": round(predicted / full_epochs, 2),
        "whole_fold_scaling_over_measured": round(predicted_whole / full_epochs, 2),
    }
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
