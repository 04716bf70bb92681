"""``emnist-tf report DIR [DIR...] --out report.html``: one HTML page comparing runs."""

from __future__ import annotations

from pathlib import Path


def register(subparsers, parents) -> None:
    """Adds the ``report`` subcommand."""
    parser = subparsers.add_parser(
        "report",
        parents=parents,
        help="write one self-contained HTML page comparing evaluated runs",
        description="Writes one HTML file (figures embedded) with every run's metrics, curves, confusion "
        "matrix, first predictions, most-confused pairs and F1 per class, and a comparison "
        "table and figure. Runs that are trained but not evaluated are evaluated first.",
    )
    parser.add_argument(
        "run_dirs", metavar="DIR", type=Path, nargs="+", help="run directories written by `emnist-tf train --out`"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("report.html"), help="HTML file to write (default: report.html)"
    )
    parser.add_argument("--title", default="EMNIST: comparison of trained models", help="page title")
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="folder of EMNIST files for runs that still need evaluating"
    )
    parser.set_defaults(handler=run)


def run(args) -> int:
    """Builds the report and prints the comparison table."""
    from emnist_tf.evaluation import comparison_table, format_comparison, load_metrics
    from emnist_tf.evaluation.report import build_report

    out = build_report(args.run_dirs, args.out, data_dir=args.data_dir, title=args.title)
    rows = comparison_table({str(run_dir): load_metrics(run_dir) for run_dir in args.run_dirs})
    print(format_comparison(rows))
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, self-contained)")
    return 0
