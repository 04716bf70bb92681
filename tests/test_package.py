"""The flat public API, fast mode and the command line's plumbing."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

import emnist_tf
from emnist_tf import config


def test_every_public_name_resolves_to_what_its_module_defines():
    assert emnist_tf.__all__ == sorted(emnist_tf._EXPORTS) + ["__version__"]
    for name, module in emnist_tf._EXPORTS.items():
        value = getattr(emnist_tf, name)
        assert value is getattr(importlib.import_module(module), name), name
        defined_in = getattr(value, "__module__", None)
        if defined_in is not None and not isinstance(value, (tuple, list, dict)):  # functions and classes
            assert defined_in == module or defined_in.startswith(module + "."), (name, defined_in, module)


def _type_checking_imports() -> dict[str, str]:
    """``{name: module}`` of the ``if TYPE_CHECKING:`` block of ``emnist_tf/__init__.py``."""
    tree = ast.parse(Path(emnist_tf.__file__).read_text(encoding="utf-8"))
    blocks = [
        node for node in tree.body if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
    ]
    assert len(blocks) == 1
    return {
        alias.asname or alias.name: statement.module
        for statement in blocks[0].body
        if isinstance(statement, ast.ImportFrom)
        for alias in statement.names
    }


def test_type_checking_imports_match_the_export_table():
    assert _type_checking_imports() == emnist_tf._EXPORTS


@pytest.mark.parametrize(
    "statement",
    ["import emnist_tf", "import emnist_tf.evaluation, emnist_tf.modeling.runs", "emnist_tf.cli.build_parser()"],
)
def test_importing_the_package_and_building_the_command_line_stay_light(statement):
    code = f"import sys, emnist_tf.cli; {statement}; print(sorted({{'tensorflow', 'keras'}} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=3600)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stdout + result.stderr


def test_fast_mode_caps_only_when_on(monkeypatch):
    monkeypatch.setenv(config.FAST_ENV, "0")
    assert not config.fast_mode() and config.cap(50, "epochs") == 50 and config.cap(None, "trials") is None
    monkeypatch.setenv(config.FAST_ENV, "1")
    assert config.fast_mode() and config.cap(50, "epochs") == config.FAST_LIMITS.epochs
    assert config.cap(None, "train_examples") == config.FAST_LIMITS.train_examples
    assert config.cap(0, "epochs") == 0
    with pytest.raises(ValueError, match="unknown fast-mode limit 'epoch'"):
        config.cap(3, "epoch")


def test_fast_flag_turns_fast_mode_on_for_the_command(monkeypatch):
    import emnist_tf.cli.data as data_command
    from emnist_tf.cli import main

    monkeypatch.delenv(config.FAST_ENV)  # the command line turns it on: start with it off
    seen = []
    monkeypatch.setattr(data_command, "run_info", lambda args: seen.append(config.fast_mode()) or 0)
    assert main(["data", "info"]) == 0 and seen == [False]
    assert main(["data", "info", "--fast"]) == 0 and seen == [False, True]


def test_python_dash_m_runs_the_command_line():
    result = subprocess.run([sys.executable, "-m", "emnist_tf", "--help"], capture_output=True, text=True, timeout=3600)
    assert result.returncode == 0 and "data" in result.stdout


FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+|emnist-tf [a-z]")


def _raised_texts(path: Path) -> list[tuple[int, str]]:
    """The string pieces of every ``raise`` statement in ``path``, with their line numbers."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Raise) and node.exc is not None:
            for piece in ast.walk(node.exc):
                if isinstance(piece, ast.Constant) and isinstance(piece.value, str):
                    found.append((node.lineno, piece.value))
    return found


@pytest.mark.parametrize("package", ["modeling", "tuning", "assignment"])
def test_library_errors_name_no_command_line_flag(package):
    """A library error says what is wrong in the library's words; only emnist_tf/cli speaks of flags."""
    root = Path(emnist_tf.__file__).parent / package
    named = [
        f"{path.name}:{line}: {text}"
        for path in sorted(root.rglob("*.py"))
        for line, text in _raised_texts(path)
        if FLAG.search(text)
    ]
    assert named == []
    assert FLAG.search("pass --solutions DIR") and FLAG.search("run `emnist-tf tune` first")
    assert not FLAG.search("a learning-rate schedule") and not FLAG.search("x -- y")
