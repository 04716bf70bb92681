"""Written answers, graded by hand: a marking page per notebook, points merged back from a CSV.

Written cells (``"kind": "written"`` in a solution notebook) are never graded
automatically. After grading, :func:`write_marking_pages` writes, per notebook,
an HTML page with every student's answer to each written cell side by side
(everything escaped, no scripts: student text is hostile) and a marks template
``<notebook>-marks.csv`` (``student,notebook,cell,points``). The instructor
fills in the points and :func:`merge_marks` records them next to the gradebook
(``<gradebook>.marks.json``) without grading anything again; the gradebook shows
the autograded total beside the points given by hand and those still pending.

Example:
    >>> from emnist_tf.grading import manual
    >>> manual.merge_marks("marks.csv", "grades/gradebook.csv", solutions)
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import unicodedata
from pathlib import Path
from typing import NamedTuple

from emnist_tf.course import notebooks
from emnist_tf.files import write_text_atomic
from emnist_tf.grading import grade

MARKS_HEADER = ["student", "notebook", "cell", "points"]
MAX_ANSWER_CHARS = 10_000
MAX_MARKS_BYTES = 16 * 1024 * 1024
FORMULA_STARTS = ("=", "+", "-", "@")
NOT_ANSWERED = "(not answered: the cell still says YOUR ANSWER HERE)"
NO_CELL = "(no answer: the written cell is missing from the notebook)"
UNREADABLE = "(no answer: the notebook could not be read)"
PAGE_STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse;width:100%}"
    "td,th{border:1px solid #999;padding:.4em;vertical-align:top;text-align:left}"
    "pre{white-space:pre-wrap;word-break:break-word;margin:0}.missing{color:#999}"
)
# no scripts, frames, images, fonts or requests of any kind; only the inline style above
PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; base-uri 'none'"


class MarksError(ValueError):
    """A marks CSV that cannot be merged; one line per problem, each naming its CSV line."""


def spreadsheet_safe(text: str) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula (CSV injection).

    Control and invisible format characters (bidirectional overrides) become
    ``?``; a leading ``= + - @`` is escaped with ``'``.
    """
    text = inert(text, keep="")
    return "'" + text if text[:1] in FORMULA_STARTS else text


def inert(text: str, keep: str = "\n\t") -> str:
    """The text with control and invisible format characters (escapes, bidi overrides) as ``?``, except ``keep``."""
    return "".join(
        char if char in keep or unicodedata.category(char) not in ("Cc", "Cf") else "?" for char in str(text)
    )


def written_cells(solution: grade.SolutionNotebook) -> list[notebooks.WrittenCell]:
    """The notebook's written cells, in notebook order."""
    return [cell for exercise in solution.exercises.values() for cell in exercise.written]


def written_columns(solutions: list[grade.SolutionNotebook]) -> list[str]:
    """Gradebook columns of the written cells, in course order: ``written:<cell id>``."""
    return [f"written:{cell.cell_id}" for solution in solutions for cell in written_cells(solution)]


def written_answers(submission, solution: grade.SolutionNotebook) -> dict[str, str | None]:
    """Written cell id -> the student's Markdown (None when the cell is missing).

    A written cell is found by its id, else by its exercise metadata in order
    (notebooks saved without cell ids); only Markdown cells count.
    """
    markdown = [cell for cell in submission.cells if cell.get("cell_type") == "markdown"]
    by_id = {cell.get("id"): cell for cell in markdown if cell.get("id")}
    by_exercise: dict[str, list] = {}
    for cell in markdown:
        info = notebooks.cell_info(cell)
        if info.get("kind") == "written" and isinstance(info.get("exercise"), str):
            by_exercise.setdefault(info["exercise"], []).append(cell)
    found: dict[str, str | None] = {}
    for exercise in solution.exercises.values():
        for number, cell in enumerate(exercise.written):
            match = by_id.get(cell.cell_id)
            if match is None and number < len(by_exercise.get(exercise.name, [])):
                match = by_exercise[exercise.name][number]
            found[cell.cell_id] = None if match is None else str(match.get("source", ""))
    return found


# --- marking pages ---------------------------------------------------------------------------
def _answer_html(answer: str | None, readable: bool) -> str:
    if not readable:
        return f'<span class="missing">{html.escape(UNREADABLE)}</span>'
    if answer is None:
        return f'<span class="missing">{html.escape(NO_CELL)}</span>'
    if answer.strip() in ("", notebooks.MARKDOWN_STUB):
        return f'<span class="missing">{html.escape(NOT_ANSWERED)}</span>'
    shown = inert(answer)
    if len(shown) > MAX_ANSWER_CHARS:
        shown = shown[:MAX_ANSWER_CHARS] + "\n(shortened)"
    return f"<pre>{html.escape(shown, quote=True)}</pre>"


def _example(cell: notebooks.WrittenCell) -> str:
    markers = (notebooks.BEGIN_SOLUTION, notebooks.END_SOLUTION)
    lines = [line for line in cell.source.splitlines() if line.strip() not in markers]
    return "\n".join(lines).strip()


def marking_page(solution: grade.SolutionNotebook, answers: dict[str, dict[str, str | None] | None]) -> str:
    """The HTML page for marking one notebook's written cells.

    Args:
        solution: the solution notebook (written cells, points, example answers).
        answers: student (as the gradebook shows the name) -> written cell id
            -> answer, or None for a notebook that could not be read.
    """
    escape = html.escape
    title = f"Written answers: {solution.name}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{PAGE_POLICY}">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{escape(title)}</title><style>{PAGE_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p>{len(answers)} submission(s). Mark each answer against the rubric in course/instructor_guide.md, "
        f"write the points in {escape(Path(solution.name).stem)}-marks.csv (next to this page) and merge that file "
        "into the gradebook. Answers are shown as plain text, exactly as written.</p>",
    ]
    for cell in written_cells(solution):
        parts += [
            f'<section id="{escape(cell.cell_id)}"><h2>{escape(cell.exercise)}: cell {escape(cell.cell_id)} '
            f"({grade.format_points(cell.points)} points)</h2>",
            f"<details><summary>Example answer</summary><pre>{escape(_example(cell))}</pre></details>",
            "<table><thead><tr><th>student</th><th>answer</th><th>points</th></tr></thead><tbody>",
        ]
        for student, student_answers in answers.items():
            answer = None if student_answers is None else student_answers.get(cell.cell_id)
            parts.append(
                f"<tr><td>{escape(inert(student, keep=''))}</td>"
                f"<td>{_answer_html(answer, student_answers is not None)}</td><td></td></tr>"
            )
        parts.append("</tbody></table></section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def marks_template(solution: grade.SolutionNotebook, students: list[str]) -> str:
    """A marks CSV with every student's row for every written cell, points left empty."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(MARKS_HEADER)
    for cell in written_cells(solution):
        for student in students:
            writer.writerow([student, spreadsheet_safe(solution.name), cell.cell_id, ""])
    return buffer.getvalue()


def write_marking_pages(
    results: list[grade.GradeResult], solutions: list[grade.SolutionNotebook], folder: str | Path
) -> list[Path]:
    """Writes ``<folder>/<notebook>.html`` and ``<notebook>-marks.csv`` for every notebook with written cells.

    Second submissions (not graded) are left out. Returns the pages written.
    """
    by_name = {solution.name: solution for solution in solutions if written_cells(solution)}
    collected: dict[str, dict[str, dict | None]] = {name: {} for name in by_name}
    for result in results:
        solution = by_name.get(result.notebook)
        if solution is None or result.status.startswith("second submission"):
            continue
        try:
            answers = written_answers(grade.read_submission(result.submission), solution)
        except grade.SubmissionError:
            answers = None
        collected[result.notebook][spreadsheet_safe(result.student)] = answers
    pages = []
    for name, answers in collected.items():
        if not answers:
            continue
        stem = Path(name).stem
        pages.append(write_text_atomic(Path(folder) / f"{stem}.html", marking_page(by_name[name], answers)))
        write_text_atomic(Path(folder) / f"{stem}-marks.csv", marks_template(by_name[name], list(answers)))
    return pages


# --- marks: recorded, merged, shown in the gradebook -----------------------------------------
def marks_path(gradebook: str | Path) -> Path:
    """Where the points given by hand are kept: ``<gradebook>.marks.json``."""
    return Path(f"{gradebook}.marks.json")


def load_marks(gradebook: str | Path) -> dict[str, dict[str, float]]:
    """``"<student>/<notebook>"`` -> written cell id -> points (empty when nothing was merged yet)."""
    path = marks_path(gradebook)
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def _key(student: str, notebook: str) -> str:
    return f"{student}/{notebook}"


def manual_columns(
    student: str, solution: grade.SolutionNotebook | None, marks: dict[str, dict[str, float]]
) -> dict[str, str]:
    """A gradebook row's hand-graded columns: points per written cell (empty: pending), given, maximum, pending.

    Args:
        student: the student as the gradebook shows the name.
        solution: the row's solution notebook (None: no notebook matched).
        marks: from :func:`load_marks`.
    """
    cells, given = _given(student, solution, marks)
    columns = {
        f"written:{cell.cell_id}": grade.format_points(given[cell.cell_id]) if cell.cell_id in given else ""
        for cell in cells
    }
    points = written_points(student, solution, marks)
    columns.update(
        manual_points=grade.format_points(points.given),
        manual_max=grade.format_points(points.maximum),
        manual_pending=grade.format_points(points.pending),
    )
    return columns


class WrittenPoints(NamedTuple):
    """A submission's written answers: points given by hand, their maximum, and the points still pending."""

    given: float = 0.0
    maximum: float = 0.0
    pending: float = 0.0


def written_points(
    student: str, solution: grade.SolutionNotebook | None, marks: dict[str, dict[str, float]]
) -> WrittenPoints:
    """The written answers' points of one submission (all zero when its notebook has no written cell).

    Args:
        student: the student as the gradebook shows the name.
        solution: the submission's solution notebook (None: no notebook matched).
        marks: from :func:`load_marks`.
    """
    cells, given = _given(student, solution, marks)
    return WrittenPoints(
        given=sum(given.get(cell.cell_id, 0.0) for cell in cells),
        maximum=sum(cell.points for cell in cells),
        pending=sum(cell.points for cell in cells if cell.cell_id not in given),
    )


def _given(student: str, solution, marks) -> tuple[list[notebooks.WrittenCell], dict[str, float]]:
    """The notebook's written cells and the points given by hand to this student's answers (cell id -> points)."""
    if solution is None:
        return [], {}
    return written_cells(solution), marks.get(_key(student, solution.name), {})


def _read_marks(path: Path) -> list[tuple[int, list[str]]]:
    if path.stat().st_size > MAX_MARKS_BYTES:
        raise MarksError(f"{path.name}: larger than {MAX_MARKS_BYTES // 2**20} MB; is it the marks CSV?")
    text = path.read_text(encoding="utf-8-sig")
    rows = list(enumerate(csv.reader(io.StringIO(text)), start=1))
    if not rows or [cell.strip().lower() for cell in rows[0][1]] != MARKS_HEADER:
        raise MarksError(f"{path.name} line 1: the header must be {','.join(MARKS_HEADER)}")
    return [(number, row) for number, row in rows[1:] if any(cell.strip() for cell in row)]


def _check_mark(
    row: list[str], rows_by_key: dict[str, str], solutions: dict[str, grade.SolutionNotebook]
) -> tuple[str, str, float | None] | str:
    """``(key, cell, points)`` for one marks line (points None: left empty), or what is wrong with it."""
    if len(row) != len(MARKS_HEADER):
        return f"expected 4 values (student,notebook,cell,points), got {len(row)}"
    student, notebook, cell_id, points_text = (value.strip() for value in row)
    shown = next((name for name in (student, spreadsheet_safe(student)) if _key(name, notebook) in rows_by_key), None)
    if shown is None:
        known = any(key.startswith(f"{name}/") for key in rows_by_key for name in (student, spreadsheet_safe(student)))
        if known:
            return f"student {student!r} has no graded notebook {notebook!r} in the gradebook"
        return f"no student {student!r} in the gradebook"
    solution = solutions.get(rows_by_key[_key(shown, notebook)])
    cells = {cell.cell_id: cell for cell in written_cells(solution)} if solution else {}
    if cell_id not in cells:
        names = ", ".join(cells) or "none"
        return f"{notebook} has no written cell {cell_id!r} (its written cells: {names})"
    if not points_text:
        return _key(shown, notebook), cell_id, None
    try:
        points = float(points_text)
    except ValueError:
        return f"points {points_text!r} is not a number"
    maximum = cells[cell_id].points
    if not math.isfinite(points) or points < 0:
        return f"points {points_text!r} must be between 0 and {grade.format_points(maximum)}"
    if points > maximum:
        return f"{points_text} points is more than cell {cell_id!r} allows ({grade.format_points(maximum)})"
    return _key(shown, notebook), cell_id, points


def merge_marks(marks_csv: str | Path, gradebook: str | Path, solutions: list[grade.SolutionNotebook]) -> int:
    """Records the points of a marks CSV and rewrites the gradebook's hand-graded columns; grades nothing again.

    Only the cells the CSV gives points to change; rows with empty points are
    skipped (still pending). Nothing is written when any line is wrong.

    Args:
        marks_csv: ``student,notebook,cell,points`` (students and notebooks as
            the gradebook names them).
        gradebook: the gradebook CSV written by grading.
        solutions: from :func:`emnist_tf.grading.grade.load_solutions`.

    Returns:
        How many cells got points.

    Raises:
        MarksError: one line per wrong CSV line (unknown student, notebook or
            cell; points not a number, negative or above the cell's maximum;
            a cell given twice), each naming the line.
        FileNotFoundError: the marks CSV or the gradebook does not exist.
    """
    marks_csv, gradebook = Path(marks_csv), Path(gradebook)
    if not gradebook.is_file():
        raise FileNotFoundError(f"no gradebook {gradebook}: grade the class first, then merge marks into its gradebook")
    if not marks_csv.is_file():
        raise FileNotFoundError(f"no marks file {marks_csv}: fill in the marks template written beside the gradebook")
    header, rows = _read_gradebook(gradebook)
    rows_by_key = {_key(row["student"], row["notebook"]): row["notebook"] for row in rows}
    by_name = {solution.name: solution for solution in solutions}
    marks = load_marks(gradebook)
    errors, merged, seen = [], 0, {}
    for number, row in _read_marks(marks_csv):
        checked = _check_mark(row, rows_by_key, by_name)
        if isinstance(checked, str):
            errors.append(f"{marks_csv.name} line {number}: {checked}")
            continue
        key, cell_id, points = checked
        if (key, cell_id) in seen:
            earlier = seen[key, cell_id]
            errors.append(f"{marks_csv.name} line {number}: cell {cell_id!r} of {key} is already on line {earlier}")
            continue
        seen[key, cell_id] = number
        if points is not None:
            marks.setdefault(key, {})[cell_id] = points
            merged += 1
    if errors:
        raise MarksError("\n".join(errors))
    write_text_atomic(marks_path(gradebook), json.dumps(marks, indent=1, sort_keys=True) + "\n")
    _rewrite_manual_columns(gradebook, header, rows, by_name, marks)
    return merged


def _read_gradebook(gradebook: Path) -> tuple[list[str], list[dict[str, str]]]:
    with gradebook.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _rewrite_manual_columns(gradebook, header, rows, solutions, marks) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        row.update(manual_columns(row["student"], solutions.get(row["notebook"]), marks))
        writer.writerow(row)
    write_text_atomic(gradebook, buffer.getvalue())
