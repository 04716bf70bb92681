"""``emnist-tf assignment``: the whole assignment (sweeps, final training, evaluation, report), resumable.

Example::

    emnist-tf assignment --out runs/assignment --budget evening
"""

from __future__ import annotations

from emnist_tf.assignment.budgets import BUDGETS

BUDGET_NAMES = tuple(BUDGETS)


def register(subparsers, parents) -> None:
    """Adds the ``assignment`` command."""
    parser = subparsers.add_parser(
        "assignment",
        parents=parents,
        help="the whole assignment: sweeps of the MLP and CNN, final training, evaluation, one HTML report",
        description="Greedy cross-validated sweeps of the MLP and the CNN, the baseline and winner of each "
        "trained with the full recipe and tested, then OUT/report.html. Killed at any point, the same "
        "command continues where it stopped.",
    )
    parser.add_argument("--out", required=True, help="assignment folder (sweeps, runs, report, resume state)")
    parser.add_argument(
        "--budget",
        choices=BUDGET_NAMES,
        default="fast",
        help="fast: minutes (the same as --fast); evening: about 5 hours on 2 cores (estimated); overnight: "
        "about 10 (estimated; default fast)",
    )
    parser.add_argument("--folds", type=int, default=None, help="cross-validation folds (default: the budget's)")
    parser.add_argument("--split", default="balanced", help="EMNIST split (default balanced)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None, help="folder of EMNIST files (else EMNIST_TF_DATA)")
    parser.add_argument(
        "--recycle-after",
        type=int,
        default=20,
        metavar="N",
        help="restart this process after N sweep trials to give back TensorFlow's memory (0: never; default 20)",
    )
    parser.set_defaults(handler=run)


def run(args) -> int:
    """Runs or resumes the assignment, restarting the process every ``--recycle-after`` sweep trials."""
    from emnist_tf.assignment.pipeline import run_assignment
    from emnist_tf.tuning.recycle import run_recycling

    def assignment(recycle_after):
        run_assignment(
            args.out,
            budget=args.budget,
            folds=args.folds,
            split=args.split,
            seed=args.seed,
            data_dir=args.data_dir,
            recycle_after=recycle_after,
        )

    return run_recycling("assignment", args.recycle_after, assignment)
