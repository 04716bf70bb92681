"""Running code cells one by one in a fresh Jupyter kernel, surviving anything they do.

The grader and the notebook tests use this: each cell gets a time limit; a cell
that raises, runs too long or kills the kernel is recorded, never raised.

Example:
    >>> from emnist_tf.course.execution import KernelSession
    >>> with KernelSession(workdir="/tmp", timeout_per_cell=60) as session:
    ...     outcome = session.run("x = 1 / 0")
    >>> outcome.status, outcome.error_name
    ('error', 'ZeroDivisionError')
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import re
import subprocess

import nbformat
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
PROBE_TIMEOUT = 10
IOPUB_TIMEOUT = 1  # outputs only; errors are read from the execute reply itself
STATUSES = ("ok", "error", "timeout", "dead", "not run")


@dataclasses.dataclass
class CellOutcome:
    """What happened to one cell.

    Attributes:
        status: ``"ok"``, ``"error"``, ``"timeout"``, ``"dead"`` (the kernel died
            or stopped answering during this cell) or ``"not run"`` (it was
            already dead before).
        error_name: the exception class name for ``"error"`` (e.g. ``"NameError"``).
        error_value: the exception message.
        traceback: the traceback as plain text (ANSI colours removed).
        outputs: the cell's Jupyter outputs.
    """

    status: str
    error_name: str = ""
    error_value: str = ""
    traceback: str = ""
    outputs: list = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the cell ran to the end without an error."""
        return self.status == "ok"

    def summary(self) -> str:
        """One line: ``'NameError: name x is not defined'``, ``'timed out'``..."""
        if self.status == "error":
            return f"{self.error_name}: {self.error_value}".strip().rstrip(":")
        return {
            "ok": "ok",
            "timeout": "timed out (the cell ran longer than the time limit)",
            "dead": "the kernel died or stopped responding (exit(), a crash or running out of memory)",
            "not run": "not run: the kernel had died in an earlier cell",
        }[self.status]


def strip_ansi(text: str) -> str:
    """Removes terminal colour codes from a traceback."""
    return _ANSI.sub("", text)


class KernelSession:
    """A fresh Python kernel that runs code cells one at a time.

    Args:
        workdir: the kernel's working directory.
        timeout_per_cell: seconds a cell may run before it is interrupted.
        kernel_name: the Jupyter kernel to start (``python3`` is this Python).
        startup_timeout: seconds to wait for the kernel to start.
        env: extra environment variables for the kernel (it inherits ours,
            so ``EMNIST_TF_FAST`` and ``EMNIST_TF_DATA`` pass through).
    """

    def __init__(
        self,
        workdir: str | os.PathLike,
        *,
        timeout_per_cell: float = 300,
        kernel_name: str = "python3",
        startup_timeout: float = 60,
        env: dict[str, str] | None = None,
    ):
        if timeout_per_cell <= 0:
            raise ValueError(f"timeout_per_cell must be positive, got {timeout_per_cell}")
        self.workdir = str(workdir)
        self.timeout = max(1, math.ceil(timeout_per_cell))
        self.notebook = nbformat.v4.new_notebook()
        self.client = NotebookClient(
            self.notebook,
            timeout=self.timeout,
            kernel_name=kernel_name,
            allow_errors=True,
            interrupt_on_timeout=False,
            startup_timeout=int(startup_timeout),
            resources={"metadata": {"path": self.workdir}},
            shutdown_kernel="immediate",
            iopub_timeout=IOPUB_TIMEOUT,
            on_cell_executed=self._remember_reply,
        )
        self._reply: dict = {}
        self.env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"), **(env or {})}
        self.dead = False
        self._context = None

    def __enter__(self) -> KernelSession:
        # The kernel's own stderr (TensorFlow's start-up logs, transport warnings) is dropped;
        # everything a cell prints or raises still arrives through the Jupyter protocol.
        self._context = self.client.setup_kernel(cwd=self.workdir, env=self.env, stderr=subprocess.DEVNULL)
        self._context.__enter__()
        return self

    def __exit__(self, *exc_info) -> bool:
        # a kernel that died cannot always be shut down cleanly
        with contextlib.suppress(Exception):
            self._context.__exit__(None, None, None)
        return False

    def run(self, source: str, *, store_history: bool = True) -> CellOutcome:
        """Runs one code cell and returns what happened (never raises for the cell's faults)."""
        if self.dead:
            return CellOutcome("not run")
        cell = nbformat.v4.new_code_cell(source)
        self.notebook.cells = [cell]
        self._reply = {}
        try:
            self.client.execute_cell(cell, 0, store_history=store_history)
        except CellTimeoutError:
            self._recover_after_timeout()
            return CellOutcome("timeout", outputs=list(cell.get("outputs", [])))
        except DeadKernelError:
            self.dead = True
            return CellOutcome("dead")
        except Exception as error:  # the kernel's channels broke: treat it as dead
            self.dead = True
            return CellOutcome("dead", error_value=str(error))
        return _outcome(self._reply.get("content", {}), cell.outputs)

    def _remember_reply(self, cell, cell_index, execute_reply) -> None:
        self._reply = execute_reply or {}

    def _recover_after_timeout(self) -> None:
        """Interrupts the kernel; marks it dead if it does not answer a probe soon after."""
        try:
            run_sync(self.client.km.interrupt_kernel)()
            self.client.timeout = PROBE_TIMEOUT
            probe = nbformat.v4.new_code_cell("pass")
            self.notebook.cells = [probe]
            self.client.execute_cell(probe, 0, store_history=False)
        except Exception:
            self.dead = True
        finally:
            self.client.timeout = self.timeout


def _outcome(reply: dict, outputs: list) -> CellOutcome:
    """Reads the result from the kernel's execute reply (reliable) or, failing that, the outputs."""
    error = (
        reply
        if reply.get("status") == "error"
        else next((output for output in outputs if output.get("output_type") == "error"), None)
    )
    if error is None:
        return CellOutcome("ok", outputs=list(outputs))
    return CellOutcome(
        "error",
        error_name=error.get("ename", ""),
        error_value=strip_ansi(error.get("evalue", "")),
        traceback=strip_ansi("\n".join(error.get("traceback", []))),
        outputs=list(outputs),
    )
