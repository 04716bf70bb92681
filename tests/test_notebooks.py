"""Every solution notebook runs end to end, in fast mode, on the real data, in a fresh kernel.

Check cells run with their hidden tests, so a pass here also means the
solution earns full marks. A failure names the cell and shows its source and
the error.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from emnist_tf.course.execution import KernelSession

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((REPO / "solutions").glob("*.ipynb"))
TIMEOUT_PER_CELL = 180


@pytest.mark.slow
@pytest.mark.parametrize("path", SOLUTIONS, ids=[path.stem for path in SOLUTIONS])
def test_solution_notebook_runs_without_errors(path, emnist_dir, tmp_path):
    notebook = nbformat.read(str(path), as_version=4)
    code_cells = [(index, cell) for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    with KernelSession(tmp_path, timeout_per_cell=TIMEOUT_PER_CELL) as session:
        for index, cell in code_cells:
            outcome = session.run(cell.source)
            if not outcome.ok:
                pytest.fail(
                    f"{path.name}, cell {index} failed: {outcome.summary()}\n"
                    f"--- cell source ---\n{cell.source}\n--- error ---\n{outcome.traceback}",
                    pytrace=False,
                )
    assert len(code_cells) >= 5, f"{path.name} is suspiciously short"
