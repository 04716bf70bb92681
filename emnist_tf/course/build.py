"""Generating ``exercises/`` from ``solutions/`` (with nbgrader metadata) and checking that it is up to date.

Example:
    >>> from emnist_tf.course import build
    >>> build.build_exercises("solutions", "exercises")      # writes the student notebooks
    >>> build.stale_exercises("solutions", "exercises")      # [] when up to date
"""

from __future__ import annotations

import dataclasses
import importlib
import types
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
        raise FileNotFoundError(f"solutions folder {folder} does not exist; give the folder of solution notebooks")
    return sorted(folder.glob("*.ipynb"))


def read_notebook(path: str | Path):
    """Reads a notebook (nbformat version 4), with a one-line error if it is not one."""
    try:
        return nbformat.read(str(path), as_version=4)
    except (OSError, ValueError, nbformat.reader.NotJSONError) as error:
        raise ValueError(
            f"{path} is not a readable notebook ({type(error).__name__}); open it in Jupyter and save it again"
        ) from None


def check_forbidden_names(solution, *, name: str = "notebook") -> None:
    """Checks that every ``forbid`` entry of a solution cell names a library function by its real path.

    Raises:
        ValueError: one line naming the notebook, the cell and the bad entry.
    """
    for index, cell in enumerate(solution.cells):
        forbid = notebooks.cell_info(cell).get("forbid")
        if forbid is None:
            continue
        where = f"{name}, cell {index}"
        if notebooks.cell_kind(cell) != "solution" or not isinstance(forbid, list):
            raise ValueError(f"{where}: 'forbid' must be a list of function names in a solution cell's metadata")
        for entry in forbid:
            if not _is_library_function(entry):
                raise ValueError(
                    f"{where}: forbid entry {entry!r} is not a function of the emnist_tf library; "
                    "name it by its defining module, e.g. emnist_tf.robustness.adversarial.fgsm"
                )


def _is_library_function(entry) -> bool:
    if not isinstance(entry, str) or not entry.startswith("emnist_tf."):
        return False
    module_name, _, attribute = entry.rpartition(".")
    try:
        function = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError):
        return False
    return isinstance(function, types.FunctionType) and f"{function.__module__}.{function.__qualname__}" == entry


def marked_solution_text(solution_path: str | Path) -> str:
    """Returns the solution notebook's text with nbgrader metadata derived from ours (what build writes)."""
    path = Path(solution_path)
    solution = read_notebook(path)
    check_forbidden_names(solution, name=str(path))
    return notebooks.notebook_text(notebooks.with_nbgrader_metadata(solution, name=str(path)))


def exercise_text(solution_path: str | Path) -> str:
    """Returns the exercise notebook's text generated from one solution notebook."""
    path = Path(solution_path)
    solution = read_notebook(path)
    check_forbidden_names(solution, name=str(path))
    return notebooks.notebook_text(notebooks.make_exercise(solution, name=str(path)))


def nbgrader_metadata_current(solution_path: str | Path) -> bool:
    """True when every cell of the solution carries the nbgrader metadata derived from ours."""
    path = Path(solution_path)
    solution = read_notebook(path)
    for index, cell in enumerate(solution.cells):
        expected = notebooks.nbgrader_metadata(cell, where=f"{path}, cell {index}")
        if cell.get("metadata", {}).get(notebooks.NBGRADER_KEY) != expected:
            return False
    return True


def build_exercises(solutions_dir: str | Path = "solutions", exercises_dir: str | Path = "exercises") -> list[Path]:
    """Adds nbgrader metadata to the solutions, writes one exercise notebook per solution, removes orphans.

    The output depends only on the solutions, so building twice gives
    byte-identical files.

    Args:
        solutions_dir: folder of solution notebooks (the source).
        exercises_dir: folder of generated exercise notebooks.

    Returns:
        The exercise notebooks written, sorted.

    Raises:
        ValueError: if a solution notebook's markers, ids or ``forbid`` entries
            are wrong (nothing is written then).
    """
    sources = solution_paths(solutions_dir)
    marked = {path: marked_solution_text(path) for path in sources}
    texts = {path.name: exercise_text(path) for path in sources}
    for path, text in marked.items():
        if not nbgrader_metadata_current(path) or _has_runtime_metadata(path):
            path.write_text(text, encoding="utf-8")
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


def _has_runtime_metadata(path: Path) -> bool:
    notebook = read_notebook(path)
    return "celltoolbar" in notebook.metadata or any(
        key in cell.metadata for cell in notebook.cells for key in notebooks.OUTPUT_METADATA
    )


def stale_exercises(
    solutions_dir: str | Path = "solutions", exercises_dir: str | Path = "exercises"
) -> list[Staleness]:
    """Lists what ``build_exercises`` would change.

    Returns:
        One :class:`Staleness` per solution whose nbgrader metadata is missing
        or stale, and per missing, different or orphaned exercise notebook;
        empty when everything is up to date.
    """
    target = Path(exercises_dir)
    stale = []
    names = set()
    for source in solution_paths(solutions_dir):
        names.add(source.name)
        if not nbgrader_metadata_current(source):
            stale.append(Staleness(source, "nbgrader metadata missing or stale"))
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
