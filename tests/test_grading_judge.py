"""The judge's pure logic: matching check cells, reading exports safely, grader-only messages (no sandbox)."""

from __future__ import annotations

import json
import os
import sys
import types
from pathlib import Path

import nbformat
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_grading import _solution_notebook  # noqa: E402

from emnist_tf.grading import judge  # noqa: E402


def _importer(folder: Path) -> judge.Importer:
    return judge.Importer(folder, judge.Judge.__new__(judge.Judge))


def test_check_cells_are_matched_by_id_then_metadata_and_duplicates_are_reported():
    solution = _solution_notebook()
    submission = _solution_notebook()
    for cell in submission.cells:
        cell.pop("id")
    copy = nbformat.v4.new_code_cell("pass", metadata={"emnist_tf": {"exercise": "ex01_add", "kind": "check"}})
    submission.cells.insert(2, copy)
    plan, duplicates = judge.plan_cells(submission, solution)
    roles = [(role, getattr(detail, "cell_id", detail)) for role, _, detail in plan]
    assert roles[1] == ("student", None)  # the copy above the solution is only the student's code
    assert ("check", "add-check") in roles and ("check", "squares-check-values") in roles
    assert duplicates == ["add-check"]
    assert roles[0] == ("given", None) and ("solution", "ex01_add") in roles


def test_a_check_reads_only_free_names_that_are_not_builtins():
    assert judge.free_names("stored = f(x[:8])\nassert len(stored) == n, f'{y}'") == {"f", "x", "n", "y", "stored"}


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
    assert isinstance(value, types.SimpleNamespace) and value.n == 2 and value.a.tolist() == [0, 1, 2]
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
