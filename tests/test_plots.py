"""Shared plots: every figure renders to a real PNG and is written atomically."""

from __future__ import annotations

from optsched import plots
from optsched.data.generators import jaillet_model2
from optsched.policies import run_policy

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _is_png(path) -> bool:
    return path.exists() and path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 1000


def test_gantt_and_compare_with_evictions(tmp_path):
    """Gantt + memory profile renders, also for runs with evicted (aborted) runs."""
    inst = jaillet_model2(3)
    fcfs = run_policy(inst, "fcfs")
    assert fcfs.schedule.aborted
    mcsf = run_policy(inst, "algorithm1")
    p1 = plots.save_figure(plots.gantt_figure(inst, fcfs.schedule, title="fcfs"),
                           tmp_path / "g.png")
    p2 = plots.save_figure(plots.compare_gantt(inst, {"fcfs": fcfs.schedule,
                                                      "mcsf": mcsf.schedule}, title="x"),
                           tmp_path / "sub" / "c.png")
    assert _is_png(p1)
    assert _is_png(p2)
    assert not [f for f in tmp_path.rglob("*") if f.name.startswith(".")]  # no temp left


def test_ratio_and_cactus_figures(tmp_path):
    """Ratio distribution and cactus plots render, including an empty group."""
    r = plots.save_figure(plots.ratio_figure({"a": [1.0, 1.1, 1.3], "b": [1.0], "c": []}),
                          tmp_path / "r.png")
    c = plots.save_figure(plots.cactus_figure({"cpsat": [0.1, 0.4, 2.0], "highs": []}),
                          tmp_path / "c.png")
    assert _is_png(r)
    assert _is_png(c)
