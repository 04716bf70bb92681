"""Notebooks 01-06 teach Keras: students write the layers, the grader accepts any correct Keras answer.

- every solution notebook opens with the same setup block, which installs nothing when
  ``emnist_tf`` is importable and installs the course from ``COURSE_REPOSITORY`` when it is not;
- inside the solution regions of 01-06 the student writes ``Sequential(``, ``Dense(``, ``Conv2D(``,
  ``.compile(``, ``.fit(`` and ``GradientTape(``;
- exercises that ask for something the library has forbid the library function (real paths);
- graded on the real data: a correct answer written differently from ours (functional API, other
  names and widths) gets full marks in 03 and 04, and a submission that only calls the library's
  builder gets zero for that exercise (needs the sandboxed grader with ``forbid``).
"""

from __future__ import annotations

import builtins
import importlib
import subprocess
import sys
import types
from pathlib import Path

import course_grading
import nbformat
import pytest
from course_grading import earned, no_work_submission, solved

from emnist_tf.course import notebooks

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((REPO / "solutions").glob("*.ipynb"))
KERAS_NOTEBOOKS = [
    REPO / "solutions" / f"{name}.ipynb"
    for name in (
        "01-data",
        "02-network-from-scratch",
        "03-mlp",
        "04-cnn",
        "05-technique-sweeps",
        "06-evaluation-comparison",
    )
]
STUDENT_WRITES = ("Sequential(", "Dense(", "Conv2D(", ".compile(", ".fit(", "GradientTape(")
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


def _read(path: Path):
    return nbformat.read(str(path), as_version=4)


def _setup_block(path: Path) -> str:
    return next(cell.source for cell in _read(path).cells if cell.cell_type == "code")


def _solution_regions(path: Path) -> str:
    text = []
    for cell in _read(path).cells:
        if notebooks.cell_kind(cell) != "solution":
            continue
        inside = False
        for line in cell.source.splitlines():
            if line.strip() == notebooks.BEGIN_SOLUTION:
                inside = True
            elif line.strip() == notebooks.END_SOLUTION:
                inside = False
            elif inside:
                text.append(line)
    return "\n".join(text)


@pytest.mark.parametrize("path", SOLUTIONS, ids=[path.stem for path in SOLUTIONS])
def test_every_notebook_opens_with_the_shared_setup_block(path):
    reference = _setup_block(REPO / "solutions" / "01-data.ipynb")
    assert "COURSE_REPOSITORY = " in reference
    assert _setup_block(path) == reference, f"{path.name}: copy the first code cell of 01-data.ipynb verbatim"


def _install_part(source: str) -> str:
    """The setup block's lines up to its ``try: import emnist_tf / except ImportError: pip install`` part."""
    lines = source.splitlines()
    end = next(index for index, line in enumerate(lines) if line.startswith("except ImportError"))
    end += 1
    while end < len(lines) and (not lines[end].strip() or lines[end].startswith(" ")):
        end += 1
    return "\n".join(lines[:end])


def _run_install_part(monkeypatch, importable: bool) -> tuple[list, dict]:
    calls: list = []
    installed: list = []

    def fake_run(command, **kwargs):
        calls.append(command)
        installed.append(True)
        return subprocess.CompletedProcess(command, 0)

    real_import = builtins.__import__

    def maybe_missing(name, *args, **kwargs):
        if name == "emnist_tf" and not importable and not installed:
            raise ImportError("No module named 'emnist_tf'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setitem(sys.modules, "subprocess", types.SimpleNamespace(run=fake_run))
    monkeypatch.setattr(builtins, "__import__", maybe_missing)
    namespace: dict = {}
    exec(_install_part(_setup_block(SOLUTIONS[0])), namespace)
    return calls, namespace


def test_setup_block_installs_nothing_when_the_course_is_importable(monkeypatch):
    calls, namespace = _run_install_part(monkeypatch, importable=True)
    assert calls == []
    assert namespace["emnist_tf"].__name__ == "emnist_tf"


def test_setup_block_installs_the_course_from_its_repository_when_missing(monkeypatch):
    calls, namespace = _run_install_part(monkeypatch, importable=False)
    assert len(calls) == 1
    assert calls[0][:4] == [sys.executable, "-m", "pip", "install"]
    assert calls[0][-1].endswith("git+" + namespace["COURSE_REPOSITORY"])
    assert namespace["emnist_tf"].__name__ == "emnist_tf"


def test_students_write_keras_inside_the_solution_regions():
    written = "\n".join(_solution_regions(path) for path in KERAS_NOTEBOOKS)
    missing = [token for token in STUDENT_WRITES if token not in written]
    assert not missing, f"no solution region of 01-06 contains {missing}"


def test_model_building_exercises_forbid_the_library_builders_by_their_real_paths():
    forbidden: dict[str, list[str]] = {}
    for path in KERAS_NOTEBOOKS:
        for cell in _read(path).cells:
            info = notebooks.cell_info(cell)
            if info.get("kind") == "solution" and info.get("forbid"):
                forbidden[info["exercise"]] = info["forbid"]
    for exercise in ("ex03_build_mlp", "ex04_build_cnn"):
        for name in ("build_mlp", "build_cnn", "build_model"):
            assert f"emnist_tf.modeling.models.{name}" in forbidden[exercise]
    for names in forbidden.values():
        for dotted in names:
            assert _resolves(dotted), f"forbid names {dotted}, which is not a library function at its defining module"


def _resolves(dotted: str) -> bool:
    """True when ``dotted`` is a library function named by its defining module (what the grader can forbid)."""
    module, _, attribute = dotted.rpartition(".")
    try:
        function = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError):
        return False
    return isinstance(function, types.FunctionType) and f"{function.__module__}.{function.__qualname__}" == dotted


# ---------------------------------------------------------------- graded on the real data
BUILT_BY_THE_LIBRARY = {"03-mlp": "ex03_build_mlp", "04-cnn": "ex04_build_cnn"}


def course_submissions():
    """The no-work notebooks of 03 and 04 build their model with the library's builder (tests/course_grading.py)."""
    return {student: entry for name in BUILT_BY_THE_LIBRARY for student, entry in no_work_submission(name).items()}


@pytest.mark.slow
@pytest.mark.parametrize("name, exercise", sorted(BUILT_BY_THE_LIBRARY.items()))
def test_calling_the_library_builder_earns_nothing(name, exercise, course_grades):
    assert course_grading.NO_WORK[name]["answers"][exercise].count(".build_") == 1  # the library's builder
    graded = earned(course_grades[f"no-work-{name}"])
    assert graded[exercise] == 0, f"calling the library's builder earned {graded[exercise]} points in {exercise}"


def test_submissions_paste_answers_over_the_stubs():
    """The graded submissions are the exercise notebook with answers pasted over the stubs."""
    notebook = solved("03-mlp", {"ex03_build_mlp": "mlp = None"})
    sources = {
        notebooks.cell_info(cell).get("exercise"): cell.source
        for cell in notebook.cells
        if notebooks.cell_kind(cell) == "solution"
    }
    assert "mlp = None" in sources["ex03_build_mlp"] and STUB not in sources["ex03_build_mlp"]
    assert "### BEGIN SOLUTION" in sources["ex03_fit"]


def _cell(name: str, cell_id: str) -> str:
    return next(cell.source for cell in _read(REPO / "solutions" / f"{name}.ipynb").cells if cell.id == cell_id)


def test_gradient_tape_check_passes_under_mixed_float16_and_restores_the_policy():
    """03's GradientTape exercise: the check compares float32 steps even when the notebook runs mixed_float16."""
    import keras
    import numpy as np
    import tensorflow as tf

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        rng = np.random.default_rng(0)
        namespace = {"keras": keras, "np": np, "tf": tf}
        namespace["train_images"] = rng.random((32, 28, 28, 1), dtype=np.float32)
        namespace["train_labels"] = rng.integers(0, 47, 32)
        solution = _cell("03-mlp", "ex03-train-step-solution")
        exec(solution.replace(notebooks.BEGIN_SOLUTION, "").replace(notebooks.END_SOLUTION, ""), namespace)
        check = "\n".join(source for _, source in notebooks.split_check(_cell("03-mlp", "ex03-train-step-check")))
        exec(check, namespace)
        assert keras.mixed_precision.global_policy().name == "mixed_float16"
        namespace["train_step"] = lambda model, images, labels, rate: (0.0, model.get_weights())  # no step taken
        with pytest.raises(AssertionError):
            exec(check, namespace)
    finally:
        keras.mixed_precision.set_global_policy(previous)
