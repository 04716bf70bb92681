"""Feedback for a student: points per exercise and why each check failed.

Every line is written by the grader: a hidden check that fails is reported as
"hidden check failed" with a sentence the check's author wrote (never its
inputs), the student's own cells that failed are named by number only, and no
text the student controls (exception messages, outputs, Markdown) is ever copied in. As a second guard,
any line of a hidden test's code that still turns up is redacted.

Example:
    >>> from emnist_tf.grading import feedback
    >>> text = feedback.render(result, hidden_sources=solution.hidden_sources())
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from emnist_tf.files import write_text_atomic
from emnist_tf.grading.grade import GradeResult, format_points
from emnist_tf.grading.manual import WrittenPoints

REDACTED = "[hidden]"
MAX_FEEDBACK_CHARS = 20_000
MAX_PROBLEMS = 30
_MIN_REDACT_LENGTH = 8
NO_WRITTEN_ANSWERS = WrittenPoints()


def plain(text: str, limit: int = 120) -> str:
    """Reduces text that came from outside the grader (file and folder names) to inert plain text."""
    text = re.sub(r"[^A-Za-z0-9 ._-]", "_", str(text))
    return text[:limit]


def render(result: GradeResult, *, hidden_sources: list[str] = (), written: WrittenPoints = NO_WRITTEN_ANSWERS) -> str:
    """Returns the Markdown feedback for one graded submission.

    Every line is grader text: check numbers, points and reasons the grader
    chose; names taken from the file system are reduced to letters, digits and
    ``._-``; the whole text is capped at ``MAX_FEEDBACK_CHARS``. A notebook
    with written answers shows its autograded points apart from them and says
    how many points the instructor has still to give, so no total looks final
    while any are pending.

    Args:
        result: from :func:`emnist_tf.grading.grade.grade_submission`.
        hidden_sources: the hidden tests' code, to make sure none of it shows.
        written: the submission's written answers (:func:`~emnist_tf.grading.manual.written_points`).
    """
    lines = [
        f"# Feedback for {plain(result.student)}: {plain(result.notebook or result.submission.name)}",
        "",
        f"Submission: `{plain(result.submission.name)}`  ",
        *_totals(result, written),
    ]
    if result.status != "graded":
        lines += ["", f"The notebook could not be graded normally: {plain(result.status, 300)}"]
    if result.stopped:  # grader words (describe_outcome), never the student's
        lines += ["", f"Your notebook did not run to its end: {result.stopped}"]
    if result.duplicates:
        lines += [
            "",
            "Check cells found more than once (only the last copy counted): "
            + plain(", ".join(result.duplicates), 300),
        ]
    for exercise in result.exercises:
        lines += ["", f"## {plain(exercise.name)}: {format_points(exercise.earned)} / {format_points(exercise.points)}"]
        if exercise.note:
            lines += ["", f"Note: {exercise.note}", ""]
        for number, check in enumerate(exercise.checks, start=1):
            mark = "passed" if check.earned == check.points else check.message
            lines.append(f"- check {number} ({format_points(check.earned)}/{format_points(check.points)}): {mark}")
    numbers = [str(number) for number in result.cell_problems if type(number) is int][:MAX_PROBLEMS]
    if numbers:
        lines += ["", f"Code cells of yours that failed (by number, counting code cells): {', '.join(numbers)}"]
    text = redact("\n".join(lines) + "\n", hidden_sources)
    if len(text) > MAX_FEEDBACK_CHARS:
        text = text[:MAX_FEEDBACK_CHARS] + "\n\n(feedback shortened)\n"
    return text


def _totals(result: GradeResult, written: WrittenPoints) -> list[str]:
    """The total line, or, with written answers, the autograded and hand-graded points apart and what is pending."""
    total, maximum = format_points(result.total), format_points(result.max_points)
    if not written.maximum:
        return [f"Total: **{total} / {maximum}** points"]
    whole = format_points(result.max_points + written.maximum)
    lines = [f"Autograded: **{total} / {maximum}** points  "]
    if written.given or not written.pending:
        given, marked = format_points(written.given), format_points(written.maximum - written.pending)
        lines.append(f"Written answers graded by your instructor: **{given} / {marked}** points  ")
    if written.pending:
        lines.append(
            f"{format_points(written.pending)} points of written answers will be graded by your instructor: "
            f"this is not your final total (the notebook is out of {whole} points)"
        )
    else:
        lines.append(f"Total: **{format_points(result.total + written.given)} / {whole}** points")
    return lines


def redact(text: str, hidden_sources: list[str]) -> str:
    """Replaces every substantial line of hidden test code found in ``text``."""
    for source in hidden_sources:
        for line in source.splitlines():
            line = line.strip()
            if len(line) >= _MIN_REDACT_LENGTH and not line.startswith("#"):
                text = text.replace(line, REDACTED)
    return text


def feedback_path(result: GradeResult, feedback_dir: str | Path) -> Path:
    """Where a submission's feedback goes: ``<dir>/<student>/<notebook>.md``.

    A name that is not already file-name safe gets a digest of its original
    spelling, so "Zoë" and "Zoé" (or any two non-Latin names) never share a file.
    """
    stem = _file_name(Path(result.notebook or result.submission.name).stem, "notebook")
    return Path(feedback_dir) / _file_name(result.student, "student") / f"{stem}.md"


def _file_name(name: str, fallback: str) -> str:
    safe = plain(name).lstrip(".") or fallback
    if safe == name:
        return safe
    return f"{safe[:100]}-{hashlib.sha256(str(name).encode()).hexdigest()[:10]}"


def write(
    result: GradeResult,
    feedback_dir: str | Path,
    *,
    hidden_sources: list[str] = (),
    written: WrittenPoints = NO_WRITTEN_ANSWERS,
) -> Path:
    """Writes the feedback file of one submission and returns its path (arguments as :func:`render`)."""
    text = render(result, hidden_sources=hidden_sources, written=written)
    return write_text_atomic(feedback_path(result, feedback_dir), text)
