"""How long loading the full balanced training file into arrays takes (target: under 3 s).

Run:
    EMNIST_TF_DATA=../shared/emnist python benchmarks/data_loading.py [--split balanced] [--repeats 3]

Each repetition starts cold inside the process (the decoded-file memo is cleared),
so the time covers reading, checksumming, decompressing, checking, transposing and
scaling to float32.
"""

from __future__ import annotations

import argparse
import statistics
import time

from emnist_tf.data import load_arrays, sources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="balanced")
    parser.add_argument("--subset", default="train", choices=("train", "test"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    seconds = []
    for _ in range(args.repeats):
        sources._DECODED.clear()
        start = time.perf_counter()
        images, labels = load_arrays(args.split, args.subset, data_dir=args.data_dir)
        seconds.append(time.perf_counter() - start)
    print(
        f"split={args.split} subset={args.subset} images={len(images):,} shape={images.shape[1:]} dtype={images.dtype}"
    )
    print(
        f"load seconds: median {statistics.median(seconds):.2f}, best {min(seconds):.2f}, "
        f"all {', '.join(f'{value:.2f}' for value in seconds)} (target < 3 s)"
    )
    print(f"memory of the arrays: {(images.nbytes + labels.nbytes) / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
