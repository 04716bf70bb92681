"""What the grader reads from the notebooks before running anything: roles of cells, answers, stubs, forbid.

All of it comes from the solution notebook (trusted) and the submission's
text (never run here):

* :func:`plan_cells` labels each submitted code cell (check, solution, given, student);
* :func:`answer_names` is what may be exported from the student's kernel for a
  check: the exercise's declared ``answers``, or, for a notebook that declares
  none (written before the check-cell contract), names inferred from the
  check's *visible* part and the solution cells;
* :func:`not_attempted` says which exercises still hold the stub;
* :func:`forbidden_names` and :func:`import_lines` read the solution's metadata and imports.
"""

from __future__ import annotations

import ast
import builtins
import re

from emnist_tf.course import notebooks

DECLARED = "declared answers"
INFERRED = "inferred from visible checks (the notebook declares no answers)"


def plan_cells(submission, solution) -> tuple[list[tuple[str, object, object]], list[str]]:
    """Labels every code cell of the submission.

    Returns:
        ``(plan, duplicates)``: ``plan`` lists ``(role, cell, detail)`` with role
        ``"check"`` (detail: the solution's :class:`~notebooks.CheckCell`),
        ``"solution"`` (detail: exercise name), ``"given"`` (a cell identical to
        a non-exercise cell of the solution) or ``"student"``; ``duplicates``
        names solution checks found more than once (the last copy is used).
    """
    exercises = notebooks.exercises(solution, name="solution")
    checks = {check.cell_id: check for exercise in exercises.values() for check in exercise.checks}
    by_exercise = {name: list(exercise.checks) for name, exercise in exercises.items()}
    visible = {notebooks.strip_hidden(check.source).strip(): check for check in checks.values()}
    given = {cell.source for cell in solution.cells if cell.cell_type == "code" and notebooks.cell_kind(cell) is None}
    seen_per_exercise: dict[str, int] = {}
    matched: list[tuple[int, object]] = []
    labels: list[tuple[str, object, object]] = []
    for cell in submission.cells:
        if cell.get("cell_type") != "code":
            continue
        check = _match_check(cell, checks, by_exercise, visible, seen_per_exercise)
        if check is not None:
            matched.append((len(labels), check))
            labels.append(("check", cell, check))
        elif notebooks.cell_kind(cell) == "solution" and isinstance(notebooks.cell_info(cell).get("exercise"), str):
            labels.append(("solution", cell, notebooks.cell_info(cell)["exercise"]))
        elif cell.get("source", "") in given:
            labels.append(("given", cell, None))
        else:
            labels.append(("student", cell, None))
    last = {check.cell_id: index for index, check in matched}
    duplicates = sorted({check.cell_id for index, check in matched if last[check.cell_id] != index})
    for index, check in matched:
        if last[check.cell_id] != index:  # an earlier copy: runs as the student's own code, never as the check
            labels[index] = ("student", labels[index][1], None)
    return labels, duplicates


def _match_check(cell, checks, by_exercise, visible, seen_per_exercise):
    cell_id = cell.get("id")
    if cell_id in checks:
        return checks[cell_id]
    info = notebooks.cell_info(cell)
    if info.get("kind") == "check" and info.get("exercise") in by_exercise:
        number = seen_per_exercise.get(info["exercise"], 0)
        seen_per_exercise[info["exercise"]] = number + 1
        candidates = by_exercise[info["exercise"]]
        return candidates[min(number, len(candidates) - 1)]
    source = cell.get("source", "").strip()
    return visible.get(source) if source else None


def forbidden_names(solution) -> dict[str, list[str]]:
    """Exercise -> the library functions its solution cells forbid."""
    found: dict[str, list[str]] = {}
    for cell in solution.cells:
        info = notebooks.cell_info(cell)
        if info.get("kind") == "solution" and isinstance(info.get("forbid"), list):
            found.setdefault(info["exercise"], []).extend(str(name) for name in info["forbid"])
    return found


def import_lines(solution) -> str:
    """The top-level import statements of the solution notebook, in order."""
    statements = []
    for cell in solution.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        statements += [ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    return "\n".join(statements)


def free_names(source: str) -> set[str]:
    """Names a piece of code reads (minus built-ins)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            names.add(node.id)
    return {name for name in names if not hasattr(builtins, name)}


def bound_names(source: str) -> set[str]:
    """Names a cell defines at its top level (functions, classes, assignments; not imports)."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names |= {item.id for item in ast.walk(target) if isinstance(item, ast.Name)}
    return names


def answer_mode(exercises: dict[str, notebooks.Exercise]) -> str:
    """:data:`DECLARED` when any exercise of the notebook declares its answers, else :data:`INFERRED`."""
    return DECLARED if any(exercise.answers for exercise in exercises.values()) else INFERRED


def answer_names(solution, exercise: notebooks.Exercise, check: notebooks.CheckCell, mode: str) -> list[str]:
    """The names the grader exports from the student's kernel for one check.

    Declared mode: the exercise's ``answers`` only. Inferred mode (a notebook
    written before the contract, during the transition): the names the check's
    visible parts read, those the exercise's solution cells define, and those
    its hidden parts read that a given or solution cell of the notebook defines
    (names the student sees anyway). A name only a hidden part knows is never asked for.
    """
    if mode == DECLARED:
        return sorted(exercise.answers)
    names: set[str] = set()
    for part, code in notebooks.split_check(check.source):
        names |= free_names(code) if part == "visible" else free_names(code) & _public_names(solution)
    for cell in solution.cells:
        if cell.get("id") in exercise.solution_cell_ids:
            try:
                names |= bound_names(cell.source)
            except SyntaxError:
                continue
    return sorted(names)


def _public_names(solution) -> set[str]:
    """Names the notebook's given and solution cells define at their top level."""
    names: set[str] = set()
    for cell in solution.cells:
        if cell.cell_type == "code" and notebooks.cell_kind(cell) != "check":
            try:
                names |= bound_names(cell.source)
            except SyntaxError:
                continue
    return names


def _normalised(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.split("\n") if line.strip())


def _raises_stub(source: str) -> bool:
    """True when the code holds the stub's bare ``raise NotImplementedError()`` (without a message)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return bool(re.search(r"^\s*raise NotImplementedError(\(\))?\s*$", source, re.MULTILINE))
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc
            if isinstance(exc, ast.Call) and not exc.args and not exc.keywords:
                exc = exc.func
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                return True
    return False


def not_attempted(plan, solution, exercises: dict[str, notebooks.Exercise]) -> dict[str, str]:
    """Exercise -> why it earns 0 whatever its checks see: its solution cells are the stub, or still raise it.

    An exercise whose solution cell is missing from the submission is not
    listed (its checks decide, and the feedback says the cell is missing).
    """
    stubs: dict[str, set[str]] = {}
    for index, cell in enumerate(solution.cells):
        exercise = notebooks.cell_info(cell).get("exercise")
        if notebooks.cell_kind(cell) == "solution" and cell.cell_type == "code":
            stub = notebooks.strip_solution(cell.source, where=f"solution cell {index}")
            stubs.setdefault(exercise, set()).add(_normalised(stub))
    cells: dict[str, list[str]] = {}
    for role, cell, detail in plan:
        if role == "solution" and detail in exercises:
            cells.setdefault(detail, []).append(cell.get("source", ""))
    found = {}
    for name, sources in cells.items():
        if all(_normalised(source) in stubs.get(name, set()) for source in sources):
            found[name] = "your solution cell is unchanged from the exercise"
        elif any(_raises_stub(source) for source in sources):
            found[name] = "your solution cell still holds `raise NotImplementedError()`"
    return found


def _imported_names(source: str) -> set[str]:
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names


def _made_by(source: str) -> set[str]:
    """Every name a piece of code binds anywhere (assignments, loops, functions and their arguments, imports)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names


def contract_problems(solution, *, name: str = "notebook") -> list[str]:
    """What breaks the check-cell contract in a solution notebook that declares its answers.

    A check may read only its exercise's declared answers, the modules of the
    solution's top-level import lines and names it makes itself: never a value
    a given cell made, which a student can replace.

    Returns:
        One line per problem (empty for a notebook that declares no answers).
    """
    exercises = notebooks.exercises(solution, name=name)
    if answer_mode(exercises) != DECLARED:
        return []
    imported = _imported_names(import_lines(solution))
    problems = []
    for exercise in exercises.values():
        for check in exercise.checks:
            code = "\n".join(part for _, part in notebooks.split_check(check.source))
            foreign = free_names(code) - set(exercise.answers) - imported - _made_by(code)
            problems += [
                f"{name}: check {check.cell_id} reads `{read}`, which is neither an answer of {exercise.name} "
                "(metadata answers), nor imported by the solution, nor made by the check"
                for read in sorted(foreign)
            ]
    return problems
