"""Grading student notebooks against the solution notebooks.

Each submission runs in a fresh kernel with a time limit per cell. Its check
cells are replaced by the solution's (hidden tests restored), matched by cell
id, and every check cell that runs without an error earns its points. A
submission that raises, loops forever, deletes variables or kills its kernel
loses points; it never stops the grading of the others.

Example:
    >>> from emnist_tf.course import grade
    >>> solutions = grade.load_solutions("solutions")
    >>> result = grade.grade_submission("submitted/alice/03-mlp.ipynb", solutions)
    >>> result.total, result.max_points
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from emnist_tf.course import notebooks
from emnist_tf.course.build import read_notebook, solution_paths
from emnist_tf.course.execution import CellOutcome, KernelSession

HIDDEN_FAILED = "hidden check failed"


@dataclasses.dataclass
class SolutionNotebook:
    """A solution notebook ready for grading: its exercises and check cells by id."""

    path: Path
    notebook: object
    exercises: dict

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def checks(self) -> dict[str, notebooks.CheckCell]:
        """Check cell id -> check cell."""
        return {check.cell_id: check for exercise in self.exercises.values() for check in exercise.checks}

    @property
    def max_points(self) -> float:
        return sum(exercise.points for exercise in self.exercises.values())

    def hidden_sources(self) -> list[str]:
        """Every hidden test's code, for redacting feedback."""
        return [code for check in self.checks.values() for code in notebooks.hidden_sources(check.source)]


@dataclasses.dataclass
class CheckGrade:
    """The result of one check cell."""

    cell_id: str
    points: float
    earned: float
    message: str


@dataclasses.dataclass
class ExerciseGrade:
    """The result of one exercise: its checks and a note on its solution cells."""

    name: str
    points: float
    earned: float
    checks: list[CheckGrade]
    note: str = ""


@dataclasses.dataclass
class GradeResult:
    """The grade of one submission.

    Attributes:
        student: who submitted it.
        submission: the submitted notebook's path.
        notebook: the matching solution notebook's file name ("" if none).
        exercises: one :class:`ExerciseGrade` per exercise, in notebook order.
        status: ``"graded"``, or why the notebook could not be run at all.
        cell_problems: one line per other cell of the student's that failed.
    """

    student: str
    submission: Path
    notebook: str
    exercises: list[ExerciseGrade]
    status: str = "graded"
    cell_problems: list[str] = dataclasses.field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(exercise.earned for exercise in self.exercises)

    @property
    def max_points(self) -> float:
        return sum(exercise.points for exercise in self.exercises)


def load_solutions(solutions_dir: str | Path = "solutions") -> list[SolutionNotebook]:
    """Reads and validates every solution notebook of a folder.

    Raises:
        FileNotFoundError: if the folder does not exist.
        ValueError: if it holds no notebook or a notebook's markers are wrong.
    """
    paths = solution_paths(solutions_dir)
    if not paths:
        raise ValueError(f"no solution notebooks (*.ipynb) in {solutions_dir}; pass --solutions DIR")
    loaded = []
    for path in paths:
        notebook = read_notebook(path)
        loaded.append(SolutionNotebook(path, notebook, notebooks.exercises(notebook, name=str(path))))
    return loaded


def match_solution(submission, filename: str, solutions: list[SolutionNotebook]) -> SolutionNotebook | None:
    """Finds the solution notebook sharing the most check-cell ids, else the same file name."""
    cell_ids = {cell.get("id") for cell in submission.cells}
    best, best_overlap = None, 0
    for solution in solutions:
        overlap = len(cell_ids & set(solution.checks))
        if overlap > best_overlap:
            best, best_overlap = solution, overlap
    if best is None:
        best = next((solution for solution in solutions if solution.name == filename), None)
    return best


def student_name(path: str | Path, root: str | Path | None = None) -> str:
    """Names the student: the first folder under ``root``, else the file's own name.

    ``submitted/alice/03-mlp.ipynb`` under ``submitted`` is ``alice``;
    ``bob.ipynb`` given on its own is ``bob``.
    """
    path = Path(path)
    if root is not None:
        relative = path.relative_to(root)
        if len(relative.parts) > 1:
            return relative.parts[0]
    return path.stem


def grade_submission(
    path: str | Path, solutions: list[SolutionNotebook], *, student: str | None = None, timeout_per_cell: float = 300
) -> GradeResult:
    """Grades one submitted notebook in a fresh kernel.

    Args:
        path: the student's notebook.
        solutions: from :func:`load_solutions`.
        student: the student's name (default: the file name).
        timeout_per_cell: seconds each cell may run.

    Returns:
        A :class:`GradeResult`; problems with the notebook are recorded in it,
        never raised.
    """
    path = Path(path)
    student = student or path.stem
    try:
        submission = read_notebook(path)
    except ValueError as error:
        return GradeResult(student, path, "", [], status=f"unreadable: {error}")
    solution = match_solution(submission, path.name, solutions)
    if solution is None:
        return GradeResult(
            student,
            path,
            "",
            [],
            status="no solution notebook matches it (no known check cell ids and no solution of the same name)",
        )
    try:
        outcomes, problems = _run_submission(submission, solution, timeout_per_cell)
    except Exception as error:  # the kernel could not start: no points, but the run goes on
        problem = f"the notebook could not be run: {type(error).__name__}: {error}"
        return GradeResult(
            student,
            path,
            solution.name,
            _grade_exercises(solution, {}, {}, default=problem),
            status="not run",
            cell_problems=[problem],
        )
    return GradeResult(
        student,
        path,
        solution.name,
        _grade_exercises(solution, outcomes["checks"], outcomes["solutions"]),
        cell_problems=problems,
    )


def _run_submission(submission, solution: SolutionNotebook, timeout_per_cell: float):
    """Runs the student's cells with the solution's check cells; returns outcomes by cell."""
    checks = solution.checks
    check_outcomes: dict[str, list[tuple[str, CellOutcome]]] = {}
    solution_outcomes: dict[str, list[CellOutcome]] = {}
    problems: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="emnist-tf-grade-") as workdir,
        KernelSession(workdir, timeout_per_cell=timeout_per_cell) as session,
    ):
        for index, cell in enumerate(submission.cells):
            if cell.get("cell_type") != "code":
                continue
            cell_id = cell.get("id")
            if cell_id in checks:
                check_outcomes[cell_id] = _run_check(session, checks[cell_id])
                continue
            outcome = session.run(cell.get("source", ""))
            exercise = notebooks.cell_info(cell).get("exercise")
            if notebooks.cell_kind(cell) == "solution" and isinstance(exercise, str):
                solution_outcomes.setdefault(exercise, []).append(outcome)
            elif not outcome.ok and outcome.status != "not run":
                problems.append(f"cell {index}: {outcome.summary()}")
    return {"checks": check_outcomes, "solutions": solution_outcomes}, problems


def _run_check(session: KernelSession, check: notebooks.CheckCell) -> list[tuple[str, CellOutcome]]:
    """Runs a check cell's parts in order and stops at the first that fails."""
    results = []
    for part, code in notebooks.split_check(check.source):
        outcome = session.run(code, store_history=part == "visible")
        results.append((part, outcome))
        if not outcome.ok:
            break
    return results


def _grade_exercises(
    solution: SolutionNotebook, check_outcomes: dict, solution_outcomes: dict, default: str | None = None
):
    grades = []
    for exercise in solution.exercises.values():
        checks = [_grade_check(check, check_outcomes.get(check.cell_id), default) for check in exercise.checks]
        parts = [outcome for check in exercise.checks for _, outcome in check_outcomes.get(check.cell_id, [])]
        note = _solution_note(solution_outcomes.get(exercise.name), parts)
        grades.append(ExerciseGrade(exercise.name, exercise.points, sum(c.earned for c in checks), checks, note))
    return grades


def _grade_check(check: notebooks.CheckCell, parts: list | None, default: str | None = None) -> CheckGrade:
    if parts is None:
        return CheckGrade(
            check.cell_id,
            check.points,
            0.0,
            default
            or f"check cell {check.cell_id!r} is missing from the notebook; copy it back from the exercise notebook",
        )
    for part, outcome in parts:
        if not outcome.ok:
            message = HIDDEN_FAILED if part == "hidden" else f"failed: {outcome.summary()}"
            return CheckGrade(check.cell_id, check.points, 0.0, message)
    return CheckGrade(check.cell_id, check.points, check.points, "passed")


def _solution_note(outcomes: list[CellOutcome] | None, check_outcomes: list[CellOutcome]) -> str:
    """Explains what went wrong in the student's own solution cells, if anything."""
    if outcomes is None:
        return "no solution cell of this exercise was found in the notebook"
    if any(outcome.error_name == "NotImplementedError" for outcome in [*outcomes, *check_outcomes]):
        return (
            "not attempted: the solution still raises NotImplementedError; "
            "replace '# YOUR CODE HERE' and the raise with your code"
        )
    for outcome in outcomes:
        if not outcome.ok:
            return f"your solution cell did not finish: {outcome.summary()}"
    return ""


def format_points(value: float) -> str:
    """Formats points without a needless decimal: ``2`` or ``1.5``."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def exercise_columns(solutions: list[SolutionNotebook]) -> list[str]:
    """Every exercise name, in course order (notebook, then position)."""
    return [name for solution in solutions for name in solution.exercises]
