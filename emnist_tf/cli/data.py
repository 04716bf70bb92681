"""``emnist-tf data info|show|counts``: what a split holds, where it comes from, and what it looks like."""

from __future__ import annotations

import argparse
import json

from emnist_tf.data import SPLITS


def register(subparsers, parents) -> None:
    """Adds ``data`` and its subcommands."""
    data = subparsers.add_parser("data", parents=parents, help="inspect an EMNIST split")
    commands = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    commands.required = True

    def add(name: str, help_text: str, handler) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, parents=parents, help=help_text)
        parser.add_argument("--split", default="balanced", help=f"one of {', '.join(SPLITS)} (default: balanced)")
        parser.add_argument(
            "--data-dir", help="folder of NIST's gzip files or gzip.zip (default: $EMNIST_TF_DATA, then tfds)"
        )
        parser.set_defaults(handler=handler)
        return parser

    info = add("info", "image counts, classes, source and provenance of each file", run_info)
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    show = add("show", "save a grid of sample images titled with their characters", run_show)
    show.add_argument("--out", default="samples.png", help="PNG file to write (default: samples.png)")
    show.add_argument("--subset", choices=("train", "test"), default="train")
    show.add_argument("--count", type=int, default=36, help="number of images (default: 36)")
    show.add_argument("--seed", type=int, default=0, help="seed of the random choice of images")
    counts = add("counts", "print the number of images of each class", run_counts)
    counts.add_argument("--subset", choices=("train", "test"), default="train")


def format_info(report: dict) -> str:
    """Formats :func:`emnist_tf.data.describe_split`'s report for people."""
    lines = [f"split {report['split']}: {report['num_classes']} classes"]
    for subset in ("train", "test"):
        part = report[subset]
        official = report["official_sizes"][subset]
        lines.append(
            f"  {subset}: {part['images']:,} images ({part['classes_present']} classes present; "
            f"NIST's official file has {official:,})"
        )
        lines.append(f"    source: {part['source']}")
        for name, origin in part["files"].items():
            lines.append(f"    {name}: {origin}")
    for name, origin in report.get("mapping", {}).items():
        lines.append(f"  {name}: {origin}")
    if any("not the official" in origin for subset in ("train", "test") for origin in report[subset]["files"].values()):
        lines.append(
            "  note: files that are not NIST's own may hold fewer or other images: "
            "compare with published figures only as an estimate"
        )
    return "\n".join(lines)


def run_info(args) -> int:
    from emnist_tf.data import describe_split

    report = describe_split(args.split, args.data_dir)
    print(json.dumps(report, indent=2) if args.json else format_info(report))
    return 0


def run_show(args) -> int:
    from emnist_tf.data import load_arrays, plot_samples

    images, labels = load_arrays(
        args.split, args.subset, data_dir=args.data_dir, limit=max(args.count, 100), seed=args.seed
    )
    figure = plot_samples(images, labels, args.split, count=args.count, seed=args.seed)
    figure.savefig(args.out, dpi=100)
    print(f"wrote {args.out}: {min(args.count, len(images))} {args.split} {args.subset} images")
    return 0


def run_counts(args) -> int:
    from emnist_tf.data import class_count_table, load_labels

    labels = load_labels(args.split, args.subset, data_dir=args.data_dir)
    print(class_count_table(labels, args.split))
    return 0
