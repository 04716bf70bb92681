"""Grading: full marks for the solution, zero for the untouched exercise, broken submissions survive.

The notebooks here are tiny (no TensorFlow) so that every kernel starts and
finishes in about a second; the real notebooks are graded in test_notebooks.py.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import course_grading
import nbformat
import pytest

from emnist_tf import cli
from emnist_tf.course import build
from emnist_tf.grading import gradebook
from emnist_tf.grading.grade import format_points as grade_format

REPO = Path(__file__).resolve().parents[1]
HIDDEN_ADD = "assert add(-7, 7) == 0, 'negatives'"
HIDDEN_SQUARE = "assert squares(4).tolist() == [0, 1, 4, 9]"
TIMEOUT = 30  # per cell: stops the infinite-loop student; a hang guard far above any honest cell of this tiny course


def _meta(exercise, kind, points=None):
    info = {"exercise": exercise, "kind": kind}
    if points is not None:
        info["points"] = points
    return {"emnist_tf": info}


def _solution_notebook() -> nbformat.NotebookNode:
    """Two exercises; the second has two check cells for partial credit."""
    return nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Tiny course notebook", id="title"),
            nbformat.v4.new_code_cell("import numpy as np", id="setup"),
            nbformat.v4.new_code_cell(
                "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION",
                id="add-solution",
                metadata=_meta("ex01_add", "solution"),
            ),
            nbformat.v4.new_code_cell(
                f"assert add(1, 2) == 3, 'add(1, 2) should be 3'\n"
                f"### BEGIN HIDDEN TESTS\n{HIDDEN_ADD}\n### END HIDDEN TESTS",
                id="add-check",
                metadata=_meta("ex01_add", "check", 2),
            ),
            nbformat.v4.new_code_cell(
                "def squares(n):\n    ### BEGIN SOLUTION\n    return np.arange(n) ** 2\n    ### END SOLUTION",
                id="squares-solution",
                metadata=_meta("ex01_squares", "solution"),
            ),
            nbformat.v4.new_code_cell(
                "assert len(squares(3)) == 3, 'squares(3) should have 3 numbers'",
                id="squares-check-length",
                metadata=_meta("ex01_squares", "check", 1),
            ),
            nbformat.v4.new_code_cell(
                f"### BEGIN HIDDEN TESTS\n{HIDDEN_SQUARE}\n### END HIDDEN TESTS",
                id="squares-check-values",
                metadata=_meta("ex01_squares", "check", 1),
            ),
        ]
    )


def _student(body_add: str, body_squares: str = "    return np.arange(n) ** 2", extra: str | None = None):
    """A copy of the exercise with the student's answers (and an extra cell at the end)."""
    notebook = _solution_notebook()
    notebook.cells[2].source = "def add(a, b):\n" + body_add
    notebook.cells[3].source = "assert add(1, 2) == 3, 'add(1, 2) should be 3'"
    notebook.cells[4].source = "def squares(n):\n" + body_squares
    notebook.cells[6].source = ""
    if extra:
        notebook.cells.append(nbformat.v4.new_code_cell(extra))
    return notebook


def tiny_course(root: Path, solution_notebooks: dict | None = None) -> Path:
    """Writes solution notebooks (by default the tiny one as 01-tiny.ipynb) and builds their exercises.

    Returns:
        The solutions folder (``root/solutions``; the exercises are in ``root/exercises``).
    """
    solutions = root / "solutions"
    solutions.mkdir()
    for name, notebook in (solution_notebooks or {"01-tiny.ipynb": _solution_notebook()}).items():
        nbformat.write(notebook, str(solutions / name))
    build.build_exercises(solutions, root / "exercises")
    return solutions


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grades a folder of submissions in one run, as an instructor would."""
    root = tmp_path_factory.mktemp("course")
    solutions = tiny_course(root)
    submitted = root / "submitted"
    students = {
        "solution": nbformat.read(str(solutions / "01-tiny.ipynb"), as_version=4),
        "untouched": nbformat.read(str(root / "exercises" / "01-tiny.ipynb"), as_version=4),
        "looper": _student("    while True:\n        pass"),
        "raiser": _student("    raise RuntimeError('my bug')"),
        "partial": _student("    return a + b", body_squares="    return [n * n for n in range(1, n + 1)]"),
        "deleter": _student("    return a + b", extra=None),
        "leaker": _student("    return a + b", extra="raise RuntimeError(' | '.join(In))"),
        "killer": _student("    return a + b\nimport os\nos._exit(1)"),
    }
    students["deleter"].cells.insert(3, nbformat.v4.new_code_cell("del add, np"))
    students["duplicated"] = _solution_notebook()
    students["duplicated"].cells.insert(
        2, nbformat.v4.new_code_cell("pass", id="add-check-copy", metadata=_meta("ex01_add", "check", 2))
    )
    students["noids"] = _solution_notebook()
    for cell in students["noids"].cells:
        del cell["id"]
    students["noids"].nbformat_minor = 4
    for name, notebook in students.items():
        (submitted / name).mkdir(parents=True)
        nbformat.write(notebook, str(submitted / name / "01-tiny.ipynb"))
    (submitted / "v3").mkdir()
    (submitted / "v3" / "01-tiny.ipynb").write_text(
        nbformat.writes(nbformat.convert(_solution_notebook(), 3), version=3)
    )
    (submitted / "twice" / "old").mkdir(parents=True)
    nbformat.write(_solution_notebook(), str(submitted / "twice" / "01-tiny.ipynb"))
    shutil.copy(root / "exercises" / "01-tiny.ipynb", submitted / "twice" / "old" / "01-tiny.ipynb")
    (submitted / "garbled").mkdir()
    (submitted / "garbled" / "01-tiny.ipynb").write_text("{not json")
    out = root / "gradebook.csv"
    status = cli.main(
        [
            "grade",
            str(submitted),
            "--solutions",
            str(solutions),
            "--out",
            str(out),
            "--timeout-per-cell",
            str(TIMEOUT),
            "--jobs",
            "2",
        ]
    )
    with out.open() as handle:
        every_row = list(csv.DictReader(handle))
    rows = {row["student"]: row for row in every_row if row["student"] != "twice"}
    rows["twice"] = [row for row in every_row if row["student"] == "twice"]
    return status, rows, root / "feedback"


def _feedback(feedback_dir: Path, student: str) -> str:
    return (feedback_dir / student / "01-tiny.md").read_text()


def test_every_submission_is_in_the_gradebook(graded):
    status, rows, _ = graded
    assert status == 0
    assert set(rows) == {
        "solution",
        "untouched",
        "looper",
        "raiser",
        "partial",
        "deleter",
        "leaker",
        "killer",
        "garbled",
        "duplicated",
        "noids",
        "v3",
        "twice",
    }
    assert all(row["max_points"] == "4" for name, row in rows.items() if name != "twice")


def test_honest_notebooks_saved_differently_get_full_marks(graded):
    """Saved as nbformat v3, without cell ids, or with a check cell copied above the solution."""
    _, rows, feedback_dir = graded
    for student in ("noids", "v3", "duplicated"):
        assert rows[student]["total"] == "4", student
    assert "more than once" in _feedback(feedback_dir, "duplicated")
    assert "copy it back" not in _feedback(feedback_dir, "v3")


def test_a_second_submission_is_reported_not_graded_over_the_first(graded):
    _, rows, feedback_dir = graded
    first, second = rows["twice"]
    assert first["total"] == "4" and first["status"] == "graded"
    assert second["status"].startswith("second submission") and second["submission"].endswith("old/01-tiny.ipynb")
    assert "Total: **4 / 4**" in _feedback(feedback_dir, "twice")


def test_an_unreadable_notebook_scores_zero_out_of_its_maximum(graded):
    _, rows, feedback_dir = graded
    assert (rows["garbled"]["total"], rows["garbled"]["max_points"]) == ("0", "4")
    assert rows["garbled"]["status"].startswith("unreadable")
    assert "0 / 4" in _feedback(feedback_dir, "garbled")


def test_solution_gets_full_marks(graded):
    _, rows, feedback_dir = graded
    assert (rows["solution"]["ex01_add"], rows["solution"]["ex01_squares"], rows["solution"]["total"]) == (
        "2",
        "2",
        "4",
    )
    assert "Total: **4 / 4**" in _feedback(feedback_dir, "solution")


def test_untouched_exercise_gets_zero_with_a_message_per_exercise(graded):
    _, rows, feedback_dir = graded
    assert rows["untouched"]["total"] == "0"
    text = _feedback(feedback_dir, "untouched")
    assert text.count("not attempted") == 2
    assert "failed: your function raised NotImplementedError" in text


def test_loop_and_raise_cost_points_but_not_the_run(graded):
    _, rows, feedback_dir = graded
    assert rows["looper"]["ex01_add"] == "0" and rows["looper"]["ex01_squares"] == "2"
    assert "did not finish in time" in _feedback(feedback_dir, "looper")
    assert rows["raiser"]["ex01_add"] == "0" and rows["raiser"]["ex01_squares"] == "2"
    text = _feedback(feedback_dir, "raiser")
    assert "your function raised RuntimeError" in text
    assert "my bug" not in text  # the student's own exception text never reaches feedback


def test_partial_credit_and_hidden_failure_message(graded):
    _, rows, feedback_dir = graded
    assert rows["partial"]["ex01_squares"] == "1" and rows["partial"]["total"] == "3"
    assert "hidden check failed" in _feedback(feedback_dir, "partial")


def test_deleted_variables_and_dead_kernels_cost_points(graded):
    _, rows, feedback_dir = graded
    assert rows["deleter"]["ex01_add"] == "0" and rows["deleter"]["total"] == "0"
    assert rows["killer"]["ex01_add"] == "0" and rows["killer"]["total"] == "0"
    assert "kernel" in _feedback(feedback_dir, "killer")


def test_feedback_never_shows_hidden_test_code(graded):
    _, rows, feedback_dir = graded
    assert rows["leaker"]["total"] == "4"
    texts = [path.read_text() for path in feedback_dir.rglob("*.md")]
    assert len(texts) == 13
    for text in texts:
        for secret in (HIDDEN_ADD, HIDDEN_SQUARE, "negatives", "tolist()", "HIDDEN TESTS"):
            assert secret not in text


def test_a_stopped_run_resumes_and_grades_only_what_is_missing(tmp_path):
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    nbformat.write(_solution_notebook(), str(solutions / "01-tiny.ipynb"))
    for student in ("ann", "ben", "cat"):
        (tmp_path / "submitted" / student).mkdir(parents=True)
        nbformat.write(_solution_notebook(), str(tmp_path / "submitted" / student / "01-tiny.ipynb"))
    out = tmp_path / "gradebook.csv"

    def run():
        lines = []
        gradebook.grade_all(
            [tmp_path / "submitted"], solutions_dir=solutions, out=out, timeout_per_cell=TIMEOUT, progress=lines.append
        )
        return [line for line in lines if "earlier run" not in line]

    assert len(run()) == 3
    # as if the grader had been killed while grading ben, before the gradebook was written:
    out.unlink()
    records = sorted(Path(f"{out}.parts").glob("*.json"))
    assert len(records) == 3
    (tmp_path / "feedback" / "ben" / "01-tiny.md").unlink()
    for record in records:
        if "ben" in record.read_text():
            record.unlink()
    regraded = run()
    assert len(regraded) == 1 and " ben " in f" {regraded[0]}"
    with out.open() as handle:
        assert [row["total"] for row in csv.DictReader(handle)] == ["4", "4", "4"]
    assert (tmp_path / "feedback" / "ben" / "01-tiny.md").exists()
    assert not list(tmp_path.rglob(".*.csv.*")) and not list(tmp_path.rglob(".*.md.*"))  # no half-written files


def test_without_bubblewrap_grading_refuses_in_one_line_unless_trusted(tmp_path, capsys, monkeypatch):
    from emnist_tf.grading import sandbox

    monkeypatch.setattr(sandbox, "isolation_problem", lambda: "bubblewrap (bwrap) is not installed; install it")
    (tmp_path / "solutions").mkdir()
    nbformat.write(_solution_notebook(), str(tmp_path / "solutions" / "01-tiny.ipynb"))
    nbformat.write(_solution_notebook(), str(tmp_path / "alice.ipynb"))
    arguments = ["grade", str(tmp_path / "alice.ipynb"), "--solutions", str(tmp_path / "solutions")]
    arguments += ["--out", str(tmp_path / "gradebook.csv"), "--timeout-per-cell", str(TIMEOUT)]
    assert cli.main(arguments) == 2
    error = capsys.readouterr().err.strip()
    assert "bubblewrap" in error and "--trusted" in error and len(error.splitlines()) == 1
    assert not (tmp_path / "gradebook.csv").exists()
    assert cli.main([*arguments, "--trusted"]) == 0
    assert capsys.readouterr().err.count("warning: --trusted") == 1
    with (tmp_path / "gradebook.csv").open() as handle:
        assert next(csv.DictReader(handle))["total"] == "4"


def test_grading_a_missing_folder_is_a_one_line_error(tmp_path, capsys):
    status = cli.main(
        ["grade", str(tmp_path / "nowhere"), "--solutions", str(tmp_path), "--out", str(tmp_path / "gradebook.csv")]
    )
    assert status == 2
    assert "error:" in capsys.readouterr().err


def test_collect_submissions_names_students(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "03-mlp.ipynb").write_text("{}")
    (tmp_path / "bob.ipynb").write_text("{}")
    pairs = gradebook.collect_submissions([tmp_path])
    assert {(path.name, student) for path, student in pairs} == {("03-mlp.ipynb", "alice"), ("bob.ipynb", "bob")}


def course_submissions():
    """The first course notebook handed in by two students: the solution and the untouched exercise."""
    handed_in = course_grading.as_handed_in("01-data", "solutions")
    return {**handed_in, **course_grading.as_handed_in("01-data", "exercises")}


@pytest.mark.slow
def test_real_notebook_solution_gets_full_marks_and_exercise_zero(course_grades):
    """Graded in the shared run of the real notebooks (tests/course_grading.py)."""
    model, blank = course_grades["solutions-01-data"], course_grades["exercises-01-data"]
    assert model.max_points > 0
    assert model.total == model.max_points
    assert blank.total == 0
    assert all("not attempted" in exercise.note for exercise in blank.exercises)


def _forbidding_solution() -> nbformat.NotebookNode:
    """ex01_add forbids the library's class_names; a given cell may still call it."""
    notebook = _solution_notebook()
    notebook.cells[1].source = "import numpy as np\nimport emnist_tf\nNAMES = emnist_tf.class_names('digits')"
    notebook.cells[2].metadata["emnist_tf"]["forbid"] = ["emnist_tf.data.splits.class_names"]
    return notebook


FORBIDDEN_ROUTES = {
    "own-code": ("    return a + b", "2"),
    "alias-call": ("    from emnist_tf import class_names\n    class_names('digits')\n    return a + b", "0"),
    "caught-call": (
        "    try:\n        emnist_tf.data.class_names('digits')\n    except Exception:\n        pass\n    return a + b",
        "0",
    ),
    # a library helper that calls the forbidden function is a way round it: forbid covers it too
    "library-helper-using-it": (
        "    emnist_tf.data.inspect.class_counts(np.zeros(3, dtype=int), 'digits')\n    return a + b",
        "0",
    ),
}


@pytest.fixture(scope="module")
def forbidding_run(tmp_path_factory):
    """One student per route to the forbidden function (and one writing their own code), graded in one run."""
    root = tmp_path_factory.mktemp("forbid")
    solutions = root / "solutions"
    solutions.mkdir()
    nbformat.write(_forbidding_solution(), str(solutions / "01-tiny.ipynb"))
    for route, (body, _) in FORBIDDEN_ROUTES.items():
        student = _forbidding_solution()
        student.cells[2].source = "def add(a, b):\n" + body
        (root / "submitted" / route).mkdir(parents=True)
        nbformat.write(student, str(root / "submitted" / route / "01-tiny.ipynb"))
    results = gradebook.grade_all(
        [root / "submitted"],
        solutions_dir=solutions,
        out=root / "gradebook.csv",
        timeout_per_cell=120,  # a hang guard: no route here loops
        jobs=2,
        progress=None,
    )
    return {result.student: result for result in results}


@pytest.mark.parametrize("route", FORBIDDEN_ROUTES)
def test_calling_a_forbidden_library_function_earns_nothing_for_that_exercise(forbidding_run, route):
    earned = FORBIDDEN_ROUTES[route][1]
    grades = {exercise.name: exercise for exercise in forbidding_run[route].exercises}
    assert grade_format(grades["ex01_add"].earned) == earned
    assert grades["ex01_squares"].earned == 2  # other exercises keep their points
    if earned == "0":
        assert "asks you to write yourself" in grades["ex01_add"].note
