"""Training images per second: the library's ``train`` versus a bare ``model.fit`` on NumPy arrays.

For the default MLP and CNN it trains the same architecture, with the same optimiser,
batch size and number of steps, three ways:

* ``library``: ``emnist_tf.modeling.training.train`` without augmentation (tf.data pipeline);
* ``library+aug``: the same with the default augmentation (what ``emnist-tf train`` does);
* ``bare fit``: ``model.compile(...); model.fit(images, labels)`` on NumPy arrays.

Each is run for three epochs of ``--steps`` batches on real balanced images and the
fastest of the last two epochs is timed, so tracing and warm-up do not count; the
ways take turns for ``--repeats`` rounds and the best and median round of each are reported. The issue's
target: the library must not be slower than the bare fit. On a shared machine the
figures move with the load, so the 1-minute load average is printed with them.

Run::

    EMNIST_TF_DATA=/path/to/emnist nice -n 10 python benchmarks/throughput.py [--steps 100] [--models mlp cnn]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

EPOCHS = 3  # the first one traces and fills caches; the fastest of the others is timed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=["mlp", "cnn"], default=["mlp", "cnn"])
    parser.add_argument("--steps", type=int, default=100, help="batches per epoch (3 epochs are run)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3, help="rounds per way; the best and the median are reported")
    args = parser.parse_args(argv)
    import keras

    from emnist_tf import config, data
    from emnist_tf.modeling.models import build_model
    from emnist_tf.modeling.training import train

    if not os.environ.get(config.DATA_ENV):
        print(f"set {config.DATA_ENV} to the folder of EMNIST files", file=sys.stderr)
        return 2
    count = config.cap(args.steps * args.batch_size, "train_examples")
    images, labels = data.load_arrays("balanced", "train", limit=count)
    classes = data.split_info("balanced").num_classes
    rows = []
    ways = ["bare fit", "library", "library+aug"]
    for kind in args.models:
        rates = {way: [] for way in ways}
        for round_index in range(args.repeats):
            # Alternate the order so that a change in the machine's load hits every way alike.
            for way in ways if round_index % 2 == 0 else ways[::-1]:
                model = build_model(kind, num_classes=classes, seed=0)
                if way == "bare fit":
                    seconds = _bare_fit_seconds(keras, model, images, labels, args.batch_size)
                else:
                    result = train(
                        model,
                        (images, labels),
                        validation_fraction=0.0,
                        epochs=EPOCHS,
                        batch_size=args.batch_size,
                        augmentation=(way == "library+aug"),
                        verbose=0,
                    )
                    seconds = min(result.history["epoch_seconds"][1:])
                rate = len(labels) / seconds
                print(
                    f"{kind:4} {way:12} round {round_index + 1}: {rate:9.1f} images/s "
                    f"(load average {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
                rates[way].append(rate)
        best = {way: max(values) for way, values in rates.items()}
        median = {way: statistics.median(values) for way, values in rates.items()}
        for way in ways:
            rows.append(
                {
                    "model": kind,
                    "way": way,
                    "best_images_per_second": round(best[way], 1),
                    "median_images_per_second": round(median[way], 1),
                    "images": int(len(labels)),
                    "repeats": args.repeats,
                }
            )
        print(
            f"{kind}: library / bare fit = {best['library'] / best['bare fit']:.2f} best, "
            f"{median['library'] / median['bare fit']:.2f} median (with augmentation "
            f"{best['library+aug'] / best['bare fit']:.2f} best)",
            flush=True,
        )
    print(json.dumps(rows, indent=2))
    return 0


def _bare_fit_seconds(keras, model, images, labels, batch_size) -> float:
    """Fastest epoch after the first of a plain ``fit`` on NumPy arrays (Adam, same loss and metric)."""
    times = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.started)

    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(images, labels, batch_size=batch_size, epochs=EPOCHS, shuffle=True, verbose=0, callbacks=[EpochTimer()])
    return min(times[1:])


if __name__ == "__main__":
    sys.exit(main())
