"""Online engine: round rules, overflow and eviction accounting, stall detection, predictions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from optsched.data.generators import jaillet_model2, uniform_instance
from optsched.model.instance import make_instance
from optsched.model.validate import validate
from optsched.policies import POLICIES, BasePolicy, run_policy
from optsched.policies.engine import NoProgressError, PolicyError, simulate
from optsched.policies.predictions import PredictionError, exact, interval, noisy, parse_predictions


def test_worked_example_spec():
    """SPEC §2 worked example: both requests start at 0, memory 4 then 6, objective 4."""
    inst = make_instance(6, [2, 2], 1)
    run = run_policy(inst, "algorithm1")
    assert dict(run.schedule.starts) == {"r0": 0, "r1": 0}
    assert run.objective == 4
    assert run.validation.memory_profile.tolist() == [0, 4, 6]


def test_overflow_evicts_and_records_aborted_runs():
    """FCFS without look-ahead overflows; evictions become aborted runs the validator accepts."""
    inst = make_instance(10, [8, 8, 2], 1, [0, 0, 0])
    run = run_policy(inst, "fcfs")
    assert run.overflows >= 1
    assert run.evictions >= 1
    assert run.schedule.aborted
    assert run.wasted_tokens == sum(a.end - a.start for a in run.schedule.aborted)
    assert run.validation.valid
    assert int(run.validation.memory_profile.max()) <= inst.memory_limit
    for a in run.schedule.aborted:  # a restart never precedes the eviction
        assert run.schedule.starts[a.id] >= a.end


def test_memory_never_exceeds_limit_with_wrong_predictions():
    """With noisy and interval predictions every finished run is valid (memory <= M always);
    only the clear-all baselines may stop, with the no-progress error."""
    for seed in range(6):
        inst = uniform_instance(seed, 12, 80, max_prompt=3, max_arrival=10)
        inst = inst.with_requests([r.__class__(r.id, r.arrival, r.prompt_tokens,
                                               min(r.output_tokens, 12))
                                   for r in inst.requests])
        for pred in ("noisy:0.5", "interval:0.8"):
            for name in POLICIES:
                try:
                    run = run_policy(inst, name, predictions=pred, seed=seed)
                except NoProgressError:
                    assert name.startswith("alpha")
                    continue
                assert run.validation.valid, (name, pred, seed)
                assert run.validation.metrics.peak_memory <= inst.memory_limit


class _Idle(BasePolicy):
    name = "idle"

    def priority(self, i: int) -> tuple[int, ...]:
        return (i,)

    def select(self, t: int) -> Sequence[int]:
        return []


class _StartsTwice(_Idle):
    name = "starts-twice"

    def select(self, t: int) -> Sequence[int]:
        return [0, 0]


class _NeverEvicts(_Idle):
    name = "never-evicts"

    def select(self, t: int) -> Sequence[int]:
        return self.take(len(self.waiting))

    def evict(self, t: int, excess: int) -> Sequence[int]:
        return []


def test_idle_policy_is_reported_as_no_progress():
    """A policy that never starts anything stops the run with a clear error."""
    with pytest.raises(NoProgressError, match="idle.*makes no progress"):
        simulate(make_instance(10, [2, 3]), _Idle())


def test_protocol_violations_are_errors():
    """Starting a request twice or evicting nothing on an overflow is a PolicyError."""
    with pytest.raises(PolicyError, match="not an arrived waiting request"):
        simulate(make_instance(10, [2, 3]), _StartsTwice())
    with pytest.raises(PolicyError, match="evicted nothing"):
        simulate(make_instance(10, [8, 8], 1), _NeverEvicts())


def test_alpha_greedy_livelock_is_detected():
    """Two long requests that always overflow together: clear-all repeats forever -> error."""
    inst = make_instance(40, [30, 30], 1)
    with pytest.raises(NoProgressError, match="alpha-greedy.*no progress"):
        run_policy(inst, "alpha-greedy")


def test_idle_gaps_are_skipped():
    """Arrivals far apart are jumped over, not simulated round by round."""
    inst = make_instance(10, [3, 3, 3], 1, [0, 10**8, 2 * 10**8 - 9])  # horizon at the limit
    res = simulate(inst, POLICIES["algorithm1"]())
    assert res.decision_rounds < 20
    assert dict(res.schedule.starts) == {"r0": 0, "r1": 10**8, "r2": 2 * 10**8 - 9}


def test_metrics_latency_and_ttft():
    """Latency and TTFT follow SPEC §2: first token at start + 1, completion at start + o."""
    inst = make_instance(4, [3, 2], 1, [0, 1])
    run = run_policy(inst, "algorithm1")
    starts = run.schedule.starts
    assert starts == {"r0": 0, "r1": 3}
    m = run.metrics
    assert m["total_latency"] == (0 + 3 - 0) + (3 + 2 - 1)
    assert m["mean_ttft"] == ((0 + 1 - 0) + (3 + 1 - 1)) / 2
    assert m["makespan"] == 5


def test_prediction_models():
    """Exact is the truth; noisy is seeded and within eps; intervals contain the truth."""
    inst = jaillet_model2(4)
    o = inst.output
    assert np.array_equal(exact(inst).point, o)
    a, b = noisy(inst, 0.3, seed=1), noisy(inst, 0.3, seed=1)
    assert np.array_equal(a.point, b.point)
    assert not np.array_equal(a.point, noisy(inst, 0.3, seed=2).point)
    cap = inst.memory_limit - inst.prompt
    assert np.all(np.abs(a.point - np.minimum(o, cap)) <= np.ceil(0.3 * o) + 1)
    iv = interval(inst, 0.5, seed=3)
    assert np.all(iv.lower <= o)
    assert np.all(o <= iv.upper)
    assert np.all(iv.upper <= cap)
    assert np.all((iv.lower <= iv.point) & (iv.point <= iv.upper))
    assert parse_predictions("interval:0.5", inst, 3).describe().startswith("interval")


def test_prediction_spec_errors():
    """Malformed prediction specs raise a clear PredictionError."""
    inst = make_instance(10, [2])
    for bad in ("noisy", "noisy:x", "gauss:1", "interval:-1"):
        with pytest.raises(PredictionError):
            parse_predictions(bad, inst)


def test_restart_runs_validate_independently():
    """The engine's schedule, re-validated from scratch, matches the run's own report."""
    inst = jaillet_model2(2)
    run = run_policy(inst, "fcfs")
    report = validate(inst, run.schedule)
    assert report.valid
    assert report.metrics.total_completion_time == run.objective
    assert report.metrics.wasted_tokens == run.wasted_tokens


def test_instance_predictions_are_the_default():
    """Without a prediction model the policy plans with the instance's predicted lengths."""
    inst = make_instance(3, [3, 2], 0, predicted=[1, 3])
    truth = run_policy(inst, "algorithm1", predictions="exact")
    assert truth.schedule.starts == {"r1": 0, "r0": 1}
    assert truth.overflows == 0
    run = run_policy(inst, "algorithm1")  # believes r0 is short: starts both, then overflows
    assert run.predictions == "instance"
    assert run.overflows >= 1
    assert run.validation.valid


def test_a_min_evicts_fewest_generated_first():
    """A_min under-plans with lower ends; on overflow the newest run is evicted first."""
    inst = make_instance(12, [8, 8], 1, [0, 2])
    from optsched.policies.predictions import Predictions
    pred = Predictions(np.array([1, 1]), np.array([1, 1]), np.array([8, 8]), "manual")
    run = run_policy(inst, "a-min", predictions=pred)
    assert run.overflows >= 1
    assert run.validation.valid
    assert {a.id for a in run.schedule.aborted} == {"r1"}
