"""Long outputs through the command line (issue 26): run times bounded with wide margins,
sizes that cannot be checked refused when the file is read."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _two_requests(path: Path, o: int) -> Path:
    path.write_text(json.dumps({"memory_limit": o + 1, "requests": [
        {"id": "r1", "arrival": 0, "prompt_tokens": 0, "output_tokens": o},
        {"id": "r2", "arrival": 0, "prompt_tokens": 0, "output_tokens": o}]}))
    return path


def _cli(*args: str, timeout: float) -> tuple[subprocess.CompletedProcess[str], float]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "optsched", *args], capture_output=True,
                          text=True, timeout=timeout)
    return proc, time.perf_counter() - t0


@pytest.fixture(scope="module")
def million(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _two_requests(tmp_path_factory.mktemp("scale") / "b6.json", 10**6)


def test_solve_with_a_time_limit_returns_in_time(million: Path) -> None:
    """Was 41 s with --time-limit 5 (the pre-solve heuristics stepped round by round)."""
    proc, took = _cli("solve", str(million), "--time-limit", "5", "--json", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert took < 15, f"solve --time-limit 5 took {took:.1f} s"
    out = json.loads(proc.stdout)
    # one runs from 0, the other from o - 1 (o + 1 tokens at round o): 10^6 + 1,999,999
    assert out["objective"] == 2_999_999
    assert out["validation"]["valid"] is True


def test_schedule_with_the_default_policy_returns_in_time(million: Path) -> None:
    proc, took = _cli("schedule", str(million), "--json", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert took < 10, f"schedule took {took:.1f} s"
    assert json.loads(proc.stdout)["schedule"]["starts"] == {"r1": 0, "r2": 999_999}


def test_a_billion_tokens_is_refused_when_read(tmp_path: Path) -> None:
    path = _two_requests(tmp_path / "b9.json", 999_999_999)
    for cmd in (["solve", str(path), "--time-limit", "10"], ["schedule", str(path)]):
        proc, took = _cli(*cmd, timeout=120)
        assert proc.returncode == 2
        assert took < 10
        assert "Traceback" not in proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1
        assert "request #0 (id 'r1'): field 'output_tokens' = 999999999 is too large" in lines[0]
