"""The independent validator: memory recomputed from the schedule alone, every violation listed."""

from __future__ import annotations

from optsched import Schedule, make_instance, validate
from optsched.model.schedule import AbortedRun


def test_spec_worked_example():
    """SPEC §2: M=6, two requests s=1, o=2 at 0 -> memory 4 then 6, total completion time 4."""
    inst = make_instance(6, [2, 2], [1, 1])
    rep = validate(inst, Schedule({"r0": 0, "r1": 0}))
    assert rep.valid
    assert list(rep.memory_profile) == [0, 4, 6]
    assert rep.metrics.total_completion_time == 4
    assert rep.metrics.makespan == 2
    assert rep.metrics.peak_memory == 6
    assert rep.metrics.memory_utilisation == (4 + 6) / (6 * 2)


def test_memory_over_limit_reports_time_and_amount():
    """With M=5 the worked example overflows at t=2 by 1 token, and only there."""
    inst = make_instance(5, [2, 2], [1, 1])
    rep = validate(inst, Schedule({"r0": 0, "r1": 0}))
    assert not rep.valid
    mem = [v for v in rep.violations if v.kind == "memory"]
    assert [(v.time, v.amount) for v in mem] == [(2, 1)]


def test_all_violation_kinds_are_listed_together():
    """Missing, unknown and before-arrival problems are all reported in one pass."""
    inst = make_instance(10, [2, 2, 1], [0, 0, 0], [0, 3, 0])
    rep = validate(inst, Schedule({"r0": 0, "r1": 1, "ghost": 0}))
    kinds = sorted(v.kind for v in rep.violations)
    assert kinds == ["before_arrival", "missing", "unknown"]
    assert rep.metrics is None  # r2 has no start


def test_request_frees_memory_after_completion():
    """A request completing at c and one starting at c never overlap (SPEC convention)."""
    inst = make_instance(3, [2, 2], [1, 1])
    rep = validate(inst, Schedule({"r0": 0, "r1": 2}))
    assert rep.valid
    assert list(rep.memory_profile) == [0, 2, 3, 2, 3]


def test_aborted_runs_count_memory_and_waste():
    """An evicted run holds memory until its end and its tokens are counted as wasted."""
    inst = make_instance(6, [3, 2], [1, 1])
    sched = Schedule({"r0": 0, "r1": 3}, (AbortedRun("r1", 0, 1),))
    rep = validate(inst, sched)
    assert rep.valid, rep.summary()
    assert list(rep.memory_profile[:3]) == [0, 4, 3]
    assert rep.metrics.wasted_tokens == 1
    assert rep.metrics.restarts == 1
    bad = validate(inst, Schedule({"r0": 0, "r1": 0}, (AbortedRun("r1", 0, 2),)))
    assert any(v.kind == "aborted_run" for v in bad.violations)
