"""``emnist-tf robustness DIR [DIR ...]``: noise curves, epsilon curves and a gallery for saved runs."""

from __future__ import annotations

from pathlib import Path

from emnist_tf.cli import add_run_data_dir


def register(subparsers, parents) -> None:
    """Adds the ``robustness`` subcommand."""
    from emnist_tf.robustness.report import DEFAULT_EPSILONS, REPORT_FILES

    parser = subparsers.add_parser(
        "robustness",
        parents=parents,
        help="noise and adversarial robustness of saved runs (figures + robustness.json)",
        description="Measures accuracy under Gaussian noise, salt-and-pepper, blur and occlusion (with "
        "fitted psychometric curves) and under every registered attack (FGSM, PGD), for one or more run "
        f"directories (models overlaid), and writes {', '.join(REPORT_FILES)}.",
    )
    parser.add_argument(
        "run_dirs",
        metavar="DIR",
        type=Path,
        nargs="+",
        help="run directory written by `emnist-tf train --out DIR` (several: overlaid)",
    )
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: the first DIR)")
    add_run_data_dir(parser)
    parser.add_argument("--examples", type=int, default=2000, help="test images for the noise curves")
    parser.add_argument("--attack-examples", type=int, default=500, help="test images attacked per epsilon")
    parser.add_argument(
        "--epsilons",
        type=float,
        nargs="+",
        default=list(DEFAULT_EPSILONS),
        help="L-infinity radii for the attacks (images are in [0, 1])",
    )
    parser.add_argument("--steps", type=int, default=20, help="iterations of the iterative attacks (PGD)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the subsample, noise and attack starts")
    parser.set_defaults(handler=run)


def run(args) -> int:
    """Writes the robustness report and prints one summary line per model."""
    from emnist_tf.robustness.report import summary_lines, write_report

    if args.examples < 1 or args.attack_examples < 1 or args.steps < 1:
        raise ValueError("--examples, --attack-examples and --steps must be at least 1")
    paths = write_report(
        args.run_dirs,
        args.out,
        data_dir=args.data_dir,
        examples=args.examples,
        attack_examples=args.attack_examples,
        epsilons=args.epsilons,
        steps=args.steps,
        seed=args.seed,
    )
    for line in summary_lines(paths["robustness.json"]):
        print(line)
    print(f"wrote {', '.join(paths)} to {Path(paths['robustness.json']).parent}")
    return 0
