"""Seconds per notebook graded (each solution notebook graded as a submission), and a class's projected wall time.

Run (fast mode; the sandbox needs bubblewrap, its own uid and cgroup need root):
    EMNIST_TF_FAST=1 EMNIST_TF_DATA=../shared/emnist nice python benchmarks/grading.py [--notebooks 01 03] \
        [--students 200] [--cores 16] [--memory-gb 64]

Each notebook is graded alone (one job), as one student's submission: the
sandbox starts, every cell runs, every check runs in the judge. The table
gives the wall time, the CPU time of the grader's processes (judge, sandbox,
runner; sampled twice a second) and their peak memory (resident, summed over
the process tree), and each notebook's time relative to the first
graded (the peer measured in the same run: on a shared machine the ratios
hold better than the absolute times). Python's folders, which the grader links
once per process for every sandbox, are linked first and timed on their own
line, so no notebook's time includes them.

The projection for a class assumes the grading is CPU-bound and packs
perfectly: ``jobs = min(cores, memory / peak memory of the largest notebook)``
submissions at once, each using one core, so the wall time is the class's CPU
time divided by ``jobs`` (never less than the slowest notebook's wall time).
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from pathlib import Path

from emnist_tf.grading import grade
from emnist_tf.grading.sandbox import Limits, python_copies

REPOSITORY = Path(__file__).resolve().parents[1]


def tree_usage(root: int) -> dict[int, tuple[int, float]]:
    """``pid -> (resident bytes, CPU seconds of its own)`` of every descendant of ``root``, from /proc."""
    children: dict[int, list[int]] = {}
    usage: dict[int, tuple[int, float]] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        usage[pid] = (int(fields[21]) * os.sysconf("SC_PAGE_SIZE"), (int(fields[11]) + int(fields[12])) / ticks)
    found, pending = {}, list(children.get(root, []))
    while pending:
        pid = pending.pop()
        if pid in usage:
            found[pid] = usage[pid]
        pending += children.get(pid, [])
    return found


class TreeUsage:
    """Samples this process's descendants until stopped: peak resident memory (summed) and CPU seconds.

    The CPU time is each process's own, as last seen, summed over every
    process seen; a process that lives less than one interval may be missed.
    """

    def __init__(self, interval: float = 0.5):
        self.interval = interval
        self.peak = 0
        self.cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            usage = tree_usage(os.getpid())
            self.peak = max(self.peak, sum(rss for rss, _ in usage.values()))
            for pid, (_, seconds) in usage.items():
                self.cpu[pid] = max(self.cpu.get(pid, 0.0), seconds)  # pids are not reused within a run
            self._stop.wait(self.interval)

    @property
    def cpu_seconds(self) -> float:
        return sum(self.cpu.values())

    def __enter__(self) -> TreeUsage:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()


def grade_one(path: Path, solutions: list[grade.SolutionNotebook], limits: Limits) -> dict:
    """Grades one notebook as a submission; returns its seconds, CPU seconds, peak memory and points."""
    started = time.perf_counter()
    with TreeUsage() as usage:
        result = grade.grade_submission(path, solutions, student="benchmark", limits=limits)
    return {
        "notebook": path.name,
        "seconds": time.perf_counter() - started,
        "cpu_seconds": usage.cpu_seconds,
        "peak_mb": usage.peak / 2**20,
        "points": f"{grade.format_points(result.total)}/{grade.format_points(result.max_points)}",
        "status": result.status,
    }


def project(rows: list[dict], students: int, cores: int, memory_gb: float) -> str:
    """The class's wall time under the stated model, as text."""
    peak_gb = max(row["peak_mb"] for row in rows) / 1024
    jobs = max(1, min(cores, int(memory_gb // max(peak_gb, 1e-3))))
    class_cpu = students * sum(row["cpu_seconds"] for row in rows)
    wall = max(class_cpu / jobs, max(row["seconds"] for row in rows))
    return (
        f"projection: {students} students x {len(rows)} notebooks on {cores} cores and {memory_gb:g} GB: "
        f"{jobs} jobs at once (largest peak {peak_gb:.2f} GB per job, one core each), "
        f"class CPU time {class_cpu / 3600:.1f} h -> about {wall / 3600:.1f} h of wall time "
        "(an estimate from this machine's CPU seconds; a faster core shortens it in proportion)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solutions", default=str(REPOSITORY / "solutions"))
    parser.add_argument("--notebooks", nargs="*", default=None, help="prefixes to grade (default: all), e.g. 01 03")
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--cores", type=int, default=16)
    parser.add_argument("--memory-gb", type=float, default=64.0)
    parser.add_argument("--timeout-per-cell", type=float, default=900.0)
    args = parser.parse_args()
    solutions = grade.load_solutions(args.solutions)
    chosen = [s for s in solutions if not args.notebooks or any(s.name.startswith(p) for p in args.notebooks)]
    limits = Limits(cpus=float(os.cpu_count() or 1), timeout_per_cell=args.timeout_per_cell, timeout_per_notebook=7200)
    mode = "fast" if os.environ.get("EMNIST_TF_FAST") == "1" else "full"
    print(f"grading {len(chosen)} solution notebook(s), {mode} mode, one at a time, on {os.cpu_count()} core(s)")
    start = time.perf_counter()
    linked = python_copies()  # once per grading process: linked before the first notebook's clock starts
    print(f"Python's folders linked for the sandboxes in {time.perf_counter() - start:.1f} s: {len(linked)} folder(s)")
    rows = []
    for solution in chosen:
        rows.append(grade_one(solution.path, solutions, limits))
        row = rows[-1]
        print(
            f"{row['notebook']:<36} {row['seconds']:7.1f} s wall  {row['cpu_seconds']:7.1f} s CPU  "
            f"{row['peak_mb']:6.0f} MB peak  x{row['seconds'] / rows[0]['seconds']:.2f} of {rows[0]['notebook']}  "
            f"{row['points']} {row['status'] if row['status'] != 'graded' else ''}",
            flush=True,
        )
    print("| notebook | wall s | CPU s | peak MB | wall vs first | points |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for row in rows:
        print(
            f"| {row['notebook']} | {row['seconds']:.0f} | {row['cpu_seconds']:.0f} | {row['peak_mb']:.0f} | "
            f"{row['seconds'] / rows[0]['seconds']:.2f} | {row['points']} |"
        )
    print(project(rows, args.students, args.cores, args.memory_gb))


if __name__ == "__main__":
    main()
