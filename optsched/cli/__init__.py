"""The ``optsched`` command line. Each group of subcommands lives in its own module and
registers itself in :data:`COMMAND_MODULES`; this file only wires them and handles errors."""

from __future__ import annotations

import argparse
import importlib
import sys

from optsched.errors import OptschedError

#: Modules that provide ``register(subparsers)``; order = order in ``--help``.
COMMAND_MODULES = [
    "optsched.cli.core",
    "optsched.cli.policies",
    "optsched.cli.certify",
    "optsched.cli.bound",
    "optsched.cli.reproduce",
    "optsched.cli.bench",
    "optsched.cli.dataset",
    "optsched.cli.timemodel",
]

DESCRIPTION = """\
optsched computes provably optimal schedules for LLM inference under a KV-cache memory
budget M (each running request's memory grows by one token per round) and judges fast
scheduling policies against them.

Instances are JSON files ({"memory_limit": M, "requests": [{"id", "arrival", "prompt_tokens",
"output_tokens"}, ...]}) or built-in names such as builtin:default and builtin:worked-example.
Exit codes: 0 success, 1 a check failed (invalid schedule, certificate rejected), 2 bad input.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optsched", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    from optsched.version import __version__

    parser.add_argument("--version", action="version", version=f"optsched {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse, run, and turn every user error into one line on stderr, exit 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except OptschedError as exc:
        print(f"optsched: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("optsched: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
