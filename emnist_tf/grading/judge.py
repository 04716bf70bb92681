"""The trusted judge: drives one submission's sandbox and runs the checks on exported plain data.

``python -m emnist_tf.grading.judge`` reads one job (JSON) on standard input and
writes one result (JSON) on standard output. It never runs student code: the
student's cells run in the sandbox (:mod:`emnist_tf.grading.sandbox`), over a
copy of the library whose forbidden functions refuse (:mod:`emnist_tf.grading.forbid`).
Before each check only the exercise's declared answers are exported
(:func:`emnist_tf.grading.plan.answer_names`) as plain data (JSON, ``.npy``
read with ``allow_pickle=False``, ``.keras`` read with ``safe_mode=True``,
objects as read-only attributes without methods), and the check's full code
(visible and hidden) runs here, in a namespace of its own, with module names
from the solution notebook's own import lines. A student's function arrives as
a :class:`Proxy` that runs it in the sandbox on arguments the check made.
Every reason the judge reports is text it chose itself: a failed hidden part
shows only the author's literal assert message (or a fixed sentence).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import json
import os
import re
import resource
import shutil
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
from emnist_tf.grading import plan as plan_module
from emnist_tf.grading.isolation import open_beneath
from emnist_tf.grading.sandbox import Limits, Sandbox

MAX_EXPORT_BYTES = 2 * 1024**3
MAX_ARRAY_ITEMS = 2 * 1024**3 // 8  # an array may not claim more elements than its bytes allow (zero-size dtypes)
JUDGE_TENSORFLOW_MB = 4096  # address space TensorFlow itself needs in the judge
MAX_REASON = 160
MODEL_SIZE_FACTOR = 4  # a model's weights exist up to a few times while it is built and its weights are read
MODEL_HEADROOM_MB = 1024  # beyond that, for Keras's own work while loading
ALLOWED_MODEL_MODULES = ("keras", "emnist_tf")
HIDDEN_FAILED = "hidden check failed"


class ExportError(Exception):
    """An exported value cannot be read safely."""


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
            return PlainNamespace(
                history=self.value(item.get("history"), depth + 1),
                epoch=self.value(item.get("epoch"), depth + 1),
                params=self.value(item.get("params"), depth + 1),
            )
        if kind == "object":
            attrs = item.get("attrs", {})
            if not isinstance(attrs, dict) or not all(isinstance(key, str) and key.isidentifier() for key in attrs):
                raise ExportError("malformed export")
            values = {key: self.value(value, depth + 1) for key, value in attrs.items()}
            if any(isinstance(value, Proxy) for value in values.values()):
                raise ExportError("an object's methods are never called by the grader")
            return PlainNamespace(**values)
        if kind == "function":
            handle = item.get("handle")
            if type(handle) is not int:
                raise ExportError("malformed export")
            return Proxy(self.judge, handle)
        raise ExportError("unknown kind of value")

    def _model(self, data: bytes):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
            if unpacked > MAX_EXPORT_BYTES:
                raise ExportError("the exported model unpacks to too much data")
            config = json.loads(archive.read("config.json"))
        _check_model_config(config)
        import keras

        with tempfile.TemporaryDirectory(prefix="emnist-tf-judge-") as folder:
            path = Path(folder) / "model.keras"
            path.write_bytes(data)
            with memory_for_model(unpacked):
                return keras.models.load_model(path, safe_mode=True, compile=True)


class PlainNamespace:
    """A student's object as the judge sees it: its attributes as plain data, read-only, no methods."""

    def __init__(self, **values):
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, name):
        try:
            return object.__getattribute__(self, "_values")[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        raise AttributeError("a value exported from a notebook is read-only")

    def __repr__(self) -> str:
        return "<values from your notebook>"


def _check_model_config(config, depth: int = 0) -> None:
    """Refuses models whose config names classes outside Keras and this library."""
    if depth > 200:
        raise ExportError("model config nested too deeply")
    if isinstance(config, dict):
        module = config.get("module")
        if isinstance(module, str) and module.split(".")[0] not in ALLOWED_MODEL_MODULES:
            raise ExportError(
                "the model uses a class of your own (a subclassed model or layer); "
                "build it with keras.Sequential or the functional API"
            )
        if config.get("class_name") in ("Lambda", "function", "__lambda__"):
            raise ExportError("the model uses a Lambda layer or a Python function; use Keras layers only")
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
        shutil.rmtree(folder, ignore_errors=True)  # the inputs are not left for the student's later cells
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
            except ExportError as error:
                problems[name] = f"could not be copied out of your notebook: {error}"
            except Exception:
                problems[name] = "could not be copied out of your notebook (unsupported or unsafe value)"
        return values, problems

    # --- checks ---
    def run_check(self, check: notebooks.CheckCell, names: list[str]) -> dict:
        """Exports the answers ``names`` (and nothing else), then runs all the check's parts here."""
        if self.box.dead:
            return {"passed": False, "reason": "not run: your notebook's kernel had stopped earlier"}
        names = sorted(set(names) - set(self.modules))
        values, problems = {}, {}
        if names:
            export_dir = self.scratch / "exports" / str(self._next())
            answer = self.box.request(
                {"op": "export", "names": names, "dir": self.box.inside(export_dir)},
                timeout=self.limits.timeout_per_cell + 5,
            )
            if answer is None:
                return {"passed": False, "reason": "your notebook's values could not be read (the kernel stopped)"}
            values, problems = self._import(export_dir, names)
            for name in answer.get("failed") or {}:
                if name in names and name not in problems:
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
        except Exception as error:
            if part == "hidden":
                return f"{HIDDEN_FAILED}: {_hidden_reason(error, filename, code, problems)}"
            return "failed: " + _visible_reason(error, filename, code, problems)
        return None

    # --- the whole notebook ---
    def run(self) -> dict:
        solution = read_notebook(self.job["solution"])
        submission = read_notebook(self.job["submission"])
        exercises = notebooks.exercises(solution, name="solution")
        plan, duplicates = plan_module.plan_cells(submission, solution)
        forbids = plan_module.forbidden_names(solution)
        mode = plan_module.answer_mode(exercises)
        skipped = plan_module.not_attempted(plan, solution, exercises)
        self.modules = self._import_modules(solution)
        checks: dict[str, dict] = {}
        solution_outcomes: dict[str, list[dict]] = {}
        failed_cells: list[int] = []
        stopped = ""
        library = self.job.get("library")
        self.box = Sandbox(
            self.scratch,
            self.inbox,
            Path(self.job["submission"]),
            limits=self.limits,
            env=self.job.get("env", {}),
            read_only=[Path(p) for p in self.job.get("read_only", [])],
            trusted=self.job.get("trusted", False),
            library_dir=Path(library) if library else None,
            python_copies=self.job.get("python_copies"),
        )
        with self.box:
            for index, (role, cell, detail) in enumerate(plan):
                if role == "check":
                    names = plan_module.answer_names(solution, exercises[detail.exercise], detail, mode)
                    checks[detail.cell_id] = self.run_check(detail, names)  # its reason helps, even at 0 points
                    self._run_cell(notebooks.strip_hidden(detail.source))  # as in Jupyter: later cells may use it
                    continue
                outcome = self._run_cell(cell.get("source", ""))
                if outcome["status"] in ("dead", "budget", "disk") and not stopped:
                    stopped = outcome["status"]  # the whole notebook's fate, told in grader words
                if role != "given":  # a given cell may call a forbidden function to show it; that is no violation
                    self.violations.update(outcome.get("forbidden", []))
                if role == "solution":
                    solution_outcomes.setdefault(detail, []).append(outcome)
                elif role == "student" and outcome["status"] not in ("ok", "not run"):
                    failed_cells.append(index + 1)
        violations = {}
        for exercise, names in forbids.items():
            used = sorted(set(names) & self.violations)
            if used:
                violations[exercise] = used
        return {
            "status": "graded",
            "answer_mode": mode,
            "checks": checks,
            "not_attempted": skipped,
            "solution_outcomes": solution_outcomes,
            "failed_cells": failed_cells[:50],
            "stopped": stopped,
            "duplicates": duplicates,
            "forbidden": violations,
        }

    def _run_cell(self, source: str) -> dict:
        if self.box.dead:
            return {"status": "not run", "error": ""}
        if self.box.remaining() <= 0:
            self.box.kill()
            return {"status": "budget", "error": ""}
        answer = self.box.request(
            {"op": "run", "code": source, "timeout": self.limits.timeout_per_cell},
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
            exec(compile(plan_module.import_lines(solution), "<solution imports>", "exec"), namespace)
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


NOT_MET = "your answer does not meet the exercise's specification on inputs the grader made; re-read its text"


def _plain_text(text: str) -> str:
    text = re.sub(r"[^A-Za-z0-9 .,:;=()'/+-]", " ", str(text))
    return re.sub(r"\s+", " ", text).strip()[:MAX_REASON]


def _assert_message(error: AssertionError, filename: str) -> str:
    """The assert's message when the failing assert is the check's own, reduced to safe plain text."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames or frames[-1].filename != filename or not error.args:
        return "an assertion of the check did not hold"
    return _plain_text(error.args[0]) or "an assertion of the check did not hold"


def _literal_requirement(error: BaseException, filename: str, code: str) -> str | None:
    """The requirement the check's author wrote for the failing statement: an assert's message or an
    ``err_msg=`` given as a plain string literal (so it can hold no value of the run), else None."""
    lines = [frame.lineno for frame in traceback.extract_tb(error.__traceback__) if frame.filename == filename]
    if not lines:
        return None
    line, found = lines[-1], None
    for node in ast.walk(ast.parse(code)):
        inside = isinstance(node, ast.stmt) and node.lineno <= line <= (node.end_lineno or node.lineno)
        if inside and (found is None or node.lineno >= found.lineno):
            found = node
    message = None
    if isinstance(found, ast.Assert):
        message = found.msg
    elif isinstance(found, ast.Expr) and isinstance(found.value, ast.Call):
        message = next((item.value for item in found.value.keywords if item.arg == "err_msg"), None)
    if isinstance(message, ast.Constant) and isinstance(message.value, str):
        return _plain_text(message.value) or None
    return None


def _visible_reason(error: Exception, filename: str, code: str, problems: dict) -> str:
    if isinstance(error, ProxyError):
        return str(error)
    if isinstance(error, NameError):
        name = getattr(error, "name", None) or ""
        if name in problems:
            return f"`{name}` {problems[name]}"
        return f"`{name}` is not defined in your notebook" if name else "a name is not defined"
    if isinstance(error, AssertionError):
        own = _assert_message(error, filename)
        if own == "an assertion of the check did not hold":
            return _literal_requirement(error, filename, code) or own
        return own
    return f"the check raised {type(error).__name__} on your values"


def _hidden_reason(error: Exception, filename: str, code: str, problems: dict) -> str:
    """A grader-chosen sentence for a failed hidden part: never its inputs, names or the student's text."""
    if isinstance(error, ProxyError):
        return "your function raised an exception or did not finish on inputs the grader made"
    name = getattr(error, "name", None) if isinstance(error, NameError) else None
    if name in problems:  # an answer the exercise names, not a name of the hidden part
        return f"`{name}` {problems[name]}"
    try:
        return _literal_requirement(error, filename, code) or NOT_MET
    except SyntaxError:
        return NOT_MET


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


_warmed_up = False


def _warm_up_keras() -> None:
    """Runs one tiny model once, so TensorFlow's thread pools exist before a model is loaded under a cap."""
    global _warmed_up
    if not _warmed_up:
        import keras
        import numpy as np

        keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]).predict(np.zeros((1, 2)), verbose=0)
        _warmed_up = True


@contextlib.contextmanager
def memory_for_model(export_bytes: int):
    """Caps the judge's address space while it builds a student's model: what it holds now, plus a few
    times the model's exported size, plus ``MODEL_HEADROOM_MB``.

    A model's config is built (its weights allocated) before its weights file is read; an honest model
    needs about its weights file's size, while a crafted config of a few hundred bytes can ask for
    gigabytes. Under this cap building it fails at once and the export is refused.
    """
    _warm_up_keras()
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
        used = pages * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    except (OSError, ValueError, IndexError, AttributeError):  # no /proc (macOS with --trusted): no cap
        yield
        return
    cap = used + MODEL_SIZE_FACTOR * export_bytes + MODEL_HEADROOM_MB * 1024 * 1024
    for limit in (soft, hard):
        if limit != resource.RLIM_INFINITY:
            cap = min(cap, limit)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


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
