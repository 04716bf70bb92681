"""Generating ``exercises/`` from ``solutions/`` and checking that it is up to date.

Example:
    >>> from emnist_tf.course import build
    >>> build.build_exercises("solutions", "exercises")      # writes the student notebooks
    >>> build.stale_exercises("solutions", "exercises")      # [] when up to date
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import nbformat

from emnist_tf.course import notebooks


@dataclasses.dataclass(frozen=True)
class Staleness:
    """Why one exercise notebook is out of date.

    Attributes:
        path: the exercise notebook.
        reason: ``"missing"``, ``"differs"`` or ``"no solution"`` (an orphan).
    """

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path} ({self.reason})"


def solution_paths(solutions_dir: str | Path) -> list[Path]:
    """Returns the solution notebooks of a folder, sorted by name.

    Raises:
        FileNotFoundError: if the folder does not exist.
    """
    folder = Path(solutions_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"solutions folder {folder} does not exist; pass --solutions DIR")
    return sorted(folder.glob("*.ipynb"))


def read_notebook(path: str | Path):
    """Reads a notebook (nbformat version 4), with a one-line error if it is not one."""
    try:
        return nbformat.read(str(path), as_version=4)
    except (OSError, ValueError, nbformat.reader.NotJSONError) as error:
        raise ValueError(
            f"{path} is not a readable notebook ({type(error).__name__}); open it in Jupyter and save it again"
        ) from None


def exercise_text(solution_path: str | Path) -> str:
    """Returns the exercise notebook's text generated from one solution notebook."""
    path = Path(solution_path)
    solution = read_notebook(path)
    return notebooks.notebook_text(notebooks.make_exercise(solution, name=str(path)))


def build_exercises(solutions_dir: str | Path = "solutions", exercises_dir: str | Path = "exercises") -> list[Path]:
    """Writes one exercise notebook per solution notebook and removes orphans.

    The output depends only on the solutions, so building twice gives
    byte-identical files.

    Args:
        solutions_dir: folder of solution notebooks (the source).
        exercises_dir: folder of generated exercise notebooks.

    Returns:
        The exercise notebooks written, sorted.

    Raises:
        ValueError: if a solution notebook's markers are wrong (nothing is written then).
    """
    sources = solution_paths(solutions_dir)
    texts = {path.name: exercise_text(path) for path in sources}
    target = Path(exercises_dir)
    target.mkdir(parents=True, exist_ok=True)
    for orphan in sorted(target.glob("*.ipynb")):
        if orphan.name not in texts:
            orphan.unlink()
    written = []
    for filename, text in texts.items():
        path = target / filename
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale_exercises(
    solutions_dir: str | Path = "solutions", exercises_dir: str | Path = "exercises"
) -> list[Staleness]:
    """Lists the exercise notebooks that ``build_exercises`` would change.

    Returns:
        One :class:`Staleness` per missing, different or orphaned exercise
        notebook; empty when ``exercises/`` is up to date.
    """
    target = Path(exercises_dir)
    stale = []
    names = set()
    for source in solution_paths(solutions_dir):
        names.add(source.name)
        path = target / source.name
        if not path.exists():
            stale.append(Staleness(path, "missing"))
        elif path.read_text(encoding="utf-8") != exercise_text(source):
            stale.append(Staleness(path, "differs"))
    if target.is_dir():
        for path in sorted(target.glob("*.ipynb")):
            if path.name not in names:
                stale.append(Staleness(path, "no solution"))
    return stale
