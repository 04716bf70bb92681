"""``forbid``, enforced outside the student's process: a copy of the library whose forbidden functions refuse.

A solution cell's ``"forbid"`` names library functions the exercise asks the
student to write (``emnist_tf.data.inspect.class_counts``). For each distinct
set of forbidden names the grader writes, in its own temporary folder, a copy
of the ``emnist_tf`` package (without ``emnist_tf/grading``) in which the body
of every forbidden function is replaced by a call that raises; the sandbox
mounts that copy read-only instead of the library (``Sandbox(library_dir=...)``).
The original code is not in the copy, so nothing the student's process does
(a table of originals, ``importlib.reload``, ``compile`` with a library file
name, a library helper that calls the forbidden function) brings it back.

The copy is the library of the whole notebook run: a given cell that calls a
forbidden function (a demonstration) fails too, harmlessly, because no check
reads a value a given cell made. Calls are recorded in the copy's
``emnist_tf._forbidden`` module, which the runner reports after each cell; the
grader counts only calls made in the student's own cells and functions, to tell
the student why an exercise earned nothing.

Example:
    >>> with LibraryCopies() as copies:
    ...     folder = copies.library(["emnist_tf.data.inspect.class_counts"])
"""

from __future__ import annotations

import ast
import contextlib
import os
import shutil
import tempfile
import threading
from pathlib import Path

import emnist_tf

PACKAGE = "emnist_tf"
RECORD_MODULE = "_forbidden"  # emnist_tf._forbidden in the copy
_RECORD_SOURCE = '''"""Forbidden library functions called in this notebook (written by the grader)."""

CALLS = set()


def refuse(name):
    CALLS.add(name)
    short = name.rsplit(".", 1)[-1]
    raise RuntimeError(f"this exercise asks you to write {short} yourself; the library's {short} is switched off")
'''


class ForbidError(ValueError):
    """A forbidden name that is not a function defined in the library."""


def library_root() -> Path:
    """The folder of the ``emnist_tf`` package itself."""
    return Path(emnist_tf.__file__).resolve().parent


def _module_file(root: Path, module: str) -> Path | None:
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = root.joinpath(*parts[1:])
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _absolute(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _find_definition(root: Path, module: str, qualname: list[str], depth: int = 0):
    """``(file, def node)`` where ``module.qualname`` is defined, following ``from X import name`` re-exports."""
    path = _module_file(root, module)
    if path is None or depth > 10:
        return None
    tree = ast.parse(path.read_text(encoding="utf-8"))
    body, node = tree.body, None
    for part in qualname:
        node = next(
            (
                item
                for item in body
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and item.name == part
            ),
            None,
        )
        if node is None:
            break
        body = node.body
    if node is not None and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return path, node
    for item in ast.walk(tree):  # a re-export: `from emnist_tf.data.inspect import class_counts` (also lazily)
        if isinstance(item, ast.ImportFrom):
            for alias in item.names:
                if (alias.asname or alias.name) == qualname[0]:
                    source = _absolute(module, item, path.name == "__init__.py")
                    found = _find_definition(root, source, [alias.name, *qualname[1:]], depth + 1)
                    if found is None:  # `from emnist_tf import data` then data.x: a submodule
                        found = _find_definition(root, f"{source}.{alias.name}", qualname[1:], depth + 1)
                    if found is not None:
                        return found
    return None


def locate(root: Path, name: str) -> tuple[Path, ast.FunctionDef]:
    """Where the library defines the function ``name`` (``emnist_tf.module.function`` or ``...Class.method``).

    Raises:
        ForbidError: if ``name`` is not a function of the library.
    """
    parts = name.split(".")
    for split in range(len(parts) - 1, 0, -1):
        found = _find_definition(root, ".".join(parts[:split]), parts[split:])
        if found is not None:
            return found
    raise ForbidError(f"forbid names {name!r}, which is not a function of the emnist_tf library; fix the name")


def _replace_bodies(path: Path, functions: list[tuple[ast.FunctionDef, str]]) -> None:
    """Rewrites one file: each function keeps its signature and decorators; its body only refuses."""
    lines = path.read_text(encoding="utf-8").split("\n")
    for node, name in sorted(functions, key=lambda item: -item[0].lineno):
        first = node.body[0]
        call = f"__import__({PACKAGE + '.' + RECORD_MODULE!r}, fromlist=['refuse']).refuse({name!r})"
        if first.lineno == node.lineno:  # `def f(x): return x` on one line
            head = lines[node.lineno - 1][: first.col_offset].rstrip()
            lines[node.lineno - 1 : node.end_lineno] = [head, " " * (node.col_offset + 4) + call]
        else:
            lines[first.lineno - 1 : node.end_lineno] = [" " * first.col_offset + call]
    path.write_text("\n".join(lines), encoding="utf-8")


def write_library(names: list[str] | frozenset[str], destination: Path, root: Path | None = None) -> Path:
    """Writes ``destination/emnist_tf``: the library without ``grading``, its forbidden functions refusing.

    Returns:
        The package folder of the copy (to mount at ``/opt/emnist_tf/emnist_tf``).

    Raises:
        ForbidError: if a name is not a function of the library.
    """
    root = root or library_root()
    located = [(name, *locate(root, name)) for name in sorted(set(names))]
    package = Path(destination) / PACKAGE
    shutil.copytree(root, package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "grading"))
    (package / f"{RECORD_MODULE}.py").write_text(_RECORD_SOURCE, encoding="utf-8")
    (package / "grading").mkdir()  # empty: the sandbox mounts an empty folder there, as over the library
    by_file: dict[Path, list] = {}
    for name, path, node in located:
        by_file.setdefault(package / path.relative_to(root), []).append((node, name))
    for path, functions in by_file.items():
        _replace_bodies(path, functions)
    for folder, _, files in os.walk(package):
        for file in files:
            os.chmod(Path(folder) / file, 0o444)
        os.chmod(folder, 0o555)
    return package


class LibraryCopies:
    """The grader's cache of library copies, one per distinct set of forbidden names, removed on close."""

    def __init__(self):
        self._folder: Path | None = None
        self._copies: dict[frozenset[str], Path] = {}
        self._lock = threading.Lock()

    def library(self, names) -> Path:
        """The package folder of the copy forbidding ``names`` (made once)."""
        key = frozenset(names)
        with self._lock:
            if key not in self._copies:
                if self._folder is None:
                    self._folder = Path(tempfile.mkdtemp(prefix="emnist-tf-library-"))
                    os.chmod(self._folder, 0o755)
                target = self._folder / str(len(self._copies))
                target.mkdir()
                os.chmod(target, 0o755)
                self._copies[key] = write_library(key, target)
            return self._copies[key]

    def close(self) -> None:
        with self._lock:
            if self._folder is not None:
                for folder, directories, _ in os.walk(self._folder):
                    for name in directories:
                        with contextlib.suppress(OSError):
                            os.chmod(Path(folder) / name, 0o755)
                shutil.rmtree(self._folder, ignore_errors=True)
            self._folder, self._copies = None, {}

    def __enter__(self) -> LibraryCopies:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
