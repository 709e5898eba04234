"""The ``seawall`` command: one subcommand per module of this package.

Each module in :data:`COMMANDS` has ``register(subparsers)``, which adds its subcommands with
``set_defaults(run=...)``; ``run(args)`` returns the exit status (0 on success, 1 on errors,
2 for bad usage, as argparse does).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from seawall._version import __version__

__all__ = ["COMMANDS", "main", "parser"]

COMMANDS: tuple[str, ...] = ("logs", "errors", "check", "breakers", "dlq")
"""The modules of ``seawall.cli`` that add subcommands, in the order ``--help`` lists them."""


def parser() -> argparse.ArgumentParser:
    """The whole command line, every subcommand registered."""
    top = argparse.ArgumentParser(
        prog="seawall", description="Read seawall's sanitized logs and operate its policies."
    )
    top.add_argument("--version", action="version", version=f"seawall {__version__}")
    subparsers = top.add_subparsers(title="commands", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"seawall.cli.{name}").register(subparsers)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``) and return its exit status."""
    args = parser().parse_args(argv)
    run = getattr(args, "run", None)
    if run is None:
        parser().print_usage(sys.stderr)
        print("seawall: error: say which command (seawall --help lists them)", file=sys.stderr)
        return 2
    status: int = run(args)
    return status
