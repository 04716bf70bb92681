"""``emnist-tf train``: train the default MLP or CNN, save the run and evaluate it.

Example::

    emnist-tf train --model cnn --out runs/cnn
    emnist-tf train --model mlp --epochs 5 --fast --out runs/mlp-quick
"""

from __future__ import annotations

import datetime
from pathlib import Path

from emnist_tf.choices import MODEL_KINDS, OPTIMIZERS, SCHEDULES


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
    parser.add_argument("--model", required=True, choices=MODEL_KINDS, help="which model family")
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
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--data-dir", default=None, help="folder of EMNIST files (default: $EMNIST_TF_DATA)")
    parser.add_argument("--tensorboard", default=None, metavar="DIR", help="write TensorBoard logs to DIR")
    parser.add_argument("--out", default=None, help="run directory (default: runs/<model>-<time>)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    """Trains, saves and evaluates; returns the exit status."""
    from emnist_tf import data, devices
    from emnist_tf.modeling.models import build_model
    from emnist_tf.modeling.runs import save_run
    from emnist_tf.modeling.training import DEFAULT_TRAINING, train

    recipe = dict(DEFAULT_TRAINING[args.model])
    for option in ("epochs", "batch_size", "optimizer", "learning_rate", "schedule", "label_smoothing"):
        if getattr(args, option) is not None:
            recipe[option] = getattr(args, option)
    if args.no_augmentation:
        recipe["augmentation"] = False
    if args.class_weight is not None:
        recipe["class_weight"] = None if args.class_weight == "none" else args.class_weight
    out_dir = Path(args.out or f"runs/{args.model}-{datetime.datetime.now():%Y%m%d-%H%M%S}")
    info = data.split_info(args.split)
    precision = devices.configure_precision()
    model = build_model(args.model, num_classes=info.num_classes, seed=args.seed)
    result = train(
        model,
        args.split,
        data_dir=args.data_dir,
        seed=args.seed,
        early_stopping_patience=args.early_stopping,
        tensorboard_dir=args.tensorboard,
        verbose="auto",
        **recipe,
    )
    save_run(out_dir, result, {"model": args.model, "split": args.split, "precision": precision})
    print(f"Saved the run to {out_dir}")
    from emnist_tf.evaluation import evaluate_run

    metrics = evaluate_run(out_dir, data_dir=args.data_dir)
    print(
        f"Test accuracy {metrics['accuracy']:.4f}, macro F1 {metrics['f1_macro']:.4f} "
        f"on {metrics.get('test_examples', '?')} test images; results in {out_dir}"
    )
    return 0
