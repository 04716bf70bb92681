"""Keeping sandboxes apart: a user id of its own, a cgroup for its process tree, paths opened beneath a folder.

* :func:`lease_uid` gives each running sandbox a user id no other sandbox on
  the machine holds (a lock file per id, released when the sandbox ends or its
  grader dies), so one student's processes never count against another's
  process limit and no sandbox can signal or read another's files.
* :class:`Cgroup` caps the memory, the number of processes and the CPU share
  of a sandbox's whole process tree: cgroup v2 where its memory, pids and cpu
  controllers are available, else cgroup v1 (one hierarchy per controller),
  else nothing (:func:`cgroup_problem` says why; the sandbox then falls back
  to per-process resource limits).
* :func:`open_beneath` opens a file under a folder without following a
  symbolic link at any component: the one way the grader opens what a
  student's sandbox wrote.

Example:
    >>> from emnist_tf.grading import isolation
    >>> with isolation.lease_uid() as uid:
    ...     group = isolation.Cgroup.create(f"emnist-tf-box-{uid}", memory_mb=2048, processes=256, cpus=1.0)
    >>> fd = isolation.open_beneath(scratch, "exports/1/manifest.json")
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import os
import pwd
import signal
import stat
import time
from collections.abc import Iterator
from pathlib import Path

UID_BASE = 1_950_000_000  # above the ranges Debian, systemd (dynamic users, nspawn) and subuid files hand out
UID_POOL_SIZE = 1024
LOCK_DIR = Path("/run/emnist-tf-grading")
CONTROLLERS = ("memory", "pids", "cpu")
CPU_PERIOD_US = 100_000
V2_PARENT = "emnist-tf-grading"
KILL_ROUNDS = 100


class IsolationError(RuntimeError):
    """No user id or cgroup could be set up for a sandbox; the message says why."""


# --- one user id per sandbox ----------------------------------------------------------------
def _uid_has_processes(uid: int) -> bool:
    """True when any process on the machine runs as ``uid`` (a sandbox left over from a crash)."""
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat(follow_symlinks=False).st_uid == uid:
                    return True
    return False


def _uid_has_account(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True


@contextlib.contextmanager
def lease_uid(lock_dir: Path = LOCK_DIR, base: int = UID_BASE, size: int = UID_POOL_SIZE) -> Iterator[int]:
    """Holds a user id that no other sandbox on this machine holds until the block ends.

    Each id of the pool has a lock file in ``lock_dir``; the lock is an
    ``flock``, so the kernel releases it when the grader process ends, however
    it ends. Ids that belong to an account or still run a process are skipped.

    Raises:
        IsolationError: every id of the pool is taken (more than ``size``
            sandboxes at once), or ``lock_dir`` cannot be made (not root).
    """
    try:
        lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        message = f"cannot make the user-id lock folder {lock_dir} ({error.strerror}); run as root"
        raise IsolationError(message) from None
    for uid in range(base, base + size):
        fd = os.open(lock_dir / f"uid-{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        if _uid_has_account(uid) or _uid_has_processes(uid):
            os.close(fd)
            continue
        try:
            yield uid
        finally:
            os.close(fd)
        return
    raise IsolationError(f"all {size} sandbox user ids are in use; grade fewer submissions at once")


# --- one cgroup per sandbox --------------------------------------------------------------------
def _mounts(mounts_file: str = "/proc/self/mounts") -> list[tuple[str, str, set[str]]]:
    """``(mount point, file system type, options)`` of every mount."""
    found = []
    with open(mounts_file, encoding="utf-8") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) >= 4:
                found.append((fields[1].replace("\\040", " "), fields[2], set(fields[3].split(","))))
    return found


def _own_cgroups(cgroup_file: str = "/proc/self/cgroup") -> dict[str, str]:
    """Controller -> this process's cgroup path (``""`` for the cgroup v2 hierarchy)."""
    found = {}
    with open(cgroup_file, encoding="utf-8") as handle:
        for line in handle:
            _, names, path = line.rstrip("\n").split(":", 2)
            for name in names.split(",") if names else [""]:
                found[name] = path
    return found


def _writable_dir(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK)


@functools.lru_cache(maxsize=1)
def _hierarchy() -> tuple[str, dict[str, Path]] | str:
    """``("v2", {"": parent})`` or ``("v1", {controller: folder})`` where sandboxes' cgroups go; else why not."""
    try:
        mounts = _mounts()
        own = _own_cgroups()
    except (OSError, ValueError):
        return "this system has no readable /proc/self/mounts or /proc/self/cgroup"
    for point, kind, _ in mounts:
        if kind != "cgroup2":
            continue
        root = Path(point)
        try:
            available = set((root / "cgroup.controllers").read_text().split())
        except OSError:
            continue
        if set(CONTROLLERS) <= available and _writable_dir(root):
            try:
                return "v2", {"": _v2_parent(root)}
            except OSError:  # e.g. a container's root cgroup that holds processes cannot delegate: try v1
                continue
    folders = {}
    for controller in CONTROLLERS:
        point = next((p for p, kind, options in mounts if kind == "cgroup" and controller in options), None)
        if point is None or controller not in own:
            return f"no cgroup v2 with the memory, pids and cpu controllers, and no cgroup v1 {controller} hierarchy"
        folder = Path(point) / own[controller].lstrip("/")
        if not _writable_dir(folder):
            return f"the cgroup v1 {controller} folder {folder} is not writable (run the grader as root)"
        folders[controller] = folder
    return "v1", folders


def _v2_parent(root: Path) -> Path:
    """``<root>/emnist-tf-grading`` with the memory, pids and cpu controllers enabled for its children.

    Raises:
        OSError: the controllers cannot be enabled there.
    """
    parent = root / V2_PARENT
    parent.mkdir(exist_ok=True)
    wanted = " ".join(f"+{controller}" for controller in CONTROLLERS)
    for folder in (root, parent):
        enabled = set((folder / "cgroup.subtree_control").read_text().split())
        if not set(CONTROLLERS) <= enabled:
            _write(folder / "cgroup.subtree_control", wanted)
    return parent


def cgroup_problem() -> str | None:
    """Why sandboxes get no cgroup here (None when they do)."""
    found = _hierarchy()
    return found if isinstance(found, str) else None


def cgroup_version() -> str | None:
    """``"v2"``, ``"v1"`` or None (no usable cgroups)."""
    found = _hierarchy()
    return None if isinstance(found, str) else found[0]


def _write(path: Path, value) -> None:
    with open(path, "w", encoding="ascii") as handle:
        handle.write(str(value))


class Cgroup:
    """The cgroup(s) of one sandbox: one folder (v2) or one per controller (v1).

    Use :meth:`create`, then :meth:`enter` in the child before it runs the
    sandbox, :meth:`kill_all` and :meth:`remove` at the end.
    """

    def __init__(self, version: str, folders: dict[str, Path]):
        self.version = version
        self.folders = folders

    @classmethod
    def create(cls, name: str, *, memory_mb: int, processes: int, cpus: float) -> Cgroup | None:
        """Makes the cgroup ``name`` with its limits; None when cgroups are unavailable (see :func:`cgroup_problem`).

        Args:
            name: unique among running sandboxes (the sandbox's user id is).
            memory_mb: memory of the whole process tree (no swap); over it the
                kernel's out-of-memory killer stops a process of the tree.
            processes: processes and threads of the tree.
            cpus: cores' worth of CPU time per second the tree may use.

        Raises:
            IsolationError: the cgroup could not be made or limited.
        """
        found = _hierarchy()
        if isinstance(found, str):
            return None
        version, parents = found
        try:
            group = cls._make_v2(parents[""], name) if version == "v2" else cls._make_v1(parents, name)
            group._limit(memory_mb * 1024 * 1024, processes, cpus)
        except OSError as error:
            raise IsolationError(f"cannot set up cgroup {name} ({error.strerror or error})") from None
        return group

    @classmethod
    def _make_v2(cls, parent: Path, name: str) -> Cgroup:
        return cls._fresh("v2", {"": parent / name})

    @classmethod
    def _make_v1(cls, parents: dict[str, Path], name: str) -> Cgroup:
        return cls._fresh("v1", {controller: parent / name for controller, parent in parents.items()})

    @classmethod
    def _fresh(cls, version: str, folders: dict[str, Path]) -> Cgroup:
        """A cgroup at ``folders``; one left by a grader that crashed is emptied and made again."""
        group = cls(version, folders)
        if any(folder.exists() for folder in folders.values()):
            group.kill_all()
            group.remove()
        for folder in folders.values():
            folder.mkdir()
        return group

    def _limit(self, memory: int, processes: int, cpus: float) -> None:
        quota = max(int(cpus * CPU_PERIOD_US), 1000)
        if self.version == "v2":
            folder = self.folders[""]
            _write(folder / "memory.max", memory)
            if (folder / "memory.swap.max").exists():
                _write(folder / "memory.swap.max", 0)
            _write(folder / "pids.max", processes)
            _write(folder / "cpu.max", f"{quota} {CPU_PERIOD_US}")
            return
        memory_folder = self.folders["memory"]
        _write(memory_folder / "memory.limit_in_bytes", memory)
        if (memory_folder / "memory.memsw.limit_in_bytes").exists():  # no swap beyond the cap
            _write(memory_folder / "memory.memsw.limit_in_bytes", memory)
        _write(self.folders["pids"] / "pids.max", processes)
        _write(self.folders["cpu"] / "cpu.cfs_period_us", CPU_PERIOD_US)
        _write(self.folders["cpu"] / "cpu.cfs_quota_us", quota)

    def enter(self) -> None:
        """Moves the calling process into the cgroup (run in the child before exec: all it starts stays in)."""
        for folder in self.folders.values():
            _write(folder / "cgroup.procs", os.getpid())

    def pids(self) -> set[int]:
        """Every process in the cgroup, as the host sees them."""
        found: set[int] = set()
        for folder in self.folders.values():
            with contextlib.suppress(OSError):
                found.update(int(line) for line in (folder / "cgroup.procs").read_text().split())
        return found

    def kill_all(self) -> None:
        """Kills every process in the cgroup, including ones that left the sandbox's process group."""
        if self.version == "v2" and (self.folders[""] / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                _write(self.folders[""] / "cgroup.kill", 1)
        for _ in range(KILL_ROUNDS):
            running = self.pids()
            if not running:
                return
            for pid in running:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)

    def peak_memory_bytes(self) -> int | None:
        """The most memory the tree used at once (None when the kernel does not say)."""
        name = "memory.peak" if self.version == "v2" else "memory.max_usage_in_bytes"
        folder = self.folders["" if self.version == "v2" else "memory"]
        try:
            return int((folder / name).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def out_of_memory_kills(self) -> int:
        """How many processes of the tree the kernel stopped for going over the memory cap."""
        name = "memory.events" if self.version == "v2" else "memory.oom_control"
        folder = self.folders["" if self.version == "v2" else "memory"]
        try:
            lines = (folder / name).read_text().splitlines()
        except OSError:
            return 0
        counts = dict(line.split() for line in lines if len(line.split()) == 2)
        return int(counts.get("oom_kill", 0))

    def remove(self) -> None:
        """Removes the cgroup folders (after :meth:`kill_all`; an emptied v1 memory cgroup may take a moment)."""
        for folder in self.folders.values():
            for _ in range(KILL_ROUNDS):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as error:
                    if error.errno != errno.EBUSY:
                        break
                    time.sleep(0.05)


def isolation_warning() -> str | None:
    """One line on what isolation this machine lacks (None when each sandbox gets its own uid and cgroup)."""
    if os.geteuid() != 0:
        return (
            "warning: not running as root: every sandbox runs as your own user id and is limited per process "
            "(memory, processes, CPU time), not per notebook; one student's processes count against all"
        )
    problem = cgroup_problem()
    if problem:
        return (
            f"warning: no cgroups ({problem}): memory and CPU time are limited per process, not per notebook, "
            "and a notebook's processes are counted per sandbox user"
        )
    return None


# --- opening what a sandbox wrote ---------------------------------------------------------------
def open_beneath(folder: str | os.PathLike, relative: str | os.PathLike, flags: int = os.O_RDONLY) -> int:
    """Opens ``folder/relative`` without following a symbolic link at any component; returns a file descriptor.

    Every component of ``relative`` is opened with ``O_NOFOLLOW`` relative to
    the one before (``..``, absolute paths and empty components are refused),
    so a link planted anywhere in a sandbox's scratch folder can never lead
    the grader out of it. ``folder`` itself is trusted (the grader made it).
    The caller closes the descriptor.

    Raises:
        OSError: a component is a link (``ELOOP``), missing, or not a folder;
            or ``relative`` leaves the folder (``EPERM``).
    """
    parts = Path(relative).parts
    if not parts or Path(relative).is_absolute() or any(part in ("", ".", "..") for part in parts):
        raise OSError(errno.EPERM, "path leaves its folder", str(relative))
    directory_flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    current = os.open(folder, directory_flags)
    try:
        for part in parts[:-1]:
            following = os.open(part, directory_flags, dir_fd=current)
            os.close(current)
            current = following
        return os.open(parts[-1], flags | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=current)
    finally:
        os.close(current)


def read_beneath(folder: str | os.PathLike, relative: str | os.PathLike, limit: int) -> bytes:
    """Reads a regular file with :func:`open_beneath`, at most ``limit`` bytes.

    Raises:
        OSError: as :func:`open_beneath`, or the file is not a regular file
            (a FIFO or device would block) or is larger than ``limit``.
    """
    fd = open_beneath(folder, relative, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(relative))
        if info.st_size > limit:
            raise OSError(errno.EFBIG, "file too large", str(relative))
        return handle.read(limit)
