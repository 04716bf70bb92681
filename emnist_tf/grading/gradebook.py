"""Grading many submissions: collect them, grade each, write the gradebook and feedback.

Example:
    >>> from emnist_tf.grading import gradebook
    >>> results = gradebook.grade_all(["submitted/"], solutions_dir="solutions",
    ...                               out="gradebook.csv", timeout_per_cell=300)
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from emnist_tf.files import write_text_atomic
from emnist_tf.grading import feedback, grade, manual
from emnist_tf.grading.manual import inert, spreadsheet_safe
from emnist_tf.grading.sandbox import Limits


def collect_submissions(paths: list[str | Path]) -> list[tuple[Path, str]]:
    """Expands files and folders into ``(notebook, student)`` pairs.

    A folder contributes every ``*.ipynb`` below it (checkpoints skipped); the
    student is the first sub-folder (``submitted/alice/03-mlp.ipynb`` is
    alice) or, for notebooks directly inside, the file name.

    Raises:
        FileNotFoundError: if a path does not exist.
        ValueError: if no notebook is found.
    """
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            for notebook in sorted(path.rglob("*.ipynb")):
                if ".ipynb_checkpoints" not in notebook.parts:
                    found.append((notebook, grade.student_name(notebook, path)))
        elif path.is_file():
            found.append((path, path.parent.name if path.parent.name and _looks_like_course_file(path) else path.stem))
        else:
            raise FileNotFoundError(f"submission {path} does not exist; pass notebook files or folders")
    if not found:
        raise ValueError(f"no notebooks (*.ipynb) found in {', '.join(map(str, paths))}")
    return found


def _looks_like_course_file(path: Path) -> bool:
    """``alice/03-mlp.ipynb`` names the student by its folder; ``alice.ipynb`` by itself."""
    return path.stem[:2].isdigit()


def write_gradebook(
    results: list[grade.GradeResult],
    path: str | Path,
    solutions: list[grade.SolutionNotebook],
    marks: dict[str, dict[str, float]] | None = None,
) -> Path:
    """Writes one CSV row per submission (atomically).

    Columns: points per autograded exercise, points given by hand per written
    cell (empty while pending), ``total`` and ``max_points`` (autograded),
    ``manual_points``, ``manual_max`` and ``manual_pending`` (graded by hand),
    and the status. Exercises that do not belong to a submission's notebook
    are left empty; names and paths pass through :func:`~manual.spreadsheet_safe`.

    Args:
        results: the graded submissions.
        path: the CSV to write.
        solutions: the solution notebooks (exercises, written cells).
        marks: points given by hand (:func:`~manual.load_marks`; None: none yet).
    """
    columns = [name for solution in solutions for name, exercise in solution.exercises.items() if exercise.checks]
    written = manual.written_columns(solutions)
    by_name = {solution.name: solution for solution in solutions}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    hand_graded = ["manual_points", "manual_max", "manual_pending"]
    header = ["student", "notebook", "submission", *columns, *written, "total", "max_points", *hand_graded, "status"]
    writer.writerow(header)
    for result in results:
        earned = {exercise.name: grade.format_points(exercise.earned) for exercise in result.exercises}
        student = spreadsheet_safe(result.student)
        by_hand = manual.manual_columns(student, by_name.get(result.notebook), marks or {})
        writer.writerow(
            [
                student,
                spreadsheet_safe(result.notebook),
                spreadsheet_safe(result.submission),
                *[earned.get(column, "") for column in columns],
                *[by_hand.get(column, "") for column in written],
                grade.format_points(result.total),
                grade.format_points(result.max_points),
                *[by_hand[column] for column in hand_graded],
                spreadsheet_safe(result.status),
            ]
        )
    return write_text_atomic(path, buffer.getvalue())


def _fingerprint(path: Path, solutions: list[grade.SolutionNotebook]) -> str:
    digest = hashlib.sha256()
    for part in [path, *(solution.path for solution in solutions)]:
        try:
            digest.update(Path(part).read_bytes() if grade.is_regular_file(part) else b"not a regular file")
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()


class Progress:
    """Done/total, elapsed time and an estimate of the time left."""

    def __init__(self, total: int, report: Callable[[str], None] | None):
        self.total = total
        self.done = 0
        self.report = report
        self.started = time.monotonic()

    def __call__(self, line: str, *, graded: bool = True) -> None:
        self.done += 1
        if self.report is None:
            return
        elapsed = time.monotonic() - self.started
        left = self.total - self.done
        eta = f"; about {_duration(elapsed / self.done * left)} left" if graded and left else ""
        self.report(inert(f"[{self.done}/{self.total}] {line}{eta}", keep=""))


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def _notebook_key(path: Path, solutions: list[grade.SolutionNotebook]) -> str:
    """Which course notebook a submission is (for spotting a second submission of the same one)."""
    try:
        matched = grade.match_solution(grade.read_submission(path), path.name, solutions)
    except ValueError:
        matched = None
    return matched.name if matched else path.name


def grade_all(
    submissions: list[str | Path],
    *,
    solutions_dir: str | Path = "solutions",
    out: str | Path = "gradebook.csv",
    feedback_dir: str | Path | None = None,
    written_dir: str | Path | None = None,
    timeout_per_cell: float = 300,
    limits: Limits | None = None,
    jobs: int | None = None,
    trusted: bool = False,
    progress: Callable[[str], None] | None = print,
) -> list[grade.GradeResult]:
    """Grades every submission, each in its own sandbox, and writes gradebook and feedback.

    Written answers are left for grading by hand: the gradebook shows their
    points as pending (or as given, once merged with :func:`~manual.merge_marks`)
    and a page per notebook shows every student's answers side by side.
    A record of every graded submission is kept next to the gradebook
    (``<out>.parts/``), so a run that was stopped half way resumes and grades
    only what is missing or changed. A second submission of the same notebook
    by the same student is reported in the gradebook and not graded.

    Args:
        submissions: notebook files and/or folders of them.
        solutions_dir: the solution notebooks (hidden tests come from here).
        out: the gradebook CSV to write.
        feedback_dir: where per-student feedback goes (default: ``feedback/``
            next to the gradebook).
        written_dir: where the pages for grading written answers by hand go
            (default: ``written/`` next to the gradebook; see :mod:`~emnist_tf.grading.manual`).
        timeout_per_cell: seconds each cell may run (when ``limits`` is None).
        limits: the sandbox's limits.
        jobs: submissions graded at once (default: the number of cores).
        trusted: run student code without bubblewrap (no isolation).
        progress: called with one line per graded submission (None: quiet).

    Returns:
        One :class:`~emnist_tf.grading.grade.GradeResult` per submission.
    """
    limits = limits or Limits(timeout_per_cell=timeout_per_cell)
    jobs = jobs or os.cpu_count() or 1
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    if not trusted:
        grade.require_sandbox()
    solutions = grade.load_solutions(solutions_dir)
    pairs = collect_submissions(submissions)
    feedback_dir = Path(feedback_dir) if feedback_dir else Path(out).parent / "feedback"
    parts = Path(f"{out}.parts")
    parts.mkdir(parents=True, exist_ok=True)
    hidden = {solution.name: solution.hidden_sources() for solution in solutions}
    by_name, marks = {solution.name: solution for solution in solutions}, manual.load_marks(out)
    results: dict[int, grade.GradeResult] = {}
    first: dict[tuple[str, str], Path] = {}
    todo = []
    report = Progress(len(pairs), progress)
    for number, (path, student) in enumerate(pairs):
        key = (student, _notebook_key(path, solutions))
        if key in first:
            results[number] = grade.GradeResult(
                student,
                path,
                key[1],
                [],
                status=f"second submission of {key[1]} by {student} (first: {first[key]}); not graded",
            )
            report(f"{student} {path}: second submission of {key[1]}, not graded", graded=False)
            continue
        first[key] = path
        record = parts / (hashlib.sha256(f"{student}\0{path.resolve()}".encode()).hexdigest()[:24] + ".json")
        fingerprint = _fingerprint(path, solutions)
        previous = _load_record(record, fingerprint)
        if previous is not None:
            results[number] = previous
            report(f"{student} {path.name}: graded in an earlier run", graded=False)
            continue
        todo.append((number, path, student, record, fingerprint))

    def work(item):
        number, path, student, record, fingerprint = item
        result = grade.grade_submission(path, solutions, student=student, limits=limits, trusted=trusted)
        written = _write_feedback(result, feedback_dir, by_name, marks, hidden)
        write_text_atomic(record, json.dumps({"fingerprint": fingerprint, "result": result.to_dict()}))
        return number, result, written

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for number, result, written in pool.map(work, todo):
            results[number] = result
            report(
                f"{result.student} {result.submission.name}: "
                f"{grade.format_points(result.total)}/{grade.format_points(result.max_points)} "
                f"({result.status}); feedback in {written}"
            )
    ordered = [results[number] for number in sorted(results)]
    write_gradebook(ordered, out, solutions, marks)
    written_dir = Path(written_dir) if written_dir else Path(out).parent / "written"
    for page in manual.write_marking_pages(ordered, solutions, written_dir):
        if progress is not None:
            progress(f"written answers left for grading by hand: {page} (marks template beside it)")
    return ordered


def _write_feedback(result, feedback_dir, by_name, marks, hidden) -> Path:
    """One submission's feedback, with the written answers' points given by hand so far."""
    by_hand = manual.written_points(spreadsheet_safe(result.student), by_name.get(result.notebook), marks)
    return feedback.write(result, feedback_dir, hidden_sources=hidden.get(result.notebook, []), written=by_hand)


def rewrite_feedback(
    out: str | Path, solutions: list[grade.SolutionNotebook], feedback_dir: str | Path | None = None
) -> int:
    """Writes each graded submission's feedback again with the marks merged so far; grades nothing.

    The results come from the records :func:`grade_all` keeps beside the
    gradebook (``<out>.parts``); a gradebook without them (copied elsewhere)
    has nothing to rewrite.

    Args:
        out: the gradebook CSV.
        solutions: from :func:`emnist_tf.grading.grade.load_solutions`.
        feedback_dir: where the feedback went (default: ``feedback/`` next to ``out``).

    Returns:
        How many feedback files were written.
    """
    feedback_dir = Path(feedback_dir) if feedback_dir else Path(out).parent / "feedback"
    by_name, marks = {solution.name: solution for solution in solutions}, manual.load_marks(out)
    hidden = {solution.name: solution.hidden_sources() for solution in solutions}
    written = 0
    for record in sorted(Path(f"{out}.parts").glob("*.json")):
        try:
            result = grade.GradeResult.from_dict(json.loads(record.read_text(encoding="utf-8"))["result"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a record cut short by a crash: its submission is graded again by the next run
        _write_feedback(result, feedback_dir, by_name, marks, hidden)
        written += 1
    return written


def _load_record(path: Path, fingerprint: str) -> grade.GradeResult | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("fingerprint") != fingerprint:
            return None
        return grade.GradeResult.from_dict(record["result"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
