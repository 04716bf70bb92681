"""Written answers graded by hand: left pending by `emnist-tf grade`, a marking page, marks merged from a CSV.

The course is the tiny one of test_grading.py plus one written cell worth 3
points; nbgrader's own autograde is run on it too.
"""

from __future__ import annotations

import contextlib
import csv
import io
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_grading import TIMEOUT, _solution_notebook, tiny_course  # noqa: E402

from emnist_tf import cli  # noqa: E402
from emnist_tf.course import notebooks  # noqa: E402
from emnist_tf.grading import feedback, grade, manual  # noqa: E402

WRITTEN_ID = "why-written"
EXAMPLE = "Addition, because 1 + 2 = 3."
HOSTILE = (
    "I chose <script>alert('x')</script><img src=x onerror=alert(1)> because "
    "\u202eevil\u202c and </pre></td></tr></table><a href='javascript:alert(1)'>link</a>"
)
MANUAL_COLUMNS = ("manual_points", "manual_max", "manual_pending", f"written:{WRITTEN_ID}")


def written_solution() -> nbformat.NotebookNode:
    """The tiny solution with a written answer (3 points) after its first exercise."""
    notebook = _solution_notebook()
    notebook.cells.append(
        nbformat.v4.new_markdown_cell(
            f"### BEGIN SOLUTION\n{EXAMPLE}\n### END SOLUTION",
            id=WRITTEN_ID,
            metadata={"emnist_tf": {"exercise": "ex01_why", "kind": "written", "points": 3}},
        )
    )
    return notebook


def _answered(text: str) -> nbformat.NotebookNode:
    notebook = written_solution()
    notebook.cells[-1].source = text
    return notebook


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A class of four graded once with `emnist-tf grade`: (root, gradebook rows, printed output)."""
    root = tmp_path_factory.mktemp("manual")
    solutions = tiny_course(root, {"01-tiny.ipynb": written_solution()})
    students = {
        "alice": _answered(HOSTILE),
        "bob": nbformat.read(str(root / "exercises" / "01-tiny.ipynb"), as_version=4),
        "carol": _answered("Carol's reason: 1 + 2 = 3."),
        "=dave": _answered("Dave's reason."),
    }
    for cell in students["carol"].cells:
        del cell["id"]
    students["carol"].nbformat_minor = 4
    for name, notebook in students.items():
        (root / "submitted" / name).mkdir(parents=True)
        nbformat.write(notebook, str(root / "submitted" / name / "01-tiny.ipynb"))
    out = root / "grades" / "gradebook.csv"
    arguments = ["grade", str(root / "submitted"), "--solutions", str(solutions), "--out", str(out)]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = cli.main([*arguments, "--timeout-per-cell", str(TIMEOUT), "--jobs", "2"])
    assert status == 0
    return root, _rows(out), printed.getvalue()


def _rows(gradebook: Path) -> dict[str, dict[str, str]]:
    with gradebook.open() as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def _copy_gradebook(root: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "gradebook.csv"
    shutil.copy(root / "grades" / "gradebook.csv", copy)
    return copy


def _marks(tmp_path: Path, lines: list[str], name: str = "marks.csv") -> Path:
    path = tmp_path / name
    path.write_text("student,notebook,cell,points\n" + "".join(f"{line}\n" for line in lines))
    return path


def test_grading_leaves_written_answers_pending_and_says_so(graded):
    root, rows, printed = graded
    assert rows["alice"]["total"] == "4" and rows["alice"]["max_points"] == "4"  # autograded only
    for student in ("alice", "bob", "carol", "'=dave"):
        row = rows[student]
        assert (row["manual_points"], row["manual_max"], row["manual_pending"]) == ("0", "3", "3"), student
        assert row[f"written:{WRITTEN_ID}"] == ""
    assert "ex01_why" not in rows["alice"]  # no autograded column for an exercise graded only by hand
    assert "left for grading by hand" in printed and "01-tiny.html" in printed
    feedback = (root / "grades" / "feedback" / "alice" / "01-tiny.md").read_text()
    assert "ex01_why" not in feedback  # not an autograded exercise worth 0: nothing to say until it is marked
    assert "Autograded: **4 / 4** points" in feedback
    assert "3 points of written answers will be graded by your instructor" in feedback
    assert "not your final total" in feedback and "out of 7 points" in feedback
    assert "Total:" not in feedback  # nothing reads as a final 4 / 4


def test_feedback_counts_written_points_given_and_pending(graded):
    """The same graded result rendered as marks come in: pending points first, then a final total."""
    root, _, _ = graded
    solution = grade.load_solutions(root / "solutions")[0]
    exercises = [grade.ExerciseGrade("ex01", 4.0, 3.0, [])]
    result = grade.GradeResult("alice", root / "submitted" / "alice" / "01-tiny.ipynb", solution.name, exercises)
    pending = feedback.render(result, written=manual.written_points("alice", solution, {}))
    assert "Autograded: **3 / 4**" in pending and "3 points of written answers will be graded" in pending
    marked = {f"alice/{solution.name}": {WRITTEN_ID: 2.5}}
    final = feedback.render(result, written=manual.written_points("alice", solution, marked))
    assert "Written answers graded by your instructor: **2.5 / 3** points" in final
    assert "Total: **5.5 / 7** points" in final and "will be graded" not in final
    assert feedback.render(result).count("Total: **3 / 4** points") == 1  # a notebook without written answers


def test_the_marking_page_shows_every_answer_escaped_and_runs_nothing(graded):
    root, _, _ = graded
    page = (root / "grades" / "written" / "01-tiny.html").read_text()
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    for raw in ("<script", "<img", "<a href", "</pre></td></tr></table><a", "\u202e"):
        assert raw not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&lt;img src=x" in page  # shown as text
    assert "Carol&#x27;s reason: 1 + 2 = 3." in page  # found without cell ids, by its exercise
    assert manual.NOT_ANSWERED.replace("(", "") in page.replace("(", "")  # bob left the stub
    assert page.count("<tr><td>") == 4 and "&#x27;=dave" in page
    assert EXAMPLE in page
    template = (root / "grades" / "written" / "01-tiny-marks.csv").read_text().splitlines()
    assert template[0] == "student,notebook,cell,points" and len(template) == 5
    assert "alice,01-tiny.ipynb,why-written," in template


def test_merged_marks_change_only_their_cells_and_grade_nothing_again(graded, tmp_path):
    root, before, _ = graded
    gradebook = _copy_gradebook(root, tmp_path)
    records = {path: path.stat().st_mtime_ns for path in Path(f"{root / 'grades' / 'gradebook.csv'}.parts").iterdir()}
    assert (
        cli.main(
            [
                "grade",
                "--merge-marks",
                str(_marks(tmp_path, ["alice,01-tiny.ipynb,why-written,2.5"])),
                "--solutions",
                str(root / "solutions"),
                "--out",
                str(gradebook),
            ]
        )
        == 0
    )
    after = _rows(gradebook)
    assert (after["alice"]["manual_points"], after["alice"]["manual_pending"]) == ("2.5", "0")
    assert after["alice"][f"written:{WRITTEN_ID}"] == "2.5"
    for student, row in before.items():
        changed = {key for key in row if row[key] != after[student][key]}
        assert changed <= (set(MANUAL_COLUMNS) if student == "alice" else set()), student
    second = _marks(tmp_path, ["'=dave,01-tiny.ipynb,why-written,1", "bob,01-tiny.ipynb,why-written,"], "more.csv")
    assert manual.merge_marks(second, gradebook, grade.load_solutions(root / "solutions")) == 1
    final = _rows(gradebook)
    assert final["alice"]["manual_points"] == "2.5"  # kept from the first merge
    assert (final["'=dave"]["manual_points"], final["bob"]["manual_pending"]) == ("1", "3")
    assert {path: path.stat().st_mtime_ns for path in records} == records  # no submission was graded again


def test_merging_marks_writes_the_feedback_again_with_the_points_given(graded, tmp_path):
    """Students read their final total once their written answers are marked, without any regrading."""
    root, _, _ = graded
    grades = tmp_path / "grades"
    shutil.copytree(root / "grades", grades)
    gradebook = grades / "gradebook.csv"
    bob_before = (grades / "feedback" / "bob" / "01-tiny.md").read_text()
    marks = _marks(tmp_path, ["alice,01-tiny.ipynb,why-written,2.5"])
    arguments = ["grade", "--merge-marks", str(marks), "--solutions", str(root / "solutions"), "--out", str(gradebook)]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert cli.main(arguments) == 0
    assert "feedback written again for 4 submission(s)" in printed.getvalue()
    alice = (grades / "feedback" / "alice" / "01-tiny.md").read_text()
    assert "Written answers graded by your instructor: **2.5 / 3** points" in alice
    assert "Total: **6.5 / 7** points" in alice and "will be graded" not in alice
    assert (grades / "feedback" / "bob" / "01-tiny.md").read_text() == bob_before  # nothing given: still pending


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("alice,01-tiny.ipynb,why-written,4", "more than cell 'why-written' allows (3)"),
        ("alice,01-tiny.ipynb,why-written,-1", "between 0 and 3"),
        ("alice,01-tiny.ipynb,why-written,lots", "not a number"),
        ("zed,01-tiny.ipynb,why-written,1", "no student 'zed'"),
        ("alice,01-tiny.ipynb,add-check,1", "no written cell 'add-check'"),
        ("alice,02-other.ipynb,why-written,1", "no graded notebook '02-other.ipynb'"),
        ("alice,01-tiny.ipynb,why-written", "expected 4 values"),
    ],
)
def test_a_wrong_marks_line_is_a_one_line_error_naming_it_and_nothing_is_merged(
    graded, tmp_path, capsys, line, message
):
    root, _, _ = graded
    gradebook = _copy_gradebook(root, tmp_path)
    text = gradebook.read_bytes()
    marks = _marks(tmp_path, ["carol,01-tiny.ipynb,why-written,3", line])
    status = cli.main(
        ["grade", "--merge-marks", str(marks), "--solutions", str(root / "solutions"), "--out", str(gradebook)]
    )
    assert status == 2
    errors = [error for error in capsys.readouterr().err.splitlines() if error.startswith("error:")]
    assert errors == [f"error: marks.csv line 3: {errors[0].split('line 3: ', 1)[-1]}"] and message in errors[0]
    assert gradebook.read_bytes() == text and not manual.marks_path(gradebook).exists()


def test_a_cell_marked_twice_in_one_csv_is_refused(graded, tmp_path):
    root, _, _ = graded
    gradebook = _copy_gradebook(root, tmp_path)
    marks = _marks(tmp_path, ["carol,01-tiny.ipynb,why-written,3", "carol,01-tiny.ipynb,why-written,1"])
    with pytest.raises(manual.MarksError, match="line 3: .* already on line 2"):
        manual.merge_marks(marks, gradebook, grade.load_solutions(root / "solutions"))


def test_nbgrader_autograde_leaves_written_cells_for_manual_grading(tmp_path):
    """nbgrader's own generate_assignment and autograde on the tiny course: the written cell needs a person."""
    apps = pytest.importorskip("nbgrader.apps")
    from nbgrader.api import Gradebook
    from traitlets.config import Config

    course = tmp_path / "course"
    (course / "source" / "ps1").mkdir(parents=True)
    nbformat.write(
        notebooks.with_nbgrader_metadata(written_solution()), str(course / "source" / "ps1" / "01-tiny.ipynb")
    )
    config = Config()
    config.CourseDirectory.root = str(course)
    config.ExecutePreprocessor.timeout = 600
    api = apps.NbGraderAPI(config=config)
    released = api.generate_assignment("ps1")
    assert released["success"], released.get("error")
    student = nbformat.read(str(course / "release" / "ps1" / "01-tiny.ipynb"), as_version=4)
    markers = (notebooks.BEGIN_SOLUTION, notebooks.END_SOLUTION)
    for cell, answer in zip(student.cells, written_solution().cells, strict=True):
        if cell.metadata.get("nbgrader", {}).get("solution"):  # the answer: the solution without its markers
            cell.source = "\n".join(line for line in answer.source.splitlines() if line.strip() not in markers)
    (course / "submitted" / "alice" / "ps1").mkdir(parents=True)
    nbformat.write(student, str(course / "submitted" / "alice" / "ps1" / "01-tiny.ipynb"))
    autograded = api.autograde("ps1", "alice")
    assert autograded["success"], autograded.get("error")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as book:
        submitted = book.find_submission_notebook("01-tiny", "ps1", "alice")
        grades = {item.name: item for item in submitted.grades}
        assert submitted.needs_manual_grade
        assert grades[WRITTEN_ID].needs_manual_grade and grades[WRITTEN_ID].auto_score is None
        assert grades[WRITTEN_ID].max_score == 3
        assert not grades["add-check"].needs_manual_grade and grades["add-check"].auto_score == 2
