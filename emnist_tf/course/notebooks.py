"""Solution notebooks as the single source: markers, cell metadata and exercises.

A solution notebook marks what the student writes and how it is graded, in the
style of nbgrader:

* A **solution cell** (metadata ``{"emnist_tf": {"exercise": "ex03_build_mlp",
  "kind": "solution"}}``) holds the answer between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION``. The exercise version replaces that region with
  ``# YOUR CODE HERE`` and ``raise NotImplementedError()``.
* A **check cell** (``"kind": "check"``, ``"points": 1``) after it holds visible
  asserts the student sees, and optionally hidden ones between
  ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` (at column 0) that the
  exercise version drops and the grader restores from the solution, matched by
  the check cell's id.
* A solution cell may declare ``"answers": ["mlp", ...]``: the names the
  student must define, the only values the grader takes from the student.
* A **written** cell (``"kind": "written"``, ``"points": 2``) is a Markdown
  answer graded by hand against the instructor guide's rubric; its example
  answer sits between the solution markers and the exercise shows
  ``YOUR ANSWER HERE``.

Example:
    >>> import nbformat
    >>> from emnist_tf.course import notebooks
    >>> solution = nbformat.read("solutions/03-mlp.ipynb", as_version=4)
    >>> exercise = notebooks.make_exercise(solution, name="03-mlp.ipynb")
"""

from __future__ import annotations

import copy
import dataclasses
import re

import nbformat

METADATA_KEY = "emnist_tf"
BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
MARKDOWN_STUB = "YOUR ANSWER HERE"
KINDS = ("solution", "check", "written")
_CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclasses.dataclass
class CheckCell:
    """One graded check cell of a solution notebook.

    Attributes:
        cell_id: the notebook cell id, used to match student submissions.
        exercise: the exercise it grades.
        points: points earned when every part of the cell passes.
        source: the full source, hidden tests included.
    """

    cell_id: str
    exercise: str
    points: float
    source: str


@dataclasses.dataclass
class WrittenCell:
    """One written answer of a solution notebook, graded by hand.

    Attributes:
        cell_id: the notebook cell id, used to find the student's answer.
        exercise: the exercise it belongs to.
        points: the most points the instructor can give.
        source: the solution's Markdown, its example answer included.
    """

    cell_id: str
    exercise: str
    points: float
    source: str


@dataclasses.dataclass
class Exercise:
    """An exercise: its solution, check and written cells, in notebook order.

    Attributes:
        answers: the names the student must define (declared on the solution
            cells); empty when the notebook declares none.
    """

    name: str
    solution_cell_ids: list[str] = dataclasses.field(default_factory=list)
    checks: list[CheckCell] = dataclasses.field(default_factory=list)
    written: list[WrittenCell] = dataclasses.field(default_factory=list)
    answers: list[str] = dataclasses.field(default_factory=list)

    @property
    def points(self) -> float:
        """The most points the checks give automatically (the sum over its check cells)."""
        return sum(check.points for check in self.checks)

    @property
    def manual_points(self) -> float:
        """The most points its written answers give, graded by hand."""
        return sum(cell.points for cell in self.written)


def cell_info(cell) -> dict:
    """Returns the cell's ``emnist_tf`` metadata (empty dict for ordinary cells)."""
    info = cell.get("metadata", {}).get(METADATA_KEY, {})
    return info if isinstance(info, dict) else {}


def cell_kind(cell) -> str | None:
    """Returns ``"solution"``, ``"check"``, ``"written"`` or None for an ordinary cell."""
    return cell_info(cell).get("kind")


def _lines(source: str) -> list[str]:
    return source.split("\n")


def _marker_regions(source: str, begin: str, end: str, where: str) -> list[tuple[int, int]]:
    """Returns (begin_line, end_line) index pairs of balanced, non-nested regions."""
    regions, start = [], None
    for number, line in enumerate(_lines(source)):
        text = line.strip()
        if text == begin:
            if start is not None:
                raise ValueError(f"{where}: '{begin}' opened twice; close it with '{end}' first")
            start = number
        elif text == end:
            if start is None:
                raise ValueError(f"{where}: '{end}' without '{begin}' before it; add the opening marker")
            regions.append((start, number))
            start = None
    if start is not None:
        raise ValueError(f"{where}: '{begin}' is never closed; add '{end}'")
    return regions


def strip_solution(source: str, *, markdown: bool = False, where: str = "cell") -> str:
    """Replaces every solution region (markers included) by the student stub.

    Args:
        source: the cell source.
        markdown: True for a Markdown cell (stub ``YOUR ANSWER HERE``).
        where: names the cell in error messages.

    Returns:
        The source with ``# YOUR CODE HERE`` / ``raise NotImplementedError()``
        indented like the ``### BEGIN SOLUTION`` line.

    Example:
        >>> strip_solution("x = 1\\n### BEGIN SOLUTION\\ny = 2\\n### END SOLUTION")
        'x = 1\\n# YOUR CODE HERE\\nraise NotImplementedError()'
    """
    lines = _lines(source)
    regions = _marker_regions(source, BEGIN_SOLUTION, END_SOLUTION, where)
    for start, stop in reversed(regions):
        indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
        stub = [MARKDOWN_STUB] if markdown else [indent + line for line in CODE_STUB]
        lines[start : stop + 1] = stub
    return "\n".join(lines)


def split_check(source: str, *, where: str = "check cell") -> list[tuple[str, str]]:
    """Splits a check cell into its visible and hidden parts, in order.

    Args:
        source: the check cell's full source.
        where: names the cell in error messages.

    Returns:
        A list of ``(part, code)`` with ``part`` ``"visible"`` or ``"hidden"``,
        markers removed and blank parts dropped.

    Raises:
        ValueError: if the hidden markers are unbalanced or indented.
    """
    lines = _lines(source)
    regions = _marker_regions(source, BEGIN_HIDDEN, END_HIDDEN, where)
    parts, position = [], 0
    for start, stop in regions:
        if lines[start] != lines[start].lstrip() or lines[stop] != lines[stop].lstrip():
            raise ValueError(f"{where}: hidden-test markers must start at column 0 (top-level code only)")
        parts.append(("visible", "\n".join(lines[position:start])))
        parts.append(("hidden", "\n".join(lines[start + 1 : stop])))
        position = stop + 1
    parts.append(("visible", "\n".join(lines[position:])))
    return [(part, code.strip("\n")) for part, code in parts if code.strip()]


def strip_hidden(source: str, *, where: str = "check cell") -> str:
    """Returns the check cell's source without its hidden tests (the student's view).

    Like nbgrader's ``ClearHiddenTests``: the marker lines and everything
    between them are removed, every other line is kept as it is.
    """
    lines = _lines(source)
    for start, stop in reversed(_marker_regions(source, BEGIN_HIDDEN, END_HIDDEN, where)):
        del lines[start : stop + 1]
    return "\n".join(lines)


def hidden_sources(source: str) -> list[str]:
    """Returns the hidden parts of a check cell's source."""
    return [code for part, code in split_check(source) if part == "hidden"]


def exercises(notebook, *, name: str = "notebook") -> dict[str, Exercise]:
    """Reads the graded exercises of a solution notebook, validating its markers.

    Args:
        notebook: an ``nbformat`` notebook (version 4).
        name: the notebook's name for error messages.

    Returns:
        Exercise name -> :class:`Exercise`, in notebook order.

    Raises:
        ValueError: one line naming the notebook and cell when a marker, a
            cell id, a kind or points are wrong, or a check comes before its
            exercise's solution cell.
    """
    found: dict[str, Exercise] = {}
    seen_ids: set[str] = set()
    for index, cell in enumerate(notebook.cells):
        where = f"{name}, cell {index}"
        cell_id = cell.get("id")
        if cell_id is not None:
            if cell_id in seen_ids:
                raise ValueError(f"{where}: cell id {cell_id!r} is used twice; give every cell its own id")
            seen_ids.add(cell_id)
        _check_markers(cell, where)
        kind = cell_kind(cell)
        if kind is None:
            continue
        exercise = _exercise_name(cell, kind, where)
        entry = found.setdefault(exercise, Exercise(exercise))
        if kind == "solution":
            entry.solution_cell_ids.append(cell_id)
            entry.answers.extend(name for name in _answers(cell, where) if name not in entry.answers)
        elif kind == "written":
            entry.written.append(_written_cell(cell, exercise, where))
        else:
            entry.checks.append(_check_cell(cell, exercise, entry, where))
    return found


def _answers(cell, where: str) -> list[str]:
    answers = cell_info(cell).get("answers", [])
    if not isinstance(answers, list) or not all(isinstance(name, str) and _IDENTIFIER.match(name) for name in answers):
        raise ValueError(f"{where}: {METADATA_KEY}.answers must be a list of Python names, got {answers!r}")
    return answers


def _check_markers(cell, where: str) -> None:
    source = cell.get("source", "")
    solution_regions = _marker_regions(source, BEGIN_SOLUTION, END_SOLUTION, where)
    hidden_regions = _marker_regions(source, BEGIN_HIDDEN, END_HIDDEN, where)
    kind = cell_kind(cell)
    if hidden_regions and kind != "check":
        raise ValueError(
            f"{where}: hidden tests are only allowed in check cells; set metadata {METADATA_KEY}.kind to 'check'"
        )
    if solution_regions and kind == "check":
        raise ValueError(f"{where}: a check cell cannot hold a solution region; move it to a solution cell")
    if kind in ("solution", "written") and not solution_regions:
        raise ValueError(f"{where}: {kind} cell without '{BEGIN_SOLUTION}'/'{END_SOLUTION}'; mark the answer")
    if kind is None and solution_regions and cell.get("cell_type") == "code":
        raise ValueError(
            f"{where}: solution markers in an unmarked cell; "
            f"add metadata {METADATA_KEY}: {{'exercise': ..., 'kind': 'solution'}}"
        )


def _exercise_name(cell, kind: str, where: str) -> str:
    info = cell_info(cell)
    if kind not in KINDS:
        raise ValueError(f"{where}: unknown {METADATA_KEY}.kind {kind!r}; use 'solution', 'check' or 'written'")
    exercise = info.get("exercise")
    if not isinstance(exercise, str) or not exercise:
        raise ValueError(f"{where}: {kind} cell without {METADATA_KEY}.exercise; name its exercise")
    if cell.get("cell_type") != "code" and kind == "check":
        raise ValueError(f"{where}: a check cell must be a code cell")
    if cell.get("cell_type") != "markdown" and kind == "written":
        raise ValueError(f"{where}: a written answer must be a Markdown cell")
    return exercise


def _points(cell, where: str) -> float:
    points = cell_info(cell).get("points")
    if isinstance(points, bool) or not isinstance(points, (int, float)) or points <= 0:
        raise ValueError(f"{where}: {cell_kind(cell)} cell needs {METADATA_KEY}.points, a positive number")
    return float(points)


def _cell_id(cell, where: str) -> str:
    cell_id = cell.get("id")
    if not isinstance(cell_id, str) or not _CELL_ID.match(cell_id):
        raise ValueError(
            f"{where}: a graded cell needs an id of 1-64 letters, digits, '-' or '_' (save it with nbformat >= 4.5)"
        )
    return cell_id


def _written_cell(cell, exercise: str, where: str) -> WrittenCell:
    return WrittenCell(_cell_id(cell, where), exercise, _points(cell, where), cell.source)


def _check_cell(cell, exercise: str, entry: Exercise, where: str) -> CheckCell:
    cell_id = _cell_id(cell, where)
    points = _points(cell, where)
    if not entry.solution_cell_ids:
        raise ValueError(f"{where}: check of exercise {exercise!r} comes before its solution cell; move it after")
    split_check(cell.source, where=where)
    return CheckCell(cell_id, exercise, points, cell.source)


NBGRADER_SCHEMA = 3
NBGRADER_KEY = "nbgrader"
OUTPUT_METADATA = ("collapsed", "scrolled", "execution")


def nbgrader_metadata(cell, *, where: str = "cell") -> dict | None:
    """The nbgrader (schema 3) metadata a cell should carry, derived from ours; None for ordinary cells.

    Solution code cells are nbgrader "autograded answer" cells, check cells
    "autograder tests" cells (locked, with their points), written cells
    "manually graded answer" cells with their points, and other Markdown
    cells with a solution region manually graded answers worth 0 points
    (nbgrader requires Markdown answers to be graded).

    Raises:
        ValueError: if the cell needs an nbgrader ``grade_id`` but has no id.
    """
    kind = cell_kind(cell)
    markdown_answer = cell.get("cell_type") == "markdown" and BEGIN_SOLUTION in cell.get("source", "")
    if kind is None and not markdown_answer:
        return None
    cell_id = cell.get("id")
    if not isinstance(cell_id, str) or not _CELL_ID.match(cell_id):
        raise ValueError(f"{where}: an exercise cell needs an id (save the notebook with nbformat >= 4.5)")
    meta = {"grade_id": cell_id, "schema_version": NBGRADER_SCHEMA, "task": False}
    if kind == "check":
        return {**meta, "grade": True, "solution": False, "locked": True, "points": cell_info(cell)["points"]}
    if cell.get("cell_type") == "markdown":
        points = cell_info(cell)["points"] if kind == "written" else 0
        return {**meta, "grade": True, "solution": True, "locked": False, "points": points}
    return {**meta, "grade": False, "solution": True, "locked": False}


def with_nbgrader_metadata(solution, *, name: str = "notebook"):
    """Returns a copy of a solution notebook whose cells carry nbgrader metadata derived from ours.

    Stale nbgrader metadata is replaced, nbgrader metadata on ordinary cells
    is removed, and Jupyter's run-time metadata (execution timings, collapsed
    and scrolled outputs) is dropped, so nbgrader's own release of the
    notebook is the exercise notebook cell for cell.

    Raises:
        ValueError: if the markers are wrong (see :func:`exercises`).
    """
    exercises(solution, name=name)
    marked = copy.deepcopy(solution)
    marked.metadata.pop("celltoolbar", None)
    for index, cell in enumerate(marked.cells):
        for key in OUTPUT_METADATA:
            cell.metadata.pop(key, None)
        meta = nbgrader_metadata(cell, where=f"{name}, cell {index}")
        if meta is None:
            cell.metadata.pop(NBGRADER_KEY, None)
        else:
            cell.metadata[NBGRADER_KEY] = meta
    return marked


def make_exercise(solution, *, name: str = "notebook"):
    """Returns the student version of a solution notebook.

    The same as nbgrader's release (``ClearSolutions``, ``ClearHiddenTests``,
    ``ClearOutput``, ``LockCells``) of :func:`with_nbgrader_metadata`'s
    notebook: solution regions become stubs, hidden tests are removed, outputs
    and execution counts are cleared, run-time metadata is dropped, check
    cells cannot be edited or deleted in Jupyter and solution cells cannot be
    deleted. The input is not modified.

    Args:
        solution: an ``nbformat`` notebook (version 4).
        name: the notebook's name for error messages.

    Raises:
        ValueError: if the markers are wrong (see :func:`exercises`).
    """
    student = with_nbgrader_metadata(solution, name=name)
    for index, cell in enumerate(student.cells):
        where = f"{name}, cell {index}"
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        meta = cell.metadata.get(NBGRADER_KEY, {})
        if BEGIN_SOLUTION in cell.source:
            cell.source = strip_solution(cell.source, markdown=cell.cell_type == "markdown", where=where)
        if meta.get("solution"):
            cell.metadata["deletable"] = False
        elif meta.get("grade"):
            cell.source = strip_hidden(cell.source, where=where)
            cell.metadata["editable"] = False
            cell.metadata["deletable"] = False
    return student


def notebook_text(notebook) -> str:
    """Serialises a notebook deterministically (sorted keys, one trailing newline)."""
    text = nbformat.writes(notebook, version=4)
    return text if text.endswith("\n") else text + "\n"
