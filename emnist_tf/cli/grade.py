"""``emnist-tf grade SUBMISSION... --out gradebook.csv``: grade student notebooks, each in a sandbox.

``emnist-tf grade --merge-marks marks.csv --out gradebook.csv`` records the
points given by hand to written answers, grading nothing again.
"""

from __future__ import annotations

import os
import sys


def register(subparsers, parents) -> None:
    parser = subparsers.add_parser(
        "grade",
        parents=parents,
        help="run student notebooks in bubblewrap sandboxes, judge the hidden checks; write a gradebook and feedback",
    )
    parser.add_argument(
        "submissions", nargs="*", help="student notebooks or folders of them (submitted/<student>/<notebook>.ipynb)"
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
    parser.add_argument(
        "--timeout-per-notebook",
        type=float,
        default=3600.0,
        help="seconds a whole notebook may run; later cells are not run (default: 3600)",
    )
    parser.add_argument(
        "--memory-mb",
        type=int,
        default=6144,
        help="memory of each notebook's whole process tree in MB (its cgroup; without cgroups, of each process; "
        "default: 6144)",
    )
    parser.add_argument(
        "--disk-mb",
        type=int,
        default=4096,
        help="what a notebook may keep in its scratch folder, in MB (default: 4096)",
    )
    parser.add_argument(
        "--jobs", type=int, default=None, help="submissions graded at once (default: the number of cores)"
    )
    parser.add_argument(
        "--merge-marks",
        metavar="CSV",
        default=None,
        help="merge points given by hand to written answers (student,notebook,cell,points) into --out; "
        "grades nothing again",
    )
    parser.add_argument(
        "--trusted",
        action="store_true",
        help="run student code WITHOUT a sandbox (only for code you trust, e.g. where bubblewrap is unavailable)",
    )
    parser.set_defaults(handler=run)


def run(args) -> int:
    from emnist_tf.grading import gradebook, isolation, sandbox

    if args.merge_marks:
        return merge(args)
    if not args.submissions:
        print("error: give the notebooks to grade (files or folders), or --merge-marks CSV", file=sys.stderr)
        return 2
    if args.jobs is not None and args.jobs < 1:
        print(f"error: --jobs must be at least 1, got {args.jobs}", file=sys.stderr)
        return 2
    if args.trusted:
        print("warning: --trusted: student code runs unsandboxed as you, with your files and network", file=sys.stderr)
    else:
        problem = sandbox.isolation_problem()
        if problem:
            print(f"error: cannot sandbox student code: {problem}; or pass --trusted", file=sys.stderr)
            return 2
        warning = isolation.isolation_warning()
        if warning:
            print(warning, file=sys.stderr)
    jobs = args.jobs or os.cpu_count() or 1
    own_uid = os.geteuid() == 0 and not args.trusted  # else every sandbox counts against one user's processes
    limits = sandbox.Limits(
        memory_mb=args.memory_mb,
        disk_mb=args.disk_mb,
        timeout_per_cell=args.timeout_per_cell,
        timeout_per_notebook=args.timeout_per_notebook,
        processes=sandbox.Limits.processes * (1 if own_uid else jobs),
        cpus=max(1.0, (os.cpu_count() or 1) / jobs),
    )
    results = gradebook.grade_all(
        args.submissions,
        solutions_dir=args.solutions,
        out=args.out,
        feedback_dir=args.feedback_dir,
        limits=limits,
        jobs=args.jobs,
        trusted=args.trusted,
    )
    print(f"graded {len(results)} submission(s); gradebook in {args.out}")
    return 0


def merge(args) -> int:
    """Merges a marks CSV into the gradebook ``--out``."""
    from emnist_tf.grading import grade, gradebook, manual

    if args.submissions:
        print("error: --merge-marks grades nothing; give no notebooks with it", file=sys.stderr)
        return 2
    solutions = grade.load_solutions(args.solutions)
    try:
        merged = manual.merge_marks(args.merge_marks, args.out, solutions)
    except manual.MarksError as error:
        for line in str(error).splitlines():
            print(f"error: {line}", file=sys.stderr)
        print("nothing merged: fix these lines and merge again", file=sys.stderr)
        return 2
    print(f"merged {merged} mark(s) into {args.out} (points given by hand: manual_points, manual_pending)")
    rewritten = gradebook.rewrite_feedback(args.out, solutions, args.feedback_dir)
    print(f"feedback written again for {rewritten} submission(s), with the points given by hand so far")
    return 0
