"""Red team against the check-cell contract: answers only, forbid outside the student's process, grader text only.

A tiny course written to the contract (declared answers, hidden inputs made
afresh at each grading, a forbidden library function that a given cell also
shows) is graded in one run with honest students and attackers:

* every route to the forbidden function (the old runner's table of originals,
  ``importlib.reload``, ``compile`` with the library file's name, a library
  helper that calls it) fails, even when the attacker wipes the record of calls;
* an object whose methods imitate an answer, an answer defined outside its
  left-as-stub solution cell, and a function that smuggles the hidden inputs
  out through later cells earn nothing for that and leak nothing;
* NumPy-keyed dictionaries (``compute_class_weight``) keep every point, a
  subclassed Keras model is refused with a reason, and the next exercise keeps its points.

The slow tests grade the real notebooks (tests/course_grading.py): in every notebook 01-11 a notebook
with no work that forges every given value earns 0; in 01 and 02 the solution earns full marks and the
untouched exercise 0.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import course_grading  # noqa: E402
from attacks import INJECTED  # noqa: E402
from test_grading import tiny_course  # noqa: E402

from emnist_tf.course import notebooks  # noqa: E402
from emnist_tf.grading import gradebook, sandbox  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
LIMITS = sandbox.Limits(memory_mb=4096, processes=256, timeout_per_cell=300, timeout_per_notebook=1200)
FORBIDDEN = "emnist_tf.data.splits.class_names"

pytestmark = pytest.mark.skipif(sandbox.isolation_problem() is not None, reason="needs bubblewrap")


def _meta(exercise: str, kind: str, **extra) -> dict:
    return {"emnist_tf": {"exercise": exercise, "kind": kind, **extra}}


def _code(source: str, **kwargs):
    return nbformat.v4.new_code_cell(textwrap.dedent(source).strip("\n"), **kwargs)


def _tiny_solution():
    """ex01_names forbids the library's class_names (the setup cell shows it); ex01_weights returns a dict."""
    return nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Tiny contract notebook", id="title"),
            _code(
                """
                import numpy as np
                import emnist_tf
                from emnist_tf import data
                DEMO = data.class_names("digits")  # a given cell may show the function an exercise forbids
                """,
                id="setup",
            ),
            _code(
                """
                def digit_names(count):
                    ### BEGIN SOLUTION
                    return [str(number) for number in range(count)]
                    ### END SOLUTION
                """,
                id="names-solution",
                metadata=_meta("ex01_names", "solution", forbid=[FORBIDDEN], answers=["digit_names"]),
            ),
            _code(
                """
                assert digit_names(3) == ["0", "1", "2"], "digit_names(3) should be ['0', '1', '2']"
                ### BEGIN HIDDEN TESTS
                count = int(np.random.default_rng().integers(4, 11))
                assert digit_names(count) == [str(n) for n in range(count)], "digit_names(n) lists the first n digits"
                ### END HIDDEN TESTS
                """,
                id="names-check",
                metadata=_meta("ex01_names", "check", points=2),
            ),
            _code(
                """
                def class_weights(labels):
                    ### BEGIN SOLUTION
                    classes, counts = np.unique(labels, return_counts=True)
                    return dict(zip(classes, len(labels) / (len(classes) * counts)))
                    ### END SOLUTION
                """,
                id="weights-solution",
                metadata=_meta("ex01_weights", "solution", answers=["class_weights"]),
            ),
            _code(
                """
                weights = class_weights(np.array([0, 1, 1, 2, 2, 2]))
                assert sorted(weights) == [0, 1, 2], "one weight per class, keyed by the class"
                ### BEGIN HIDDEN TESTS
                rng = np.random.default_rng()
                labels = rng.integers(0, 5, int(rng.integers(20, 60)))
                classes, counts = np.unique(labels, return_counts=True)
                expected = {int(c): len(labels) / (len(classes) * n) for c, n in zip(classes, counts)}
                weights = class_weights(labels)
                assert set(weights) == set(expected), "one weight per class present in the labels"
                assert all(abs(weights[c] - expected[c]) < 1e-9 for c in expected), "N / (classes x count of the class)"
                ### END HIDDEN TESTS
                """,
                id="weights-check",
                metadata=_meta("ex01_weights", "check", points=2),
            ),
        ]
    )


def _keras_solution():
    """ex02_model answers a Keras model; ex02_double, after it, does not depend on it."""
    return nbformat.v4.new_notebook(
        cells=[
            _code("import numpy as np\nimport keras", id="k-setup"),
            _code(
                """
                ### BEGIN SOLUTION
                model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
                ### END SOLUTION
                """,
                id="model-solution",
                metadata=_meta("ex02_model", "solution", answers=["model"]),
            ),
            _code(
                """
                assert model.output_shape == (None, 3), "the model maps 4 numbers to 3 class probabilities"
                ### BEGIN HIDDEN TESTS
                x = np.random.default_rng().random((5, 4))
                assert np.allclose(model.predict(x, verbose=0).sum(axis=1), 1, atol=1e-4), "outputs are probabilities"
                ### END HIDDEN TESTS
                """,
                id="model-check",
                metadata=_meta("ex02_model", "check", points=1),
            ),
            _code(
                "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
                id="double-solution",
                metadata=_meta("ex02_double", "solution", answers=["double"]),
            ),
            _code(
                "assert double(2) == 4, 'double(2) should be 4'",
                id="double-check",
                metadata=_meta("ex02_double", "check", points=1),
            ),
        ]
    )


def _route(route: str) -> str:
    """An answer that takes the digits' names from the forbidden function by ``route`` and wipes the record."""
    return f"""
    def digit_names(count):
        import importlib, sys
        import emnist_tf, emnist_tf.data, emnist_tf.data.splits
        namespace = {{}}
        try:
            names = {route}
        finally:
            record = sys.modules.get("emnist_tf._forbidden")
            if record is not None:
                record.CALLS.clear()
        return list(names)[:count]
    """


ROUTES = {
    "runner_table": _route(
        f"sys.modules['_emnist_tf_grader_violations'].originals[{FORBIDDEN!r}]('digits')",
    ),
    "reload": _route("importlib.reload(emnist_tf.data.splits).class_names('digits')"),
    "compile_with_library_filename": _route(
        "(exec(compile(open(emnist_tf.data.splits.__file__).read(), emnist_tf.data.splits.__file__, 'exec'),"
        " namespace), namespace['class_names']('digits'))[1]"
    ),
    "library_helper": _route("emnist_tf.data.class_counts(__import__('numpy').zeros(1, int), 'digits')"),
}
METHOD_FAKER = """
class Weights:  # its methods would answer for a dict if the grader called them
    def __iter__(self):
        return iter([0, 1, 2])
    def keys(self):
        return [0, 1, 2]
    def __getitem__(self, key):
        return 1.0
def class_weights(labels):
    return Weights()
"""
SMUGGLER = """
SEEN = []
def class_weights(labels):
    SEEN.append(labels)
    classes, counts = np.unique(labels, return_counts=True)
    return dict(zip(classes, len(labels) / (len(classes) * counts)))
"""
SUBCLASSED = """
class Mine(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(3, activation="softmax")
    def call(self, x):
        return self.dense(x)
model = Mine()
model(np.zeros((1, 4)))
"""


def _with(notebook, cell_id: str, source: str):
    for cell in notebook.cells:
        if cell.get("id") == cell_id:
            cell.source = textwrap.dedent(source).strip("\n")
    return notebook


def _submissions(root: Path) -> dict[str, tuple[str, object]]:
    exercise = notebooks.make_exercise(_tiny_solution())
    solved = _tiny_solution()
    students = {
        "solution": solved,
        "untouched": exercise,
        "compute_class_weight": _with(
            _tiny_solution(),
            "weights-solution",
            """
            from sklearn.utils.class_weight import compute_class_weight
            def class_weights(labels):
                classes = np.unique(labels)
                return dict(zip(classes, compute_class_weight("balanced", classes=classes, y=labels)))
            """,
        ),
        **{name: _with(_tiny_solution(), "names-solution", source) for name, source in ROUTES.items()},
        "method_faker": _with(_tiny_solution(), "weights-solution", METHOD_FAKER),
        "smuggler": _with(_tiny_solution(), "weights-solution", SMUGGLER),
        "answer_outside_the_stub": notebooks.make_exercise(_tiny_solution()),
    }
    students["smuggler"].cells += [
        _code(f"raise ValueError('{INJECTED} ' + repr(SEEN))"),
        _code(f"class {INJECTED.replace('-', '_')}(Exception): pass\nraise {INJECTED.replace('-', '_')}(repr(SEEN))"),
        _code(f"print('{INJECTED}', SEEN)"),
    ]
    students["answer_outside_the_stub"].cells.append(
        _code("def digit_names(count):\n    return [str(number) for number in range(count)]")
    )
    keras_solution = _keras_solution()
    return {
        **{name: ("01-tiny.ipynb", notebook) for name, notebook in students.items()},
        "keras_solution": ("02-keras.ipynb", keras_solution),
        "subclassed": ("02-keras.ipynb", _with(_keras_solution(), "model-solution", SUBCLASSED)),
    }


@pytest.fixture(scope="module")
def contract_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("contract")
    solutions = tiny_course(root, {"01-tiny.ipynb": _tiny_solution(), "02-keras.ipynb": _keras_solution()})
    for student, (name, notebook) in _submissions(root).items():
        (root / "submitted" / student).mkdir(parents=True)
        nbformat.write(notebook, str(root / "submitted" / student / name))
    results = gradebook.grade_all(
        [root / "submitted"], solutions_dir=solutions, out=root / "gradebook.csv", limits=LIMITS, jobs=2, progress=None
    )
    return root, {result.student: result for result in results}


def _earned(result) -> dict[str, float]:
    return {exercise.name: exercise.earned for exercise in result.exercises}


def _feedback(root: Path, student: str, notebook: str = "01-tiny") -> str:
    return (root / "feedback" / student / f"{notebook}.md").read_text()


def test_honest_answers_keep_every_point(contract_run):
    _, results = contract_run
    assert _earned(results["solution"]) == {"ex01_names": 2, "ex01_weights": 2}  # NumPy integer keys
    assert _earned(results["compute_class_weight"]) == {"ex01_names": 2, "ex01_weights": 2}
    assert _earned(results["keras_solution"]) == {"ex02_model": 1, "ex02_double": 1}


def test_the_untouched_exercise_earns_nothing(contract_run):
    _, results = contract_run
    assert results["untouched"].total == 0


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_no_route_to_a_forbidden_function_earns_points(contract_run, route):
    _, results = contract_run
    assert _earned(results[route]) == {"ex01_names": 0, "ex01_weights": 2}


def test_an_object_imitating_an_answer_with_its_methods_earns_nothing(contract_run):
    _, results = contract_run
    assert _earned(results["method_faker"]) == {"ex01_names": 2, "ex01_weights": 0}


def test_an_answer_beside_a_solution_cell_left_as_the_stub_earns_nothing(contract_run):
    root, results = contract_run
    assert _earned(results["answer_outside_the_stub"])["ex01_names"] == 0
    assert "not attempted" in _feedback(root, "answer_outside_the_stub")


def test_what_a_function_saw_of_the_hidden_inputs_cannot_reach_the_feedback(contract_run):
    root, results = contract_run
    assert results["smuggler"].total == 4
    text = _feedback(root, "smuggler")
    assert INJECTED not in text and INJECTED.replace("-", "_") not in text and "array(" not in text
    assert "ValueError" not in text and "that failed (by number" in text
    for student in results:
        notebook = "02-keras" if student in ("keras_solution", "subclassed") else "01-tiny"
        assert "BEGIN HIDDEN" not in _feedback(root, student, notebook)
        assert "np.random" not in _feedback(root, student, notebook)


def test_a_subclassed_model_is_refused_with_its_reason_and_the_next_exercise_keeps_its_points(contract_run):
    root, results = contract_run
    assert _earned(results["subclassed"]) == {"ex02_model": 0, "ex02_double": 1}
    assert "subclassed" in _feedback(root, "subclassed", "02-keras")


# --- the real course notebooks ----------------------------------------------------------------
FIRST = ("01-data", "02-network-from-scratch")


def course_submissions():
    """A no-work notebook of every course notebook; the solution and the untouched exercise of 01 and 02."""
    handed_in = {}
    for name in course_grading.COURSE:
        handed_in.update(course_grading.no_work_submission(name))
    for name in FIRST:
        handed_in.update(course_grading.as_handed_in(name, "solutions"))
        handed_in.update(course_grading.as_handed_in(name, "exercises"))
    return handed_in


@pytest.mark.slow
@pytest.mark.parametrize("name", course_grading.COURSE)
def test_a_notebook_with_no_work_that_forges_every_given_value_earns_nothing(name, course_grades):
    """No work (every stub passed over, or the library's builder where one is forbidden) and junk of the same
    type and shape in place of every value a given cell made: the checks, not the "not attempted" rule, give 0."""
    result = course_grades[f"no-work-{name}"]
    assert result.status == "graded" and not result.stopped, f"{name}: {result.status} {result.stopped}"
    assert result.max_points > 0 and result.total == 0, f"{name}: no work earned {course_grading.earned(result)}"
    assert not [exercise.name for exercise in result.exercises if "not attempted" in exercise.note]


@pytest.mark.slow
@pytest.mark.parametrize("name", FIRST)
def test_notebooks_01_and_02_full_marks_for_the_solution_zero_for_the_untouched_exercise(name, course_grades):
    model = course_grades[f"solutions-{name}"]
    assert model.max_points > 0 and model.total == model.max_points, course_grading.lost_points(model)
    assert course_grades[f"exercises-{name}"].total == 0
