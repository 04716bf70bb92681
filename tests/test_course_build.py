"""Exercise generation: markers, stubs, hidden tests, determinism and `course check`."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from emnist_tf import cli
from emnist_tf.course import build, notebooks

REPO = Path(__file__).resolve().parents[1]
SOLUTION_CODE = "return a + b  # the answer"
HIDDEN_LINE = "assert add(-7, 7) == 0, 'negatives'"


def _tiny_solution() -> nbformat.NotebookNode:
    """A solution notebook with one exercise, a visible and a hidden check, and outputs."""
    setup = nbformat.v4.new_code_cell("import math", id="setup")
    setup.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
    setup.execution_count = 3
    answer = nbformat.v4.new_code_cell(
        "def add(a, b):\n    ### BEGIN SOLUTION\n    " + SOLUTION_CODE + "\n    ### END SOLUTION",
        id="ex01-add-solution",
        metadata={"emnist_tf": {"exercise": "ex01_add", "kind": "solution"}},
    )
    check = nbformat.v4.new_code_cell(
        "assert add(1, 2) == 3\n### BEGIN HIDDEN TESTS\n" + HIDDEN_LINE + "\n### END HIDDEN TESTS",
        id="ex01-add-check",
        metadata={"emnist_tf": {"exercise": "ex01_add", "kind": "check", "points": 2}},
    )
    essay = nbformat.v4.new_markdown_cell("Why?\n\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION", id="why")
    return nbformat.v4.new_notebook(cells=[setup, answer, check, essay])


@pytest.fixture()
def course(tmp_path):
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    nbformat.write(_tiny_solution(), str(solutions / "01-tiny.ipynb"))
    return solutions, tmp_path / "exercises"


def test_build_strips_solutions_hidden_tests_and_outputs(course):
    solutions, exercises = course
    build.build_exercises(solutions, exercises)
    text = (exercises / "01-tiny.ipynb").read_text()
    assert SOLUTION_CODE not in text and "Because." not in text
    assert HIDDEN_LINE not in text and "HIDDEN TESTS" not in text
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    exercise = nbformat.read(str(exercises / "01-tiny.ipynb"), as_version=4)
    sources = [cell.source for cell in exercise.cells]
    assert sources[1] == "def add(a, b):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    assert sources[2] == "assert add(1, 2) == 3"
    assert sources[3] == "Why?\n\nYOUR ANSWER HERE"
    assert all(cell.get("outputs", []) == [] for cell in exercise.cells)
    assert all(cell.get("execution_count") is None for cell in exercise.cells if cell.cell_type == "code")
    assert exercise.cells[2].metadata["editable"] is False
    assert exercise.cells[2].id == "ex01-add-check"


def test_build_is_deterministic(course, tmp_path):
    solutions, exercises = course
    build.build_exercises(solutions, exercises)
    first = (exercises / "01-tiny.ipynb").read_bytes()
    build.build_exercises(solutions, tmp_path / "again")
    build.build_exercises(solutions, exercises)
    assert (tmp_path / "again" / "01-tiny.ipynb").read_bytes() == first
    assert (exercises / "01-tiny.ipynb").read_bytes() == first


def test_course_check_names_stale_notebooks_and_passes_after_build(course, capsys):
    solutions, exercises = course
    arguments = ["course", "check", "--solutions", str(solutions), "--exercises", str(exercises)]
    assert cli.main(arguments) == 1
    assert "01-tiny.ipynb (missing)" in capsys.readouterr().err
    assert cli.main(["course", "build", "--solutions", str(solutions), "--exercises", str(exercises)]) == 0
    assert cli.main(arguments) == 0
    changed = _tiny_solution()
    changed.cells[2].source = changed.cells[2].source.replace("== 3", "== 3.0")
    nbformat.write(changed, str(solutions / "01-tiny.ipynb"))
    (exercises / "99-orphan.ipynb").write_text("{}")
    assert cli.main(arguments) == 1
    error = capsys.readouterr().err
    assert "01-tiny.ipynb (differs)" in error and "99-orphan.ipynb (no solution)" in error


@pytest.mark.parametrize(
    "source, kind, message",
    [
        ("### BEGIN SOLUTION\nx = 1", "solution", "never closed"),
        ("x = 1\n### END SOLUTION", "solution", "without"),
        ("x = 1", "solution", "solution cell without"),
        ("### BEGIN HIDDEN TESTS\nassert x\n### END HIDDEN TESTS", None, "only allowed in check cells"),
        ("if True:\n    ### BEGIN HIDDEN TESTS\n    assert x\n    ### END HIDDEN TESTS", "check", "column 0"),
    ],
)
def test_bad_markers_give_one_line_errors(source, kind, message):
    metadata = {"emnist_tf": {"exercise": "ex", "kind": kind, "points": 1}} if kind else {}
    cells = [
        nbformat.v4.new_code_cell(
            "### BEGIN SOLUTION\ny = 1\n### END SOLUTION",
            id="s",
            metadata={"emnist_tf": {"exercise": "ex", "kind": "solution"}},
        ),
        nbformat.v4.new_code_cell(source, id="c", metadata=metadata),
    ]
    with pytest.raises(ValueError, match=message) as raised:
        notebooks.make_exercise(nbformat.v4.new_notebook(cells=cells), name="bad.ipynb")
    assert "bad.ipynb, cell 1" in str(raised.value) and "\n" not in str(raised.value)


def test_check_before_its_solution_is_rejected():
    check = nbformat.v4.new_code_cell(
        "assert True", id="c", metadata={"emnist_tf": {"exercise": "ex", "kind": "check", "points": 1}}
    )
    with pytest.raises(ValueError, match="before its solution cell"):
        notebooks.exercises(nbformat.v4.new_notebook(cells=[check]), name="x.ipynb")


def test_repository_solutions_are_clean_and_graded():
    """Every solution notebook keeps no outputs and has a graded exercise with visible and hidden checks."""
    paths = build.solution_paths(REPO / "solutions")
    assert paths, "no solution notebooks in solutions/"
    for path in paths:
        notebook = nbformat.read(str(path), as_version=4)
        found = notebooks.exercises(notebook, name=path.name)
        assert found, f"{path.name} has no graded exercise"
        checks = [check for exercise in found.values() for check in exercise.checks]
        assert any(notebooks.hidden_sources(check.source) for check in checks), f"{path.name}: no hidden tests"
        assert any(notebooks.strip_hidden(check.source).strip() for check in checks), f"{path.name}: no visible check"
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path.name} cell {index} keeps outputs"
        assert any("describe_device()" in cell.source for cell in notebook.cells), f"{path.name}: no device line"


def test_repository_exercises_are_up_to_date():
    stale = build.stale_exercises(REPO / "solutions", REPO / "exercises")
    assert not stale, f"run `emnist-tf course build`: {', '.join(map(str, stale))}"


def test_build_writes_nbgrader_metadata_and_check_notices_when_it_is_stale(course, capsys):
    solutions, exercises = course
    build.build_exercises(solutions, exercises)
    marked = nbformat.read(str(solutions / "01-tiny.ipynb"), as_version=4)
    meta = [cell.metadata.get("nbgrader") for cell in marked.cells]
    assert meta[0] is None
    assert meta[1] == {
        "grade": False,
        "grade_id": "ex01-add-solution",
        "locked": False,
        "schema_version": 3,
        "solution": True,
        "task": False,
    }
    assert meta[2]["grade"] is True and meta[2]["locked"] is True and meta[2]["points"] == 2
    assert meta[3]["grade"] is True and meta[3]["solution"] is True  # a Markdown answer: nbgrader wants it graded
    arguments = ["course", "check", "--solutions", str(solutions), "--exercises", str(exercises)]
    assert cli.main(arguments) == 0
    marked.cells[2].metadata["emnist_tf"]["points"] = 5  # our points changed, nbgrader's did not
    nbformat.write(marked, str(solutions / "01-tiny.ipynb"))
    assert cli.main(arguments) == 1
    assert "nbgrader metadata missing or stale" in capsys.readouterr().err


@pytest.mark.parametrize(
    "forbid",
    [["emnist_tf.data.no_such_function"], ["emnist_tf.class_names"], ["numpy.sum"], "emnist_tf.data.class_names"],
)
def test_forbid_entries_must_name_library_functions_by_their_module(course, forbid):
    solutions, exercises = course
    notebook = _tiny_solution()
    notebook.cells[1].metadata["emnist_tf"]["forbid"] = forbid
    nbformat.write(notebook, str(solutions / "01-tiny.ipynb"))
    with pytest.raises(ValueError, match="forbid") as raised:
        build.build_exercises(solutions, exercises)
    assert "\n" not in str(raised.value)
    assert not exercises.exists() or not list(exercises.iterdir())


def test_a_real_library_function_may_be_forbidden(course):
    solutions, exercises = course
    notebook = _tiny_solution()
    notebook.cells[1].metadata["emnist_tf"]["forbid"] = ["emnist_tf.data.splits.class_names"]
    nbformat.write(notebook, str(solutions / "01-tiny.ipynb"))
    build.build_exercises(solutions, exercises)
    assert (exercises / "01-tiny.ipynb").exists()


def _nbgrader_release(path: Path, *, lock: bool):
    """nbgrader's own student version of a solution notebook (its preprocessors, nothing of ours)."""
    preprocessors = pytest.importorskip("nbgrader.preprocessors")
    notebook = nbformat.read(str(path), as_version=4)
    steps = [preprocessors.ClearSolutions(), preprocessors.ClearHiddenTests(), preprocessors.ClearOutput()]
    if lock:
        steps.append(preprocessors.LockCells())
    resources = {}
    for step in steps:
        notebook, resources = step.preprocess(notebook, resources)
    return notebook


def _comparable(cell, *, keep_locks: bool) -> dict:
    data = dict(cell)
    data["metadata"] = {k: v for k, v in cell.metadata.items() if keep_locks or k not in ("editable", "deletable")}
    return data


@pytest.mark.parametrize("source", ["tiny", "repository"])
def test_nbgrader_release_matches_our_exercises_cell_for_cell(source, course, tmp_path):
    """nbgrader's ClearSolutions + ClearHiddenTests + ClearOutput on every built solution gives our exercise.

    Our exercises also carry the locks nbgrader's LockCells adds in `generate_assignment`; with it the
    match is exact. The repository notebooks are copied and built here (the real ones pass once built).
    """
    solutions, exercises = course
    if source == "repository":
        solutions = tmp_path / "copies"
        solutions.mkdir()
        for path in build.solution_paths(REPO / "solutions"):
            (solutions / path.name).write_bytes(path.read_bytes())
    build.build_exercises(solutions, exercises)
    for path in build.solution_paths(solutions):
        ours = nbformat.read(str(exercises / path.name), as_version=4)
        for lock in (False, True):
            theirs = _nbgrader_release(path, lock=lock)
            assert len(theirs.cells) == len(ours.cells)
            for index, (their_cell, our_cell) in enumerate(zip(theirs.cells, ours.cells, strict=True)):
                assert _comparable(their_cell, keep_locks=lock) == _comparable(our_cell, keep_locks=lock), (
                    f"{path.name} cell {index}"
                )
            assert theirs.metadata == ours.metadata


def _written_and_answers_solution() -> nbformat.NotebookNode:
    """A solution with declared answers and a written answer graded by hand."""
    notebook = _tiny_solution()
    notebook.cells[1].metadata["emnist_tf"]["answers"] = ["add"]
    written = nbformat.v4.new_markdown_cell(
        "### BEGIN SOLUTION\nAddition, because 1 + 2 = 3.\n### END SOLUTION",
        id="ex01-why-written",
        metadata={"emnist_tf": {"exercise": "ex01_why", "kind": "written", "points": 3}},
    )
    notebook.cells.append(written)
    return notebook


def test_written_cells_and_answers_are_read_and_released_as_manual_nbgrader_cells():
    solution = _written_and_answers_solution()
    found = notebooks.exercises(solution, name="tiny")
    assert found["ex01_add"].answers == ["add"]
    assert found["ex01_add"].points == 2 and found["ex01_add"].manual_points == 0
    assert found["ex01_why"].points == 0 and found["ex01_why"].manual_points == 3
    assert [cell.cell_id for cell in found["ex01_why"].written] == ["ex01-why-written"]
    meta = notebooks.nbgrader_metadata(solution.cells[-1])
    assert meta["grade"] is True and meta["solution"] is True and meta["points"] == 3
    released = notebooks.make_exercise(solution, name="tiny")
    assert released.cells[-1].source == "YOUR ANSWER HERE"
    assert released.cells[-1].metadata["deletable"] is False


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda cell: cell.metadata["emnist_tf"].pop("points"), "points"),
        (lambda cell: setattr(cell, "source", "no markers"), "without"),
        (lambda cell: setattr(cell, "cell_type", "code"), "Markdown"),
    ],
)
def test_bad_written_cells_give_one_line_errors(change, message):
    solution = _written_and_answers_solution()
    change(solution.cells[-1])
    with pytest.raises(ValueError, match=message) as error:
        notebooks.exercises(solution, name="tiny")
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("answers", ["add", ["add", "not a name"], [3]])
def test_answers_must_be_a_list_of_python_names(answers):
    solution = _written_and_answers_solution()
    solution.cells[1].metadata["emnist_tf"]["answers"] = answers
    with pytest.raises(ValueError, match="answers"):
        notebooks.exercises(solution, name="tiny")
