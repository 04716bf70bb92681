"""Each student in their own box: own user id and cgroup, /tmp counted, no host path in /proc, no symlink followed.

The sandbox tests need bubblewrap and root (each sandbox leases its own user
id); the tree memory test also needs cgroups. None depends on speed: the
attackers and the honest student meet through files the test watches, and
every timeout is a hang guard far above what the cells need.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_grading import _solution_notebook, tiny_course  # noqa: E402

from emnist_tf.grading import gradebook, isolation, sandbox, staging  # noqa: E402

HANG_GUARD = 240  # seconds; the cells below need a few
needs_sandbox = pytest.mark.skipif(
    sandbox.isolation_problem() is not None or os.geteuid() != 0,
    reason="needs bubblewrap and root (each sandbox leases its own user id)",
)
needs_cgroups = pytest.mark.skipif(
    isolation.cgroup_version() is None or os.geteuid() != 0, reason=f"needs cgroups: {isolation.cgroup_problem()}"
)


# --- pure logic: no sandbox -------------------------------------------------------------------
def test_open_beneath_refuses_a_link_at_every_component(tmp_path):
    outside = tmp_path / "outside"
    (outside / "1").mkdir(parents=True)
    (outside / "1" / "manifest.json").write_text("forged")
    scratch = tmp_path / "scratch"
    (scratch / "exports" / "1").mkdir(parents=True)
    (scratch / "exports" / "1" / "manifest.json").write_text("honest")
    assert isolation.read_beneath(scratch, "exports/1/manifest.json", 100) == b"honest"
    (scratch / "linked").symlink_to(outside, target_is_directory=True)
    (scratch / "exports" / "2").symlink_to(outside / "1", target_is_directory=True)
    (scratch / "exports" / "3").mkdir()
    (scratch / "exports" / "3" / "manifest.json").symlink_to(outside / "1" / "manifest.json")
    for planted in ("linked/1/manifest.json", "exports/2/manifest.json", "exports/3/manifest.json"):
        with pytest.raises(OSError):
            isolation.read_beneath(scratch, planted, 100)
    for escaping in ("../outside/1/manifest.json", "exports/../../outside/1/manifest.json", "/etc/passwd", ""):
        with pytest.raises(OSError):
            isolation.read_beneath(scratch, escaping, 100)


def test_read_beneath_refuses_fifos_and_files_over_the_limit(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "big").write_bytes(b"x" * 101)
    for name in ("pipe", "big"):
        with pytest.raises(OSError):
            isolation.read_beneath(tmp_path, name, 100)


def test_cgroup_v2_limits_the_whole_tree(tmp_path):
    """The files a v2 cgroup gets (a machine with cgroup v2 controllers; here on a plain folder)."""
    (tmp_path / "memory.swap.max").write_text("max")
    isolation.Cgroup("v2", {"": tmp_path})._limit(256 * 1024 * 1024, 64, 1.5)
    assert (tmp_path / "memory.max").read_text() == str(256 * 1024 * 1024)
    assert (tmp_path / "memory.swap.max").read_text() == "0"
    assert (tmp_path / "pids.max").read_text() == "64"
    assert (tmp_path / "cpu.max").read_text() == f"150000 {isolation.CPU_PERIOD_US}"


def test_cgroup_v1_limits_each_controller(tmp_path):
    folders = {name: tmp_path / name for name in isolation.CONTROLLERS}
    for folder in folders.values():
        folder.mkdir()
    (folders["memory"] / "memory.memsw.limit_in_bytes").write_text("")
    isolation.Cgroup("v1", folders)._limit(1024, 32, 0.5)
    assert (folders["memory"] / "memory.limit_in_bytes").read_text() == "1024"
    assert (folders["memory"] / "memory.memsw.limit_in_bytes").read_text() == "1024"
    assert (folders["pids"] / "pids.max").read_text() == "32"
    assert (folders["cpu"] / "cpu.cfs_quota_us").read_text() == str(isolation.CPU_PERIOD_US // 2)


def _fake_cgroups(tmp_path: Path, monkeypatch, mounts: list[str], own: list[str], *, root: bool = True) -> None:
    """This process's /proc/self/mounts and /proc/self/cgroup replaced by files naming folders of ``tmp_path``."""
    (tmp_path / "mounts").write_text("".join(f"{line}\n" for line in mounts))
    (tmp_path / "cgroup").write_text("".join(f"{line}\n" for line in own))
    read_mounts, read_own = isolation._mounts, isolation._own_cgroups
    monkeypatch.setattr(isolation, "_mounts", lambda: read_mounts(str(tmp_path / "mounts")))
    monkeypatch.setattr(isolation, "_own_cgroups", lambda: read_own(str(tmp_path / "cgroup")))
    monkeypatch.setattr(isolation.os, "geteuid", lambda: 0 if root else 1000)
    isolation._hierarchy.cache_clear()
    monkeypatch.setattr(isolation, "_hierarchy", functools.lru_cache(maxsize=1)(isolation._hierarchy.__wrapped__))


def test_cgroup_v2_with_its_controllers_is_chosen_and_delegated(tmp_path, monkeypatch):
    v2 = tmp_path / "unified"
    v2.mkdir()
    (v2 / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (v2 / "cgroup.subtree_control").write_text("")
    (v2 / isolation.V2_PARENT).mkdir()  # the kernel would fill it; here the file the grader writes
    (v2 / isolation.V2_PARENT / "cgroup.subtree_control").write_text("")
    _fake_cgroups(tmp_path, monkeypatch, [f"cgroup2 {v2} cgroup2 rw 0 0"], ["0::/"])
    assert (isolation.cgroup_version(), isolation.cgroup_problem(), isolation.isolation_warning()) == ("v2", None, None)
    assert (v2 / isolation.V2_PARENT / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"


def test_cgroup_v1_is_used_where_v2_lacks_controllers(tmp_path, monkeypatch):
    """This machine's case: a hybrid layout whose cgroup2 mount has no controllers, one v1 hierarchy each."""
    v2 = tmp_path / "unified"
    v2.mkdir()
    (v2 / "cgroup.controllers").write_text("")
    mounts = [f"cgroup2 {v2} cgroup2 rw 0 0"]
    for controller in isolation.CONTROLLERS:
        (tmp_path / controller / "grader").mkdir(parents=True)
        mounts.append(f"cgroup {tmp_path / controller} cgroup rw,{controller} 0 0")
    own = ["0::/", *(f"{number}:{name}:/grader" for number, name in enumerate(isolation.CONTROLLERS, start=1))]
    _fake_cgroups(tmp_path, monkeypatch, mounts, own)
    assert isolation.cgroup_version() == "v1" and isolation.isolation_warning() is None
    group = isolation.Cgroup.create("box", memory_mb=1, processes=8, cpus=1)
    assert group.folders == {name: tmp_path / name / "grader" / "box" for name in isolation.CONTROLLERS}


@pytest.mark.parametrize(
    ("mounts", "root", "says"),
    [
        ([], True, "no cgroups (no cgroup v2 with the memory, pids and cpu controllers, and no cgroup v1 memory"),
        (["cgroup {tmp}/memory cgroup rw,memory 0 0"], True, "no cgroups (the cgroup v1 memory folder"),
        ([], False, "not running as root: every sandbox runs as your own user id"),
    ],
    ids=["no-cgroups", "v1-folder-missing", "not-root"],
)
def test_where_cgroups_or_root_are_missing_the_warning_is_one_line(tmp_path, monkeypatch, mounts, root, says):
    mounts = [line.format(tmp=tmp_path) for line in mounts]
    _fake_cgroups(tmp_path, monkeypatch, mounts, ["4:memory:/gone"], root=root)
    warning = isolation.isolation_warning()
    assert warning.startswith(f"warning: {says}") and "per process" in warning and "\n" not in warning
    assert isolation.Cgroup.create("box", memory_mb=1, processes=8, cpus=1) is None  # per-process limits instead


def test_staged_mount_sources_are_links_under_one_neutral_folder(tmp_path, monkeypatch):
    """The sandbox mounts these, never the instructor's folders: files the same inodes, no grader, no caches."""
    library, data = tmp_path / "course" / "emnist_tf", tmp_path / "data"
    for folder in (library / "grading", library / "__pycache__", library / "models", data):
        folder.mkdir(parents=True)
    for path in (library / "__init__.py", library / "grading" / "judge.py", library / "models" / "mlp.py"):
        path.write_text("# code")
    (library / "__pycache__" / "x.pyc").write_bytes(b"cache")
    (tmp_path / "elsewhere.bin").write_bytes(b"pixels")
    (data / "images.bin").symlink_to(tmp_path / "elsewhere.bin")
    submission = tmp_path / "submitted" / "alice" / "03-mlp.ipynb"
    submission.parent.mkdir(parents=True)
    submission.write_text("{}")
    with staging.stage(submission, [data], library) as sources:
        root = sources.submission.parent.parent
        assert root.parent == Path(tempfile.gettempdir()) and root.name.startswith("emnist-tf-mounts-")
        for staged in (sources.submission, *sources.read_only, sources.library):
            assert root in staged.parents and str(tmp_path) not in str(staged)
        assert sources.submission.stat().st_ino == submission.stat().st_ino  # linked, not copied
        assert (sources.read_only[0] / "images.bin").read_bytes() == b"pixels"  # a link to a file is followed
        assert not (sources.read_only[0] / "images.bin").is_symlink()
        assert sorted(path.name for path in sources.library.iterdir()) == ["__init__.py", "grading", "models"]
        assert list((sources.library / "grading").iterdir()) == []  # the grader never reaches the sandbox
        monkeypatch.setattr(staging.os, "link", lambda *_: (_ for _ in ()).throw(OSError(18, "cross-device")))
        staging.link_or_copy(submission, root / "copy.ipynb")  # another file system: copied instead
        assert (root / "copy.ipynb").read_text() == "{}"
    assert not root.exists() and submission.exists() and (library / "grading" / "judge.py").exists()


def _fake_environment(root: Path) -> Path:
    site = root / "lib" / "python3.11" / "site-packages"
    for folder in (site / "numpy", site / "course-0.1.dist-info", site / "numpy" / "__pycache__"):
        folder.mkdir(parents=True)
    (site / "numpy" / "__init__.py").write_text("# numpy")
    (site / "numpy" / "__pycache__" / "x.pyc").write_bytes(b"cache")
    (site / "course-0.1.dist-info" / "direct_url.json").write_text('{"url": "file:///home/teacher/course"}')
    (site / "course-0.1.dist-info" / "METADATA").write_text("Name: course")
    (site / "__editable__.course-0.1.pth").write_text("import __editable___course_finder")
    (site / "__editable___course_finder.py").write_text("MAPPING = {'course': '/home/teacher/course'}")
    (root / "lib64").symlink_to("lib")
    return site


def test_python_folders_are_linked_once_without_records_of_where_packages_came_from(tmp_path, monkeypatch):
    """Every sandbox of a grading process mounts one linked copy, so the mount table never names the environment."""
    environment = tmp_path / "teacher-env"
    site = _fake_environment(environment)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    staged = staging.StagedPython()
    try:
        copy = staged.folder(environment, ("lib", "lib64"))
        assert copy is not None and copy.parent == tmp_path / "tmp" and copy.name.startswith("emnist-tf-python-")
        assert staged.folder(environment, ("lib", "lib64")) == copy  # made once per process
        linked = copy / site.relative_to(environment)
        assert (linked / "numpy" / "__init__.py").stat().st_ino == (site / "numpy" / "__init__.py").stat().st_ino
        kept = sorted(str(path.relative_to(linked)) for path in linked.rglob("*") if path.is_file())
        assert kept == ["course-0.1.dist-info/METADATA", "numpy/__init__.py", "numpy/__pycache__/x.pyc"]
        assert not (copy / "lib64").exists()  # a link to lib: the sandbox makes it itself
        whole = staged.folder(environment)
        assert sorted(path.name for path in whole.iterdir()) == ["lib"] and whole != copy
        installation = staged.folder(environment, (), ("site-packages",))  # a venv that does not use them
        assert (installation / "lib" / "python3.11").is_dir() and not list(installation.rglob("site-packages"))
    finally:
        staged.close()
    assert not copy.exists() and (site / "numpy" / "__init__.py").exists()


def test_an_environment_that_cannot_be_linked_is_not_copied(tmp_path, monkeypatch):
    environment = tmp_path / "teacher-env"
    _fake_environment(environment)
    monkeypatch.setattr(staging.os, "link", lambda *_: (_ for _ in ()).throw(OSError(18, "cross-device")))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    staged = staging.StagedPython()
    assert staged.folder(environment, ("lib",)) is None  # the caller mounts the environment itself
    assert not list(tmp_path.glob("emnist-tf-python-*"))  # the half-made copy is gone


def test_uid_leases_are_exclusive_and_released(tmp_path):
    pool = {"base": 3_000_000_000, "size": 2}
    with isolation.lease_uid(tmp_path, **pool) as first, isolation.lease_uid(tmp_path, **pool) as second:
        assert first != second
        with pytest.raises(isolation.IsolationError, match="in use"), isolation.lease_uid(tmp_path, **pool):
            pass
    with isolation.lease_uid(tmp_path, **pool) as again:
        assert again == first


# --- sandboxes ---------------------------------------------------------------------------------
def _box(tmp_path: Path, name: str, limits: sandbox.Limits, read_only=()) -> sandbox.Sandbox:
    folder = tmp_path / name
    (folder / "inbox").mkdir(parents=True)
    (folder / "submission.ipynb").write_text("{}")
    data = {"EMNIST_TF_DATA": str(read_only[0])} if read_only else {}
    return sandbox.Sandbox(
        folder / "scratch", folder / "inbox", folder / "submission.ipynb", limits=limits, env=data, read_only=read_only
    )


def _run(box: sandbox.Sandbox, code: str) -> dict | None:
    return box.request({"op": "run", "code": code, "timeout": HANG_GUARD}, timeout=HANG_GUARD + 10)


PROC_REPORT = r"""
import json, os, subprocess, sys
seen = {}
for pid in [name for name in os.listdir("/proc") if name.isdigit()]:
    for name in ("cmdline", "environ", "cgroup", "mounts", "mountinfo"):
        try:
            seen[f"{pid}/{name}"] = open(f"/proc/{pid}/{name}", "rb").read().decode(errors="replace")
        except OSError:
            pass
    for name in ("exe", "cwd", "root"):
        try:
            seen[f"{pid}/{name}"] = os.readlink(f"/proc/{pid}/{name}")
        except OSError:
            pass
    try:
        seen[f"{pid}/maps"] = open(f"/proc/{pid}/maps").read()
    except OSError:
        pass
seen["child"] = subprocess.run([sys.executable, "-c", "import sys; print(sys.executable, sys.path)"],
                               capture_output=True, text=True).stdout
seen["uid"] = os.getuid()
seen["install records"] = [open(os.path.join(folder, name)).read() for folder, _, names in os.walk("/opt/python")
                           for name in names if name == "direct_url.json" or name.startswith("__editable__")]
seen["data"] = open("/data/0/images.bin").read()
seen["submission"] = os.listdir("/submission")
json.dump(seen, open("/scratch/proc.json", "w"))
"""


def test_the_sandbox_mounts_the_copies_of_python_folders(monkeypatch):
    base, env = Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()
    copies = {str(base): "/tmp/emnist-tf-python-a", str(env): "/tmp/emnist-tf-python-b"}
    mounted = [str(host) for host, _ in sandbox.python_layout(copies).binds]
    assert not [host for host in mounted if host.startswith((str(base) + "/", str(env) + "/")) or host == str(base)]


@needs_sandbox
def test_proc_inside_the_sandbox_names_no_host_path(tmp_path):
    """Not the data folder, the submissions folder or the repository, in any process's files or mount table."""
    data = tmp_path / "data-folder"
    data.mkdir()
    (data / "images.bin").write_text("pixels")
    submitted = tmp_path / "submitted" / "alice"
    submitted.mkdir(parents=True)
    (submitted / "03-mlp.ipynb").write_text("{}")
    with staging.neutral_folder("grade") as work:  # as the grader makes each notebook's work folder
        (work / "inbox").mkdir()
        box = sandbox.Sandbox(
            work / "scratch",
            work / "inbox",
            submitted / "03-mlp.ipynb",
            limits=sandbox.Limits(cpus=1),
            env={"EMNIST_TF_DATA": str(data)},
            read_only=[data],
        )
        with box:
            assert _run(box, PROC_REPORT)["status"] == "ok"
            seen = json.loads((work / "scratch" / "proc.json").read_text())
    assert seen["uid"] == box.uid
    assert "bwrap" in seen["1/cmdline"] and "runner.py" in seen["1/cmdline"]  # PID 1 is readable: the test means it
    assert seen["child"].strip()
    assert (seen.pop("data"), seen.pop("submission")) == ("pixels", ["03-mlp.ipynb"])  # the staged mounts work
    python = {str(Path(sys.prefix).resolve()), str(Path(sys.base_prefix).resolve())} - {"/usr"}  # /usr: a system path
    host_paths = {
        str(tmp_path),  # the data folder and the submissions folder
        *python,
        str(Path(sandbox.__file__).resolve().parents[2]),  # the repository holding the library
        str(Path(tempfile.gettempdir()).resolve() / "pytest-of"),
    }
    mount_tables = [where for where in seen if where.endswith("/mountinfo")]
    assert mount_tables and all(" /data/0 " in seen[where] for where in mount_tables)
    assert seen.pop("install records") == []  # pip's records name the folder a package was installed from
    for where, text in seen.items():
        for host_path in host_paths:
            assert host_path not in str(text), f"/proc/{where} names {host_path}"


@needs_sandbox
def test_each_sandbox_runs_as_its_own_user(tmp_path):
    limits = sandbox.Limits(cpus=1, timeout_per_cell=HANG_GUARD)
    code = "import os; open('/scratch/uid', 'w').write(str(os.getuid()))"
    with _box(tmp_path, "one", limits) as first, _box(tmp_path, "two", limits) as second:
        assert _run(first, code)["status"] == _run(second, code)["status"] == "ok"
        uids = {int((tmp_path / name / "scratch" / "uid").read_text()) for name in ("one", "two")}
    assert uids == {first.uid, second.uid} and len(uids) == 2


TREE_HOG = r"""
import json, os, time
CHILDREN, CHUNK_MB = 4, {chunk}
read_end, write_end = os.pipe()
children = []
for _ in range(CHILDREN):
    pid = os.fork()
    if pid == 0:
        block = bytearray(CHUNK_MB << 20)
        block[::4096] = b"x" * len(block[::4096])  # touch every page
        os.write(write_end, b"+")
        time.sleep(600)
        os._exit(0)
    children.append(pid)
os.close(write_end)
killed, filled, deadline = 0, 0, time.monotonic() + {guard}
os.set_blocking(read_end, False)
while killed + filled < CHILDREN and time.monotonic() < deadline:
    try:
        filled += len(os.read(read_end, 16))
    except BlockingIOError:
        pass
    pid, status = os.waitpid(-1, os.WNOHANG)
    if pid:
        killed += 1
    time.sleep(0.05)
for pid in children:
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
json.dump({{"killed": killed, "filled": filled}}, open("/scratch/tree.json", "w"))
"""


@needs_sandbox
@needs_cgroups
def test_a_memory_hogs_whole_process_tree_is_stopped_at_the_notebooks_cap(tmp_path):
    """Four processes of 100 MB each under a 256 MB cap: each alone fits, together they do not."""
    cap_mb, chunk_mb = 256, 100
    box = _box(tmp_path, "hog", sandbox.Limits(memory_mb=cap_mb, cpus=1, timeout_per_cell=HANG_GUARD))
    with box:
        answer = _run(box, TREE_HOG.format(chunk=chunk_mb, guard=HANG_GUARD))
    assert 4 * chunk_mb > cap_mb
    assert box.out_of_memory
    assert box.peak_memory_bytes is not None and box.peak_memory_bytes <= cap_mb * 1024 * 1024
    if answer is not None:  # the runner survived: the kernel stopped children instead
        tree = json.loads((tmp_path / "hog" / "scratch" / "tree.json").read_text())
        # Not "filled < 4": on a busy machine the runner may sleep while a child is killed and two more fill,
        # so it can count four fills that never held memory at once; the peak above is what proves that.
        assert tree["killed"] >= 1


WAIT_FOR = (
    "import os, time\n"
    "def wait_for(name):\n"
    "    while not os.path.exists(os.path.join('/inbox', name)):\n"
    "        time.sleep(0.05)\n"
)
FORK_BOMB = (
    WAIT_FOR + "open('/scratch/bomb', 'w').close()\n"
    "while not os.path.exists('/inbox/go'):\n"
    "    try:\n"
    "        if os.fork() == 0:\n"
    "            while True:\n"
    "                time.sleep(1)\n"
    "    except OSError:\n"  # the process limit is reached
    "        open('/scratch/at-peak', 'w').close()\n"
    "        time.sleep(0.05)\n"
    "wait_for('done')\n"
)
MEMORY_HOG = (
    WAIT_FOR + "chunks = []\n"
    "while len(chunks) * 8 < {half}:\n"
    "    chunks.append(b'x' * (8 << 20))\n"
    "open('/scratch/at-peak', 'w').close()\n"
    "wait_for('go')\n"
    "while True:\n"
    "    chunks.append(b'x' * (8 << 20))\n"
)
TMP_FLOOD = (
    WAIT_FOR + "flood = open('/tmp/flood', 'wb')\n"
    "for _ in range({half}):\n"
    "    flood.write(b'x' * (1 << 20))\n"
    "flood.flush()\n"
    "open('/scratch/at-peak', 'w').close()\n"
    "wait_for('go')\n"
    "while True:\n"
    "    flood.write(b'x' * (1 << 20))\n"
    "    flood.flush()\n"
)


def _with_first_cell(code: str) -> nbformat.NotebookNode:
    notebook = _solution_notebook()
    notebook.cells.insert(1, nbformat.v4.new_code_cell(code))
    return notebook


@needs_sandbox
def test_an_honest_student_beside_a_fork_bomb_a_memory_hog_and_a_tmp_flood_keeps_full_marks(tmp_path, monkeypatch):
    """The honest student's answers run only once all three attacks are at their peak (files say so)."""
    limits = sandbox.Limits(
        memory_mb=512, processes=128, disk_mb=64, cpus=1, timeout_per_cell=HANG_GUARD, timeout_per_notebook=900
    )
    solutions = tiny_course(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work))  # where the judges make the sandboxes' scratch folders
    students = {
        "a-honest": _with_first_cell(WAIT_FOR + "wait_for('go')"),
        "bomb": _with_first_cell(FORK_BOMB),
        "flood": _with_first_cell(TMP_FLOOD.format(half=limits.disk_mb // 2)),
        "hog": _with_first_cell(MEMORY_HOG.format(half=limits.memory_mb // 2)),
    }
    for name, notebook in students.items():
        (tmp_path / "submitted" / name).mkdir(parents=True)
        nbformat.write(notebook, str(tmp_path / "submitted" / name / "01-tiny.ipynb"))
    peaks: set[Path] = set()
    honest_graded = threading.Event()
    signalled: set[Path] = set()

    def signal(name: str, inboxes) -> None:
        """A file in each sandbox's inbox (seen live at /inbox), once: a finished judge removes its folder."""
        for inbox in inboxes:
            if inbox / name not in signalled:
                signalled.add(inbox / name)
                (inbox / name).touch()

    def release_when_all_attack():
        deadline = time.monotonic() + HANG_GUARD
        while len(peaks) < 3 and time.monotonic() < deadline:
            peaks.update(work.glob("emnist-tf-grade-*/scratch/at-peak"))
            time.sleep(0.05)
        while not honest_graded.is_set() and time.monotonic() < deadline + HANG_GUARD:
            signal("go", work.glob("emnist-tf-grade-*/inbox"))  # again as sandboxes start: all four wait for it
            time.sleep(0.05)
        signal("done", [bomb.parent.parent / "inbox" for bomb in work.glob("emnist-tf-grade-*/scratch/bomb")])

    watcher = threading.Thread(target=release_when_all_attack, daemon=True)
    watcher.start()

    def progress(line: str) -> None:
        if "a-honest" in line:
            honest_graded.set()

    results = gradebook.grade_all(
        [tmp_path / "submitted"],
        solutions_dir=solutions,
        out=tmp_path / "gradebook.csv",
        limits=limits,
        jobs=4,
        progress=progress,
    )
    watcher.join()
    by_student = {result.student: result for result in results}
    assert len(peaks) == 3, "every attack reached its peak before the honest student's answers ran"
    honest = by_student["a-honest"]
    assert (honest.total, honest.max_points, honest.cell_problems) == (4, 4, [])
    assert "disk quota" in by_student["flood"].stopped  # failing cells are numbers; the reason is in `stopped`
    assert "kernel died" in by_student["hog"].stopped  # the memory cap ended the hog's kernel
    assert by_student["hog"].total < 4 and by_student["flood"].total < 4


VALUE_SOLUTION = "table = [n * n for n in range(5)]"


def _value_course(root: Path) -> Path:
    """A one-exercise course whose answer is a value (a list), so an export forged elsewhere could pass."""
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("import numpy as np", id="setup"),
            nbformat.v4.new_code_cell(
                f"### BEGIN SOLUTION\n{VALUE_SOLUTION}\n### END SOLUTION",
                id="table-solution",
                metadata={"emnist_tf": {"exercise": "ex01_table", "kind": "solution", "answers": ["table"]}},
            ),
            nbformat.v4.new_code_cell(
                "assert list(table) == [0, 1, 4, 9, 16], 'the first five squares'",
                id="table-check",
                metadata={"emnist_tf": {"exercise": "ex01_table", "kind": "check", "points": 2}},
            ),
        ]
    )
    solutions = root / "solutions"
    solutions.mkdir()
    nbformat.write(notebook, str(solutions / "01-table.ipynb"))
    return solutions


@needs_sandbox
def test_a_directory_symlink_planted_in_scratch_earns_nothing(tmp_path):
    """The scratch's ``exports`` folder replaced by a link to a host folder holding a full-marks export."""
    solutions = _value_course(tmp_path)
    host_folder = tmp_path / "elsewhere"
    forged = {"table": {"t": "list", "items": [{"t": "json", "v": n * n} for n in range(5)]}}
    for number in range(1, 10):
        (host_folder / str(number)).mkdir(parents=True)
        (host_folder / str(number) / "manifest.json").write_text(json.dumps(forged))
    student = nbformat.read(str(solutions / "01-table.ipynb"), as_version=4)
    student.cells[1].source = (
        "import os, shutil\ntable = None\nshutil.rmtree('/scratch/exports', ignore_errors=True)\n"
        f"os.symlink({str(host_folder)!r}, '/scratch/exports')"
    )
    honest = nbformat.read(str(solutions / "01-table.ipynb"), as_version=4)
    for name, notebook in (("linker", student), ("honest", honest)):
        nbformat.write(notebook, str(tmp_path / f"{name}.ipynb"))
    results = gradebook.grade_all(
        [tmp_path / "linker.ipynb", tmp_path / "honest.ipynb"],
        solutions_dir=solutions,
        out=tmp_path / "gradebook.csv",
        limits=sandbox.Limits(cpus=1, timeout_per_cell=HANG_GUARD),
        progress=None,
    )
    by_student = {result.student: result for result in results}
    assert by_student["honest"].total == 2
    assert by_student["linker"].total == 0
