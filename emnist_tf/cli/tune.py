"""``emnist-tf tune`` (run or resume a technique sweep) and ``emnist-tf tune-report``."""

from __future__ import annotations

from emnist_tf.choices import MODEL_KINDS
from emnist_tf.tuning.recycle import run_recycling  # noqa: F401 - importable from here as before
from emnist_tf.tuning.strategies import STRATEGIES


def register(subparsers, parents) -> None:
    """Adds the ``tune`` and ``tune-report`` commands."""
    parser = subparsers.add_parser(
        "tune",
        parents=parents,
        help="run (or resume: same command, same --dir) a KerasTuner technique sweep",
        description="Cross-validated technique sweep. Rerun the same command on the same --dir to "
        "continue after an interruption. For a distributed joint search set "
        "KERASTUNER_TUNER_ID (chief / worker0...), KERASTUNER_ORACLE_IP and "
        "KERASTUNER_ORACLE_PORT and run the same command in every process.",
    )
    parser.add_argument("--model", choices=MODEL_KINDS, default="mlp")
    parser.add_argument(
        "--strategy",
        choices=list(STRATEGIES),
        default="greedy",
        help="greedy: one technique at a time; random, bayesian, hyperband: everything at once",
    )
    parser.add_argument("--folds", type=int, default=3, help="stratified folds per trial (default 3)")
    parser.add_argument(
        "--max-trials",
        type=int,
        default=None,
        help="greedy: options per stage (default all); others: trial budget "
        "(default: as many trials as the greedy sweep)",
    )
    parser.add_argument("--epochs", type=int, default=5, help="epochs per fold (default 5)")
    parser.add_argument(
        "--confirm-epochs",
        type=int,
        default=None,
        metavar="N",
        help="greedy: end with a confirmation stage that retrains the winner and the winner with the "
        "default recipe's batch norm, dropout and cosine schedule for N epochs per fold and keeps the "
        "better (short trials misjudge those techniques; default: no confirmation stage)",
    )
    parser.add_argument(
        "--rungs",
        type=int,
        default=1,
        metavar="R",
        help="greedy: successive halving within each stage: every option trains --epochs on 1/G^(R-1) of the "
        "images, the best 1/G (at least two) G times longer on G times the images, ..., and the last rung "
        "decides (default 1: every option at --epochs on every image)",
    )
    parser.add_argument("--growth", type=int, default=3, metavar="G", help="the rungs' factor (default 3)")
    parser.add_argument(
        "--longest-epochs",
        type=int,
        default=None,
        metavar="N",
        help="epochs per fold of the last rung (default --epochs x G^(R-1))",
    )
    parser.add_argument(
        "--final-epochs",
        type=int,
        default=None,
        metavar="N",
        help="epochs of best.json and baseline.json, which the sweep then trains on all its images and "
        "tests (default: the model's recipe)",
    )
    parser.add_argument("--dir", required=True, help="sweep folder (results, report, resume state)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", default="balanced", help="EMNIST split (default balanced)")
    parser.add_argument(
        "--limit", type=int, default=None, help="use this many training images (stratified sample; default all)"
    )
    parser.add_argument("--data-dir", default=None, help="folder of EMNIST files (else EMNIST_TF_DATA)")
    parser.add_argument(
        "--recycle-after",
        type=int,
        default=20,
        metavar="N",
        help="restart this process after N trials to give back the memory TensorFlow "
        "leaks per model (the sweep resumes; 0: never; default 20)",
    )
    parser.set_defaults(handler=run)

    report = subparsers.add_parser(
        "tune-report", parents=parents, help="print a sweep's tables and write its figures and summary"
    )
    report.add_argument("dir", help="sweep folder written by `emnist-tf tune`")
    report.set_defaults(handler=run_report)


def run(args) -> int:
    """Runs the sweep described by ``args``, restarting the process every ``--recycle-after`` trials."""
    from emnist_tf.tuning.sweep import run_sweep

    def sweep(recycle_after):
        run_sweep(
            args.dir,
            model=args.model,
            strategy=args.strategy,
            folds=args.folds,
            epochs=args.epochs,
            max_trials=args.max_trials,
            seed=args.seed,
            split=args.split,
            limit=args.limit,
            data_dir=args.data_dir,
            recycle_after=recycle_after,
            confirmation_epochs=args.confirm_epochs,
            final_epochs=args.final_epochs,
            rungs=args.rungs,
            growth=args.growth,
            longest_epochs=args.longest_epochs,
        )

    return run_recycling("tune", args.recycle_after, sweep)


def run_report(args) -> int:
    """Rewrites the report of the sweep in ``args.dir`` and prints it."""
    from emnist_tf.tuning.report import format_report, write_report

    paths = write_report(args.dir)
    print(format_report(args.dir))
    print(f"\nfigures: {', '.join(paths['figures'] + ([paths['comparison']] if paths['comparison'] else []))}")
    return 0
