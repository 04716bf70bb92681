"""Preferred inputs of all 47 classes of the default CNN in one call, versus a per-unit loop.

Run:
    EMNIST_TF_DATA=../shared/emnist nice -n 10 python benchmarks/feature_visualization.py \\
        [RUN_DIR] [--epochs 3] [--train-examples 30000] [--steps 200] [--starts 4] [--out classes.png] \\
        [--save RUN_DIR] [--skip-loop]

Without RUN_DIR it trains ``build_cnn()`` (the library's default CNN) on a
stratified subsample of the balanced training set first. It prints the time of
the batched ascent (47 classes x starts images in one tape), the time of a plain
loop over the classes one at a time (same steps and starts, one reused
``Maximizer`` so nothing is traced twice), the fraction of preferred inputs
classified as their class, and how their logits compare with the largest logit
any test image produces. The figure shows each class's preferred input beside
its three strongest test images.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from emnist_tf import config, data
from emnist_tf.interpret import features
from emnist_tf.interpret.features.objectives import ClassMargin
from emnist_tf.modeling import models, runs, training


def _model(args):
    if args.run_dir:
        run = runs.load_run(args.run_dir)
        return run.model, run.config.get("split", "balanced"), f"run {args.run_dir}"
    model = models.build_cnn(num_classes=data.split_info("balanced").num_classes, seed=0)
    result = training.train(
        model, "balanced", epochs=args.epochs, limit=args.train_examples, seed=0, data_dir=args.data_dir, verbose=2
    )
    accuracy = result.history.get("val_accuracy", [float("nan")])[-1]
    print(
        f"trained build_cnn() on {args.train_examples} images for {result.epochs_run} epochs in "
        f"{result.train_seconds:.0f} s (validation accuracy {accuracy:.3f})"
    )
    if args.save:
        runs.save_run(args.save, result, {"model": "cnn", "split": "balanced"})
        print(f"saved the run to {args.save}")
    return result.model, "balanced", "build_cnn()"


def _per_unit_loop(model, classes, args) -> float:
    maximizer = features.Maximizer(model, "logits", score=ClassMargin())
    begin = time.perf_counter()
    for unit in classes:
        maximizer.run([unit], starts=args.starts, steps=args.steps, seed=args.seed)
    return time.perf_counter() - begin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?", default=None, help="a run directory to load instead of training")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-examples", type=int, default=30000)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--starts", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default="feature_visualization_classes.png")
    parser.add_argument("--save", default=None, help="save the trained model as a run directory here")
    parser.add_argument("--skip-loop", action="store_true", help="do not time the per-unit loop")
    args = parser.parse_args()
    config.set_fast_mode(False)

    model, split, source = _model(args)
    names = data.class_names(split)
    classes = np.arange(len(names))
    result = features.maximize_classes(
        model, starts=args.starts, steps=args.steps, seed=args.seed, callbacks=[features.Progress()]
    )
    print(
        f"batched: {len(classes)} classes x {args.starts} starts x {result.steps} steps in one tape: "
        f"{result.seconds:.1f} s"
    )
    if not args.skip_loop:
        loop_seconds = _per_unit_loop(model, classes, args)
        print(
            f"per-unit loop (same work, one class at a time): {loop_seconds:.1f} s "
            f"({loop_seconds / result.seconds:.1f}x the batched time)"
        )

    test_images, _ = data.load_arrays(split, "test", data_dir=args.data_dir)
    probabilities = model.predict(result.images, verbose=0)
    own = probabilities[classes, classes]
    logits = features.unit_activations(model, result.images, "logits")[classes, classes]
    largest = features.unit_activations(model, test_images, "logits").max(axis=0)
    print(
        f"classified as their class: {np.mean(probabilities.argmax(axis=1) == classes):.3f} "
        f"(p >= 0.9: {np.mean(own >= 0.9):.3f}, mean p {own.mean():.3f})"
    )
    print(
        f"logit above the largest over {len(test_images)} test images: {np.mean(logits > largest):.3f} "
        f"(median ratio {np.median(logits / largest):.2f})"
    )
    wrong = [f"{names[c]}->{names[probabilities[c].argmax()]}" for c in classes if probabilities[c].argmax() != c]
    if wrong:
        print("misclassified preferred inputs:", ", ".join(wrong))

    top = features.top_activating_images(model, test_images, "logits", count=3)
    figure = features.plot_preferred_inputs(
        result,
        top,
        unit_labels=names,
        title=f"{source}: preferred input of each class (framed) and its 3 strongest test images",
    )
    figure.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
