"""Helpers shared by CLI commands: the solver options declared once, output, path checks."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from optsched.errors import OptschedError
from optsched.model.io import dumps
from optsched.studies.compare import solver_output_to_stderr

__all__ = ["SOLVER_OPTIONS", "add_solver_options", "check_output_path", "print_json",
           "solver_logs_to_stderr"]


#: The solver options, declared once: flag, type, metavar and, when a command does not give its
#: own, default and help. A command picks the ones it takes with :func:`add_solver_options`.
SOLVER_OPTIONS: dict[str, dict[str, Any]] = {
    "solver": {"flag": "--solver", "default": "cpsat", "help": "exact solver (default cpsat)"},
    "time_limit": {"flag": "--time-limit", "type": float, "default": None, "metavar": "S",
                   "help": "wall-clock limit in seconds (default: none)"},
    "threads": {"flag": "--threads", "type": int, "default": 1, "metavar": "N",
                "help": "solver threads"},
    "seed": {"flag": "--seed", "type": int, "default": 0,
             "help": "solver random seed (default 0)"},
}


def add_solver_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup,
                       **options: dict[str, Any]) -> None:
    """Add the named solver options to ``parser`` in the order given (``solver``, ``method``,
    ``time_limit``, ``threads``, ``seed``, ``bound_effort``), each updated with the command's own
    settings (e.g. ``choices``, ``default``, ``help``, or ``flag="--solver-seed"``), so that
    every command spells an option the same way and keeps the defaults it documents."""
    for name, settings in options.items():
        if name == "method":
            add_method_option(parser, settings["default"])
        elif name == "bound_effort":
            add_bound_effort_option(parser)
        else:
            spec = {**SOLVER_OPTIONS[name], **settings}
            parser.add_argument(spec.pop("flag"), **spec)


def add_method_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup,
                      default: str) -> None:
    """The --method option, with every solve path explained (one text for all commands)."""
    from optsched.exact.solve import METHOD_SUMMARIES

    paths = "; ".join(f"'{name}': {text}" for name, text in METHOD_SUMMARIES.items())
    parser.add_argument("--method", choices=list(METHOD_SUMMARIES), default=default,
                        help=f"exact solve path (default {default}). {paths}. See "
                        "docs/exact-performance.md")


def add_bound_effort_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """The --bound-effort option (one text for all commands)."""
    from optsched.exact.bounds import BOUND_EFFORTS

    parser.add_argument("--bound-effort", choices=BOUND_EFFORTS, default="full",
                        help="how much of the combinatorial lower bound the solve paths "
                        "compute: 'full' (default) or 'fast', without the path and window "
                        "bounds (seconds saved per instance at 40-60 requests, a weaker bound; "
                        "see docs/exact-performance.md)")


def print_json(obj: object) -> None:
    print(dumps(obj))


@contextlib.contextmanager
def solver_logs_to_stderr(enabled: bool) -> Iterator[None]:
    """Send anything solvers print on stdout to stderr, so ``--json`` output stays clean."""
    if not enabled:
        yield
        return
    with solver_output_to_stderr():
        yield


def check_output_path(path: str | None, what: str) -> None:
    """Fail early (before any work) if an output file cannot be written."""
    if path is None:
        return
    p = Path(path)
    if p.is_dir():
        raise OptschedError(f"{what} path {p} is a directory")
    parent = p.parent if str(p.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise OptschedError(f"{what} path {p}: {parent} is not a directory")
