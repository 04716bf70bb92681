"""Batch normalisation in short trials: validation accuracy with moving statistics against batch statistics.

A cross-validation fold of a laptop-sized search trains for a few hundred steps. Keras's
``BatchNormalization`` predicts with moving averages of the batch statistics, updated with
``momentum`` (0.99 by default): after ``n`` steps a fraction ``momentum ** n`` of the moving mean and
variance is still their starting value (0 and 1). This script trains one small CNN
(Conv-BN-ReLU-pool twice, Dense-BN-ReLU, dropout, softmax) per momentum on a stratified sample of the
balanced train file, validates on held-out training images, and prints the accuracy with the moving
statistics (what ``predict`` and ``evaluate`` use) and with the validation batch's own statistics.

Run (a few minutes on a 2-core CPU)::

    EMNIST_TF_DATA=/path/to/emnist python benchmarks/batch_norm_momentum.py [--images 6000] [--epochs 3]
"""

from __future__ import annotations

import argparse
import os
import sys


def small_cnn(momentum: float, num_classes: int, seed: int):
    """The notebook-05 style baseline CNN with batch normalisation of the given momentum."""
    import keras

    keras.utils.set_random_seed(seed)
    layers = [keras.Input((28, 28, 1))]
    for filters in (32, 64):
        layers += [
            keras.layers.Conv2D(filters, 3, padding="same"),
            keras.layers.BatchNormalization(momentum=momentum),
            keras.layers.Activation("relu"),
            keras.layers.MaxPooling2D(),
        ]
    layers += [
        keras.layers.Flatten(),
        keras.layers.Dense(128),
        keras.layers.BatchNormalization(momentum=momentum),
        keras.layers.Activation("relu"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(num_classes, activation="softmax", dtype="float32"),
    ]
    return keras.Sequential(layers)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=6000, help="training images sampled (2/3 train, 1/3 validate)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--momentum", type=float, nargs="+", default=[0.99, 0.9])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import numpy as np

    from emnist_tf import config, data

    if not os.environ.get(config.DATA_ENV):
        print(f"set {config.DATA_ENV} to the folder of EMNIST files", file=sys.stderr)
        return 2
    images, labels = data.load_arrays("balanced", "train", limit=args.images, seed=args.seed)
    cut = len(images) * 2 // 3
    steps = args.epochs * -(-cut // args.batch_size)
    print(f"{cut} training images, {len(images) - cut} validation images, {steps} steps of {args.batch_size}")
    for momentum in args.momentum:
        model = small_cnn(momentum, data.split_info("balanced").num_classes, args.seed)
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(images[:cut], labels[:cut], epochs=args.epochs, batch_size=args.batch_size, verbose=0)
        moving = np.argmax(model.predict(images[cut:], batch_size=256, verbose=0), axis=1)
        batch = np.concatenate(
            [
                np.argmax(model(images[start : start + 256], training=True).numpy(), axis=1)
                for start in range(cut, len(images), 256)
            ]
        )
        print(
            f"momentum {momentum}: start values still weigh {momentum**steps:.3f}; validation accuracy "
            f"{np.mean(moving == labels[cut:]):.3f} with moving statistics, {np.mean(batch == labels[cut:]):.3f} "
            "with batch statistics (dropout on)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
