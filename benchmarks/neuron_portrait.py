"""Benchmark: a one-unit portrait drawn from saved parameters (target: under 10 s).

For a scratch network saved as JSON and for a Keras MLP saved as ``.keras``, times
everything from reading the saved file to the PNG on disk: loading the
parameters, loading the test images, computing the layer's activations on every
test image, drawing heatmap + top-8 images + per-class bar chart, saving. It
also prints the selectivity counts of that layer. Without saved files it first
trains small ones (not timed).

Run:
    EMNIST_TF_DATA=/path/to/emnist nice -n 10 python benchmarks/neuron_portrait.py
    ... --scratch digits.json --keras run/model.keras --unit 3 --out portraits/
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="digits")
    parser.add_argument("--scratch", default=None, help="a scratch network JSON (default: train one for 1 epoch)")
    parser.add_argument("--keras", default=None, help="a Keras MLP .keras file (default: train one for 1 epoch)")
    parser.add_argument("--unit", type=int, default=0)
    parser.add_argument("--out", default=None, help="folder for the PNGs (default: a temporary folder)")
    parser.add_argument("--data-dir", default=None)
    return parser.parse_args(argv)


def prepare_scratch(split, folder: Path, data_dir) -> Path:
    from emnist_tf import data, scratch

    images, labels = data.load_arrays(split, "train", data_dir=data_dir, limit=20000)
    network = scratch.Network([784, 30, data.split_info(split).num_classes], seed=0)
    network.fit(images, labels, epochs=1, batch_size=10, learning_rate=3.0)
    return network.save(folder / "scratch.json")


def prepare_keras(split, folder: Path, data_dir) -> Path:
    from emnist_tf import data
    from emnist_tf.modeling import models

    images, labels = data.load_arrays(split, "train", data_dir=data_dir, limit=20000)
    model = models.build_mlp(num_classes=data.split_info(split).num_classes, hidden_units=(128, 64), seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(images, labels, epochs=1, batch_size=128, verbose=0)
    path = folder / "mlp.keras"
    model.save(path)
    return path


def timed_portrait(kind: str, path: Path, args, out: Path) -> None:
    from emnist_tf import data
    from emnist_tf.interpret import neurons
    from emnist_tf.interpret.activations import unit_activations

    started = time.perf_counter()
    if kind == "scratch":
        from emnist_tf.scratch import Network

        model = Network.load(path)
    else:
        import keras

        model = keras.models.load_model(path)
    loaded = time.perf_counter()
    images, labels = data.load_arrays(args.split, "test", data_dir=args.data_dir)
    read = time.perf_counter()
    activations = unit_activations(model, images)
    figure = neurons.plot_unit_portrait(
        model, args.unit, images, labels, activations=activations, class_names=data.class_names(args.split)
    )
    figure.savefig(out / f"portrait_{kind}_unit{args.unit}.png", dpi=100)
    done = time.perf_counter()
    counts = neurons.class_selectivity(activations, labels).counts()
    print(
        f"{kind}: portrait of unit {args.unit} from {path.name} in {done - started:.2f} s "
        f"(parameters {loaded - started:.2f} s, {len(images)} test images {read - loaded:.2f} s, "
        f"activations + figure + PNG {done - read:.2f} s); layer selectivity {counts}"
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch_folder:
        folder = Path(scratch_folder)
        out = Path(args.out) if args.out else folder
        out.mkdir(parents=True, exist_ok=True)
        import keras  # noqa: F401  (import TensorFlow before timing: it is not part of drawing)

        scratch_path = Path(args.scratch) if args.scratch else prepare_scratch(args.split, folder, args.data_dir)
        keras_path = Path(args.keras) if args.keras else prepare_keras(args.split, folder, args.data_dir)
        timed_portrait("scratch", scratch_path, args, out)
        timed_portrait("keras", keras_path, args, out)
        print(
            f"figures in {out}" if args.out else "figures were written to a temporary folder (use --out to keep them)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
