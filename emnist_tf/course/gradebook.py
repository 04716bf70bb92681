"""Grading many submissions: collect them, grade each, write the gradebook and feedback.

Example:
    >>> from emnist_tf.course import gradebook
    >>> results = gradebook.grade_all(["submitted/"], solutions_dir="solutions",
    ...                               out="gradebook.csv", timeout_per_cell=300)
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from emnist_tf.course import feedback, grade


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


def write_gradebook(results: list[grade.GradeResult], path: str | Path, columns: list[str]) -> Path:
    """Writes one CSV row per submission: points per exercise, total, maximum and status.

    Exercises that do not belong to a submission's notebook are left empty.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "notebook", "submission", *columns, "total", "max_points", "status"])
        for result in results:
            earned = {exercise.name: grade.format_points(exercise.earned) for exercise in result.exercises}
            writer.writerow(
                [
                    result.student,
                    result.notebook,
                    str(result.submission),
                    *[earned.get(column, "") for column in columns],
                    grade.format_points(result.total),
                    grade.format_points(result.max_points),
                    result.status,
                ]
            )
    return path


def grade_all(
    submissions: list[str | Path],
    *,
    solutions_dir: str | Path = "solutions",
    out: str | Path = "gradebook.csv",
    feedback_dir: str | Path | None = None,
    timeout_per_cell: float = 300,
    progress: Callable[[str], None] | None = print,
) -> list[grade.GradeResult]:
    """Grades every submission, one fresh kernel each, and writes gradebook and feedback.

    Args:
        submissions: notebook files and/or folders of them.
        solutions_dir: the solution notebooks (hidden tests come from here).
        out: the gradebook CSV to write.
        feedback_dir: where per-student feedback goes (default: ``feedback/``
            next to the gradebook).
        timeout_per_cell: seconds each cell may run.
        progress: called with one line per graded submission (None: quiet).

    Returns:
        One :class:`~emnist_tf.course.grade.GradeResult` per submission.
    """
    solutions = grade.load_solutions(solutions_dir)
    pairs = collect_submissions(submissions)
    feedback_dir = Path(feedback_dir) if feedback_dir else Path(out).parent / "feedback"
    hidden = {solution.name: solution.hidden_sources() for solution in solutions}
    results = []
    for number, (path, student) in enumerate(pairs, start=1):
        result = grade.grade_submission(path, solutions, student=student, timeout_per_cell=timeout_per_cell)
        results.append(result)
        written = feedback.write(result, feedback_dir, hidden_sources=hidden.get(result.notebook, []))
        if progress:
            progress(
                f"[{number}/{len(pairs)}] {student} {path.name}: "
                f"{grade.format_points(result.total)}/{grade.format_points(result.max_points)} "
                f"({result.status}); feedback in {written}"
            )
    write_gradebook(results, out, grade.exercise_columns(solutions))
    return results
