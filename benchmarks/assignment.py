"""The whole assignment with one budget: wall time per stage, the default CNN's speed, and the results.

Runs ``emnist-tf assignment`` (the same pipeline) into ``--out`` and prints, when it ends:

* the wall-clock time of every stage (the two sweeps, the four final trainings, the report), added up
  over every process that worked on the folder (``benchmark-times.json`` there), so a run that was
  killed and resumed, even days later, reports the whole cost, its lost partial work included;
* the default CNN's seconds per epoch on the whole balanced training file, measured first with the
  default recipe (one epoch, or estimated from ``--cnn-probe-images`` images) at the start of every
  process, so the total can be judged on a faster or slower machine;
* the test accuracy of each model's baseline and winner, and whether the winner beat its baseline
  and (CNN) today's default CNN figure from the README.

Run (the evening budget is estimated at about 5 hours on a 2-core machine; be kind to a shared machine)::

    EMNIST_TF_DATA=/path/to/emnist nice -n 10 python benchmarks/assignment.py --budget evening --out runs/bench
    EMNIST_TF_DATA=/path/to/emnist EMNIST_TF_FAST=1 python benchmarks/assignment.py --budget fast --out /tmp/a
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import threading
import time
from pathlib import Path

DEFAULT_CNN_ACCURACY = 0.8969
"""The default CNN's test accuracy from the README's benchmark table (benchmarks/accuracy.py, seed 0)."""
FULL_TRAINING_IMAGES = 112_800
TIMES_FILE = "benchmark-times.json"
STAGE_LINE = re.compile(r"\[assignment\] stage (\d+)/(\d+): ([\w -]+?)(?: \(|$| \|)")


class _StageClock:
    """A stream that passes lines on and adds up the wall time of each pipeline stage in a file.

    The totals live in ``TIMES_FILE`` inside the assignment folder and are saved every
    ``save_every`` seconds, so a run killed and resumed (even in another session) still
    reports the wall time each stage took over all its processes.
    """

    def __init__(self, stream, path: Path, save_every: float = 30.0):
        self.stream = stream
        self.path = path
        self.times = json.loads(path.read_text()) if path.exists() else {"stages": {}, "processes": 0, "probes": []}
        self.times["processes"] += 1
        self.current: str | None = None
        self.mark = time.perf_counter()
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.saver = threading.Thread(target=self._save_loop, args=(save_every,), daemon=True)
        self.saver.start()

    def _save_loop(self, every: float) -> None:
        while not self.stopped.wait(every):
            self.save()

    def _account(self) -> None:
        now = time.perf_counter()
        if self.current is not None:
            stages = self.times["stages"]
            stages[self.current] = stages.get(self.current, 0.0) + now - self.mark
        self.mark = now

    def save(self) -> None:
        from emnist_tf.files import atomic_write_json

        with self.lock:
            self._account()
            atomic_write_json(self.path, self.times, indent=2)

    def note_probe(self, seconds_per_epoch: float) -> None:
        with self.lock:
            self.times["probes"].append(round(seconds_per_epoch, 1))
        self.save()

    def write(self, text: str) -> int:
        for line in text.splitlines():
            match = STAGE_LINE.search(line)
            if match and match.group(3) != self.current:
                with self.lock:
                    self._account()
                    self.current = match.group(3)
        return self.stream.write(text)

    def close(self) -> None:
        self.stopped.set()
        self.save()
        with self.lock:
            self.current = None

    def flush(self) -> None:
        self.stream.flush()


def default_cnn_seconds_per_epoch(probe_images: int | None) -> tuple[float, int]:
    """Seconds per epoch of the default CNN and recipe on the full training file (measured or scaled).

    On a subsample it trains two epochs and times the second, so that tracing the graph is not counted.
    """
    from emnist_tf.modeling.training import default_config, train

    epochs = 1 if probe_images is None else 2
    result = train(
        default_config("cnn", epochs=epochs, validation_fraction=0.0), "balanced", limit=probe_images, verbose=0
    )
    images = result.settings["train_examples"]
    return result.history["epoch_seconds"][-1] * FULL_TRAINING_IMAGES / images, images


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", choices=("fast", "evening", "overnight"), default="evening")
    parser.add_argument("--out", required=True, help="assignment folder (resumable: rerun to continue)")
    parser.add_argument("--folds", type=int, default=None)
    parser.add_argument(
        "--cnn-probe-images",
        type=int,
        default=None,
        help="time the default CNN's epoch on this many images and scale (default: the whole file)",
    )
    args = parser.parse_args(argv)
    from emnist_tf import config
    from emnist_tf.assignment import layout
    from emnist_tf.assignment.pipeline import run_assignment

    if not os.environ.get(config.DATA_ENV):
        print(f"set {config.DATA_ENV} to the folder of EMNIST files", file=sys.stderr)
        return 2
    if config.fast_mode():
        print("note: EMNIST_TF_FAST is on; these are NOT full-run figures", file=sys.stderr)
    probe = args.cnn_probe_images or (3000 if args.budget == "fast" else None)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    clock = _StageClock(sys.stdout, Path(args.out) / TIMES_FILE)
    seconds_per_epoch, probed = default_cnn_seconds_per_epoch(probe)
    clock.note_probe(seconds_per_epoch)
    print(f"default CNN: {seconds_per_epoch:.1f} s per epoch on the full training file (timed on {probed} images)")
    started = time.perf_counter()
    run_assignment(args.out, budget=args.budget, folds=args.folds, stream=clock)
    ended = time.perf_counter()
    clock.close()
    times = clock.times
    print(f"\n{args.budget} budget, {config.fast_mode() and 'fast mode' or 'full mode'}; wall time per stage:")
    for name, seconds in times["stages"].items():
        print(f"  {name:<22} {seconds:9.1f} s")
    total = sum(times["stages"].values())
    print(f"  {'total':<22} {total:9.1f} s  ({total / 3600:.2f} h over {times['processes']} process(es))")
    print(f"  {'this process':<22} {ended - started:9.1f} s")
    print(f"default CNN seconds per epoch, measured at the start of each process: {times['probes']}")
    figures = {
        "budget": args.budget,
        "default_cnn_seconds_per_epoch": times["probes"],
        "stage_seconds": {name: round(seconds, 1) for name, seconds in times["stages"].items()},
        "models": {},
    }
    for kind in ("mlp", "cnn"):
        scores = {}
        for name in layout.CONFIGURATIONS:
            metrics = json.loads((layout.run_dir(args.out, kind, name) / "metrics.json").read_text())
            scores[name] = metrics["accuracy"]
        beat = scores["best"] > scores["baseline"]
        line = (
            f"{kind}: baseline {100 * scores['baseline']:.2f}%, winner {100 * scores['best']:.2f}% "
            f"({'beats' if beat else 'does NOT beat'} its baseline)"
        )
        if kind == "cnn":
            reached = "reached" if scores["best"] >= DEFAULT_CNN_ACCURACY else "not reached"
            line += f"; default CNN {100 * DEFAULT_CNN_ACCURACY:.2f}%: {reached}"
        print(line)
        figures["models"][kind] = {**{name: round(value, 4) for name, value in scores.items()}, "beats_baseline": beat}
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
