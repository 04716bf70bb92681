"""The package's import graph (module-level and function-level imports alike) has no cycle and follows the
layer order the README's Development section draws."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import emnist_tf

PACKAGE = Path(emnist_tf.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str, modules: set[str]) -> set[str]:
    """Every emnist_tf module ``path`` imports, wherever the import statement is."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    modules = set(paths)
    graph = {name: _imports(path, name, modules) for name, path in paths.items()}
    # Importing a module runs its package's __init__ first: that edge is implied, not a dependency to check.
    return {
        name: {target for target in targets if not name.startswith(target + ".")} for name, targets in graph.items()
    }


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return stack[stack.index(target) :] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_package_import_graph_has_no_cycle():
    graph = import_graph()
    assert len(graph) > 50 and "emnist_tf.tuning.sweep" in graph["emnist_tf.cli.tune"]  # the parser sees them
    cycle = _find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_results_reads_a_sweep_without_the_tuner_module():
    graph = import_graph()
    assert "emnist_tf.tuning.crossval" not in graph["emnist_tf.tuning.results"]
    assert "emnist_tf.tuning.sweep" not in graph["emnist_tf.tuning.report"]


README = PACKAGE.parent / "README.md"
OUTSIDE_THE_LAYERS = {"emnist_tf"}
"""The package's ``__init__`` re-exports public names lazily from every layer."""


def drawn_layers(readme: str) -> list[list[str]]:
    """The layers of the README's Development drawing, top first: ``[["config", "errors", ...], ["data"], ...]``.

    A drawn line names its packages in the first column (a trailing comma continues the layer on the
    next line); lines that only continue the description are skipped.
    """
    section = readme[readme.index("## Development") :]
    block = section[section.index("  emnist_tf/\n") :]
    block = block[: block.index("```")]
    layers: list[list[str]] = []
    continued = False
    for line in block.splitlines()[1:]:
        if len(line) < 5 or line[4] == " ":  # the description column only
            continue
        names_column = re.split(r"\s{2,}", line.strip())[0]
        names = [name.strip().rstrip("/") for name in names_column.split(",") if name.strip()]
        if continued:
            layers[-1].extend(names)
        else:
            layers.append(names)
        continued = names_column.rstrip().endswith(",")
    return layers


def upward_imports(graph: dict[str, set[str]], layers: list[list[str]]) -> list[str]:
    """Every import of a module drawn lower (later) than the importing module, as ``"a -> b"``."""
    rank = {name: index for index, names in enumerate(layers) for name in names}

    def layer_of(module: str) -> int | None:
        parts = module.split(".")
        return rank.get(parts[1]) if len(parts) > 1 else None

    found = []
    for module, targets in sorted(graph.items()):
        if module in OUTSIDE_THE_LAYERS:
            continue
        here = layer_of(module)
        assert here is not None, f"{module} is not in the README's drawing: add its package there"
        found += [f"{module} -> {target}" for target in sorted(targets) if (layer_of(target) or 0) > here]
    return found


def test_no_module_imports_one_drawn_below_it_in_the_readme():
    layers = drawn_layers(README.read_text(encoding="utf-8"))
    order = [name for names in layers for name in names]
    assert order[:5] == ["config", "errors", "devices", "choices", "files"] and order[-2:] == ["cli", "__main__"]
    assert order.index("grading") > order.index("course") > order.index("robustness")
    assert upward_imports(import_graph(), layers) == []


def test_the_layer_check_finds_an_upward_import():
    layers = [["config"], ["data"], ["tuning"]]
    graph = {"emnist_tf.data.x": {"emnist_tf.config", "emnist_tf.tuning.sweep"}, "emnist_tf.tuning.sweep": set()}
    assert upward_imports(graph, layers) == ["emnist_tf.data.x -> emnist_tf.tuning.sweep"]
