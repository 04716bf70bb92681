"""Red team: submissions whose files, not cells, attack the grader.

A symbolic link to the solution, JSON nested past the recursion limit, a huge
notebook, a folder name a spreadsheet would run as a formula, and students
whose names reduce to the same file name, graded in one run with two jobs.
"""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from attacks import FORMULA_STUDENT, build_file_attacks  # noqa: E402
from test_grading import tiny_course  # noqa: E402

from emnist_tf.grading import gradebook, sandbox  # noqa: E402

LIMITS = sandbox.Limits(memory_mb=1024, processes=96, file_size_mb=64, timeout_per_cell=3, timeout_per_notebook=20)
NAMESAKES = ("李明", "王芳", "Zoë", "Zoé")  # all reduce to the same letters once made file-name safe
TERMINAL_ESCAPE = "esc\x1b]52;c;ZWNobyBvd25lZA==\x07\x1b[2J"  # sets the clipboard, clears the instructor's screen

pytestmark = pytest.mark.skipif(sandbox.isolation_problem() is not None, reason="needs bubblewrap")


@pytest.fixture(scope="module")
def file_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("redteam-files")
    solutions = tiny_course(root)
    submitted = root / "submitted"
    attacks = build_file_attacks(root / "exercises" / "01-tiny.ipynb", solutions / "01-tiny.ipynb", submitted)
    for name in (*NAMESAKES, TERMINAL_ESCAPE):
        (submitted / name).mkdir()
        shutil.copy(solutions / "01-tiny.ipynb", submitted / name / "01-tiny.ipynb")
    progress: list[str] = []
    results = gradebook.grade_all(
        [submitted],
        solutions_dir=solutions,
        out=root / "gradebook.csv",
        limits=LIMITS,
        jobs=2,
        progress=progress.append,
    )
    with (root / "gradebook.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return root, rows, results, attacks, progress


def test_file_attacks_earn_nothing_and_the_run_completes(file_run):
    _, rows, results, attacks, _ = file_run
    assert len(rows) == 1 + len(attacks) + len(NAMESAKES) + 1
    by_student = {result.student: result for result in results}
    for name in ("link_to_solution", "fifo", "deep_nesting", "huge_notebook", "many_cells"):
        assert (by_student[name].total, by_student[name].max_points) == (0, 4), name
    assert "link" in by_student["link_to_solution"].status
    assert "unreadable" in by_student["deep_nesting"].status
    assert "regular file" in by_student["fifo"].status
    assert "larger" in by_student["huge_notebook"].status
    assert "cells" in by_student["many_cells"].status


def test_no_gradebook_cell_is_a_spreadsheet_formula(file_run):
    _, rows, _, _, _ = file_run
    cells = [cell for row in rows for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert any(cell == "'" + FORMULA_STUDENT for cell in cells)  # still recognisable by the instructor


def test_students_whose_names_look_alike_get_their_own_feedback(file_run):
    root, _, results, _, _ = file_run
    feedback_files = sorted((root / "feedback").rglob("*.md"))
    assert len(feedback_files) == len({result.student for result in results}) == len(results)
    texts = [path.read_text() for path in feedback_files]
    assert sum("Total: **4 / 4**" in text for text in texts) == len(NAMESAKES) + 1


def test_progress_lines_carry_no_terminal_escapes(file_run):
    *_, progress = file_run
    assert len(progress) == len(file_run[2])
    assert not [line for line in progress if "\x1b" in line or "\x07" in line]
    cells = [cell for row in file_run[1] for cell in row]
    assert not [cell for cell in cells if "\x1b" in cell]
