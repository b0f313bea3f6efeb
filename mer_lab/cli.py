"""The ``mer-lab`` command.

Each command family lives beside the code it drives and registers its sub-commands
here through a ``register(subparsers)`` function.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["main", "build_parser"]

# Modules providing ``register(subparsers)``; each adds one or more sub-commands.
COMMAND_MODULES = [
    "mer_lab.datasets.cli",
    "mer_lab.evaluation.cli",
    "mer_lab.spotting.cli",
]


def build_parser() -> argparse.ArgumentParser:
    import importlib

    from . import __version__

    parser = argparse.ArgumentParser(
        prog="mer-lab",
        description="mer_lab: micro-expression datasets, features, recognition and evaluation.",
    )
    parser.add_argument("--version", action="version", version=f"mer_lab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, OSError, KeyError) as exc:
        print(f"mer-lab {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
