"""Grading student notebooks against the solution notebooks.

Each submission's cells run in a sandbox (:mod:`emnist_tf.grading.sandbox`);
its check cells, found by id or else by their exercise metadata, are replaced
by the solution's, and each check (visible and hidden parts) runs in a trusted
judge process (:mod:`emnist_tf.grading.judge`) on plain copies of the student's
values. Every check cell that passes earns its points. A submission that
raises, loops forever, deletes variables, kills its kernel or attacks the
grader loses points; it never stops the grading of the others.

Example:
    >>> from emnist_tf.grading import grade
    >>> solutions = grade.load_solutions("solutions")
    >>> result = grade.grade_submission("submitted/alice/03-mlp.ipynb", solutions)
    >>> result.total, result.max_points
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

from emnist_tf.course import notebooks
from emnist_tf.course.build import read_notebook, solution_paths
from emnist_tf.grading import forbid, plan, staging
from emnist_tf.grading.judge import describe_outcome
from emnist_tf.grading.sandbox import Limits, SandboxUnavailableError, isolation_problem, python_copies

JUDGE_SLACK = 120  # seconds for the judge's own start-up (TensorFlow imports) beyond the notebook budget
MAX_SUBMISSION_MB = 64  # a notebook with many figures is a few MB; bigger files are refused before parsing
MAX_SUBMISSION_CELLS = 5000  # a course notebook has about a hundred; nbformat takes minutes over 100,000
NOT_ATTEMPTED_HINT = "replace '# YOUR CODE HERE' and the raise with your code"
LOG = logging.getLogger(__name__)
_LIBRARIES = forbid.LibraryCopies()  # one library copy per distinct set of forbidden functions, for this run
atexit.register(_LIBRARIES.close)


class SubmissionError(ValueError):
    """A submitted file that is not graded (unreadable, too large, a link); the message says why."""


def is_regular_file(path: str | Path) -> bool:
    """True for a plain file (not a link, folder, FIFO or device), which is safe to read to its end."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def read_submission(path: str | Path):
    """Reads a submitted notebook, refusing files that could hurt the grader itself.

    Raises:
        SubmissionError: the file is a symbolic link (it could point at a
            solution or another student's work), larger than
            ``MAX_SUBMISSION_MB``, has more than ``MAX_SUBMISSION_CELLS`` cells,
            or is not a readable notebook (including JSON nested too deeply to parse).
    """
    path = Path(path)
    if path.is_symlink():
        raise SubmissionError("not graded: the submission is a symbolic link, not a notebook file; submit the file")
    if not is_regular_file(path):  # a FIFO or a device would block or never end when read
        raise SubmissionError("not graded: the submission is not a regular file; submit the notebook file")
    size = path.stat().st_size
    if size > MAX_SUBMISSION_MB * 1024 * 1024:
        raise SubmissionError(
            f"not graded: the notebook is larger than {MAX_SUBMISSION_MB} MB; clear its outputs and submit it again"
        )
    try:
        data = json.loads(path.read_bytes())
        cells = (
            data.get("cells", []) if data.get("nbformat", 4) >= 4 else data.get("worksheets", [{}])[0].get("cells", [])
        )
        if len(cells) > MAX_SUBMISSION_CELLS:
            raise SubmissionError(
                f"not graded: the notebook has {len(cells)} cells, more than {MAX_SUBMISSION_CELLS}; "
                "remove the extra cells and submit it again"
            )
        return read_notebook(path)
    except SubmissionError:
        raise
    except (OSError, ValueError, TypeError, AttributeError, IndexError, KeyError, RecursionError, MemoryError):
        raise SubmissionError("unreadable: the file is not a notebook; open it in Jupyter and save it again") from None


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

    @property
    def forbidden(self) -> frozenset[str]:
        """Every library function an exercise of this notebook forbids."""
        return frozenset(name for names in plan.forbidden_names(self.notebook).values() for name in names)

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
        cell_problems: the numbers of the student's own code cells (neither
            given, nor solution, nor check cells) that failed; only numbers,
            never what they raised or printed.
        stopped: why the notebook's kernel was stopped early (time budget,
            disk quota, the kernel died), in grader words; "" if it ran to the end.
    """

    student: str
    submission: Path
    notebook: str
    exercises: list[ExerciseGrade]
    status: str = "graded"
    cell_problems: list[int] = dataclasses.field(default_factory=list)
    stopped: str = ""
    duplicates: list[str] = dataclasses.field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(exercise.earned for exercise in self.exercises)

    @property
    def max_points(self) -> float:
        return sum(exercise.points for exercise in self.exercises)

    def to_dict(self) -> dict:
        """Plain data (JSON-ready), for the record that lets a stopped run resume."""
        data = dataclasses.asdict(self)
        data["submission"] = str(self.submission)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> GradeResult:
        """The inverse of :meth:`to_dict`."""
        exercises = [
            ExerciseGrade(**{**exercise, "checks": [CheckGrade(**check) for check in exercise["checks"]]})
            for exercise in data["exercises"]
        ]
        return cls(**{**data, "submission": Path(data["submission"]), "exercises": exercises})


def load_solutions(solutions_dir: str | Path = "solutions") -> list[SolutionNotebook]:
    """Reads and validates every solution notebook of a folder.

    Raises:
        FileNotFoundError: if the folder does not exist.
        ValueError: if it holds no notebook or a notebook's markers are wrong.
    """
    paths = solution_paths(solutions_dir)
    if not paths:
        raise ValueError(f"no solution notebooks (*.ipynb) in {solutions_dir}; give the folder of solution notebooks")
    loaded = []
    for path in paths:
        notebook = read_notebook(path)
        solution = SolutionNotebook(path, notebook, notebooks.exercises(notebook, name=str(path)))
        for name in solution.forbidden:
            try:
                forbid.locate(forbid.library_root(), name)
            except forbid.ForbidError as error:
                raise ValueError(f"{path}: {error}") from None
        if plan.answer_mode(solution.exercises) == plan.INFERRED:
            LOG.warning("%s declares no answers: the grader infers the names to export from its checks", path.name)
        loaded.append(solution)
    return loaded


def match_solution(submission, filename: str, solutions: list[SolutionNotebook]) -> SolutionNotebook | None:
    """Finds the solution notebook sharing the most check cells (by id or exercise), else the same file name."""
    cell_ids = {cell.get("id") for cell in submission.cells}
    exercises = {notebooks.cell_info(cell).get("exercise") for cell in submission.cells} - {None}
    best, best_overlap = None, 0
    for solution in solutions:
        overlap = len(cell_ids & set(solution.checks)) + len(exercises & set(solution.exercises))
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
    path: str | Path,
    solutions: list[SolutionNotebook],
    *,
    student: str | None = None,
    timeout_per_cell: float = 300,
    limits: Limits | None = None,
    trusted: bool = False,
) -> GradeResult:
    """Grades one submitted notebook: its cells in a sandbox, its checks in a trusted judge.

    Args:
        path: the student's notebook.
        solutions: from :func:`load_solutions`.
        student: the student's name (default: the file name).
        timeout_per_cell: seconds each cell may run (used when ``limits`` is None).
        limits: the sandbox's limits (default: :class:`~emnist_tf.grading.sandbox.Limits`
            with ``timeout_per_cell``).
        trusted: run the student's code without bubblewrap (no isolation).

    Returns:
        A :class:`GradeResult`; problems with the notebook are recorded in it,
        never raised.

    Raises:
        SandboxUnavailableError: if bubblewrap cannot be used and ``trusted`` is False.
    """
    path = Path(path)
    student = student or path.stem
    limits = limits or Limits(timeout_per_cell=timeout_per_cell)
    if not trusted:
        require_sandbox()
    try:
        submission = read_submission(path)
    except SubmissionError as error:
        solution = next((solution for solution in solutions if solution.name == path.name), None)
        return _not_graded(student, path, solution, str(error))
    solution = match_solution(submission, path.name, solutions)
    if solution is None:
        return GradeResult(
            student,
            path,
            "",
            [],
            status="no solution notebook matches it (no known check cell and no solution of the same name)",
        )
    outcome = _judge(path, solution, limits, trusted)
    if outcome.get("status") != "graded":
        return _not_graded(student, path, solution, str(outcome.get("status", "grading failed"))[:200])
    return GradeResult(
        student,
        path,
        solution.name,
        _grade_exercises(solution, outcome),
        cell_problems=[int(number) for number in outcome.get("failed_cells", []) if type(number) is int],
        stopped=describe_outcome({"status": outcome["stopped"]}) if outcome.get("stopped") else "",
        duplicates=list(outcome.get("duplicates", [])),
    )


def require_sandbox() -> None:
    """Raises :class:`SandboxUnavailableError` (one line: why, and how to install bubblewrap)."""
    problem = isolation_problem()
    if problem:
        raise SandboxUnavailableError(f"cannot isolate student code: {problem}")


def _not_graded(student: str, path: Path, solution: SolutionNotebook | None, reason: str) -> GradeResult:
    if solution is None:
        return GradeResult(student, path, "", [], status=reason)
    exercises = [
        ExerciseGrade(
            name,
            exercise.points,
            0.0,
            [CheckGrade(check.cell_id, check.points, 0.0, "not graded") for check in exercise.checks],
        )
        for name, exercise in solution.exercises.items()
        if exercise.checks  # written answers only are graded by hand
    ]
    return GradeResult(student, path, solution.name, exercises, status=reason)


def judge_environment() -> tuple[dict[str, str], list[str]]:
    """What the notebook may see of the grader's environment: fast mode and the data folder (read-only)."""
    env, read_only = {}, []
    for key in ("EMNIST_TF_FAST", "EMNIST_TF_DATA"):
        if os.environ.get(key):
            env[key] = os.environ[key]
    if env.get("EMNIST_TF_DATA"):
        env["EMNIST_TF_DATA"] = str(Path(env["EMNIST_TF_DATA"]).resolve())
        read_only.append(env["EMNIST_TF_DATA"])
    return env, read_only


def _judge(path: Path, solution: SolutionNotebook, limits: Limits, trusted: bool) -> dict:
    """Runs the judge process on one submission and returns its result."""
    env, read_only = judge_environment()
    # the judge's temporary files (its sandbox's staged mounts) go in here too, removed however the judge ends
    with staging.neutral_folder("grade") as work:  # holds the scratch folder: a neutral name in mountinfo
        os.chmod(work, 0o755)
        job = {
            "submission": str(path.resolve()),
            "solution": str(solution.path.resolve()),
            "work": str(work),
            "limits": dataclasses.asdict(limits),
            "env": env,
            "read_only": read_only,
            "trusted": trusted,
            "library": str(_LIBRARIES.library(solution.forbidden)) if solution.forbidden else None,
            "python_copies": {} if trusted else python_copies(),
        }
        try:
            completed = subprocess.run(
                [sys.executable, "-m", "emnist_tf.grading.judge"],
                input=json.dumps(job),
                capture_output=True,
                text=True,
                timeout=limits.timeout_per_notebook + JUDGE_SLACK,
                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg", "TMPDIR": str(work)},
            )
        except subprocess.TimeoutExpired:
            return {"status": "not graded: the grader's judge ran out of time"}
        lines = completed.stdout.strip().splitlines()
        try:
            return json.loads(lines[-1])
        except (IndexError, ValueError):
            return {"status": f"not graded: the grader's judge failed (exit status {completed.returncode})"}


def _grade_exercises(solution: SolutionNotebook, outcome: dict) -> list[ExerciseGrade]:
    checks = outcome.get("checks", {})
    forbidden = outcome.get("forbidden", {})
    skipped = outcome.get("not_attempted", {})
    solution_outcomes = outcome.get("solution_outcomes", {})
    grades = []
    for exercise in solution.exercises.values():
        if not exercise.checks:  # written answers only: graded by hand (emnist_tf.grading.manual)
            continue
        graded = [_grade_check(check, checks.get(check.cell_id)) for check in exercise.checks]
        outcomes = solution_outcomes.get(exercise.name)
        note = _solution_note(outcomes) if exercise.solution_cell_ids else ""  # written answers only: by hand
        raised = any(outcome.get("error") == "NotImplementedError" for outcome in outcomes or [])
        if exercise.name in skipped or raised:
            why = skipped.get(exercise.name) or "your solution cell still raises NotImplementedError"
            graded = [
                dataclasses.replace(check, earned=0.0, message=check.message if not check.earned else "not counted")
                for check in graded
            ]
            note = f"0 points, not attempted: {why}; {NOT_ATTEMPTED_HINT}"
        used = forbidden.get(exercise.name)
        if used:
            graded = [dataclasses.replace(check, earned=0.0) for check in graded]
            note = f"0 points: your code calls {', '.join(used)}, which this exercise asks you to write yourself"
        grades.append(ExerciseGrade(exercise.name, exercise.points, sum(c.earned for c in graded), graded, note))
    return grades


def _grade_check(check: notebooks.CheckCell, result: dict | None) -> CheckGrade:
    if result is None:
        return CheckGrade(
            check.cell_id,
            check.points,
            0.0,
            f"check cell {check.cell_id!r} is missing from the notebook; copy it back from the exercise notebook",
        )
    if result.get("passed"):
        return CheckGrade(check.cell_id, check.points, check.points, "passed")
    return CheckGrade(check.cell_id, check.points, 0.0, str(result.get("reason", "failed"))[:200])


def _solution_note(outcomes: list[dict] | None) -> str:
    """Explains what went wrong in the student's own solution cells, if anything."""
    if outcomes is None:
        return "no solution cell of this exercise was found in the notebook; copy it back from the exercise notebook"
    for outcome in outcomes:
        if outcome.get("status") != "ok":
            return "your solution cell did not finish: " + describe_outcome(outcome)
    return ""


def format_points(value: float) -> str:
    """Formats points without a needless decimal: ``2`` or ``1.5``."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def exercise_columns(solutions: list[SolutionNotebook]) -> list[str]:
    """Every exercise name, in course order (notebook, then position)."""
    return [name for solution in solutions for name in solution.exercises]
