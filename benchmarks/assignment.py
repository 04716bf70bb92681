"""The whole assignment with one budget: wall time per stage, the default CNN's speed, and the results.

Runs ``emnist-tf assignment`` (the same pipeline) into ``--out`` and prints, when it ends:

* the wall-clock time of every stage (the two sweeps, the four final trainings, the report);
* the default CNN's seconds per epoch on the whole balanced training file, measured first with the
  default recipe (one epoch, or estimated from ``--cnn-probe-images`` images), so the total can be
  judged on a faster or slower machine;
* the test accuracy of each model's baseline and winner, and whether the winner beat its baseline
  and (CNN) today's default CNN figure from the README.

Run (the evening budget takes about 4 hours on a 2-core machine; be kind to a shared machine)::

    EMNIST_TF_DATA=/path/to/emnist nice -n 10 python benchmarks/assignment.py --budget evening --out runs/bench
    EMNIST_TF_DATA=/path/to/emnist EMNIST_TF_FAST=1 python benchmarks/assignment.py --budget fast --out /tmp/a
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time

DEFAULT_CNN_ACCURACY = 0.8969
"""The default CNN's test accuracy from the README's benchmark table (benchmarks/accuracy.py, seed 0)."""
FULL_TRAINING_IMAGES = 112_800
STAGE_LINE = re.compile(r"\[assignment\] stage (\d+)/(\d+): ([\w -]+?)(?: \(|$| \|)")


class _StageClock:
    """A stream that passes lines on and notes when each pipeline stage starts."""

    def __init__(self, stream):
        self.stream = stream
        self.starts: dict[str, float] = {}
        self.order: list[str] = []

    def write(self, text: str) -> int:
        for line in text.splitlines():
            match = STAGE_LINE.search(line)
            if match and match.group(3) not in self.starts:
                self.starts[match.group(3)] = time.perf_counter()
                self.order.append(match.group(3))
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


def default_cnn_seconds_per_epoch(probe_images: int | None) -> tuple[float, int]:
    """Seconds per epoch of the default CNN and recipe on the full training file (measured or scaled).

    On a subsample it trains two epochs and times the second, so that tracing the graph is not counted.
    """
    from emnist_tf.modeling.training import DEFAULT_TRAINING, train

    epochs = 1 if probe_images is None else 2
    recipe = dict(DEFAULT_TRAINING["cnn"], epochs=epochs, validation_fraction=0.0)
    result = train("cnn", "balanced", limit=probe_images, verbose=0, **recipe)
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
    seconds_per_epoch, probed = default_cnn_seconds_per_epoch(probe)
    print(f"default CNN: {seconds_per_epoch:.1f} s per epoch on the full training file (timed on {probed} images)")
    clock = _StageClock(sys.stdout)
    started = time.perf_counter()
    run_assignment(args.out, budget=args.budget, folds=args.folds, stream=clock)
    ended = time.perf_counter()
    marks = [clock.starts[name] for name in clock.order] + [ended]
    print(f"\n{args.budget} budget, {config.fast_mode() and 'fast mode' or 'full mode'}; wall time per stage:")
    for name, start, end in zip(clock.order, marks, marks[1:]):
        print(f"  {name:<22} {end - start:9.1f} s")
    print(f"  {'total (this process)':<22} {ended - started:9.1f} s  (stages already done before were skipped)")
    figures = {"budget": args.budget, "default_cnn_seconds_per_epoch": round(seconds_per_epoch, 1), "models": {}}
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
