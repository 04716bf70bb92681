"""Resident memory of a long sweep, printed after every 10 trials.

TensorFlow keeps some memory of every model trained in a process, even after
``keras.backend.clear_session()`` (tensorflow/tensorflow#61791). A sweep clears the
session between trials and ``emnist-tf tune`` restarts its own process (same
process id, the sweep resumes) every ``--recycle-after`` trials, so memory stays
bounded over hundreds of trials.

This runs ``emnist-tf tune`` as a subprocess (a random search of many small trials:
real EMNIST images, 2 folds, 1 epoch; not fast mode, whose trial cap is 2) and
prints its resident set size after every 10 finished trials, for the given
``--recycle-after`` values (0 = never restart, to see the leak itself).

Usage:
    EMNIST_TF_DATA=/path/to/emnist nice -n 10 python benchmarks/tuning_memory.py \
        --trials 60 --limit 1000 --recycle-after 20 0
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

DONE = re.compile(r"trial (\d+)/(\d+) done")


def resident_mebibytes(pid: int) -> float:
    """Resident set size of process ``pid`` in MiB (Linux /proc, else psutil)."""
    try:
        with open(f"/proc/{pid}/status") as stream:
            for line in stream:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20


def measure(trials: int, limit: int, recycle_after: int, every: int, model: str) -> list[tuple[int, float]]:
    """Runs one sweep and returns ``(trials finished, MiB resident)`` readings."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("EMNIST_TF_FAST",) and not name.startswith("KERASTUNER_")
    }
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    readings = []
    with tempfile.TemporaryDirectory(prefix="tuning-memory-") as directory:
        command = [
            sys.executable,
            "-m",
            "emnist_tf",
            "tune",
            "--model",
            model,
            "--strategy",
            "random",
            "--folds",
            "2",
            "--epochs",
            "1",
            "--max-trials",
            str(trials),
            "--limit",
            str(limit),
            "--recycle-after",
            str(recycle_after),
            "--dir",
            os.path.join(directory, "sweep"),
        ]
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=environment
        )
        for line in process.stdout:
            match = DONE.search(line)
            if match and int(match.group(1)) % every == 0:
                readings.append((int(match.group(1)), resident_mebibytes(process.pid)))
                print(
                    f"recycle-after {recycle_after:3d}: after {readings[-1][0]:4d} trials: "
                    f"{readings[-1][1]:8.1f} MiB resident ({time.perf_counter() - started:.0f} s)",
                    flush=True,
                )
        process.wait()
    return readings


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--limit", type=int, default=1000, help="training images (stratified)")
    parser.add_argument("--model", default="mlp", choices=["mlp", "cnn"])
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--recycle-after", type=int, nargs="+", default=[20])
    args = parser.parse_args(argv)
    for recycle_after in args.recycle_after:
        readings = measure(args.trials, args.limit, recycle_after, args.every, args.model)
        if len(readings) >= 2:
            (first_trials, first), (last_trials, last) = readings[0], readings[-1]
            growth = (
                f"{(last - first) / (last_trials - first_trials):+.2f} MiB per trial from trial "
                f"{first_trials} to {last_trials}; "
                if recycle_after == 0
                else ""
            )
            print(
                f"recycle-after {recycle_after:3d}: {growth}peak {max(value for _, value in readings):.1f} MiB, "
                f"last {last:.1f} MiB"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
