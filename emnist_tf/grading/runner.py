"""The grader's cell runner: the one program that runs inside a student's sandbox.

It is started by :mod:`emnist_tf.grading.sandbox` as ``python runner.py`` inside
bubblewrap (or, with ``--trusted``, as a plain subprocess) and must not import
``emnist_tf`` itself (the grader's source is not visible in the sandbox). It
reads one JSON command per line on standard input and answers one JSON line on
the file descriptor standard output had at start; the student's own prints go
to ``/dev/null``. Commands:

* ``{"op": "run", "code": str, "timeout": s}``: runs a cell.
* ``{"op": "export", "names": [...], "dir": str}``: writes plain copies of values.
* ``{"op": "call", "handle": int, "args": str, "dir": str, "timeout": s}``: calls an
  exported function on arguments the judge wrote, exports its result.

Nothing this program answers is trusted by the grader beyond "plain data the
student could have produced anyway": the student's code runs in this process
and could forge any answer, which is why checks never run here. Forbidden
library functions are not handled here: the library mounted in the sandbox is
a copy whose forbidden functions refuse (:mod:`emnist_tf.grading.forbid`); this
program only reports the calls that copy recorded.

Values are exported as plain data: numbers (NumPy scalars become Python
numbers), strings, lists, tuples, dicts, arrays, Keras models (``.keras``) and
training histories; an object of another class becomes its public attributes
as plain data (never its methods); a function becomes a handle the grader can
ask this program to call.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import json
import os
import signal
import sys
import types

MAX_DEPTH = 12
MAX_ITEMS = 100_000
MAX_NODES = 200_000
MAX_MEMBERS = 200
FORBIDDEN_RECORD = "emnist_tf._forbidden"  # written by the grader into the library copy it mounts
_BUILTIN_ERRORS = {name for name, value in vars(builtins).items() if isinstance(value, type)}


class TooBigError(ValueError):
    """An export has more values than the grader copies."""


class CellTimeout(KeyboardInterrupt):
    """Raised in a cell that runs past its time limit."""


class Runner:
    """Runs cells in an IPython shell and exports values as plain files."""

    def __init__(self):
        from IPython.core.interactiveshell import InteractiveShell

        self.shell = InteractiveShell.instance()
        self.shell.showtraceback = lambda *args, **kwargs: None
        self.shell.showsyntaxerror = lambda *args, **kwargs: None
        self.handles: list = []
        self.timed_out = False

    @staticmethod
    def forbidden_calls() -> list[str]:
        """The forbidden library functions called since the last look (the library copy records them)."""
        record = sys.modules.get(FORBIDDEN_RECORD)
        calls = getattr(record, "CALLS", None)
        if not isinstance(calls, set):
            return []
        found = sorted(str(name) for name in calls)
        calls.clear()
        return found

    # --- cells -------------------------------------------------------------------------
    @contextlib.contextmanager
    def time_limit(self, seconds: float):
        self.timed_out = False

        def on_alarm(signum, frame):
            self.timed_out = True
            raise CellTimeout()

        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, max(float(seconds), 0.01))
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def run(self, code: str, timeout: float) -> dict:
        self.forbidden_calls()
        error = None
        try:
            with self.time_limit(timeout):
                result = self.shell.run_cell(code, store_history=True)
            error = result.error_before_exec or result.error_in_exec
        except BaseException as caught:  # a timeout between statements, an exit
            error = caught
        status = "ok"
        if self.timed_out:
            status = "timeout"
        elif error is not None:
            status = "error"
        return {"status": status, "error": _error_name(error), "forbidden": self.forbidden_calls()}

    # --- exports -----------------------------------------------------------------------
    def export(self, names: list[str], folder: str) -> dict:
        os.makedirs(folder, exist_ok=True)
        manifest, missing, failed = {}, [], {}
        for name in names:
            if name not in self.shell.user_ns:
                missing.append(name)
                continue
            try:
                manifest[name] = Exporter(self, folder).encode(self.shell.user_ns[name], 0)
            except Exception as error:
                failed[name] = type(error).__name__
        with open(os.path.join(folder, "manifest.json"), "w", encoding="utf-8") as handle:
            json.dump(manifest, handle)
        return {"missing": missing, "failed": failed}

    def call(self, handle: int, args_folder: str, folder: str, timeout: float) -> dict:
        self.forbidden_calls()
        function = self.handles[handle]
        with open(os.path.join(args_folder, "manifest.json"), encoding="utf-8") as stream:
            manifest = json.load(stream)
        try:
            args = [decode(item, args_folder, self.handles) for item in manifest["args"]]
            kwargs = {key: decode(item, args_folder, self.handles) for key, item in manifest["kwargs"].items()}
        except Exception as error:
            return {"status": "error", "error": _error_name(error), "forbidden": []}
        error, value = None, None
        try:
            with self.time_limit(timeout):
                value = function(*args, **kwargs)
        except BaseException as caught:
            error = caught
        forbidden = self.forbidden_calls()
        if self.timed_out:
            return {"status": "timeout", "error": "", "forbidden": forbidden}
        if error is not None:
            return {"status": "error", "error": _error_name(error), "forbidden": forbidden}
        self.shell.user_ns["__grader_result__"] = value
        try:
            exported = self.export(["__grader_result__"], folder)
        finally:
            self.shell.user_ns.pop("__grader_result__", None)
        status = "ok" if not exported["failed"] else "unexportable"
        return {"status": status, "error": "", "forbidden": forbidden}


class Exporter:
    """Encodes a value as JSON plus ``.npy`` / ``.keras`` files in one folder."""

    def __init__(self, runner: Runner, folder: str, handle_of=None):
        self.runner = runner
        self.folder = folder
        self.handle_of = handle_of  # the judge's: a proxy of a student function goes back as its handle
        self.path: set[int] = set()
        self.nodes = 0

    def _file(self, suffix: str) -> str:
        count = len(os.listdir(self.folder))
        return f"v{count}{suffix}"

    def encode(self, value, depth: int):
        if depth > MAX_DEPTH:
            raise ValueError("nested too deeply")
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise TooBigError("too many values")
        handle = self.handle_of(value) if self.handle_of else None
        if handle is not None:
            return {"t": "handle", "handle": handle}
        if value is None or type(value) in (bool, int, float, str):
            return {"t": "json", "v": value}
        plain = _numpy_scalar(value)
        if plain is not None:  # np.int64(3) as a dict key or a count: a plain number
            return {"t": "json", "v": plain}
        if type(value) in (list, tuple):
            if len(value) > MAX_ITEMS:
                raise ValueError("too many items")
            return {"t": type(value).__name__, "items": [self.encode(item, depth + 1) for item in value]}
        if type(value) is dict:
            if len(value) > MAX_ITEMS:
                raise ValueError("too many items")
            return {
                "t": "dict",
                "items": [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in value.items()],
            }
        model = self._keras_kind(value)
        if model == "model":
            name = self._file(".keras")
            value.save(os.path.join(self.folder, name))
            return {"t": "keras", "file": name}
        if model == "history":
            return {
                "t": "history",
                "history": self.encode(dict(value.history), depth + 1),
                "epoch": self.encode(list(value.epoch), depth + 1),
                "params": self.encode(dict(value.params or {}), depth + 1),
            }
        array = _as_array(value)
        if array is not None:
            import numpy as np

            if array.dtype.hasobject:
                raise ValueError("object arrays cannot be exported")
            name = self._file(".npy")
            np.save(os.path.join(self.folder, name), array, allow_pickle=False)
            return {"t": "array", "file": name}
        if isinstance(value, (types.FunctionType, types.MethodType)) or (
            callable(value) and not isinstance(value, type) and not isinstance(value, types.ModuleType)
        ):
            self.runner.handles.append(value)
            return {"t": "function", "handle": len(self.runner.handles) - 1}
        if isinstance(value, (type, types.ModuleType)):
            raise ValueError("classes and modules are not exported")
        return {"t": "object", "attrs": self._object(value, depth)}

    def _object(self, value, depth: int) -> dict:
        """Its public attributes as plain data: never its methods or properties (functions are left out).

        An attribute that cannot be copied is left out; a cycle back to an object being copied is cut.
        """
        if id(value) in self.path:
            raise ValueError("cycle")
        self.path.add(id(value))
        try:
            encoded = {}
            for key, item in _attributes(value).items():
                if len(encoded) >= MAX_MEMBERS:
                    break
                if callable(item) and self._keras_kind(item) is None:
                    continue
                try:
                    encoded[key] = self.encode(item, depth + 1)
                except TooBigError:
                    raise
                except Exception:
                    continue
            return encoded
        finally:
            self.path.discard(id(value))

    @staticmethod
    def _keras_kind(value) -> str | None:
        keras = sys.modules.get("keras")
        if keras is None:
            return None
        if isinstance(value, keras.Model):
            return "model"
        if isinstance(value, keras.callbacks.History):
            return "history"
        return None


def _as_array(value):
    numpy = sys.modules.get("numpy")
    if numpy is None:
        return None
    if isinstance(value, (numpy.ndarray, numpy.generic)):
        return numpy.asarray(value)
    tensorflow = sys.modules.get("tensorflow")
    if tensorflow is not None and isinstance(value, (tensorflow.Tensor, tensorflow.Variable)):
        return numpy.asarray(value.numpy())
    return None


def _numpy_scalar(value):
    """A NumPy boolean, integer, float or string scalar as the Python value, else None."""
    numpy = sys.modules.get("numpy")
    if numpy is None or not isinstance(value, numpy.generic) or value.dtype.kind not in "biufU":
        return None
    return value.item()


def _attributes(value) -> dict:
    if dataclasses.is_dataclass(value):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {name: getattr(value, name) for name in value._fields}
    if hasattr(value, "__dict__"):
        return {key: item for key, item in vars(value).items() if not key.startswith("_")}
    raise ValueError(f"values of type {type(value).__name__} cannot be exported")


def decode(item: dict, folder: str, handles: list):
    """Decodes the judge's arguments (plain data, or handles of the student's own functions)."""
    kind = item["t"]
    if kind == "json":
        return item["v"]
    if kind in ("list", "tuple"):
        items = [decode(entry, folder, handles) for entry in item["items"]]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {decode(k, folder, handles): decode(v, folder, handles) for k, v in item["items"]}
    if kind == "object":
        return types.SimpleNamespace(**{k: decode(v, folder, handles) for k, v in item["attrs"].items()})
    if kind == "history":
        return types.SimpleNamespace(
            history=decode(item["history"], folder, handles),
            epoch=decode(item["epoch"], folder, handles),
            params=decode(item["params"], folder, handles),
        )
    if kind == "handle":
        return handles[item["handle"]]
    if kind == "array":
        import numpy as np

        return np.load(os.path.join(folder, os.path.basename(item["file"])), allow_pickle=False)
    if kind == "keras":
        import keras

        return keras.models.load_model(os.path.join(folder, os.path.basename(item["file"])))
    raise ValueError(f"unknown argument kind {kind!r}")


def _error_name(error) -> str:
    """The exception's class name when it is a built-in one, else "" (student names are not shown)."""
    if error is None:
        return ""
    name = type(error).__name__
    if isinstance(error, CellTimeout):
        return ""
    return name if name in _BUILTIN_ERRORS and type(error).__module__ == "builtins" else "Exception"


def main() -> None:
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    commands = os.fdopen(os.dup(0), "r", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    runner = Runner()
    for line in commands:
        command = json.loads(line)
        op = command["op"]
        try:
            if op == "run":
                answer = runner.run(command["code"], command["timeout"])
            elif op == "export":
                answer = runner.export(command["names"], command["dir"])
            elif op == "call":
                answer = runner.call(command["handle"], command["args"], command["dir"], command["timeout"])
            else:
                answer = {"status": "error", "error": "unknown command"}
        except BaseException as error:  # never let a student's trick stop the protocol
            answer = {"status": "error", "error": _error_name(error)}
        answer["seq"] = command.get("seq")
        protocol.write(json.dumps(answer) + "\n")
        protocol.flush()


if __name__ == "__main__":
    main()
