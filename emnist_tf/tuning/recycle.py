"""Restarting a long sweep's process to give back the memory TensorFlow leaks with every model trained.

A sweep raises :class:`RecycleProcess` between trials once the process has finished enough of
them (``run_sweep(recycle_after=...)``); :func:`run_recycling` catches it and replaces the
process with a fresh one running the same command, which resumes the sweep.
"""

from __future__ import annotations

import os
import sys


class RecycleProcess(Exception):  # noqa: N818 (a signal to restart, not an error)
    """Raised between trials when the process should restart to give memory back."""


def run_recycling(command: str, recycle_after: int | None, work) -> int:
    """Calls ``work(recycle_after)``; when it asks for a fresh process, restarts this one with the same arguments.

    Only a process started as the ``emnist-tf`` command restarts itself (``work`` gets None when
    called in-process, e.g. from a test or a notebook).

    Args:
        command: the subcommand that must appear in the process's arguments (``"tune"``, ``"assignment"``).
        recycle_after: trials per process (0 or None: never restart).
        work: the callable that runs (or resumes) the sweep.

    Returns:
        0 once the work is done.
    """
    program = os.path.basename(sys.argv[0]) if sys.argv else ""
    restartable = program in ("emnist-tf", "__main__.py") and command in sys.argv[1:]
    try:
        work((recycle_after or None) if restartable else None)
    except RecycleProcess:
        sys.stdout.flush()
        sys.stderr.flush()
        # Same process id and arguments: a SIGKILL still reaches the sweep, and it resumes.
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
    return 0
