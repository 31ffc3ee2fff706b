"""Benchmark scripts run end to end on their smallest settings (they are products, not tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_bounds_quick_prints_every_bound():
    """bench_bounds.py --set quick exits 0 and reports all four bounds per family."""
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_bounds.py"),
                          "--set", "quick"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    for name in ("trivial", "volume", "epoch", "restriction"):
        assert out.stdout.count(f" {name} ") == 2  # one row per family (m1-tiny, m2-tiny)
