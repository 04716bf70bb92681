"""The trusted judge: drives one submission's sandbox and runs the checks on exported plain data.

``python -m emnist_tf.grading.judge`` reads one job (JSON) on standard input and
writes one result (JSON) on standard output. It never runs student code: the
student's cells run in the sandbox (:mod:`emnist_tf.grading.sandbox`); before
each check the values the check names are exported as plain data (JSON,
``.npy`` read with ``allow_pickle=False``, ``.keras`` read with
``safe_mode=True``) and the check's full code (visible and hidden) runs here,
with module names from the solution notebook's own import lines. A student's
function arrives as a :class:`Proxy` that runs it in the sandbox on exported
arguments. Every reason the judge reports is text it chose itself.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import functools
import io
import json
import os
import re
import resource
import stat
import sys
import tempfile
import threading
import time
import traceback
import types
import zipfile
from pathlib import Path

from emnist_tf.course import notebooks
from emnist_tf.course.build import read_notebook
from emnist_tf.grading.isolation import open_beneath
from emnist_tf.grading.sandbox import Limits, Sandbox

MAX_EXPORT_BYTES = 2 * 1024**3
MAX_ARRAY_ITEMS = 2 * 1024**3 // 8  # an array may not claim more elements than its bytes allow (zero-size dtypes)
JUDGE_TENSORFLOW_MB = 4096  # address space TensorFlow itself needs in the judge
MAX_REASON = 160
ALLOWED_MODEL_MODULES = ("keras", "emnist_tf")
HIDDEN_FAILED = "hidden check failed"


class ExportError(Exception):
    """An exported value cannot be read safely."""


# --- planning: which student cell is what -----------------------------------------------
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
    """Names a check reads (minus built-ins)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            names.add(node.id)
    return {name for name in names if not hasattr(builtins, name)}


# --- reading exports safely ------------------------------------------------------------------
class Importer:
    """Turns the sandbox's export folder into plain values (never unpickles, never follows links)."""

    def __init__(self, folder: Path, judge: Judge, root: Path | None = None):
        self.folder = folder
        self.root = folder if root is None else root  # files are opened beneath it, following no link
        self.judge = judge
        self.total = 0

    def _open(self, name: str) -> bytes:
        if not isinstance(name, str) or not re.fullmatch(r"v[0-9]{1,7}\.(npy|keras)", name):
            raise ExportError("bad file name")
        fd = open_beneath(self.root, (self.folder / name).relative_to(self.root), os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ExportError("not a regular file")
            self.total += info.st_size
            if self.total > MAX_EXPORT_BYTES:
                raise ExportError("the exported values are too large")
            return handle.read()

    def value(self, item, depth: int = 0):
        if depth > 20 or not isinstance(item, dict):
            raise ExportError("malformed export")
        kind = item.get("t")
        if kind == "json":
            value = item.get("v")
            if value is not None and type(value) not in (bool, int, float, str):
                raise ExportError("malformed export")
            return value
        if kind in ("list", "tuple"):
            values = [self.value(entry, depth + 1) for entry in item.get("items", [])]
            return values if kind == "list" else tuple(values)
        if kind == "dict":
            result = {}
            for pair in item.get("items", []):
                key = self.value(pair[0], depth + 1)
                if not isinstance(key, (type(None), bool, int, float, str, tuple)):
                    raise ExportError("dictionary keys must be plain values")
                result[key] = self.value(pair[1], depth + 1)
            return result
        if kind == "array":
            import numpy as np

            array = np.load(io.BytesIO(self._open(item.get("file"))), allow_pickle=False)
            if array.size > MAX_ARRAY_ITEMS or array.dtype.itemsize == 0:
                raise ExportError("the exported array is too large")
            return array
        if kind == "keras":
            return self._model(self._open(item.get("file")))
        if kind == "history":
            return types.SimpleNamespace(
                history=self.value(item.get("history"), depth + 1),
                epoch=self.value(item.get("epoch"), depth + 1),
                params=self.value(item.get("params"), depth + 1),
            )
        if kind == "object":
            attrs = item.get("attrs", {})
            if not all(isinstance(key, str) and key.isidentifier() for key in attrs):
                raise ExportError("malformed export")
            imitated = _imitated_methods()
            return types.SimpleNamespace(
                **{
                    key: self.value(value, depth + 1)
                    for key, value in attrs.items()
                    if not (key in imitated and isinstance(value, dict) and value.get("t") == "function")
                }
            )
        if kind == "function":
            handle = item.get("handle")
            if type(handle) is not int:
                raise ExportError("malformed export")
            return Proxy(self.judge, handle)
        raise ExportError("unknown kind of value")

    def _model(self, data: bytes):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(member.file_size for member in archive.infolist()) > MAX_EXPORT_BYTES:
                raise ExportError("the exported model unpacks to too much data")
            config = json.loads(archive.read("config.json"))
        _check_model_config(config)
        import keras

        with tempfile.TemporaryDirectory(prefix="emnist-tf-judge-") as folder:
            path = Path(folder) / "model.keras"
            path.write_bytes(data)
            return keras.models.load_model(path, safe_mode=True, compile=True)


@functools.lru_cache(maxsize=1)
def _imitated_methods() -> frozenset[str]:
    """Method names of arrays, tensors and built-in containers, which an object's own methods may not take.

    A check calls ``result.tolist()`` or ``result.argmax()`` expecting an array;
    an object whose method of that name runs the student's code (it arrives as
    a proxy) would fake the answer, so such methods are left out and the check fails.
    """
    import numpy as np

    kinds = (np.ndarray, list, tuple, dict, str, bytes, set)
    return frozenset({name for kind in kinds for name in dir(kind) if not name.startswith("_")} | {"numpy"})


def _check_model_config(config, depth: int = 0) -> None:
    """Refuses models whose config names classes outside Keras and this library."""
    if depth > 200:
        raise ExportError("model config nested too deeply")
    if isinstance(config, dict):
        module = config.get("module")
        if isinstance(module, str) and module.split(".")[0] not in ALLOWED_MODEL_MODULES:
            raise ExportError("the model uses a class from outside Keras")
        if config.get("class_name") in ("Lambda", "function", "__lambda__"):
            raise ExportError("the model uses a Lambda layer or a Python function")
        for value in config.values():
            _check_model_config(value, depth + 1)
    elif isinstance(config, list):
        for value in config:
            _check_model_config(value, depth + 1)


# --- the judge ---------------------------------------------------------------------------------
class ProxyError(Exception):
    """A proxied student function failed; the message is grader text."""


class Proxy:
    """Calls a student's function inside the sandbox on plain arguments."""

    def __init__(self, judge: Judge, handle: int):
        self._judge = judge
        self._handle = handle

    def __call__(self, *args, **kwargs):
        return self._judge.call(self._handle, args, kwargs)

    def __repr__(self) -> str:
        return "<student function>"


def _proxy_handle(value) -> int | None:
    return value._handle if isinstance(value, Proxy) else None


class Judge:
    """Runs one submission: its cells in the sandbox, its checks here."""

    def __init__(self, job: dict):
        self.job = job
        self.limits = Limits(**job["limits"])
        self.work = Path(job["work"])
        self.scratch = self.work / "scratch"
        self.inbox = self.work / "inbox"
        self.inbox.mkdir(parents=True, exist_ok=True)
        self.box: Sandbox | None = None
        self.counter = 0
        self.violations: set[str] = set()
        self.modules: dict = {}

    def _next(self) -> int:
        self.counter += 1
        return self.counter

    def call(self, handle: int, args: tuple, kwargs: dict):
        from emnist_tf.grading import runner

        number = self._next()
        folder = self.inbox / f"call{number}"
        folder.mkdir()
        unsendable: list = []  # functions of the judge's own cannot be sent into the sandbox
        exporter = runner.Exporter(types.SimpleNamespace(handles=unsendable), str(folder), handle_of=_proxy_handle)
        try:
            manifest = {
                "args": [exporter.encode(arg, 0) for arg in args],
                "kwargs": {str(key): exporter.encode(value, 0) for key, value in kwargs.items()},
            }
        except Exception:
            raise ProxyError("the check passed your function a value the grader cannot send") from None
        if unsendable:
            raise ProxyError("the check passed your function a value the grader cannot send")
        (folder / "manifest.json").write_text(json.dumps(manifest))
        os.chmod(folder, 0o755)
        for path in folder.iterdir():
            os.chmod(path, 0o644)
        result_dir = self.scratch / "results" / str(number)
        answer = self.box.request(
            {
                "op": "call",
                "handle": handle,
                "args": self.box.inside(folder),
                "dir": self.box.inside(result_dir),
                "timeout": self.limits.timeout_per_cell,
            },
            timeout=self.limits.timeout_per_cell + 5,
        )
        if answer is None:
            raise ProxyError("your function did not finish in time or ended the kernel")
        self.violations.update(str(name) for name in answer.get("forbidden", []) if isinstance(name, str))
        if answer.get("status") == "timeout":
            raise ProxyError("your function did not finish in time")
        if answer.get("status") != "ok":
            raise ProxyError(f"your function raised {_safe_name(answer.get('error'))}")
        values, problems = self._import(result_dir, ["__grader_result__"])
        if "__grader_result__" not in values:
            raise ProxyError("your function returned a value the grader cannot copy (unsupported type)")
        return values["__grader_result__"]

    def _import(self, folder: Path, names: list[str]) -> tuple[dict, dict]:
        try:
            fd = open_beneath(self.scratch, (folder / "manifest.json").relative_to(self.scratch), os.O_NONBLOCK)
            with os.fdopen(fd, "rb") as handle:
                if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                    raise ExportError("not a file")
                manifest = json.loads(handle.read(64 * 1024 * 1024))
        except (OSError, ValueError, RecursionError, ExportError):  # a manifest the student wrote by hand
            return {}, {name: "could not be copied out of your notebook" for name in names}
        importer = Importer(folder, self, root=self.scratch)
        values, problems = {}, {}
        for name in names:
            if name not in manifest:
                continue
            try:
                values[name] = importer.value(manifest[name])
            except Exception:
                problems[name] = "could not be copied out of your notebook (unsupported or unsafe value)"
        return values, problems

    # --- checks ---
    def run_check(self, check: notebooks.CheckCell) -> dict:
        """Exports what the check reads, then runs all its parts here."""
        if self.box.dead:
            return {"passed": False, "reason": "not run: your notebook's kernel had stopped earlier"}
        names = sorted(free_names(check.source) - set(self.modules))
        number = self._next()
        export_dir = self.scratch / "exports" / str(number)
        answer = self.box.request(
            {"op": "export", "names": names, "dir": self.box.inside(export_dir)},
            timeout=self.limits.timeout_per_cell + 5,
        )
        if answer is None:
            return {"passed": False, "reason": "your notebook's values could not be read (the kernel stopped)"}
        values, problems = self._import(export_dir, names)
        for name in answer.get("failed") or {}:
            if name in names:
                problems[name] = "could not be copied out of your notebook (unsupported value)"
        namespace = {"__name__": "__check__", **self.modules, **values}
        before = set(self.violations)
        result = {"passed": True, "reason": "passed"}
        for part, code in notebooks.split_check(check.source):
            failure = self._run_part(check, part, code, namespace, problems)
            if failure is not None:
                result = {"passed": False, "reason": failure}
                break
        result["forbidden"] = sorted(self.violations - before)
        return result

    def _run_part(self, check, part, code, namespace, problems) -> str | None:
        filename = f"<check {check.cell_id} {part}>"
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                exec(compile(code, filename, "exec"), namespace)  # the solution's own check code
        except ProxyError as error:
            return HIDDEN_FAILED if part == "hidden" else f"failed: {error}"
        except NameError as error:
            if part == "hidden":
                return HIDDEN_FAILED
            name = getattr(error, "name", None) or ""
            if name in problems:
                return f"failed: `{name}` {problems[name]}"
            return f"failed: `{name}` is not defined in your notebook" if name else "failed: a name is not defined"
        except AssertionError as error:
            if part == "hidden":
                return HIDDEN_FAILED
            return "failed: " + _assert_message(error, filename)
        except Exception as error:
            if part == "hidden":
                return HIDDEN_FAILED
            return f"failed: the check raised {type(error).__name__} on your values"
        return None

    # --- the whole notebook ---
    def run(self) -> dict:
        solution = read_notebook(self.job["solution"])
        submission = read_notebook(self.job["submission"])
        plan, duplicates = plan_cells(submission, solution)
        forbids = forbidden_names(solution)
        self.modules = self._import_modules(solution)
        checks: dict[str, dict] = {}
        solution_outcomes: dict[str, list[dict]] = {}
        problems: list[str] = []
        violations: dict[str, set] = {}
        self.box = Sandbox(
            self.scratch,
            self.inbox,
            Path(self.job["submission"]),
            limits=self.limits,
            env=self.job.get("env", {}),
            read_only=[Path(p) for p in self.job.get("read_only", [])],
            trusted=self.job.get("trusted", False),
        )
        with self.box:
            all_forbidden = sorted({name for names in forbids.values() for name in names})
            if all_forbidden:
                self.box.request({"op": "forbid", "names": all_forbidden}, timeout=120)
            for index, (role, cell, detail) in enumerate(plan):
                if role == "check":
                    checks[detail.cell_id] = self.run_check(detail)
                    visible = notebooks.strip_hidden(detail.source)
                    self._run_cell(visible, forbid=False)
                    continue
                outcome = self._run_cell(cell.get("source", ""), forbid=role != "given")
                self.violations.update(outcome.get("forbidden", []))
                if role == "solution":
                    solution_outcomes.setdefault(detail, []).append(outcome)
                elif outcome["status"] not in ("ok", "not run"):
                    problems.append(f"code cell {index + 1}: {describe_outcome(outcome)}")
        for exercise, names in forbids.items():
            used = sorted(set(names) & self.violations)
            if used:
                violations[exercise] = used
        return {
            "status": "graded",
            "checks": checks,
            "solution_outcomes": solution_outcomes,
            "cell_problems": problems[:50],
            "duplicates": duplicates,
            "forbidden": violations,
        }

    def _run_cell(self, source: str, *, forbid: bool) -> dict:
        if self.box.dead:
            return {"status": "not run", "error": ""}
        if self.box.remaining() <= 0:
            self.box.kill()
            return {"status": "budget", "error": ""}
        answer = self.box.request(
            {"op": "run", "code": source, "forbid": forbid, "timeout": self.limits.timeout_per_cell},
            timeout=self.limits.timeout_per_cell + 5,
        )
        if answer is None:
            return {"status": self._why_stopped(), "error": ""}
        status = answer.get("status")
        if status not in ("ok", "error", "timeout"):
            status = "error"
        forbidden = [name for name in answer.get("forbidden", []) if isinstance(name, str)]
        return {"status": status, "error": _safe_name(answer.get("error")), "forbidden": forbidden}

    def _why_stopped(self) -> str:
        if self.box.over_disk_quota:
            return "disk"
        return "budget" if self.box.remaining() <= 0 else "dead"

    def _import_modules(self, solution) -> dict:
        namespace: dict = {}
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(import_lines(solution), "<solution imports>", "exec"), namespace)
        namespace.pop("__builtins__", None)
        return namespace


def _safe_name(name) -> str:
    """An exception name to show: only a built-in exception's name, else a generic word."""
    if isinstance(name, str) and isinstance(getattr(builtins, name, None), type):
        return name
    return "an exception"


def describe_outcome(outcome: dict) -> str:
    """What happened to a cell, in grader words: ``"raised ValueError"``, ``"timed out (...)"``..."""
    return {
        "error": f"raised {outcome.get('error') or 'an exception'}",
        "timeout": "timed out (the cell ran longer than the time limit)",
        "dead": "the kernel died or stopped responding (exit, a crash or running out of memory)",
        "budget": "stopped: the notebook ran longer than its time budget",
        "disk": "stopped: the notebook wrote more files than its disk quota allows",
        "not run": "not run: the kernel had died in an earlier cell",
    }.get(outcome.get("status"), "failed")


def _assert_message(error: AssertionError, filename: str) -> str:
    """The assert's message when the failing assert is the check's own, reduced to safe plain text."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames or frames[-1].filename != filename or not error.args:
        return "an assertion of the check did not hold"
    text = str(error.args[0])
    text = re.sub(r"[^A-Za-z0-9 .,:;=()'/+-]", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text[:MAX_REASON] or "an assertion of the check did not hold"


def _exit_with_parent() -> None:
    """Ends the judge (and so its sandbox) if the grader that started it is killed."""
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def limit_own_memory(limits: Limits) -> None:
    """Caps the judge's address space, so a crafted export cannot take the grader machine's memory.

    A model config of a few bytes can ask for layers of many gigabytes; under
    the cap building it fails (and the check fails) instead. The cap leaves
    room for TensorFlow, the exported values and the sandbox's own limit.
    """
    mb = 1024 * 1024
    cap = (max(limits.memory_mb, JUDGE_TENSORFLOW_MB) + MAX_EXPORT_BYTES // mb) * mb
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    with contextlib.suppress(ValueError, OSError):  # systems without RLIMIT_AS support (macOS with --trusted)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard if hard != resource.RLIM_INFINITY else cap))


def main() -> None:
    _exit_with_parent()
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    sys.stdout = io.StringIO()
    job = json.loads(sys.stdin.read())
    limit_own_memory(Limits(**job["limits"]))
    try:
        result = Judge(job).run()
    except Exception as error:
        result = {"status": f"grading failed: {type(error).__name__}"}
    out.write(json.dumps(result) + "\n")
    out.flush()


if __name__ == "__main__":
    main()
