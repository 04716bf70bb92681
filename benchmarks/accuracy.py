"""Trains the default MLP and CNN fully and prints their test accuracy and training time.

Uses exactly what ``emnist-tf train --model mlp|cnn`` uses (the builders' defaults and
``emnist_tf.modeling.training.DEFAULT_TRAINING``), on the balanced train file of
``EMNIST_TF_DATA``, and scores the balanced test file. Targets: MLP >= 85.5%, CNN >=
89.5% with the CNN trained in under 30 minutes on a 2-core CPU. It also prints the
process CPU time, which does not grow when other jobs share the machine.

Run (takes a while; be kind to a shared machine)::

    EMNIST_TF_DATA=/path/to/emnist nice -n 10 python benchmarks/accuracy.py [--models cnn mlp] [--out runs/bench]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

TARGETS = {"mlp": 0.855, "cnn": 0.895}
TIME_LIMIT_SECONDS = {"cnn": 30 * 60}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=sorted(TARGETS), default=["cnn", "mlp"])
    parser.add_argument("--out", default=None, help="also save each run (model.keras, history.csv, run.json) here")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from emnist_tf import config, data, devices
    from emnist_tf.modeling.models import build_model
    from emnist_tf.modeling.runs import save_run
    from emnist_tf.modeling.training import default_config, train

    if config.fast_mode():
        print("note: EMNIST_TF_FAST is on; these are NOT full-run figures", file=sys.stderr)
    if not os.environ.get(config.DATA_ENV):
        print(f"set {config.DATA_ENV} to the folder of EMNIST files", file=sys.stderr)
        return 2
    devices.configure_precision()
    test_images, test_labels = data.load_arrays("balanced", "test")
    figures = {}
    for kind in args.models:
        recipe = default_config(kind, seed=args.seed)
        model = build_model(kind, num_classes=data.split_info("balanced").num_classes, seed=args.seed)
        print(f"\n=== {kind}: {model.count_params():,} parameters, recipe {recipe}", flush=True)
        cpu_started = time.process_time()
        result = train(recipe, "balanced", model=model, verbose=2)
        cpu_seconds = time.process_time() - cpu_started
        _, accuracy = model.evaluate(test_images, test_labels, batch_size=1024, verbose=0)
        figures[kind] = {
            "test_accuracy": round(float(accuracy), 4),
            "target": TARGETS[kind],
            "train_seconds": round(result.train_seconds, 1),
            "seconds_per_epoch": round(result.seconds_per_epoch, 1),
            "cpu_seconds": round(cpu_seconds, 1),
            "epochs_run": result.epochs_run,
            "test_examples": int(len(test_labels)),
            "device": result.device,
            "load_average_1min": round(os.getloadavg()[0], 1),
        }
        verdict = "meets" if accuracy >= TARGETS[kind] else "MISSES"
        print(
            f"{kind}: test accuracy {accuracy:.4f} on {len(test_labels)} images ({verdict} target "
            f"{TARGETS[kind]:.3f}); trained {result.epochs_run} epochs in {result.train_seconds / 60:.1f} min "
            f"wall-clock, {cpu_seconds / 60:.1f} min CPU time, on {result.device}",
            flush=True,
        )
        if args.out:
            save_run(os.path.join(args.out, kind), result, {"model": kind, "split": "balanced"})
    print("\n" + json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
