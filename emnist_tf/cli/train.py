"""``emnist-tf train``: train the default MLP or CNN, save the run and evaluate it.

Example::

    emnist-tf train --model cnn --out runs/cnn
    emnist-tf train --model mlp --epochs 5 --fast --out runs/mlp-quick
    emnist-tf train --config sweeps/mlp/best.json --out runs/mlp-best
"""

from __future__ import annotations

import datetime
from pathlib import Path

from emnist_tf.choices import MODEL_KINDS, OPTIMIZERS, SCHEDULES

DISTRIBUTE_CHOICES = ("mirrored",)


def register(subparsers, parents) -> None:
    """Adds the ``train`` subcommand."""
    parser = subparsers.add_parser(
        "train",
        parents=parents,
        help="train the default MLP or CNN, save it and evaluate it on the test set",
        description="Trains a model with the library's defaults (see emnist_tf.modeling.training.DEFAULT_TRAINING), "
        "writes model.keras, history.csv and run.json into --out, then evaluates it there "
        "(metrics.json, curves.png, confusion.png, predictions.png).",
    )
    parser.add_argument("--model", choices=MODEL_KINDS, help="which default model (or give --config)")
    parser.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="a run configuration (JSON), e.g. a sweep's best.json or baseline.json; other options override it",
    )
    parser.add_argument(
        "--distribute",
        choices=DISTRIBUTE_CHOICES,
        default=None,
        help="mirrored: train on every GPU with tf.distribute.MirroredStrategy",
    )
    parser.add_argument("--split", default="balanced", help="EMNIST split (default: balanced)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default: the model's recipe)")
    parser.add_argument("--batch-size", type=int, default=None, help="batch size (default: the model's recipe)")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=None, help="optimiser (default: recipe)")
    parser.add_argument("--learning-rate", type=float, default=None, help="peak learning rate (default: recipe)")
    parser.add_argument("--schedule", choices=SCHEDULES, default=None, help="learning-rate schedule (default: recipe)")
    parser.add_argument("--no-augmentation", action="store_true", help="train without random shifts/rotations")
    parser.add_argument(
        "--class-weight",
        choices=("balanced", "none"),
        default=None,
        help="'balanced' weighs rare classes up to count like common ones; 'none' weighs "
        "every image 1 (default: the model's recipe)",
    )
    parser.add_argument(
        "--label-smoothing",
        type=float,
        default=None,
        metavar="S",
        help="spread S of each label over all classes, e.g. 0.1; 0 for none (default: the model's recipe)",
    )
    parser.add_argument(
        "--early-stopping",
        type=int,
        default=None,
        metavar="PATIENCE",
        help="stop after PATIENCE epochs without a better validation loss",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: the configuration's, else 0)")
    parser.add_argument(
        "--limit", type=int, default=None, help="train on this many images (stratified sample; default all)"
    )
    parser.add_argument("--data-dir", default=None, help="folder of EMNIST files (default: $EMNIST_TF_DATA)")
    parser.add_argument("--tensorboard", default=None, metavar="DIR", help="write TensorBoard logs to DIR")
    parser.add_argument("--out", default=None, help="run directory (default: runs/<model>-<time>)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    """Trains, saves and evaluates; returns the exit status."""
    from emnist_tf.tuning.final import resolve_config, train_command

    config = resolve_config(args.model, args.config, **_changes(args))
    out_dir = Path(args.out or f"runs/{config.model}-{datetime.datetime.now():%Y%m%d-%H%M%S}")
    out_dir, metrics = train_command(
        out_dir,
        config,
        split=args.split,
        data_dir=args.data_dir,
        limit=args.limit,
        distribute=args.distribute,
        tensorboard_dir=args.tensorboard,
    )
    print(
        f"Test accuracy {metrics['accuracy']:.4f}, macro F1 {metrics['f1_macro']:.4f} "
        f"on {metrics.get('test_examples', '?')} test images; results in {out_dir}"
    )
    return 0


def _changes(args) -> dict:
    """The configuration fields the options given replace."""
    given = {
        "seed": args.seed,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "optimizer": args.optimizer,
        "learning_rate": args.learning_rate,
        "schedule": args.schedule,
        "label_smoothing": args.label_smoothing,
        "early_stopping_patience": args.early_stopping,
        "augmentation": False if args.no_augmentation else None,
        "class_weight": args.class_weight,
    }
    changes = {name: value for name, value in given.items() if value is not None}
    if changes.get("class_weight") == "none":
        changes["class_weight"] = None
    return changes
