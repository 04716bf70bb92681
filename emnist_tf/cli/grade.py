"""``emnist-tf grade SUBMISSION... --out gradebook.csv``: grade student notebooks."""

from __future__ import annotations


def register(subparsers, parents) -> None:
    parser = subparsers.add_parser(
        "grade",
        parents=parents,
        help="run student notebooks in fresh kernels with the hidden checks; write a gradebook and feedback",
    )
    parser.add_argument(
        "submissions", nargs="+", help="student notebooks or folders of them (submitted/<student>/<notebook>.ipynb)"
    )
    parser.add_argument("--solutions", default="solutions", help="folder of solution notebooks (default: solutions)")
    parser.add_argument("--out", required=True, help="gradebook CSV to write")
    parser.add_argument(
        "--feedback-dir", default=None, help="where feedback/<student>/<notebook>.md goes (default: next to --out)"
    )
    parser.add_argument(
        "--timeout-per-cell",
        type=float,
        default=300.0,
        help="seconds a cell may run before it is stopped (default: 300)",
    )
    parser.set_defaults(handler=run)


def run(args) -> int:
    from emnist_tf.course import gradebook

    results = gradebook.grade_all(
        args.submissions,
        solutions_dir=args.solutions,
        out=args.out,
        feedback_dir=args.feedback_dir,
        timeout_per_cell=args.timeout_per_cell,
    )
    print(f"graded {len(results)} submission(s); gradebook in {args.out}")
    return 0
