"""Benchmark: the NumPy network from scratch with the classic recipe on EMNIST digits.

Trains sizes [784, 20, 10], sigmoid, quadratic cost, learning rate 3.0,
mini-batch 10, 30 epochs (the recipe that gives about 94.1% on MNIST), prints
the test accuracy after every epoch, the best epoch and the total time, then
times ONE epoch of the textbook one-example-at-a-time loop against the
vectorised mini-batch epoch on identical networks and prints the speed-up.
Target: best-epoch test accuracy >= 94% on digits.

Run (full size, ~1-2 minutes on a shared 2-core CPU):
    EMNIST_TF_DATA=/path/to/emnist nice -n 10 python benchmarks/scratch_network.py
    EMNIST_TF_DATA=... nice -n 10 python benchmarks/scratch_network.py --split letters --sizes 784 100 26 --epochs 10
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from emnist_tf import data, scratch


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="digits", help="EMNIST split (digits, letters, mnist, balanced)")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="layer sizes; default 784 20 C")
    parser.add_argument("--activation", default="sigmoid", choices=scratch.ACTIVATIONS)
    parser.add_argument("--cost", default="quadratic", choices=scratch.COSTS)
    parser.add_argument("--learning-rate", type=float, default=3.0)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None, help="folder of EMNIST files (else EMNIST_TF_DATA)")
    parser.add_argument("--save", default=None, help="write the best-epoch network's parameters to this JSON file")
    parser.add_argument("--skip-loop-timing", action="store_true", help="do not time the one-example-at-a-time loop")
    return parser.parse_args(argv)


def time_one_epoch(network_args: dict, inputs, targets, *, batch_size, learning_rate, seed, per_example) -> float:
    """Seconds for one epoch of a fresh network, vectorised or one example at a time."""
    network = scratch.Network(**network_args)
    started = time.perf_counter()
    step = network.train_epoch_per_example if per_example else network.train_epoch
    step(inputs, targets, batch_size=batch_size, learning_rate=learning_rate, rng=np.random.default_rng(seed))
    return time.perf_counter() - started


def main(argv=None) -> int:
    args = parse_args(argv)
    num_classes = data.split_info(args.split).num_classes
    sizes = args.sizes or [784, 20, num_classes]
    started = time.perf_counter()
    train_images, train_labels = data.load_arrays(args.split, "train", data_dir=args.data_dir)
    test_images, test_labels = data.load_arrays(args.split, "test", data_dir=args.data_dir)
    train_x, test_x = scratch.to_vectors(train_images), scratch.to_vectors(test_images)
    print(
        f"split {args.split}: {len(train_x)} train / {len(test_x)} test images, "
        f"{num_classes} classes (loaded in {time.perf_counter() - started:.1f} s)"
    )
    network_args = dict(sizes=sizes, activation=args.activation, cost=args.cost, seed=args.seed)
    print(
        f"network {sizes}, {args.activation}, {args.cost} cost, lr {args.learning_rate}, "
        f"batch {args.batch_size}, {args.epochs} epochs, seed {args.seed}"
    )

    network = scratch.Network(**network_args)
    best_state, best_accuracy = None, -1.0
    history = scratch.History()
    rng = np.random.default_rng(args.seed)
    train_targets = scratch.one_hot(train_labels, num_classes)
    for epoch in range(1, args.epochs + 1):
        epoch_started = time.perf_counter()
        network.train_epoch(
            train_x, train_targets, batch_size=args.batch_size, learning_rate=args.learning_rate, rng=rng
        )
        history.epoch_seconds.append(time.perf_counter() - epoch_started)
        history.test_accuracy.append(network.accuracy(test_x, test_labels))
        if history.test_accuracy[-1] > best_accuracy:
            best_accuracy, best_state = history.test_accuracy[-1], network.to_dict()
        print(f"epoch {epoch:2d}: test accuracy {history.test_accuracy[-1]:.4f} ({history.epoch_seconds[-1]:.2f} s)")
    print(
        f"best test accuracy {history.best_test_accuracy:.4f} at epoch {history.best_epoch}; "
        f"final {history.test_accuracy[-1]:.4f}; training time {history.total_seconds:.1f} s "
        f"({history.total_seconds / args.epochs:.2f} s/epoch)"
    )
    if args.save:
        path = scratch.Network.from_dict(best_state).save(args.save)
        print(f"saved the best-epoch network to {path}")

    if not args.skip_loop_timing:
        timing = dict(batch_size=args.batch_size, learning_rate=args.learning_rate, seed=args.seed)
        vectorised = time_one_epoch(network_args, train_x, train_targets, per_example=False, **timing)
        textbook = time_one_epoch(network_args, train_x, train_targets, per_example=True, **timing)
        print(
            f"one epoch: vectorised mini-batch {vectorised:.2f} s, one example at a time {textbook:.2f} s, "
            f"speed-up {textbook / vectorised:.1f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
