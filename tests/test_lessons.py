"""The lessons in course/: length, self-check questions answered in the guide, figures, lesson 02's convention."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from emnist_tf.course import lesson_figures

COURSE = Path(__file__).resolve().parent.parent / "course"
LESSONS = sorted(COURSE.glob("[01][0-9]-*.md"))
GUIDE = COURSE / "instructor_guide.md"
MINIMUM_WORDS = 1200
# Column convention: a weight matrix applied on the left of an activation, input or error (LaTeX or Unicode).
COLUMN_FORM = (
    r"W\^\{?[lL](?:[+-]1)?\}?\)?(?:\^\{?(?:\\top|T)\}?)?\s*(?:\\,)?\s*(?:a|A|x|X|\\delta|\\Delta)\b",
    r"W[ˡᴸ⁺⁻¹]*\)?ᵀ?\s*[aAxXδΔ]",
)


def prose_words(markdown: str) -> int:
    """Words of the prose: fenced code, display and inline maths, inline code and image lines left out."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\$[^$\n]+\$", " ", text)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", text)
    return sum(1 for token in text.split() if re.search(r"[A-Za-z]", token))


def section(markdown: str, heading: str) -> str:
    """The text under a ``## heading`` (up to the next ``## `` heading)."""
    match = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", markdown, flags=re.M | re.S)
    return match.group(1) if match else ""


def column_convention(text: str) -> list[str]:
    """Every place where ``text`` multiplies a vector on the left by a weight matrix."""
    return [match for pattern in COLUMN_FORM for match in re.findall(pattern, text)]


def numbered_items(text: str) -> list[int]:
    return [int(number) for number in re.findall(r"^(\d+)\.\s+\S", text, flags=re.M)]


def lesson_number(path: Path) -> int:
    return int(path.name[:2])


def test_there_are_eleven_lessons():
    assert [lesson_number(path) for path in LESSONS] == list(range(1, 12))


def test_prose_words_skips_code_and_maths():
    assert prose_words("Two words\n```python\nx = 1 and more words here\n```\n$$a + b$$ `code words` $x$") == 2


@pytest.mark.parametrize("path", LESSONS, ids=lambda path: path.stem)
def test_lesson_is_long_enough(path):
    words = prose_words(path.read_text())
    assert words >= MINIMUM_WORDS, f"{path.name}: {words} words of prose, needs {MINIMUM_WORDS}"


@pytest.mark.parametrize("path", LESSONS, ids=lambda path: path.stem)
def test_lesson_has_self_check_questions_and_a_measured_box(path):
    text = path.read_text()
    questions = numbered_items(section(text, "Self-check"))
    assert 3 <= len(questions) <= 5, f"{path.name}: {len(questions)} self-check questions"
    assert questions == list(range(1, len(questions) + 1))
    assert "What a full run gives" in text


def guide_answers() -> dict[int, list[int]]:
    answers = section(GUIDE.read_text(), "Answers to the self-check questions")
    blocks = re.split(r"^### Lesson (\d+)\b.*$", answers, flags=re.M)
    return {int(number): numbered_items(body) for number, body in zip(blocks[1::2], blocks[2::2])}


def test_guide_answers_every_self_check_question():
    answers = guide_answers()
    for path in LESSONS:
        questions = numbered_items(section(path.read_text(), "Self-check"))
        assert answers.get(lesson_number(path)) == questions, f"{path.name}: answers do not match the questions"


def test_guide_points_table_matches_the_solution_notebooks():
    """One row per notebook whose exercises and points are the solution notebook's, and the total."""
    import nbformat

    from emnist_tf.course import notebooks

    text = GUIDE.read_text()
    text = text[text.index("| notebook | exercises | points |") :]  # the points table, not the time table above it
    total = manual_total = 0.0
    for path in LESSONS:
        solution = COURSE.parent / "solutions" / f"{path.stem}.ipynb"
        exercises = notebooks.exercises(nbformat.read(str(solution), as_version=4), name=solution.name)
        points = sum(exercise.points for exercise in exercises.values())
        total += points
        row = re.search(rf"^\| *`{path.stem}` *\|(?P<names>[^|]*)\| *(?P<points>[0-9.]+) *\|", text, flags=re.M)
        assert row, f"no points row for {path.stem}"
        assert float(row["points"]) == points, f"{path.stem}: the guide says {row['points']}, the notebook {points:g}"
        for name, exercise in exercises.items():
            points_given = rf"{name} \({exercise.points:g}(\)|: )"  # "ex03_fit (2)" or "ex03_fit (2: the target)"
            assert re.search(points_given, row["names"]), f"{path.stem}: {name} missing or wrong"
            if exercise.manual_points:
                manual_total += exercise.manual_points
                assert re.search(rf"{name} \([^)]*\) \+ {exercise.manual_points:g}\b", row["names"]), (
                    f"{path.stem}: {name}'s {exercise.manual_points:g} points by hand missing or wrong"
                )
    assert f"**{total:g}** automatic, and {manual_total:g} graded by hand" in text, "the total of the points table"


@pytest.mark.parametrize("path", LESSONS, ids=lambda path: path.stem)
def test_every_referenced_figure_exists(path):
    figures = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", path.read_text())
    assert figures, f"{path.name} references no figure"
    for figure in figures:
        assert (COURSE / figure).is_file(), f"{path.name} references missing {figure}"
        assert Path(figure).stem in lesson_figures.FIGURES, f"{figure} is not drawn by the generator"


def test_lesson_02_keeps_the_row_convention():
    text = (COURSE / "02-network-from-scratch.md").read_text()
    column_form = column_convention(text)
    assert not column_form, f"lesson 02 mixes in the column convention: {column_form}"
    assert r"A^{l-1} (W^{l})^\top" in text
    # Sigmoid outputs use the binary cross-entropy of emnist_tf.scratch, not -sum y ln a alone.
    assert r"(1 - y_{k})" in text


def test_column_convention_is_detected():
    for column in (r"z^{l} = W^{l} a^{l-1} + b^{l}", r"((W^{l+1})^\top \delta^{l+1})"):
        assert column_convention(column), column
    assert not column_convention(r"Z^{l} = A^{l-1} (W^{l})^\top + b^{l}")
    assert column_convention("((Wˡ⁺¹)ᵀ δˡ⁺¹)")


def test_generator_writes_exactly_the_figures_asked_for(tmp_path):
    names = ["dropout", "convolution"]
    paths = lesson_figures.generate(tmp_path, names)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["convolution.png", "dropout.png"]
    assert [path.read_bytes()[:8] for path in paths] == [b"\x89PNG\r\n\x1a\n"] * 2
    again = lesson_figures.generate(tmp_path / "again", names)
    assert [path.read_bytes() for path in again] == [path.read_bytes() for path in paths]


def test_generator_rejects_an_unknown_name(tmp_path):
    with pytest.raises(ValueError, match="unknown figure"):
        lesson_figures.generate(tmp_path, ["no_such_figure"])
