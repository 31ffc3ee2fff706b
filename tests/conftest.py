"""Shared fixtures: small instances and a CLI runner that captures exit code and streams."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from optsched.cli import main


class CliResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def run_cli(capsys):
    """Run the optsched CLI in-process; returns exit code, stdout and stderr."""

    def _run(*args: str) -> CliResult:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        cap = capsys.readouterr()
        return CliResult(code, cap.out, cap.err)

    return _run


@pytest.fixture
def write_json(tmp_path: Path):
    """Write an object as JSON into tmp_path and return the path."""

    def _write(name: str, obj) -> Path:
        p = tmp_path / name
        p.write_text(obj if isinstance(obj, str) else json.dumps(obj))
        return p

    return _write


@pytest.fixture(scope="session")
def oracle():
    """Brute-force optimum of every instance of the peak family (tests/test_bounds.PEAK)."""
    from test_bounds import PEAK

    from optsched.exact import solve

    return [solve(inst, "bruteforce").objective for inst in PEAK]
