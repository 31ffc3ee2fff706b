"""The event-driven heuristics and engine against their round-by-round references
(tests/reference_stepping.py), on seeded instances, plus their deadlines."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from reference_stepping import stepping_simulate, stepping_spaced_mcsf

from optsched.control import Deadline, clear_stop, request_stop
from optsched.data.generators import jaillet_model1, jaillet_model2, uniform_instance
from optsched.errors import InstanceError, OptschedError
from optsched.exact.heuristics import DEFAULT_GRID, best_spaced_schedule, spaced_mcsf
from optsched.exact.incumbent import earliest_fit_schedule
from optsched.model.instance import MAX_HORIZON, Instance, instance_from_dict, make_instance
from optsched.model.validate import MAX_DENSE_SPAN, validate
from optsched.policies import mcsf_fast
from optsched.policies.clock import RoundClock
from optsched.policies.engine import EngineStopped, simulate
from optsched.policies.run import POLICIES, make_policy
from optsched.policies.timemodel import get_time_model


def _seeded() -> list[Instance]:
    """Offline and online families, small M and long outputs, prompts of 0 and more."""
    out = [jaillet_model1(seed, n_range=(8, 25)) for seed in range(4)]
    out += [jaillet_model2(seed, horizon_range=(10, 30)) for seed in range(4)]
    out += [uniform_instance(seed, 12, 60, max_prompt=6, max_arrival=40) for seed in range(4)]
    return out


@pytest.mark.parametrize("k", range(12))
def test_spaced_mcsf_matches_the_round_by_round_version(k: int) -> None:
    inst = _seeded()[k]
    for cap, spacing in DEFAULT_GRID[::3] + ((None, 0), (1, 7), (2, 10)):
        new = spaced_mcsf(inst, spacing, cap)
        assert new.starts == stepping_spaced_mcsf(inst, spacing, cap).starts, (cap, spacing)


def test_spaced_mcsf_with_long_outputs_is_fast_and_valid() -> None:
    """Two requests of a million tokens each: the round-by-round version took 21 passes of a
    million rounds; now each pass is a few jumps (a wide 5 s bound, not a speed test)."""
    o = 10**6
    inst = make_instance(o + 1, [o, o])
    dl = Deadline(5)
    sched, value, _ = best_spaced_schedule(inst)
    assert not dl.expired()
    report = validate(inst, sched)
    assert report.valid
    assert value == o + (2 * o - 1)  # the second starts at o - 1: o + 1 tokens at round o


def test_expired_deadline_still_gives_a_valid_schedule() -> None:
    inst = jaillet_model2(5, horizon_range=(20, 30))
    request_stop()
    try:
        sched = spaced_mcsf(inst, 2, 1, Deadline(None))
        best, value, choice = best_spaced_schedule(inst, deadline=Deadline(None))
    finally:
        clear_stop()
    assert validate(inst, sched).valid
    assert validate(inst, best).valid
    assert choice == DEFAULT_GRID[0]  # only the first grid point ran
    assert value == best.objective({r.id: r.output_tokens for r in inst.requests})


def _brute_earliest_fit(inst: Instance) -> dict[str, int]:
    """Earliest fit by trying every start and every round (the definition, slow)."""
    a, s, o, m = (inst.arrival.tolist(), inst.prompt.tolist(), inst.output.tolist(),
                  inst.memory_limit)
    mem: dict[int, int] = {}
    out: dict[str, int] = {}
    for i in sorted(range(inst.n), key=lambda i: (a[i], o[i], inst.ids[i])):
        p = a[i]
        while any(mem.get(r, 0) + s[i] + r - p > m for r in range(p + 1, p + o[i] + 1)):
            p += 1
        for r in range(p + 1, p + o[i] + 1):
            mem[r] = mem.get(r, 0) + s[i] + r - p
        out[inst.ids[i]] = p
    return out


def test_earliest_fit_takes_the_earliest_start_issue_27() -> None:
    """M = 8, prompts 1/1, outputs 7/4, arrivals 2/1: r0 fits at 3 (0.9 started it at 5)."""
    inst = make_instance(8, [7, 4], [1, 1], [2, 1])
    sched = earliest_fit_schedule(inst)
    assert sched.starts == {"r1": 1, "r0": 3}
    assert validate(inst, sched).metrics.total_completion_time == 15  # was 17


@pytest.mark.parametrize("k", range(12))
def test_earliest_fit_matches_the_definition(k: int) -> None:
    inst = _seeded()[k]
    sched = earliest_fit_schedule(inst)
    assert sched.starts == _brute_earliest_fit(inst)
    assert validate(inst, sched).valid


def test_earliest_fit_after_a_stop_is_valid() -> None:
    inst = jaillet_model2(6, horizon_range=(20, 30))
    request_stop()
    try:
        sched = earliest_fit_schedule(inst, deadline=Deadline(None))
    finally:
        clear_stop()
    assert validate(inst, sched).valid


# --- the engine ------------------------------------------------------------------------------


def _record(fn: Callable[..., Any], inst: Instance, name: str, pred: str,
            clock: RoundClock | None = None) -> list[Any]:
    """Everything a run produced except how many decision rounds it visited."""
    try:
        r = fn(inst, make_policy(name), pred, seed=3, clock=clock)
    except OptschedError as exc:  # a stalled policy is part of the record
        return [type(exc).__name__, str(exc)]
    return [sorted(r.schedule.starts.items()), list(r.schedule.aborted),
            sorted(r.completion.items()), sorted(r.first_start.items()), r.overflows,
            r.evictions, r.preemptions, r.wasted_tokens, r.recomputed_tokens,
            None if clock is None else clock.now[-1]]


def _engine_cases() -> list[Instance]:
    insts = _seeded()[::2]
    # long outputs and a small M: requests wait for many rounds while others run
    insts.append(make_instance(1000, [400, 700, 300, 950, 20], [3, 1, 0, 5, 2],
                               [0, 0, 5, 9, 400]))
    return insts


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_engine_matches_the_round_by_round_engine(name: str) -> None:
    for inst in _engine_cases():
        for pred in ("exact", "noisy:0.4", "interval:0.6"):
            new = _record(simulate, inst, name, pred)
            assert new == _record(stepping_simulate, inst, name, pred), (inst.name, pred)


@pytest.mark.parametrize("name", ["algorithm1", "fcfs", "alpha-greedy-recheck", "sorted-f"])
def test_engine_with_a_clock_matches_the_round_by_round_engine(name: str) -> None:
    for inst in _engine_cases()[:4]:
        secs = [float(a) * 0.3 for a in inst.arrival]
        new = _record(simulate, inst, name, "noisy:0.3",
                      RoundClock(get_time_model("llama2-70b-tp2-a100"), secs))
        old = _record(stepping_simulate, inst, name, "noisy:0.3",
                      RoundClock(get_time_model("llama2-70b-tp2-a100"), secs))
        assert new == old


def test_engine_skips_waiting_rounds() -> None:
    """Two requests of a million tokens that cannot overlap much: the second waits about a
    million rounds, which the engine now crosses in a few dozen decision rounds at most."""
    o = 10**6
    inst = make_instance(o + 1, [o, o])
    for name in ("algorithm1", "fcfs", "mc-benchmark"):
        res = simulate(inst, make_policy(name))
        assert res.decision_rounds < 100, name  # fcfs evicts and restarts a few times
        assert validate(inst, res.schedule).valid


def test_engine_stops_at_a_deadline() -> None:
    inst = make_instance(10, [3, 3, 3], 1, [0, 10, 20])
    request_stop()
    try:
        with pytest.raises(EngineStopped, match="0 of 3 requests done"):
            simulate(inst, make_policy("algorithm1"), deadline=Deadline(None))
    finally:
        clear_stop()


# --- sizes refused when the instance is read -------------------------------------------------


def test_horizon_limit_is_the_validators() -> None:
    assert MAX_HORIZON == MAX_DENSE_SPAN


def test_too_long_outputs_are_refused_naming_field_and_request() -> None:
    o = 999_999_999
    data = {"memory_limit": o + 1, "requests": [
        {"id": "a", "prompt_tokens": 0, "output_tokens": 5},
        {"id": "b", "prompt_tokens": 0, "output_tokens": o}]}
    with pytest.raises(InstanceError, match=r"request #1 \(id 'b'\): field 'output_tokens' = "
                       r"999999999 is too large to schedule: .* = 1000000004 rounds"):
        instance_from_dict(data)
    late = {"memory_limit": 10, "requests": [
        {"id": "a", "arrival": MAX_HORIZON, "prompt_tokens": 0, "output_tokens": 5}]}
    with pytest.raises(InstanceError, match=r"request #0 \(id 'a'\): field 'arrival'"):
        instance_from_dict(late)
    make_instance(MAX_HORIZON, [MAX_HORIZON // 2] * 2)  # at the limit: accepted


def test_mcsf_fast_jumps_over_long_waits() -> None:
    """MC-SF on the two-request o = 10^6 instance: same schedule as spaced MC-SF (0, None),
    which equals the round-by-round MC-SF on the seeded set above, in a few jumps."""
    o = 10**6
    inst = make_instance(o + 1, [o, o])
    assert mcsf_fast(inst).starts == spaced_mcsf(inst).starts == {"r0": 0, "r1": o - 1}


def test_bench_scale_quick_runs() -> None:
    """benchmarks/bench_scale.py --quick (after only) exits 0 with both sweeps' tables."""
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, str(root / "benchmarks" / "bench_scale.py"), "--quick",
                          "--cap", "20"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "| engine-algorithm1 | 1,000 |" in out.stdout
    assert "| best-spaced | 30 |" in out.stdout
