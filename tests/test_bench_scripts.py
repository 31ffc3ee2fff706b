"""Benchmark scripts run end to end on their smallest settings (they are products, not tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    """Run benchmarks/<script> with ``args``; the process must exit 0."""
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out


def test_bench_bounds_quick_prints_every_bound():
    """bench_bounds.py --set quick exits 0 and reports every bound per family."""
    out = _run("bench_bounds.py", "--set", "quick")
    for name in ("trivial", "volume", "epoch", "machine", "bound-0.4", "bound-0.5"):
        assert out.stdout.count(f" {name} ") == 2  # one row per family (m1-tiny, m2-tiny)


def test_bench_ramp_rows_quick_compares_both_variants():
    """bench_ramp_rows.py --set quick exits 0 with a row per family and variant."""
    out = _run("bench_ramp_rows.py", "--set", "quick", "--time-limit", "5")
    assert out.stdout.count("lag disjunctions") == 2
    assert out.stdout.count("no lags") == 2


def test_bench_bounds_large_only_with_lns_runs():
    """bench_bounds.py --large-only --lns 1 exits 0 and says what it measured."""
    out = _run("bench_bounds.py", "--set", "quick", "--large-only", "--lns", "1")
    assert "large-peak requests only, best known after 1 s of LNS" in out.stdout
    assert out.stdout.count(" bound-0.5 ") == 2


def test_bench_caps_quick_compares_both_variants():
    """bench_caps.py --set quick exits 0 with a row per family and variant."""
    out = _run("bench_caps.py", "--set", "quick", "--time-limit", "5")
    assert out.stdout.count("without caps (0.4)") == 2
    assert out.stdout.count("with caps") == 2


def test_bench_gap_parts_quick_splits_the_gap():
    """bench_gap_parts.py --set quick exits 0 with one row per instance and both gap pieces."""
    out = _run("bench_gap_parts.py", "--set", "quick", "--limit", "1", "--lns", "0")
    assert "m1-tiny-s0" in out.stdout
    assert "m2-tiny-s0" in out.stdout
    assert "gap inside first part" in out.stdout
    assert "interaction" in out.stdout


def test_bench_lns_quick_compares_worker_counts():
    """bench_lns.py --set quick exits 0 with a ratio column per worker count."""
    out = _run("bench_lns.py", "--set", "quick", "--limit", "1", "--time-limit", "1")
    assert "1w ratio" in out.stdout
    assert "2w ratio" in out.stdout
    assert "geometric-mean ratio" in out.stdout


def test_bench_colgen_quick_prints_every_bound():
    """bench_colgen.py --set quick exits 0 with one row per instance and a mean row."""
    out = _run("bench_colgen.py", "--set", "quick", "--limit", "1", "--time-limit", "5",
               "--lns", "0")
    assert "m1-tiny-s0" in out.stdout
    assert "m2-tiny-s0" in out.stdout
    assert "colgen, pairs" in out.stdout
    assert "mean " in out.stdout


def test_bench_layered_parts_quick_compares_all_variants():
    """bench_layered_parts.py --set quick exits 0 with a row per family and variant."""
    out = _run("bench_layered_parts.py", "--set", "quick", "--limit", "1", "--time-limit", "2")
    assert out.stdout.count("no cut, no LNS") == 2
    assert out.stdout.count("(layered)") == 2


def test_bench_pseudo_bound_one_instance_uses_the_cached_optimum():
    """bench_pseudo_bound.py on one instance: the committed optimum is used (no solve), every
    bound is reported as a gap with its time."""
    out = _run("bench_pseudo_bound.py", "--only", "m1-n8-s1", "--time-limit", "1")
    assert "not proven" not in out.stdout
    for name in ("comb", "lp", "relaxed", "relaxed-r1", "exact", "exact-r1"):
        assert f" {name} " in out.stdout
