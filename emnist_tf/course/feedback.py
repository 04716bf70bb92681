"""Feedback for a student: points per exercise and why each check failed.

Hidden checks are reported as "hidden check failed" and nothing else; as a
second guard, any line of a hidden test's code that still turns up in the text
(for example echoed in an error message of the student's own code) is redacted.

Example:
    >>> from emnist_tf.course import feedback
    >>> text = feedback.render(result, hidden_sources=solution.hidden_sources())
"""

from __future__ import annotations

from pathlib import Path

from emnist_tf.course.grade import GradeResult, format_points

REDACTED = "[hidden]"
_MIN_REDACT_LENGTH = 8


def render(result: GradeResult, *, hidden_sources: list[str] = ()) -> str:
    """Returns the Markdown feedback for one graded submission.

    Args:
        result: from :func:`emnist_tf.course.grade.grade_submission`.
        hidden_sources: the hidden tests' code, to make sure none of it shows.
    """
    lines = [
        f"# Feedback for {result.student}: {result.notebook or result.submission.name}",
        "",
        f"Submission: `{result.submission.name}`  ",
        f"Total: **{format_points(result.total)} / {format_points(result.max_points)}** points",
    ]
    if result.status != "graded":
        lines += ["", f"The notebook could not be graded normally: {result.status}"]
    for exercise in result.exercises:
        lines += ["", f"## {exercise.name}: {format_points(exercise.earned)} / {format_points(exercise.points)}"]
        if exercise.note:
            lines += ["", f"Note: {exercise.note}", ""]
        for number, check in enumerate(exercise.checks, start=1):
            mark = "passed" if check.earned == check.points else check.message
            lines.append(f"- check {number} ({format_points(check.earned)}/{format_points(check.points)}): {mark}")
    if result.cell_problems:
        lines += ["", "## Other cells that failed", ""]
        lines += [f"- {problem}" for problem in result.cell_problems]
    return redact("\n".join(lines) + "\n", hidden_sources)


def redact(text: str, hidden_sources: list[str]) -> str:
    """Replaces every substantial line of hidden test code found in ``text``."""
    for source in hidden_sources:
        for line in source.splitlines():
            line = line.strip()
            if len(line) >= _MIN_REDACT_LENGTH and not line.startswith("#"):
                text = text.replace(line, REDACTED)
    return text


def feedback_path(result: GradeResult, feedback_dir: str | Path) -> Path:
    """Where a submission's feedback goes: ``<dir>/<student>/<notebook>.md``."""
    stem = Path(result.notebook or result.submission.name).stem
    return Path(feedback_dir) / result.student / f"{stem}.md"


def write(result: GradeResult, feedback_dir: str | Path, *, hidden_sources: list[str] = ()) -> Path:
    """Writes the feedback file of one submission and returns its path."""
    path = feedback_path(result, feedback_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(result, hidden_sources=hidden_sources), encoding="utf-8")
    return path
