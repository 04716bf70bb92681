"""One sandboxed grading run of the real course notebooks, shared by every test that needs one.

Grading a real notebook runs it whole in bubblewrap and its checks in the judge: minutes each. Test files
that grade real notebooks do not each start their own run; each says what it hands in with a module-level
``course_submissions()`` returning ``{student: (notebook name, notebook)}``, and its tests take the session
fixture ``course_grades`` (tests/conftest.py). The fixture grades the submissions of every selected test
file that uses it in ONE :func:`~emnist_tf.grading.gradebook.grade_all` call, two notebooks at a time, the
way an instructor grades a class. Submissions handed in under the same student name by two files (the
solution of 01, say) must be the same notebook and are graded once.

The notebooks handed in are built here:

- :func:`solved`: the exercise notebook with answers pasted over some stubs and ours over the rest;
- :func:`no_work`: the exercise notebook of a student who does no work but forges what the given cells made:
  a cell after every given cell replaces its values (arrays, numbers, lists, dictionaries, the plain-data
  attributes of objects, Keras models) with junk of the same type and shape, and every stub is "answered"
  with ``pass`` (so the grader's "not attempted" rule does not decide: the checks do).
"""

from __future__ import annotations

import dataclasses
import hashlib
import textwrap
from pathlib import Path

import nbformat
import pytest

from emnist_tf.course import notebooks
from emnist_tf.grading import grade, gradebook, plan, sandbox

REPO = Path(__file__).resolve().parents[1]
STUB = "raise NotImplementedError()"
# Hang guards only: two notebooks share the machine, and no notebook may fail for lack of speed.
LIMITS = sandbox.Limits(memory_mb=6144, processes=1024, timeout_per_cell=900, timeout_per_notebook=3 * 3600)
JOBS = 2
# The longest notebooks in fast mode (tests/test_notebooks.py, run one by one: 360, 351, 198, 140 s on a loaded
# machine; the other seven 43-127 s): started first when notebooks run two at a time, so no run ends on one alone.
LONGEST_FIRST = (
    "09-robustness-adversarial",
    "05-technique-sweeps",
    "11-activation-maximisation",
    "06-evaluation-comparison",
)

FORGER = textwrap.dedent(
    '''
    def _junk(value, depth=0):
        """Junk of the same type and shape as a given value (what a no-work notebook puts in its place)."""
        import copy, types
        import numpy
        if depth > 3 or isinstance(value, (bool, str, bytes, type, types.ModuleType)) or callable(value):
            return value
        if isinstance(value, numpy.ndarray):
            return numpy.zeros_like(value)
        if isinstance(value, (int, float, numpy.number)):
            return type(value)(0)
        if isinstance(value, list):
            return [_junk(item, depth + 1) for item in value]
        if isinstance(value, tuple) and not hasattr(value, "_fields"):
            return tuple(_junk(item, depth + 1) for item in value)
        if isinstance(value, dict):
            return {key: _junk(item, depth + 1) for key, item in value.items()}
        try:
            import keras
            if isinstance(value, keras.Model):
                return keras.models.clone_model(value)  # the same layers, fresh weights
            forged = copy.copy(value)
            for key, item in vars(value).items():
                if isinstance(item, (numpy.ndarray, int, float, list, dict)) and not isinstance(item, bool):
                    object.__setattr__(forged, key, _junk(item, depth + 1))
            return forged
        except Exception:
            return value

    def _forge(namespace, names):
        for name in names:
            if name in namespace:
                namespace[name] = _junk(namespace[name])
    '''
).strip()


def read(name: str, folder: str = "solutions") -> nbformat.NotebookNode:
    """A course notebook: ``solutions/<name>.ipynb`` or ``exercises/<name>.ipynb``."""
    return nbformat.read(str(REPO / folder / f"{name}.ipynb"), as_version=4)


def _paste(source: str, answers: str | list[str]) -> str:
    """``source`` (a stub cell) with each ``raise NotImplementedError()`` line replaced by the next answer
    (``pass`` once the answers run out), indented like the line it replaces."""
    remaining = [answers] if isinstance(answers, str) else list(answers)
    out = []
    for line in source.splitlines():
        if line.strip() != STUB:
            out.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        answer = textwrap.dedent(remaining.pop(0) if remaining else "pass").strip("\n")
        out += [indent + body if body else body for body in answer.splitlines()]
    return "\n".join(out)


def solved(name: str, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The exercise notebook as a student hands it in: ``answers`` pasted over the stubs, our answers elsewhere."""
    solution, exercise = read(name), read(name, "exercises")
    for ours, theirs in zip(solution.cells, exercise.cells):
        if notebooks.cell_kind(theirs) != "solution":
            continue
        answer = answers.get(notebooks.cell_info(theirs).get("exercise"))
        theirs.source = ours.source if answer is None else _paste(theirs.source, answer)
    return exercise


def _forged_names(source: str) -> list[str]:
    """The values a given cell makes that a forger replaces (constants such as FAST and EPOCHS are kept,
    so the notebook stays fast-mode sized)."""
    try:
        names = plan.bound_names(source)
    except SyntaxError:
        return []
    return sorted(name for name in names if not name.isupper())


def no_work(
    name: str, answers: dict[str, str | list[str]] | None = None, cells: dict[str, str] | None = None
) -> nbformat.NotebookNode:
    """A notebook with no work in it that forges every given value it can.

    Args:
        name: the course notebook.
        answers: exercise -> code pasted over its stub, or a list of code, one per stub of its cell (a library
            call, say); every other stub becomes ``pass``.
        cells: cell id -> the whole source of that cell (hand-made forgeries).
    """
    answers, cells = answers or {}, cells or {}
    exercise = read(name, "exercises")
    out = []
    for number, cell in enumerate(exercise.cells):
        if cell.get("id") in cells:
            cell.source = cells[cell["id"]]
        elif notebooks.cell_kind(cell) == "solution" and cell.cell_type == "code":
            cell.source = _paste(cell.source, answers.get(notebooks.cell_info(cell).get("exercise"), []))
        out.append(cell)
        if cell.cell_type != "code" or notebooks.cell_kind(cell) is not None:
            continue
        if not any(other.cell_type == "code" for other in exercise.cells[:number]):
            out.append(nbformat.v4.new_code_cell(FORGER))  # after the setup cell: the forger's tools
        forged = _forged_names(cell.source)
        if forged:
            out.append(nbformat.v4.new_code_cell(f"_forge(globals(), {forged!r})"))
    exercise.cells = out
    return exercise


COURSE = tuple(path.stem for path in sorted((REPO / "solutions").glob("*.ipynb")))
# What the no-work notebook of a course notebook does besides forging given values and passing over stubs:
NO_WORK = {
    # hand-made forgeries of 01 and 02: the given values replaced so that checks reading them would pass
    "01-data": {
        "cells": {
            "ex01-class-counts-solution": "emnist.train_labels = np.arange(47)\ncounts = np.ones(47, dtype=int)",
            "ex01-stored-view-solution": "def stored_view(images):\n"
            "    return np.zeros((len(images), 28, 28), np.uint8)",
        }
    },
    "02-network-from-scratch": {
        "cells": {
            "ex02-neuron-solution": "train_x = np.zeros_like(train_x)\n"
            "def neuron(x, w, b):\n    return np.full(len(x), 1 / (1 + np.exp(-b)))",
            "ex02-train-solution": "test_accuracies = [0.99] * EPOCHS\n"
            "def train(weights, biases, x, y, epochs, batch_size, learning_rate, seed):\n"
            "    return weights, biases, [0.99] * epochs",
        }
    },
    # the model built by the library's builder, which the exercise forbids
    "03-mlp": {
        "answers": {"ex03_build_mlp": "mlp = models.build_mlp(num_classes=47, hidden_units=(256, 128, 64), seed=1)"}
    },
    "04-cnn": {
        "answers": {"ex04_build_cnn": "cnn = models.build_cnn(num_classes=47, filters=(32, 64), dense_units=128)"}
    },
}


def no_work_submission(name: str) -> dict[str, tuple[str, nbformat.NotebookNode]]:
    """``{"no-work-<name>": (name, the no-work notebook)}``, the same whichever test file hands it in."""
    return {f"no-work-{name}": (name, no_work(name, **NO_WORK.get(name, {})))}


def as_handed_in(name: str, folder: str) -> dict[str, tuple[str, nbformat.NotebookNode]]:
    """``{"<folder>-<name>": (name, the notebook from solutions/ or exercises/ as it is)}``."""
    return {f"{folder}-{name}": (name, read(name, folder))}


def lost_points(result: grade.GradeResult) -> dict[str, list[str]]:
    """Exercise -> its checks' messages, for every exercise that did not earn all its points."""
    return {
        exercise.name: [check.message for check in exercise.checks]
        for exercise in result.exercises
        if exercise.earned < exercise.points
    }


def earned(result: grade.GradeResult) -> dict[str, float]:
    return {exercise.name: exercise.earned for exercise in result.exercises}


@dataclasses.dataclass(frozen=True)
class CourseGrades:
    """The shared run: each student's result, and the folder holding gradebook, feedback and submissions."""

    results: dict[str, grade.GradeResult]
    root: Path

    def __getitem__(self, student: str) -> grade.GradeResult:
        return self.results[student]

    def feedback(self, student: str) -> str:
        """Everything the grader wrote for the student to read."""
        return "\n".join(path.read_text() for path in sorted((self.root / "feedback" / student).rglob("*.md")))


def _digests(folder: Path) -> dict[str, str]:
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.rglob("*.ipynb"))}


def _sources(submission: tuple[str, nbformat.NotebookNode]) -> tuple:
    name, notebook = submission
    return name, tuple(cell.source for cell in notebook.cells)


def collect(items) -> dict[str, tuple[str, nbformat.NotebookNode]]:
    """The submissions of every test file among ``items`` whose tests use ``course_grades``."""
    modules = {id(item.module): item.module for item in items if "course_grades" in getattr(item, "fixturenames", ())}
    submissions: dict[str, tuple[str, nbformat.NotebookNode]] = {}
    for module in modules.values():
        for student, (name, notebook) in module.course_submissions().items():
            if student in submissions and _sources(submissions[student]) != _sources((name, notebook)):
                raise ValueError(f"{module.__name__} hands in another {student!r} than another test file")
            submissions[student] = (name, notebook)
    return submissions


def longest_first(name: str) -> int:
    """A sort key: the notebooks of :data:`LONGEST_FIRST` in its order, then the others."""
    return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)


def _answered_share(name: str, notebook: nbformat.NotebookNode) -> float:
    """The share of the notebook's solution cells holding work (neither the stub nor the stub passed over)."""
    stubs = {cell.get("id"): cell.source for cell in read(name, "exercises").cells}
    cells = [cell for cell in notebook.cells if notebooks.cell_kind(cell) == "solution"]
    idle = [
        cell for cell in cells if cell.source in (stubs.get(cell.get("id")), _paste(stubs.get(cell.get("id"), ""), []))
    ]
    return 1 - len(idle) / max(1, len(cells))


def grade_course(items, root: Path) -> CourseGrades:
    """Grades every submission the selected tests need in one run (see the module's docstring).

    The notebooks that do the work (and train) go first, those that stop at their stubs last, so that the
    run does not end on a long notebook graded alone while the other slot idles.
    """
    submissions = collect(items)
    if not submissions:
        pytest.fail("course_grades is used by a test file without course_submissions()")
    files = []

    def order(entry):  # the notebooks that do the work first, the longest of them first
        _, (name, notebook) = entry
        return -_answered_share(name, notebook), longest_first(name)

    for student, (name, notebook) in sorted(submissions.items(), key=order):
        (root / "submitted" / student).mkdir(parents=True)
        files.append(root / "submitted" / student / f"{name}.ipynb")
        nbformat.write(notebook, str(files[-1]))
    before = _digests(REPO / "solutions"), _digests(root / "submitted")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        results = gradebook.grade_all(
            files,
            solutions_dir=REPO / "solutions",
            out=root / "gradebook.csv",
            limits=LIMITS,
            jobs=JOBS,
            progress=None,
        )
    assert (_digests(REPO / "solutions"), _digests(root / "submitted")) == before, "grading changed a notebook"
    assert len(results) == len(submissions)
    return CourseGrades({result.student: result for result in results}, root)
