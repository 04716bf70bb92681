"""``emnist-tf course build|check``: generate the exercise notebooks, or check they are current."""

from __future__ import annotations

import sys


def register(subparsers, parents) -> None:
    """Adds the ``course`` subcommand (build or check the exercise notebooks)."""
    parser = subparsers.add_parser(
        "course",
        parents=parents,
        help="generate exercises/ and nbgrader metadata from solutions/ (build) or fail if out of date (check)",
    )
    parser.add_argument(
        "action",
        choices=["build", "check"],
        help="build: add nbgrader metadata to solutions/ and write exercises/; "
        "check: exit 1 naming stale exercise notebooks or nbgrader metadata",
    )
    parser.add_argument("--solutions", default="solutions", help="folder of solution notebooks (default: solutions)")
    parser.add_argument("--exercises", default="exercises", help="folder of exercise notebooks (default: exercises)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from emnist_tf.course import build

    if args.action == "build":
        written = build.build_exercises(args.solutions, args.exercises)
        print(f"wrote {len(written)} exercise notebook(s) to {args.exercises}")
        return 0
    stale = build.stale_exercises(args.solutions, args.exercises)
    if stale:
        names = ", ".join(str(item) for item in stale)
        print(f"course notebooks out of date: {names}; run `emnist-tf course build`", file=sys.stderr)
        return 1
    print(f"{args.exercises} is up to date with {args.solutions}")
    return 0
