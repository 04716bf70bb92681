"""``emnist-tf visualize DIR --layer NAME``: preferred inputs of a saved run's units."""

from __future__ import annotations

from pathlib import Path

from emnist_tf.cli import add_run_data_dir


def register(subparsers, parents) -> None:
    """Adds the ``visualize`` subcommand."""
    parser = subparsers.add_parser(
        "visualize",
        parents=parents,
        help="draw the preferred input of units of a saved run (activation maximisation)",
        description="Finds, by gradient ascent on the image, the input each unit of a layer prefers "
        "(Erhan et al., 2009) and draws it beside the test images that activate the unit "
        "most. Use --layer logits for the output classes (scored by their log-odds, so "
        "each picture is also classified as its class).",
    )
    parser.add_argument("run_dir", metavar="DIR", type=Path, help="run directory written by `emnist-tf train`")
    parser.add_argument("--layer", required=True, help="layer name, e.g. logits, conv_2_activation, dense_1_activation")
    parser.add_argument(
        "--units",
        default=None,
        metavar="SPEC",
        help="units to draw: a slice like 0:16 or a list like 3,5,9 (default: all)",
    )
    parser.add_argument("--out", required=True, type=Path, help="PNG file to write")
    add_run_data_dir(parser)
    parser.add_argument("--starts", type=int, default=4, help="random starts per unit (default 4)")
    parser.add_argument("--steps", type=int, default=200, help="ascent steps (default 200; 20 with --fast)")
    parser.add_argument(
        "--top", type=int, default=3, help="test images shown beside each preferred input (0: none; default 3)"
    )
    parser.add_argument(
        "--examples", type=int, default=2000, help="test images searched for the top images (default 2000)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random starts (default 0)")
    parser.set_defaults(handler=run)


def parse_units(spec: str | None):
    """Turns ``"0:16"``, ``"::2"`` or ``"3,5,9"`` into a slice or a list (``None`` stays None)."""
    if spec is None:
        return None
    try:
        if ":" in spec:
            parts = [int(part) if part.strip() else None for part in spec.split(":")]
            if len(parts) > 3:
                raise ValueError
            return slice(*parts)
        return [int(part) for part in spec.split(",")]
    except ValueError:
        raise ValueError(f"--units {spec!r} is not a slice like 0:16 or a list like 3,5,9") from None


def run(args) -> int:
    """Caps the sizes in fast mode, draws the preferred inputs and writes the figure to ``args.out``."""
    from emnist_tf import config
    from emnist_tf.interpret.features import Progress, write_preferred_inputs

    units = parse_units(args.units)
    steps = config.cap(args.steps, "steps", say="ascent steps")
    examples = config.cap(args.examples, "examples", say="test images searched") if args.top else args.examples
    result = write_preferred_inputs(
        args.run_dir,
        args.layer,
        args.out,
        units=units,
        starts=args.starts,
        steps=steps,
        top=args.top,
        examples=examples,
        data_dir=args.data_dir,
        callbacks=[Progress()],
        seed=args.seed,
    )
    print(f"{len(result.units)} units of {args.layer} in {result.seconds:.1f} s; wrote {args.out}")
    return 0
