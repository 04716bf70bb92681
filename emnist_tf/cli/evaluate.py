"""``emnist-tf evaluate DIR``: re-evaluate a saved run and print its headline metrics."""

from __future__ import annotations

from pathlib import Path

from emnist_tf.cli import add_run_data_dir


def register(subparsers, parents) -> None:
    """Adds the ``evaluate`` subcommand."""
    parser = subparsers.add_parser(
        "evaluate",
        parents=parents,
        help="evaluate a saved run on its test images (writes metrics.json and figures)",
        description="Evaluates the model of a run directory (from `emnist-tf train --out DIR`) on the "
        "test images of its split and writes metrics.json, curves.png, confusion.png and "
        "predictions.png into it.",
    )
    parser.add_argument("run_dir", metavar="DIR", type=Path, help="run directory written by `emnist-tf train`")
    add_run_data_dir(parser)
    parser.set_defaults(handler=run)


def run(args) -> int:
    """Evaluates ``args.run_dir`` and prints the headline metrics."""
    from emnist_tf.evaluation import RESULT_FILES, evaluate_run, format_headline

    metrics = evaluate_run(args.run_dir, data_dir=args.data_dir)
    print(format_headline(metrics))
    print(f"wrote {', '.join(RESULT_FILES)} to {args.run_dir}")
    return 0
