"""The judge's pure logic: planning, reading exports safely, grader-only messages, the forbid copy (no sandbox)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_grading import _solution_notebook  # noqa: E402

from emnist_tf.course import notebooks  # noqa: E402
from emnist_tf.grading import feedback, forbid, judge, plan, runner  # noqa: E402
from emnist_tf.grading.grade import CheckGrade, ExerciseGrade, GradeResult  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _importer(folder: Path) -> judge.Importer:
    return judge.Importer(folder, judge.Judge.__new__(judge.Judge))


def test_check_cells_are_matched_by_id_then_metadata_and_duplicates_are_reported():
    solution = _solution_notebook()
    submission = _solution_notebook()
    for cell in submission.cells:
        cell.pop("id")
    copy = nbformat.v4.new_code_cell("pass", metadata={"emnist_tf": {"exercise": "ex01_add", "kind": "check"}})
    submission.cells.insert(2, copy)
    labels, duplicates = plan.plan_cells(submission, solution)
    roles = [(role, getattr(detail, "cell_id", detail)) for role, _, detail in labels]
    assert roles[1] == ("student", None)  # the copy above the solution is only the student's code
    assert ("check", "add-check") in roles and ("check", "squares-check-values") in roles
    assert duplicates == ["add-check"]
    assert roles[0] == ("given", None) and ("solution", "ex01_add") in roles


def test_a_check_reads_only_free_names_that_are_not_builtins():
    assert plan.free_names("stored = f(x[:8])\nassert len(stored) == n, f'{y}'") == {"f", "x", "n", "y", "stored"}


@pytest.mark.parametrize(
    "config",
    [
        {"module": "os", "class_name": "system", "config": {}},
        {"layers": [{"module": "keras.layers", "class_name": "Lambda", "config": {}}]},
        {"layers": [{"module": "builtins", "class_name": "eval"}]},
    ],
)
def test_models_naming_code_outside_keras_are_refused(config):
    with pytest.raises(judge.ExportError):
        judge._check_model_config(config)


def test_keras_and_library_layers_are_accepted():
    judge._check_model_config({"module": "keras.layers", "class_name": "Dense", "config": {"units": 3}})
    judge._check_model_config({"module": "emnist_tf.modeling.losses", "class_name": "SmoothedSparseCrossentropy"})


def test_exports_are_plain_values_and_never_follow_links_or_unpickle(tmp_path):
    np.save(tmp_path / "v0.npy", np.arange(3), allow_pickle=False)
    np.save(tmp_path / "v1.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    secret = tmp_path / "secret.npy"
    np.save(secret, np.arange(5))
    os.symlink(secret, tmp_path / "v2.npy")
    importer = _importer(tmp_path)
    value = importer.value(
        {"t": "object", "attrs": {"n": {"t": "json", "v": 2}, "a": {"t": "array", "file": "v0.npy"}}}
    )
    assert isinstance(value, judge.PlainNamespace) and value.n == 2 and value.a.tolist() == [0, 1, 2]
    with pytest.raises(AttributeError):
        value.n = 3  # read-only
    with pytest.raises(judge.ExportError, match="methods"):  # an object's method would run the student's code
        importer.value({"t": "object", "attrs": {"predict": {"t": "function", "handle": 0}}})
    with pytest.raises(ValueError):  # numpy refuses pickled object arrays
        importer.value({"t": "array", "file": "v1.npy"})
    with pytest.raises(OSError):  # O_NOFOLLOW
        importer.value({"t": "array", "file": "v2.npy"})
    for bad in ({"t": "array", "file": "../secret.npy"}, {"t": "pickle"}, {"t": "json", "v": [1]}):
        with pytest.raises(judge.ExportError):
            importer.value(bad)


def test_a_failing_visible_assert_shows_only_its_own_message_as_plain_text():
    namespace = {"x": "**passed** [link](http://a) <b>"}
    try:
        exec(compile("assert x == 3, f'x should be 3, got {x}'", "<check c visible>", "exec"), namespace)
    except AssertionError as error:
        message = judge._assert_message(error, "<check c visible>")
    assert message.startswith("x should be 3, got")
    assert not any(mark in message for mark in "*[]<>")
    try:
        exec(compile("def f():\n    raise AssertionError('student text')\nf()", "<student>", "exec"), {})
    except AssertionError as error:
        assert judge._assert_message(error, "<check c visible>") == "an assertion of the check did not hold"


def test_only_builtin_exception_names_are_shown():
    assert judge._safe_name("ValueError") == "ValueError"
    assert judge._safe_name("passed__4_of_4") == "an exception"
    assert json.dumps(judge.describe_outcome({"status": "error", "error": "ZeroDivisionError"})).count("Zero") == 1


# --- answers: what may leave the student's kernel --------------------------------------------
def _declaring(answers: list[str]):
    notebook = _solution_notebook()
    notebook.cells[2].metadata["emnist_tf"]["answers"] = answers
    return notebook


def test_a_notebook_declaring_answers_exports_only_them_and_never_a_hidden_name():
    solution = _declaring(["add"])
    exercises = notebooks.exercises(solution)
    assert plan.answer_mode(exercises) == plan.DECLARED
    check = exercises["ex01_add"].checks[0]
    assert plan.answer_names(solution, exercises["ex01_add"], check, plan.DECLARED) == ["add"]
    squares = exercises["ex01_squares"]
    assert plan.answer_names(solution, squares, squares.checks[1], plan.DECLARED) == []  # it declares none


def test_a_notebook_declaring_nothing_infers_names_from_visible_parts_and_solution_cells_only():
    solution = _solution_notebook()
    solution.cells[1].source += "\nGIVEN = 3"
    hidden = "secret_helper(add) == GIVEN"
    solution.cells[3].source += f"\n### BEGIN HIDDEN TESTS\nassert {hidden}\n### END HIDDEN TESTS"
    exercises = notebooks.exercises(solution)
    assert plan.answer_mode(exercises) == plan.INFERRED
    names = plan.answer_names(solution, exercises["ex01_add"], exercises["ex01_add"].checks[0], plan.INFERRED)
    assert names == ["GIVEN", "add"]  # secret_helper is known only to the hidden part: never asked for
    hidden_only = exercises["ex01_squares"].checks[1]
    assert plan.answer_names(solution, exercises["ex01_squares"], hidden_only, plan.INFERRED) == ["squares"]


@pytest.mark.parametrize(
    "body, attempted",
    [
        ("    # YOUR CODE HERE\n    raise NotImplementedError()", False),  # the stub as released
        ("\n    # YOUR CODE HERE   \n\n    raise NotImplementedError()\n", False),  # only whitespace changed
        ("    total = a + b\n    raise NotImplementedError()", False),  # work around the stub's raise
        ("    return a + b", True),
        ("    if a is None:\n        raise NotImplementedError('None is not supported')\n    return a + b", True),
    ],
)
def test_an_exercise_left_as_the_stub_is_not_attempted(body, attempted):
    solution = _solution_notebook()
    submission = notebooks.make_exercise(solution)
    submission.cells[2].source = "def add(a, b):\n" + body
    labels, _ = plan.plan_cells(submission, solution)
    skipped = plan.not_attempted(labels, solution, notebooks.exercises(solution))
    assert ("ex01_add" not in skipped) is attempted
    assert "ex01_squares" in skipped  # untouched


# --- exports: plain data only ---------------------------------------------------------------
def test_numpy_scalars_and_numpy_integer_keys_export_as_plain_numbers(tmp_path):
    labels = np.array([0, 1, 1, 2, 2, 2])
    weights = dict(zip(np.unique(labels), len(labels) / (3 * np.bincount(labels))))  # as compute_class_weight gives
    encoded = runner.Exporter(runner.Runner.__new__(runner.Runner), str(tmp_path)).encode(weights, 0)
    value = _importer(tmp_path).value(encoded)
    assert value == {0: 2.0, 1: 1.0, 2: 2 / 3} and all(type(key) is int for key in value)


def test_an_object_exports_its_attributes_never_its_methods_or_properties(tmp_path):
    class Fake:
        def __init__(self):
            self.units = 3
            self.callback = print

        @property
        def shape(self):
            raise RuntimeError("a property runs code")

        def predict(self, x):
            return x

    holder = runner.Runner.__new__(runner.Runner)
    holder.handles = []
    encoded = runner.Exporter(holder, str(tmp_path)).encode(Fake(), 0)
    assert encoded == {"t": "object", "attrs": {"units": {"t": "json", "v": 3}}} and holder.handles == []


# --- reasons: grader text only ----------------------------------------------------------------
def _fail(code: str, part_filename: str = "<check c hidden>"):
    try:
        exec(compile(code, part_filename, "exec"), {"np": np})
    except Exception as error:
        return error
    raise AssertionError("the code did not fail")


def test_a_failed_hidden_part_shows_its_literal_requirement_and_never_its_inputs():
    code = "secret = [3, 1, 4]\nassert sum(secret) == 0, 'the sum must be zero'"
    assert judge._hidden_reason(_fail(code), "<check c hidden>", code, {}) == "the sum must be zero"
    code = "secret = [3, 1, 4]\nnp.testing.assert_allclose(secret, 0, err_msg='all zero')"
    assert judge._hidden_reason(_fail(code), "<check c hidden>", code, {}) == "all zero"
    code = "secret = [3, 1, 4]\nassert sum(secret) == 0, f'got {secret}'"  # a formatted message may hold inputs
    assert judge._hidden_reason(_fail(code), "<check c hidden>", code, {}) == judge.NOT_MET
    error = judge.ProxyError("your function raised ValueError")
    assert "ValueError" not in judge._hidden_reason(error, "<check c hidden>", "", {})


def test_feedback_names_failing_cells_by_number_only():
    result = GradeResult(
        "ann", Path("01.ipynb"), "01.ipynb", [ExerciseGrade("ex", 1, 1, [CheckGrade("c", 1, 1, "passed")])]
    )
    result.cell_problems = [3, "raised ValueError: student text", 7]
    result.stopped = judge.describe_outcome({"status": "disk"})
    text = feedback.render(result)
    assert "failed (by number, counting code cells): 3, 7" in text and "student text" not in text
    assert "did not run to its end: stopped: the notebook wrote more files than its disk quota allows" in text


# --- forbid: a library copy whose forbidden functions refuse ---------------------------------------
@pytest.fixture(scope="module")
def forbidding_library(tmp_path_factory):
    folder = tmp_path_factory.mktemp("library")
    return forbid.write_library(["emnist_tf.data.class_names", "emnist_tf.scratch.Network.sgd_step"], folder)


def _in_copy(package: Path, code: str) -> str:
    import subprocess

    completed = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=package.parent,
        env={"PYTHONPATH": str(package.parent), "PATH": os.environ.get("PATH", "")},
        timeout=600,
    )
    return completed.stdout.strip().splitlines()[-1] if completed.stdout.strip() else completed.stderr[-300:]


def test_the_copy_holds_no_original_code_and_no_grader(forbidding_library):
    splits = (forbidding_library / "data" / "splits.py").read_text()
    assert "refuse('emnist_tf.data.class_names')" in splits and "split_info(split).class_names" not in splits
    assert "self.backprop(inputs, targets)" not in (forbidding_library / "scratch.py").read_text()
    assert list((forbidding_library / "grading").iterdir()) == []
    assert not os.access(forbidding_library / "data" / "splits.py", os.W_OK) or os.geteuid() == 0


@pytest.mark.parametrize(
    "route",
    [
        "emnist_tf.data.class_names('digits')",
        "emnist_tf.class_names('digits')",  # the package's lazy alias
        "list(emnist_tf.data.class_counts(np.zeros(3, int), 'digits'))",  # a library helper that uses it
        "importlib.reload(emnist_tf.data.splits).class_names('digits')",
        "(exec(compile(open(emnist_tf.data.splits.__file__).read(), emnist_tf.data.splits.__file__, 'exec'), ns),"
        " ns['class_names']('digits'))[1]",
    ],
    ids=["direct", "alias", "library-helper", "reload", "compile-with-library-filename"],
)
def test_no_route_in_the_students_process_reaches_a_forbidden_function(forbidding_library, route):
    code = (
        "import importlib, numpy as np, emnist_tf, emnist_tf.data, emnist_tf.data.splits\nns = {}\n"
        f"try:\n    print('REACHED', {route})\nexcept RuntimeError as error:\n    print('REFUSED', error)"
    )
    assert _in_copy(forbidding_library, code).startswith("REFUSED this exercise asks you to write class_names")


def test_forbid_names_must_be_library_functions():
    with pytest.raises(forbid.ForbidError, match="not a function"):
        forbid.locate(forbid.library_root(), "emnist_tf.data.no_such_function")
    path, node = forbid.locate(forbid.library_root(), "emnist_tf.data.class_names")
    assert path.name == "splits.py" and node.name == "class_names"


def test_the_contract_lint_finds_a_check_that_reads_a_given_cells_value():
    solution = _declaring(["add"])
    solution.cells[4].metadata["emnist_tf"]["answers"] = ["squares"]
    solution.cells[1].source += "\nTRAIN = np.arange(3)"
    solution.cells[3].source = "assert add(TRAIN, 1)[0] == 1\nsize = 3\nassert len(add(np.ones(size), 1)) == size"
    problems = plan.contract_problems(solution)
    assert len(problems) == 1 and "`TRAIN`" in problems[0]
    assert plan.contract_problems(_solution_notebook()) == []  # a notebook declaring no answers is not linted


DECLARING = [path for path in sorted((REPO / "solutions").glob("*.ipynb")) if '"answers"' in path.read_text()]


@pytest.mark.parametrize("path", DECLARING, ids=[path.stem for path in DECLARING])
def test_solution_checks_read_only_answers_imports_and_their_own_names(path):
    assert plan.contract_problems(nbformat.read(str(path), as_version=4), name=path.name) == []


def test_an_exercise_of_written_answers_only_gets_no_note_about_a_missing_solution_cell():
    from emnist_tf.grading import grade

    solution = _solution_notebook()
    answer = "Why?\n\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION"
    metadata = {"emnist_tf": {"exercise": "ex01_why", "kind": "written", "points": 2}}
    solution.cells.append(nbformat.v4.new_markdown_cell(answer, id="why", metadata=metadata))
    loaded = grade.SolutionNotebook(Path("01.ipynb"), solution, notebooks.exercises(solution))
    grades = {exercise.name: exercise for exercise in grade._grade_exercises(loaded, {"checks": {}})}
    assert "ex01_why" not in grades  # graded by hand (grading.manual), never noted as a missing solution cell
    assert "no solution cell" in grades["ex01_add"].note


def test_library_copies_are_made_once_per_forbid_set_and_removed_on_close():
    copies = forbid.LibraryCopies()
    first = copies.library(["emnist_tf.data.class_names"])
    assert copies.library(frozenset({"emnist_tf.data.class_names"})) == first
    other = copies.library(["emnist_tf.scratch.gradient_check"])
    assert other != first and "refuse(" in (other / "scratch.py").read_text()
    copies.close()
    assert not first.exists() and not other.exists()
