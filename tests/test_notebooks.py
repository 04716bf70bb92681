"""Every solution notebook runs end to end, in fast mode, on the real data, in a fresh kernel.

Check cells run with their hidden tests, so a pass here also means the
solution earns full marks. A failure names the cell and shows its source and
the error. The selected notebooks run two at a time (one kernel per core of a
two-core machine), each in its own kernel and folder; each test reports one.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from course_grading import longest_first

from emnist_tf.course.execution import KernelSession

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((REPO / "solutions").glob("*.ipynb"))
TIMEOUT_PER_CELL = 900  # a hang guard, far above what a fast-mode cell needs beside another notebook
KERNELS = 2


def _run(path: Path, folder: Path) -> tuple[int, str | None]:
    """Runs the notebook's code cells in a fresh kernel: (code cells, the first failure or None)."""
    notebook = nbformat.read(str(path), as_version=4)
    code_cells = [(index, cell) for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    with KernelSession(folder, timeout_per_cell=TIMEOUT_PER_CELL) as session:
        for index, cell in code_cells:
            outcome = session.run(cell.source)
            if not outcome.ok:
                return len(code_cells), (
                    f"{path.name}, cell {index} failed: {outcome.summary()}\n"
                    f"--- cell source ---\n{cell.source}\n--- error ---\n{outcome.traceback}"
                )
    return len(code_cells), None


@pytest.fixture(scope="module")
def executed_solutions(request, emnist_dir, tmp_path_factory):
    """Path -> (code cells, failure) for every solution notebook a selected test of this file runs."""
    wanted = [
        item.callspec.params["path"]
        for item in request.session.items
        if item.module is request.module and "executed_solutions" in item.fixturenames
    ]
    wanted.sort(key=lambda path: longest_first(path.stem))  # the longest first: no run ends on one alone
    with ThreadPoolExecutor(max_workers=KERNELS) as pool:
        outcomes = pool.map(lambda path: _run(path, tmp_path_factory.mktemp(path.stem)), wanted)
        return dict(zip(wanted, outcomes))


@pytest.mark.slow
@pytest.mark.parametrize("path", SOLUTIONS, ids=[path.stem for path in SOLUTIONS])
def test_solution_notebook_runs_without_errors(path, executed_solutions):
    code_cells, failure = executed_solutions[path]
    if failure:
        pytest.fail(failure, pytrace=False)
    assert code_cells >= 5, f"{path.name} is suspiciously short"
