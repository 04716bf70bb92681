"""A student's two commands work: the ``notebooks`` extra brings JupyterLab, and exercise 01 runs in a Jupyter kernel.

- ``pyproject.toml`` has a ``notebooks`` extra naming ``jupyterlab``, and the README's "For students"
  section installs it and opens ``exercises/`` in JupyterLab;
- ``exercises/01-data.ipynb``, as a student first opens it, runs top to bottom in fast mode through the
  environment's ``python3`` Jupyter kernel: every exercise stub stops with ``NotImplementedError`` (a stub
  inside a function when it is called), a cell that needs an unanswered exercise's result stops with
  ``NameError``, every other cell runs.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

from emnist_tf.course import notebooks
from emnist_tf.course.execution import KernelSession

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

REPO = Path(__file__).resolve().parents[1]
TIMEOUT_PER_CELL = 300  # a hang guard, far above what a fast-mode cell needs


def _readme_section(title: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end]


def test_the_notebooks_extra_brings_jupyterlab():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extra = project.get("optional-dependencies", {}).get("notebooks")
    assert extra, 'pyproject.toml needs [project.optional-dependencies] notebooks = ["jupyterlab..."]'
    names = [re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower() for requirement in extra]
    assert "jupyterlab" in names, f"the notebooks extra should name jupyterlab, it names {names}"


def test_the_readme_tells_students_how_to_install_and_open_the_exercises():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert text.index("\n## For students\n") > text.index("\n## Two commands for a fresh machine\n")
    section = _readme_section("For students")
    commands = [line for line in section.splitlines() if line.startswith(("python", ". ", "pip", "jupyter"))]
    assert len(commands) == 2, f"the students' section should give two commands, found {commands}"
    assert 'pip install -e ".[notebooks]"' in commands[0]
    assert "jupyter lab exercises/" in commands[1]


@pytest.mark.slow
def test_exercise_01_runs_in_the_environments_jupyter_kernel(emnist_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("EMNIST_TF_FAST", "1")
    notebook = nbformat.read(str(REPO / "exercises" / "01-data.ipynb"), as_version=4)
    first_exercise = next(index for index, cell in enumerate(notebook.cells) if notebooks.cell_kind(cell))
    unexpected, stubs, ran = [], 0, 0
    with KernelSession(tmp_path, timeout_per_cell=TIMEOUT_PER_CELL, kernel_name="python3") as session:
        prefix = session.run("import sys; print(sys.prefix)")
        assert prefix.ok and prefix.outputs[0]["text"].strip() == sys.prefix, "the kernel is not this environment's"
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            outcome, kind = session.run(cell.source), notebooks.cell_kind(cell)
            ran += outcome.ok
            if kind == "solution":
                stubs += 1
                inside_a_function = "\n    raise NotImplementedError()" in cell.source  # raises when called
                expected = "ok" if inside_a_function else "NotImplementedError"
                if (outcome.status if outcome.ok else outcome.error_name) != expected:
                    unexpected.append(f"cell {index} (exercise stub): {outcome.summary()}")
            elif outcome.ok or kind == "check" or (index > first_exercise and outcome.error_name == "NameError"):
                continue  # a check, or a later cell that needs an unanswered exercise's result, may fail
            else:
                unexpected.append(f"cell {index}: {outcome.summary()}\n{outcome.traceback}")
        fast = session.run("print(FAST, TRAIN_LIMIT)")
    assert stubs >= 1 and ran >= 5, f"exercise 01 should hold exercise stubs and given cells ({stubs}, {ran})"
    assert not unexpected, "exercise 01 did not run as a student first opens it:\n" + "\n".join(unexpected)
    assert fast.ok and fast.outputs[0]["text"].split() == ["True", "3000"], "fast mode did not reach the kernel"
