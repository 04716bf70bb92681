"""Student-facing text speaks of the course only: no development history in course/, exercises/, solutions/, README.

Students and instructors read the lessons, the notebooks and the README. They must not meet issue numbers
("issue 14", "issue #5", "notes of issue 6"), work sessions, or accounts of how a figure was obtained while the
project was built ("killed and resumed four times", "made by hand while ..."). A Keras call such as
``keras.backend.clear_session()`` is not history and is allowed.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
HISTORY = {
    "an issue number": re.compile(r"\bissues?\s*#?\s*\d+", re.IGNORECASE),
    "notes of ...": re.compile(r"\bnotes of\b", re.IGNORECASE),
    "a work session": re.compile(r"\bsessions?\b", re.IGNORECASE),
    "killed and resumed": re.compile(r"\bkilled and resumed\b", re.IGNORECASE),
    "made by hand while": re.compile(r"\bmade by hand\b", re.IGNORECASE),
    "measured by hand": re.compile(r"\bmeasured by hand\b", re.IGNORECASE),
    "work periods": re.compile(r"\bwork periods?\b", re.IGNORECASE),
    "an earlier version of the course": re.compile(r"\b(an? )?earlier version of (this|the) (course|project)\b", re.I),
}
ALLOWED = re.compile(r"\bclear_session\(\)|\bKernelSession\b")


def student_texts() -> dict[str, str]:
    """Every student-facing text: lessons, the instructor guide, README, and each notebook cell's source."""
    texts = {str(path.relative_to(REPO)): path.read_text(encoding="utf-8") for path in sorted(REPO.glob("course/*.md"))}
    texts["README.md"] = (REPO / "README.md").read_text(encoding="utf-8")
    for folder in ("exercises", "solutions"):
        for path in sorted((REPO / folder).glob("*.ipynb")):
            notebook = nbformat.read(str(path), as_version=4)
            for index, cell in enumerate(notebook.cells):
                texts[f"{path.relative_to(REPO)}, cell {index}"] = cell.source
    return texts


def history_hits(text: str) -> list[str]:
    """The phrases of ``text`` that tell development history, each with what kind it is."""
    flat = ALLOWED.sub(" ", " ".join(text.split()))  # a phrase may be broken over two lines
    return [f"{kind}: {match.group(0)!r}" for kind, pattern in HISTORY.items() for match in pattern.finditer(flat)]


@pytest.mark.parametrize(
    "text",
    [
        "see the notes of issue 6",
        "(issue 14's whole-assignment\nbenchmark)",
        "fixed in issue #5",
        "made by hand in the session that built the probes",
        "killed and resumed over 4 sessions",
        "killed and resumed four times",
        "over several work periods",
        "the CNN of an earlier version of this course",
    ],
)
def test_history_is_recognised(text):
    assert history_hits(text), f"not recognised as development history: {text!r}"


@pytest.mark.parametrize(
    "text",
    [
        "keras.backend.clear_session()  # free the models of the previous trial",
        "Issues of class imbalance: 19 classes hold fewer images.",
        "Batch 128 for 20 epochs; the test set is used once, at the end.",
    ],
)
def test_course_text_is_not_mistaken_for_history(text):
    assert history_hits(text) == []


def test_student_facing_text_holds_no_development_history():
    texts = student_texts()
    assert any(name.startswith("exercises/") for name in texts) and "README.md" in texts
    found = [f"{name}: {hit}" for name, text in texts.items() for hit in history_hits(text)]
    assert not found, "development history in student-facing text:\n" + "\n".join(found)
