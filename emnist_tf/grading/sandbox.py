"""One student's sandbox: bubblewrap around the grader's cell runner.

The sandbox sees a read-only copy of the Python environment, the ``emnist_tf``
library (without its ``grading`` package, the grader), the data folder, the one
submission and the grader's read-only inbox; it writes only to a private
scratch folder. It runs as an unprivileged user (uid 65534) with no network,
in its own PID namespace (every process it starts dies with it), under
resource limits (address space, processes, file size, CPU time), with a
scrubbed environment.

Example:
    >>> from emnist_tf.grading.sandbox import Limits, Sandbox
    >>> with Sandbox(scratch, inbox, submission, limits=Limits()) as box:
    ...     box.request({"op": "run", "code": "x = 1", "timeout": 10}, timeout=15)
    {'status': 'ok', ...}
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import queue
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import emnist_tf

SANDBOX_UID = 65534
SANDBOX_GID = 65534
MAX_ANSWER_BYTES = 64 * 1024
START_TIMEOUT = 60
GRACE = 5
DISK_CHECK_SECONDS = 0.5
MAX_SCRATCH_ENTRIES = 100_000  # more files than this counts as over the quota (inodes are disk too)
INSTALL_HINT = "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; it needs Linux user namespaces)"
RUNNER = Path(__file__).with_name("runner.py")


class SandboxUnavailableError(RuntimeError):
    """bubblewrap is missing or cannot create namespaces on this machine."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """Resource limits of one sandbox.

    Attributes:
        memory_mb: address space of each process (RLIMIT_AS).
        processes: processes and threads of the sandbox user (RLIMIT_NPROC).
        file_size_mb: largest file it may write (RLIMIT_FSIZE).
        disk_mb: all it may keep in its scratch folder (checked twice a second;
            the sandbox is killed when it holds more).
        timeout_per_cell: seconds one cell (or one proxied call) may run.
        timeout_per_notebook: seconds the whole notebook may run (wall clock).
    """

    memory_mb: int = 6144
    processes: int = 512
    file_size_mb: int = 512
    disk_mb: int = 4096
    timeout_per_cell: float = 300
    timeout_per_notebook: float = 3600

    def __post_init__(self):
        for name in ("memory_mb", "processes", "file_size_mb", "disk_mb", "timeout_per_cell", "timeout_per_notebook"):
            if getattr(self, name) <= 0:
                raise ValueError(f"sandbox limit {name} must be positive, got {getattr(self, name)}")


def bwrap_path() -> str | None:
    """The bubblewrap executable, or None when it is not installed."""
    return shutil.which("bwrap") or next((p for p in ("/usr/bin/bwrap", "/bin/bwrap") if os.path.exists(p)), None)


@functools.lru_cache(maxsize=1)
def isolation_problem() -> str | None:
    """Why sandboxes cannot be made here (None when bubblewrap works)."""
    bwrap = bwrap_path()
    if bwrap is None:
        return f"bubblewrap (bwrap) is not installed; {INSTALL_HINT}"
    if not shutil.which("setpriv") and os.geteuid() == 0:
        return "setpriv (util-linux) is missing, so the sandbox cannot drop to an unprivileged user"
    probe = [bwrap, "--unshare-pid", "--unshare-net", "--die-with-parent", "--ro-bind", "/", "/", "true"]
    if os.geteuid() != 0:
        probe[1:1] = ["--unshare-user"]
    try:
        completed = subprocess.run(probe, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap does not run here ({type(error).__name__}); {INSTALL_HINT}"
    if completed.returncode != 0:
        reason = completed.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no reason given"]
        return f"bubblewrap cannot create namespaces here ({reason[0]}); {INSTALL_HINT}"
    return None


def _python_roots() -> list[Path]:
    """Folders the sandbox needs to run this Python with its packages."""
    roots = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), Path(sys.exec_prefix).resolve()}
    roots.add(Path(os.path.realpath(sys.executable)).parent.parent)
    return sorted(roots)


def _library_dir() -> Path:
    return Path(emnist_tf.__file__).resolve().parent


def scratch_usage(folder: Path, stop_above: int) -> int:
    """Bytes of disk the files under ``folder`` take (stops counting above ``stop_above``; never follows links).

    More than ``MAX_SCRATCH_ENTRIES`` entries count as over any quota.
    """
    total, entries, pending = 0, 0, [str(folder)]
    while pending and total <= stop_above:
        try:
            with os.scandir(pending.pop()) as listing:
                for entry in listing:
                    entries += 1
                    if entries > MAX_SCRATCH_ENTRIES:
                        return stop_above + 1
                    with contextlib.suppress(OSError):
                        info = entry.stat(follow_symlinks=False)
                        total += info.st_blocks * 512
                        if entry.is_dir(follow_symlinks=False):
                            pending.append(entry.path)
        except OSError:
            continue
    return total


class Sandbox:
    """A running cell runner for one submission (bubblewrap unless ``trusted``).

    Args:
        scratch: an empty host folder; the sandbox's only writable place.
        inbox: a host folder the grader writes into (read-only inside).
        submission: the submitted notebook (read-only inside).
        limits: resource limits.
        env: variables the notebook needs (``EMNIST_TF_DATA``, ``EMNIST_TF_FAST``...).
        read_only: further host folders to show read-only at the same path
            (the data folder).
        trusted: run without bubblewrap (no isolation; the instructor's choice).
        library_dir: the ``emnist_tf`` package folder to show instead of the
            installed library (the grader's copy whose forbidden functions refuse).
    """

    def __init__(
        self,
        scratch: Path,
        inbox: Path,
        submission: Path,
        *,
        limits: Limits,
        env: dict[str, str] | None = None,
        read_only: list[Path] = (),
        trusted: bool = False,
        library_dir: Path | None = None,
    ):
        self.library_dir = Path(library_dir) if library_dir is not None else _library_dir()
        self.scratch = Path(scratch)
        self.inbox = Path(inbox)
        self.submission = Path(submission)
        self.limits = limits
        self.env = dict(env or {})
        self.read_only = [Path(path).resolve() for path in read_only if Path(path).exists()]
        self.trusted = trusted
        self.process: subprocess.Popen | None = None
        self.answers: queue.Queue = queue.Queue()
        self.sequence = 0
        self.started = 0.0
        self.dead = False
        self.over_disk_quota = False

    # --- paths as the runner sees them ----------------------------------------------------
    def inside(self, host_path: Path) -> str:
        """The path of a scratch or inbox file as the runner sees it."""
        host_path = Path(host_path)
        if self.trusted:
            return str(host_path)
        for host, inner in ((self.scratch, "/scratch"), (self.inbox, "/inbox")):
            if host_path == host or host in host_path.parents:
                return str(Path(inner) / host_path.relative_to(host))
        raise ValueError(f"{host_path} is neither in the scratch folder nor in the inbox")

    def _environment(self, home: str, tmp: str, library_root: str) -> dict[str, str]:
        python_bin = str(Path(sys.executable).parent)
        return {
            "PATH": f"{python_bin}:/usr/local/bin:/usr/bin:/bin",
            "HOME": home,
            "TMPDIR": tmp,
            "PYTHONPATH": library_root,
            "PYTHONNOUSERSITE": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": f"{home}/.config/matplotlib",
            "KERAS_HOME": f"{home}/.keras",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "LANG": "C.UTF-8",
            **self.env,
        }

    def command(self) -> tuple[list[str], dict[str, str], str]:
        """The command line, environment and working directory that start the runner."""
        python = sys.executable
        if self.trusted:
            home = self.scratch / "home"
            env = self._environment(str(home), str(self.scratch / "tmp"), str(self.library_dir.parent))
            return [python, str(self.inbox / "runner.py")], env, str(self.scratch)
        args = [bwrap_path(), "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
        args += ["--unshare-cgroup-try", "--die-with-parent", "--new-session", "--hostname", "sandbox"]
        for name in ("usr", "etc"):
            args += ["--ro-bind", f"/{name}", f"/{name}"]
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            path = Path("/") / name
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
        args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
        made: set[str] = {"/", "/usr", "/etc", "/tmp", "/proc", "/dev"}
        for root in [*_python_roots(), *self.read_only]:
            args += self._parents(root, made) + ["--ro-bind", str(root), str(root)]
        args += ["--perms", "0755", "--dir", "/opt", "--perms", "0755", "--dir", "/opt/emnist_tf"]
        args += ["--ro-bind", str(self.library_dir), "/opt/emnist_tf/emnist_tf"]
        args += ["--perms", "0755", "--tmpfs", "/opt/emnist_tf/emnist_tf/grading"]
        args += ["--ro-bind", str(self.inbox), "/inbox", "--bind", str(self.scratch), "/scratch"]
        args += ["--perms", "0755", "--dir", "/submission"]
        args += ["--ro-bind", str(self.submission), f"/submission/{self.submission.name}"]
        args += ["--chdir", "/scratch", "--clearenv"]
        for key, value in self._environment("/scratch/home", "/tmp", "/opt/emnist_tf").items():
            args += ["--setenv", key, value]
        if os.geteuid() == 0:
            args += ["--", shutil.which("setpriv"), f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_GID}"]
            args += ["--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
        else:
            args[1:1] = ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_GID)]
        args += ["--", python, "/inbox/runner.py"]
        return args, {}, "/"

    @staticmethod
    def _parents(root: Path, made: set[str]) -> list[str]:
        args = []
        for parent in reversed(root.parents):
            if str(parent) not in made:
                made.add(str(parent))
                args += ["--perms", "0755", "--dir", str(parent)]
        return args

    # --- life cycle ---------------------------------------------------------------------
    def _set_limits(self) -> None:
        """Runs in the child before exec: limits that every process of the sandbox inherits."""
        mb = 1024 * 1024
        cpu = int(self.limits.timeout_per_notebook * max(os.cpu_count() or 1, 1)) + 10
        for limit, value in (
            (resource.RLIMIT_AS, self.limits.memory_mb * mb),
            (resource.RLIMIT_NPROC, self.limits.processes),
            (resource.RLIMIT_FSIZE, self.limits.file_size_mb * mb),
            (resource.RLIMIT_CPU, cpu),
            (resource.RLIMIT_CORE, 0),
        ):
            resource.setrlimit(limit, (value, value))

    def start(self) -> None:
        """Prepares the folders and starts the runner."""
        for folder in (self.scratch, self.scratch / "home", self.scratch / "tmp"):
            folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(RUNNER, self.inbox / "runner.py")
        os.chmod(self.inbox, 0o755)
        os.chmod(self.inbox / "runner.py", 0o644)
        if os.geteuid() == 0 and not self.trusted:
            for folder in (self.scratch, self.scratch / "home", self.scratch / "tmp"):
                os.chown(folder, SANDBOX_UID, SANDBOX_GID)
        args, env, cwd = self.command()
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            preexec_fn=self._set_limits,
            start_new_session=True,
        )
        self.started = time.monotonic()
        threading.Thread(target=self._read_answers, daemon=True).start()
        threading.Thread(target=self._watch_disk, daemon=True).start()

    def _watch_disk(self) -> None:
        """Kills the sandbox when its scratch folder holds more than ``limits.disk_mb``."""
        quota = self.limits.disk_mb * 1024 * 1024
        while not self.dead:
            if scratch_usage(self.scratch, quota) > quota:
                self.over_disk_quota = True
                self.kill()
                return
            time.sleep(DISK_CHECK_SECONDS)

    def _read_answers(self) -> None:
        stream = self.process.stdout
        while True:
            line = stream.readline(MAX_ANSWER_BYTES + 1)
            if not line:
                self.answers.put(None)
                return
            if len(line) > MAX_ANSWER_BYTES:
                self.answers.put(None)
                return
            try:
                answer = json.loads(line)
            except ValueError:
                answer = None
            self.answers.put(answer if isinstance(answer, dict) else {})

    def remaining(self) -> float:
        """Seconds left of the notebook's wall-clock budget."""
        return self.limits.timeout_per_notebook - (time.monotonic() - self.started)

    def request(self, command: dict, timeout: float) -> dict | None:
        """Sends one command; returns the runner's answer, or None if it died or ran out of time.

        When the answer does not come in time the sandbox is killed (every
        process in it), so no later command runs.
        """
        if self.dead or self.process is None:
            return None
        self.sequence += 1
        command = {**command, "seq": self.sequence}
        deadline = time.monotonic() + min(timeout, max(self.remaining(), 0))
        try:
            self.process.stdin.write((json.dumps(command) + "\n").encode())
            self.process.stdin.flush()
        except OSError:
            self.kill()
            return None
        while True:
            left = deadline - time.monotonic()
            try:
                answer = self.answers.get(timeout=max(left, 0.01))
            except queue.Empty:
                self.kill()
                return None
            if answer is None:
                self.kill()
                return None
            if answer.get("seq") == self.sequence:
                return answer
            if left <= 0:
                self.kill()
                return None

    def kill(self) -> None:
        """Ends the sandbox and every process in it."""
        self.dead = True
        if self.process is None:
            return
        with_group = getattr(os, "killpg", None)
        try:
            if with_group is not None:
                os.killpg(self.process.pid, signal.SIGKILL)
            else:
                self.process.kill()
        except (ProcessLookupError, PermissionError):
            pass
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=30)
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                stream.close()

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc_info) -> bool:
        self.kill()
        return False
