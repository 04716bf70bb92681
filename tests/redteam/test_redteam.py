"""Red team: attack notebooks graded in one run next to honest ones.

Every attack earns 0 for the attacked exercise, nothing hidden and nothing the
attacker wrote appears in any output, the solutions and the other students'
files are byte-identical afterwards, no process of the run is left, and the
gradebook has a row for every submission. The attacks are built by
``tests/redteam/attacks.py`` from the tiny exercise of tests/test_grading.py
and, in the slow test, from ``exercises/01-data.ipynb`` (graded in the shared run of the real
notebooks, tests/course_grading.py).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import course_grading  # noqa: E402
from attacks import INJECTED, TOKEN, Targets, build_attacks  # noqa: E402
from test_grading import HIDDEN_ADD, HIDDEN_SQUARE, tiny_course  # noqa: E402

from emnist_tf.course import notebooks  # noqa: E402
from emnist_tf.grading import gradebook, sandbox  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
LIMITS = sandbox.Limits(
    memory_mb=1024, processes=96, file_size_mb=64, disk_mb=256, timeout_per_cell=3, timeout_per_notebook=20
)

pytestmark = pytest.mark.skipif(sandbox.isolation_problem() is not None, reason="needs bubblewrap")


def _digests(*folders: Path) -> dict[str, str]:
    return {
        str(path): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in folders
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _survivors() -> list[str]:
    listing = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in listing.splitlines() if TOKEN in line and "ps -eo" not in line]


def _all_output(root: Path, *, feedback_only: bool = False) -> str:
    """Everything the grader wrote (gradebook, feedback, resume records), or only what students see."""
    paths = [*sorted((root / "feedback").rglob("*"))]
    if not feedback_only:
        paths += [root / "gradebook.csv", *sorted(root.glob("*.parts/*"))]
    return "\n".join(path.read_text(errors="replace") for path in paths if path.is_file())


def _grade(root: Path, solutions: Path, submitted: Path, limits: sandbox.Limits = LIMITS) -> dict[str, dict]:
    before = _digests(solutions)
    others = {path: digest for path, digest in _digests(submitted).items() if "/honest" in path}
    results = gradebook.grade_all(
        [submitted], solutions_dir=solutions, out=root / "gradebook.csv", limits=limits, jobs=2, progress=None
    )
    assert _digests(solutions) == before, "a solution notebook was changed"
    assert {path: digest for path, digest in _digests(submitted).items() if "/honest" in path} == others
    assert not _survivors(), "processes of the run were left behind"
    with (root / "gradebook.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(results) == len(list(submitted.rglob("*.ipynb")))
    return {row["student"]: row for row in rows}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("redteam")
    solutions = tiny_course(root)
    submitted = root / "submitted"
    # honest students around the attackers: the model answer, and an untouched exercise graded after them all
    (submitted / "honest_model").mkdir(parents=True)
    shutil.copy(solutions / "01-tiny.ipynb", submitted / "honest_model" / "01-tiny.ipynb")
    (submitted / "zz_honest_untouched").mkdir(parents=True)
    shutil.copy(root / "exercises" / "01-tiny.ipynb", submitted / "zz_honest_untouched" / "01-tiny.ipynb")
    injected = submitted / f"evil **{INJECTED}** [x](http:a)"
    injected.mkdir()
    shutil.copy(root / "exercises" / "01-tiny.ipynb", injected / "01-tiny.ipynb")
    targets = Targets(solutions, submitted, root / "gradebook.csv", root / "feedback", Path.home(), REPO)
    attacks = build_attacks(root / "exercises" / "01-tiny.ipynb", submitted, targets)
    return root, _grade(root, solutions, submitted), attacks


def test_every_attack_earns_nothing(tiny_run):
    _, rows, attacks = tiny_run
    earned = {name: rows[name]["total"] for name in attacks}
    assert earned == {name: "0" for name in attacks}
    assert all(rows[name]["max_points"] == "4" for name in attacks)


def test_honest_students_graded_in_the_same_run_are_unaffected(tiny_run):
    _, rows, _ = tiny_run
    assert rows["honest_model"]["total"] == "4"
    assert rows["zz_honest_untouched"]["total"] == "0"  # the planted startup file did not help it


def test_nothing_hidden_or_injected_appears_in_any_output(tiny_run):
    root, _, _ = tiny_run
    text = _all_output(root)
    for secret in (HIDDEN_ADD, HIDDEN_SQUARE, "negatives", "tolist()", "HIDDEN", "a + b", "owned"):
        assert secret not in text
    # the instructor's gradebook names the student's folder as it is; what students read never carries their text
    student_facing = _all_output(root, feedback_only=True)
    assert f"**{INJECTED}" not in student_facing and "](http" not in student_facing
    for path in (root / "feedback").rglob("*.md"):
        if not path.parent.name.startswith("evil"):
            assert INJECTED not in path.read_text(), path  # no exception text, output or Markdown of the student
    for path in (root / "feedback").rglob("*.md"):
        assert len(path.read_text()) < 5000


def test_attacks_left_nothing_on_the_grader_machine(tiny_run):
    root, _, _ = tiny_run
    assert not list(Path.home().glob(f".ipython/profile_default/startup/*{TOKEN}*"))
    assert not list(root.rglob(f"*{TOKEN}*"))
    assert not list(Path("/tmp").glob(f"*{TOKEN}*"))
    assert "owned" not in (root / "gradebook.csv").read_text()


def test_filling_the_scratch_disk_stops_the_notebook(tmp_path):
    """disk_flood writes file after file, each under the per-file limit; the quota on the whole scratch stops it.

    Graded on its own with time limits far above what writing takes, so only the quota can stop it.
    """
    solutions = tiny_course(tmp_path)
    submitted, feedback = tmp_path / "submitted", tmp_path / "feedback"
    targets = Targets(solutions, submitted, tmp_path / "gradebook.csv", feedback, Path.home(), REPO)
    attack = build_attacks(tmp_path / "exercises" / "01-tiny.ipynb", tmp_path / "attacks", targets)["disk_flood"]
    (tmp_path / "submitted" / "disk_flood").mkdir(parents=True)
    shutil.copy(attack, tmp_path / "submitted" / "disk_flood" / "01-tiny.ipynb")
    limits = dataclasses.replace(LIMITS, timeout_per_cell=600, timeout_per_notebook=1200)
    rows = _grade(tmp_path, solutions, tmp_path / "submitted", limits)
    assert rows["disk_flood"]["total"] == "0"
    text = (tmp_path / "feedback" / "disk_flood" / "01-tiny.md").read_text()
    assert "disk quota" in text


def test_the_sandbox_sees_only_what_it_needs(tmp_path, monkeypatch, emnist_dir):
    """One probe cell inside a sandbox reports what it can see and do."""
    monkeypatch.setenv("GRADER_SECRET_" + TOKEN, "s3cret")
    monkeypatch.setenv("EMNIST_TF_DATA", str(emnist_dir))
    probe = f"""
import json, os, socket
found = {{"uid": os.getuid(), "env": sorted(os.environ), "root": sorted(os.listdir("/")),
         "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
         "grading": os.listdir("/opt/emnist_tf/emnist_tf/grading"), "home": os.environ["HOME"],
         "solutions_visible": os.path.exists({str(REPO / "solutions")!r}),
         "repo": sorted(os.listdir({str(REPO)!r})) if os.path.isdir({str(REPO)!r}) else [],
         "data": len(os.listdir(os.environ["EMNIST_TF_DATA"]))}}
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2)
    found["network"] = True
except OSError:
    found["network"] = False
for path in ("/opt/emnist_tf/emnist_tf/x.py", os.environ["EMNIST_TF_DATA"] + "/x", "/inbox/x"):
    try:
        open(path, "w")
        found["wrote"] = path
    except OSError:
        pass
json.dump(found, open("/scratch/probe.json", "w"))
"""
    (tmp_path / "inbox").mkdir()
    submission = tmp_path / "nb.ipynb"
    submission.write_text("{}")
    from emnist_tf.grading.grade import judge_environment

    env, read_only = judge_environment()
    with sandbox.Sandbox(
        tmp_path / "scratch", tmp_path / "inbox", submission, limits=LIMITS, env=env, read_only=read_only
    ) as box:
        answer = box.request({"op": "run", "code": probe, "timeout": 10}, timeout=20)
    assert answer and answer["status"] == "ok", answer
    found = json.loads((tmp_path / "scratch" / "probe.json").read_text())
    assert found["uid"] == box.uid and box.uid != 0  # the user id leased for this sandbox (root: its own)
    assert not any(TOKEN in key for key in found["env"]) and "JPY_PARENT_PID" not in found["env"]
    assert found["home"] == "/scratch/home"
    assert found["network"] is False
    assert "wrote" not in found
    assert found["grading"] == []  # the grader's source is not there
    assert not found["solutions_visible"]
    # The Python environment is mounted under /opt/python, even when it lives inside the repository (as CI
    # makes it); nothing of the repository may be there.
    assert set(found["repo"]) <= {".venv"}, found["repo"]
    assert found["data"] > 0
    assert len(found["pids"]) <= 3  # bwrap's init and the runner: nothing of the host


COURSE_ATTACKS = ("monkeypatch", "custom_objects", "home_startup")


def course_submissions():
    """The same attacks built from exercises/01-data.ipynb, beside an honest student who handed in the exercise."""
    folder = Path(tempfile.mkdtemp(prefix=f"{TOKEN}-course-"))
    try:
        targets = Targets(REPO / "solutions", folder, folder / "gradebook.csv", folder / "feedback", Path.home(), REPO)
        built = build_attacks(REPO / "exercises" / "01-data.ipynb", folder, targets)
        attacks = {
            f"attack-{name}": ("01-data", nbformat.read(str(built[name]), as_version=4)) for name in COURSE_ATTACKS
        }
    finally:
        shutil.rmtree(folder)
    return {**attacks, **course_grading.as_handed_in("01-data", "exercises")}


@pytest.mark.slow
def test_attacks_on_the_first_course_notebook_earn_nothing(course_grades):
    """Graded against the real solution in the shared run of the real notebooks (tests/course_grading.py)."""
    students = [f"attack-{name}" for name in COURSE_ATTACKS]
    assert {student: course_grades[student].total for student in students} == {student: 0 for student in students}
    assert course_grades["exercises-01-data"].total == 0
    assert not _survivors(), "processes of the run were left behind"
    assert not list(Path.home().glob(f".ipython/profile_default/startup/*{TOKEN}*"))
    hidden = [
        code
        for cell in nbformat.read(str(REPO / "solutions" / "01-data.ipynb"), as_version=4).cells
        if notebooks.cell_kind(cell) == "check"
        for code in notebooks.hidden_sources(cell.source)
    ]
    text = "\n".join(course_grades.feedback(student) for student in students)
    text += (course_grades.root / "gradebook.csv").read_text()
    for code in hidden:
        for line in code.splitlines():
            assert line.strip() not in text or len(line.strip()) < 8
