"""The solver options are declared once (optsched.cli.common) and every command uses that."""

from __future__ import annotations

import ast
from pathlib import Path

from optsched.cli import build_parser
from optsched.cli.common import SOLVER_OPTIONS

CLI = Path(__file__).resolve().parents[1] / "optsched" / "cli"
#: --seed is left out: several commands have a --seed of their own (dataset, family, policy).
FLAGS = {spec["flag"] for spec in SOLVER_OPTIONS.values()} - {"--seed"} | {
    "--solver-seed", "--method", "--bound-effort"}


def test_no_command_declares_a_solver_option_itself():
    """No add_argument call outside cli/common.py names a solver flag (one declaration), and a
    --seed declared elsewhere is not a solver seed."""
    offenders = []
    for path in sorted(CLI.glob("*.py")):
        if path.name == "common.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "add_argument" and node.args
                    and isinstance(node.args[0], ast.Constant) and node.args[0].value in FLAGS):
                offenders.append(f"{path.name}:{node.lineno} {node.args[0].value}")
            if (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument"
                    and node.args and getattr(node.args[0], "value", None) == "--seed"
                    and "solver" in ast.unparse(node)):
                offenders.append(f"{path.name}:{node.lineno} a solver --seed")
    assert not offenders, offenders


def test_shared_options_parse_with_their_declared_types():
    """--time-limit, --threads and --seed parse to float/int on solve, compare and reproduce."""
    parser = build_parser()
    for argv in (["solve", "x.json"], ["compare", "x.json"], ["reproduce", "jaillet2025"]):
        args = parser.parse_args(argv + ["--time-limit", "2.5", "--threads", "3"]
                                 + (["--seed", "4"] if argv[0] != "compare" else []))
        assert args.time_limit == 2.5
        assert isinstance(args.time_limit, float)
        assert args.threads == 3
    args = parser.parse_args(["dataset", "build", "d", "--family", "f", "--solver-seed", "5"])
    assert args.solver_seed == 5
    assert args.time_limit == 10.0
