"""One student's sandbox: bubblewrap around the grader's cell runner.

The sandbox sees a read-only copy of the Python environment, the ``emnist_tf``
library (without its ``grading`` package, the grader), the data folder, the one
submission and the grader's read-only inbox; it writes only to a private
scratch folder, which also holds its ``/tmp``. Everything is mounted under
neutral names (``/opt/python``, ``/opt/emnist_tf``, ``/data/0``, ``/scratch``,
``/inbox``) and bubblewrap reads its arguments from a file descriptor, so no
command line, environment variable or mapped file in the sandbox's ``/proc``
names a host folder; the submission, data folders and library are mounted from
links in a neutral temporary folder (:mod:`emnist_tf.grading.staging`), so the
mount table names none of their folders either (give ``scratch`` and ``inbox``
a neutral folder too, as the grader does). Run as root, each sandbox gets a
user id of its own and a cgroup capping the memory, processes and CPU of its whole process tree
(:mod:`emnist_tf.grading.isolation`); without cgroups those limits fall back to
per-process resource limits. It has no network, its own PID namespace (every
process it starts dies with it) and a scrubbed environment.

Example:
    >>> from emnist_tf.grading.sandbox import Limits, Sandbox
    >>> with Sandbox(scratch, inbox, submission, limits=Limits()) as box:
    ...     box.request({"op": "run", "code": "x = 1", "timeout": 10}, timeout=15)
    {'status': 'ok', ...}
"""

from __future__ import annotations

import atexit
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
from emnist_tf.grading import isolation, staging

SANDBOX_UID = 65534  # the user inside when the grader is not root (one user namespace per sandbox)
SANDBOX_GID = 65534
PYTHON_INSIDE = Path("/opt/python")
DATA_INSIDE = Path("/data")
MAX_ANSWER_BYTES = 64 * 1024
START_TIMEOUT = 60
GRACE = 5
DISK_CHECK_SECONDS = 0.5
MAX_SCRATCH_ENTRIES = 100_000  # more files than this counts as over the quota (inodes are disk too)
INSTALL_HINT = "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; it needs Linux user namespaces)"
RUNNER = Path(__file__).with_name("runner.py")
_PYTHON_COPIES = staging.StagedPython()  # this process's linked copies of Python's folders
atexit.register(_PYTHON_COPIES.close)


class SandboxUnavailableError(RuntimeError):
    """bubblewrap is missing or cannot create namespaces on this machine."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """Resource limits of one sandbox.

    Attributes:
        memory_mb: memory of the notebook's whole process tree (its cgroup;
            without cgroups, the address space of each process, RLIMIT_AS).
        processes: processes and threads of the notebook (its cgroup, and
            RLIMIT_NPROC of its own user id).
        cpus: cores' worth of CPU the notebook's tree may use at once (its
            cgroup; without cgroups, CPU seconds per process are capped at
            ``timeout_per_notebook`` times the machine's cores).
        file_size_mb: largest file it may write (RLIMIT_FSIZE).
        disk_mb: all it may keep in its scratch folder (checked twice a second;
            the sandbox is killed when it holds more).
        timeout_per_cell: seconds one cell (or one proxied call) may run.
        timeout_per_notebook: seconds the whole notebook may run (wall clock).
    """

    memory_mb: int = 6144
    processes: int = 512
    cpus: float = float(os.cpu_count() or 1)
    file_size_mb: int = 512
    disk_mb: int = 4096
    timeout_per_cell: float = 300
    timeout_per_notebook: float = 3600

    def __post_init__(self):
        for field in dataclasses.fields(self):
            if getattr(self, field.name) <= 0:
                raise ValueError(f"sandbox limit {field.name} must be positive, got {getattr(self, field.name)}")


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


@dataclasses.dataclass(frozen=True)
class PythonLayout:
    """How this Python appears inside the sandbox, under neutral names.

    Attributes:
        binds: ``(host folder, folder inside)`` pairs, mounted read-only.
        links: ``(target, link inside)`` symbolic links to make.
        files: ``(text, file inside)`` small read-only files to make.
        executable: the interpreter's path inside.
        library_path: ``LD_LIBRARY_PATH`` inside ("" when not needed).
    """

    binds: tuple[tuple[Path, str], ...]
    links: tuple[tuple[str, str], ...]
    files: tuple[tuple[str, str], ...]
    executable: str
    library_path: str


def python_layout(copies: dict[str, str] | None = None) -> PythonLayout:
    """Shows this Python's installation at ``/opt/python/base`` and its virtual environment at ``/opt/python/env``.

    An interpreter under ``/usr`` stays where it is (``/usr`` is mounted
    whole). A virtual environment gets a ``pyvenv.cfg`` pointing at the moved
    installation, so its packages load as on the host; ``LD_LIBRARY_PATH``
    finds a ``libpython`` that the interpreter names by its host path.

    Args:
        copies: host folder -> its linked copy (:func:`python_copies`),
            mounted instead of the folder so the mount table does not name it.
    """
    copies = copies or {}

    def source(folder: Path) -> Path:
        """What to mount for ``folder``: its copy's counterpart where one was made."""
        for host, copy in copies.items():
            if folder == Path(host) or Path(host) in folder.parents:
                return Path(copy) / folder.relative_to(host)
        return folder

    base = Path(sys.base_prefix).resolve()
    real = Path(os.path.realpath(sys.executable))
    binds, links, files = [], [], []
    if base == Path("/usr") or Path("/usr") in base.parents or base not in real.parents:
        interpreter, library_path = str(real), ""
        if Path("/usr") not in real.parents:  # an unusual layout: shown at its own path
            binds.append((real.parent.parent, str(real.parent.parent)))
    else:
        inner_base = PYTHON_INSIDE / "base"
        binds.append((source(base), str(inner_base)))
        interpreter = str(inner_base / real.relative_to(base))
        library_path = str(inner_base / "lib") if (base / "lib").is_dir() else ""
    executable = interpreter
    if Path(sys.prefix).resolve() != base:
        env, inner_env = Path(sys.prefix).resolve(), PYTHON_INSIDE / "env"
        for name in ("lib", "lib64"):
            if (env / name).is_symlink():
                links.append((os.readlink(env / name), str(inner_env / name)))
            elif (env / name).is_dir():
                binds.append((source(env / name), str(inner_env / name)))
        executable = str(inner_env / "bin" / "python")
        links.append((interpreter, executable))
        files.append((_venv_config(env / "pyvenv.cfg", Path(interpreter).parent), str(inner_env / "pyvenv.cfg")))
    return PythonLayout(tuple(binds), tuple(links), tuple(files), executable, library_path)


def python_copies() -> dict[str, str]:
    """Host folder -> a linked copy made once for this process, for each Python folder a sandbox mounts.

    The installation (where it is not under ``/usr``, which stays in place)
    and the virtual environment's ``lib`` folder. A folder whose files cannot
    be linked (another file system than ``$TMPDIR``) has no copy: sandboxes
    then mount it in place (see :class:`~emnist_tf.grading.staging.StagedPython`).
    """
    base, env = Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()
    # a virtual environment without the system's packages never imports the installation's site-packages
    own_packages_only = (
        env != base and _venv_settings(env / "pyvenv.cfg").get("include-system-site-packages") == "false"
    )
    wanted = []
    if base != Path("/usr") and Path("/usr") not in base.parents:
        wanted.append((base, (), ("site-packages",) if own_packages_only else ()))
    if env != base:
        wanted.append((env, ("lib",), ()))
    copies = {str(folder): _PYTHON_COPIES.folder(folder, parts, skip) for folder, parts, skip in wanted}
    return {host: str(copy) for host, copy in copies.items() if copy is not None}


def _venv_settings(config: Path) -> dict[str, str]:
    """The ``key = value`` settings of a virtual environment's ``pyvenv.cfg`` ({} where it cannot be read)."""
    try:
        lines = config.read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    return {key.strip(): value.strip() for key, _, value in (line.partition("=") for line in lines) if value}


def _venv_config(host_config: Path, home: Path) -> str:
    """The virtual environment's ``pyvenv.cfg`` with ``home`` (the interpreter's folder) as seen inside."""
    settings = _venv_settings(host_config)
    kept = [f"{key} = {settings[key]}" for key in ("include-system-site-packages", "version") if key in settings]
    return "\n".join([f"home = {home}", *kept]) + "\n"


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
        python_copies: host folder -> linked copy, for Python's folders (made
            by the grading process and shared by its sandboxes; by default
            this process's own, see :func:`python_copies`).
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
        python_copies: dict[str, str] | None = None,
    ):
        self.python_copies = python_copies
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
        self.out_of_memory = False
        self.peak_memory_bytes: int | None = None
        self.uid = SANDBOX_UID
        self.cgroup: isolation.Cgroup | None = None
        self.mounts: staging.Sources | None = None  # what bubblewrap mounts: staged copies (see start)
        self._held = contextlib.ExitStack()
        self._kill_lock = threading.Lock()

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

    def _environment(self, home: str, tmp: str, library_root: str, python: str, library_path: str = ""):
        extra = {"LD_LIBRARY_PATH": library_path} if library_path else {}
        return {
            "PATH": f"{Path(python).parent}:/usr/local/bin:/usr/bin:/bin",
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
            **extra,
            **self.env,
        }

    def _read_only_inside(self) -> list[tuple[Path, str]]:
        """The extra read-only folders (as the host names them) and their neutral names inside (``/data/0``...)."""
        return [(root, str(DATA_INSIDE / str(index))) for index, root in enumerate(self.read_only)]

    def _inner_env(self) -> dict[str, str]:
        """``self.env`` with host paths of the read-only folders replaced by their names inside."""
        env = {}
        for key, value in self.env.items():
            for host, inner in self._read_only_inside():
                if value == str(host) or value.startswith(f"{host}/"):
                    value = inner + value[len(str(host)) :]
            env[key] = value
        return env

    def command(self) -> tuple[list[str], dict[str, str], str, list[tuple[str, str]]]:
        """The command line, environment, working directory and files (text, path inside) that start the runner.

        For bubblewrap the files are given to it as ``--ro-bind-data`` (see :meth:`start`).
        """
        if self.trusted:
            home = self.scratch / "home"
            env = self._environment(str(home), str(self.scratch / "tmp"), str(self.library_dir.parent), sys.executable)
            return [sys.executable, str(self.inbox / "runner.py")], env, str(self.scratch), []
        layout = python_layout(python_copies() if self.python_copies is None else self.python_copies)
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
        args += ["--proc", "/proc", "--dev", "/dev"]
        made: set[str] = {"/", "/usr", "/etc", "/proc", "/dev"}
        mounts = self.mounts or staging.Sources(self.submission, tuple(self.read_only), self.library_dir)
        data = [(staged, inner) for staged, (_, inner) in zip(mounts.read_only, self._read_only_inside(), strict=True)]
        for host, inner in [*layout.binds, *data]:
            args += self._parents(Path(inner), made) + ["--ro-bind", str(host), inner]
        for target, link in layout.links:
            args += self._parents(Path(link), made) + ["--symlink", target, link]
        for _, inner in layout.files:
            args += self._parents(Path(inner), made)
        args += ["--perms", "0755", "--dir", "/opt", "--perms", "0755", "--dir", "/opt/emnist_tf"]
        args += ["--ro-bind", str(mounts.library), "/opt/emnist_tf/emnist_tf"]
        args += ["--perms", "0755", "--tmpfs", "/opt/emnist_tf/emnist_tf/grading"]
        args += ["--ro-bind", str(self.inbox), "/inbox", "--bind", str(self.scratch), "/scratch"]
        args += ["--bind", str(self.scratch / "tmp"), "/tmp"]  # counted with the scratch folder, not RAM
        args += ["--perms", "0755", "--dir", "/submission"]
        args += ["--ro-bind", str(mounts.submission), f"/submission/{self.submission.name}"]
        args += ["--chdir", "/scratch", "--clearenv"]
        env = self._environment("/scratch/home", "/tmp", "/opt/emnist_tf", layout.executable, layout.library_path)
        for key, value in {**env, **self._inner_env()}.items():
            args += ["--setenv", key, value]
        if os.geteuid() == 0:
            args += ["--", shutil.which("setpriv"), f"--reuid={self.uid}", f"--regid={self.uid}"]
            args += ["--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
        else:
            args[1:1] = ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_GID)]
        args += ["--", layout.executable, "/inbox/runner.py"]
        return args, {}, "/", list(layout.files)

    @staticmethod
    def _parents(root: Path, made: set[str]) -> list[str]:
        args = []
        for parent in reversed(root.parents):
            if str(parent) not in made:
                made.add(str(parent))
                args += ["--perms", "0755", "--dir", str(parent)]
        return args

    @staticmethod
    def _through_descriptors(args: list[str], files: list[tuple[str, str]]) -> tuple[list[str], list[int]]:
        """bubblewrap's options moved into a file descriptor (``--args FD``), so its process shows no host path.

        Inside the sandbox, PID 1 is bubblewrap's own monitor, whose command
        line is its ``argv``: ``bwrap --args 3 -- /usr/bin/setpriv ... /opt/python/env/bin/python
        /inbox/runner.py`` instead of every bind.
        """
        descriptors = []

        def descriptor(data: bytes) -> int:
            fd = os.memfd_create("bwrap", 0)
            os.write(fd, data)
            os.lseek(fd, 0, os.SEEK_SET)
            descriptors.append(fd)
            return fd

        extra = []
        for text, inner in files:
            extra += ["--perms", "0644", "--ro-bind-data", str(descriptor(text.encode())), inner]
        separator = args.index("--")  # bubblewrap takes options from the descriptor, the command from argv
        listed = descriptor(b"".join(arg.encode() + b"\0" for arg in args[1:separator] + extra))
        return ["bwrap", "--args", str(listed), *args[separator:]], descriptors

    # --- life cycle ---------------------------------------------------------------------
    def _set_limits(self) -> None:
        """Runs in the child before exec: its cgroup, and the limits every process of the sandbox inherits."""
        if self.cgroup is not None:
            self.cgroup.enter()
        mb = 1024 * 1024
        limits = [
            (resource.RLIMIT_NPROC, self.limits.processes),
            (resource.RLIMIT_FSIZE, self.limits.file_size_mb * mb),
            (resource.RLIMIT_CORE, 0),
        ]
        if self.cgroup is None:  # no cgroup: per-process memory and CPU time instead
            cpu = int(self.limits.timeout_per_notebook * max(os.cpu_count() or 1, 1)) + 10
            limits += [(resource.RLIMIT_AS, self.limits.memory_mb * mb), (resource.RLIMIT_CPU, cpu)]
        for limit, value in limits:
            resource.setrlimit(limit, (value, value))

    def _isolate(self) -> None:
        """Leases this sandbox's own user id (as root) and makes its cgroup (where cgroups work)."""
        if os.geteuid() == 0 and not self.trusted:
            self.uid = self._held.enter_context(isolation.lease_uid())
            name = f"emnist-tf-box-{self.uid}"
        else:
            name = f"emnist-tf-box-p{os.getpid()}-{id(self):x}"
        try:
            self.cgroup = isolation.Cgroup.create(
                name, memory_mb=self.limits.memory_mb, processes=self.limits.processes, cpus=self.limits.cpus
            )
        except isolation.IsolationError:
            if os.geteuid() == 0:
                raise
            self.cgroup = None  # a user without a delegated cgroup: per-process limits

    def start(self) -> None:
        """Prepares the folders, this sandbox's user id and cgroup, and starts the runner.

        Raises:
            emnist_tf.grading.isolation.IsolationError: no user id or cgroup
                could be set up (every id taken, a cgroup not writable).
        """
        for folder in (self.scratch, self.scratch / "home", self.scratch / "tmp"):
            folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(RUNNER, self.inbox / "runner.py")
        os.chmod(self.inbox, 0o755)
        os.chmod(self.inbox / "runner.py", 0o644)
        self._isolate()
        if not self.trusted:  # /proc/self/mountinfo names every mount's source: mount neutral copies
            self.mounts = self._held.enter_context(staging.stage(self.submission, self.read_only, self.library_dir))
        if os.geteuid() == 0 and not self.trusted:
            for folder in (self.scratch, self.scratch / "home", self.scratch / "tmp"):
                os.chown(folder, self.uid, self.uid)
        args, env, cwd, files = self.command()
        descriptors: list[int] = []
        if not self.trusted:
            args, descriptors = self._through_descriptors(args, files)
        try:
            self.process = subprocess.Popen(
                args,
                executable=None if self.trusted else bwrap_path(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
                cwd=cwd,
                pass_fds=descriptors,
                preexec_fn=self._set_limits,
                start_new_session=True,
            )
        finally:
            for fd in descriptors:
                os.close(fd)
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
        """Ends the sandbox and every process in it, and gives back its user id and cgroup."""
        self.dead = True
        with self._kill_lock:
            if self.process is not None and self.process.returncode is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.process.pid, signal.SIGKILL)
            if self.cgroup is not None:
                self.cgroup.kill_all()
            if self.process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=30)
                for stream in (self.process.stdin, self.process.stdout):
                    with contextlib.suppress(OSError):
                        stream.close()
            if self.cgroup is not None:
                self.peak_memory_bytes = self.cgroup.peak_memory_bytes()
                self.out_of_memory = self.cgroup.out_of_memory_kills() > 0
                self.cgroup.remove()
                self.cgroup = None
            self._held.close()

    def __enter__(self) -> Sandbox:
        try:
            self.start()
        except BaseException:
            self.kill()  # gives back the user id and cgroup of a sandbox that could not start
            raise
        return self

    def __exit__(self, *exc_info) -> bool:
        self.kill()
        return False
