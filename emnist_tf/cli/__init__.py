"""The ``emnist-tf`` command line.

Each module in this package that defines ``register(subparsers, parents)`` adds
its own subcommand(s); this file only discovers them, parses the arguments,
switches on fast mode and turns user errors into one line on stderr.

A command module looks like this::

    def register(subparsers, parents):
        parser = subparsers.add_parser("data", parents=parents, help="...")
        parser.set_defaults(handler=run)

    def run(args) -> int:
        ...
        return 0
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from pathlib import Path

from emnist_tf import config
from emnist_tf.errors import EmnistTfError

PROGRAM = "emnist-tf"


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--fast",
        action="store_true",
        help=f"cap examples, epochs, trials and steps for a quick run (same as {config.FAST_ENV}=1)",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    """Builds the parser with every command module found in ``emnist_tf.cli``."""
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="EMNIST with Keras: data, training, sweeps, analysis and the course.",
        parents=[common],
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        if hasattr(module, "register"):
            module.register(subparsers, [common])
    return parser


def add_run_data_dir(parser) -> None:
    """Adds ``--data-dir`` to a command that reads saved runs (default: the folder the run recorded)."""
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="folder of EMNIST files (default: the run's, else EMNIST_TF_DATA)"
    )


def main(argv: list[str] | None = None) -> int:
    """Runs the command line and returns its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "fast", False):
        config.set_fast_mode(True)
    try:
        return int(args.handler(args) or 0)
    except (EmnistTfError, ValueError, FileNotFoundError) as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(
            f"{PROGRAM}: interrupted; finished work is kept, run the same command again to continue.", file=sys.stderr
        )
        return 130
