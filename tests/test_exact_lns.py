"""Large-neighbourhood search: valid, never worse, reproducible, honest through solve()."""

from __future__ import annotations

import numpy as np
import pytest
from test_bounds import PEAK

from optsched import make_instance, validate
from optsched.data.generators import jaillet_model1, jaillet_model2
from optsched.errors import SolverError
from optsched.exact import solve
from optsched.exact.lns import _Search, improve_schedule
from optsched.exact.solve import best_incumbent
from optsched.model.schedule import Schedule


def test_lns_is_valid_and_never_worse_on_the_peak_family(oracle):
    """From the best heuristic schedule, LNS stays valid, never worsens, never beats the oracle."""
    for inst, want in zip(PEAK, oracle, strict=True):
        start = best_incumbent(inst)
        out = improve_schedule(inst, start, iterations=2)
        assert validate(inst, out.schedule).valid
        assert want <= out.value <= out.initial_value
        assert out.initial_value == validate(inst, start).metrics.total_completion_time


def test_lns_improves_a_20_request_model1_instance_reproducibly():
    """40 deterministic iterations beat spaced MC-SF on a 20-request Model 1 instance, and a
    second run gives the same schedule."""
    inst = jaillet_model1(1, n_range=(20, 20))
    start = best_incumbent(inst)
    first = improve_schedule(inst, start, iterations=40, seed=0)
    assert first.value < first.initial_value
    assert first.improvements >= 1
    assert first.history[-1][1] == first.value
    again = improve_schedule(inst, start, iterations=40, seed=0)
    assert again.schedule == first.schedule


def test_lns_with_two_workers_and_a_time_limit():
    """Two workers in synchronous rounds return a valid, not worse schedule within the limit."""
    inst = jaillet_model2(4, horizon_range=(12, 12))
    start = best_incumbent(inst)
    out = improve_schedule(inst, start, time_limit=2.0, workers=2)
    assert validate(inst, out.schedule).valid
    assert out.value <= out.initial_value
    assert out.runtime < 10


def test_lns_with_two_workers_is_reproducible():
    """Two workers with an iteration budget give the same schedule in two runs: each round's
    answers are merged in a fixed order, whatever the threads' timing."""
    inst = jaillet_model1(3, n_range=(16, 16))
    start = best_incumbent(inst)
    first = improve_schedule(inst, start, iterations=16, workers=2)
    assert validate(inst, first.schedule).valid
    assert first.value < first.initial_value
    again = improve_schedule(inst, start, iterations=16, workers=2)
    assert again.schedule == first.schedule
    assert again.iterations == first.iterations == 16


def test_lns_round_merge_combines_answers_that_fit_together():
    """A round's merge keeps the best worker result and adds another worker's moved requests
    on top when the result still fits in M, and leaves out one that would overflow."""
    inst = make_instance(10, [2, 2, 2], [3, 3, 3])  # peak 5: two fit side by side, three do not
    search = _Search(inst, np.array([20, 60, 100]))
    base = search.starts.copy()
    first, second, third = base.copy(), base.copy(), base.copy()
    first[0], second[1], third[2] = 0, 0, 0  # each alone is feasible; all three at 0 are not
    best = search.merge(base, [second, first, third])
    assert sorted(best.tolist())[:2] == [0, 0]  # two results combined
    assert search._profile(best).max() <= 10
    assert search.value(best) < search.value(second)  # better than any one result


def test_lns_refuses_bad_input():
    """An invalid start schedule or nonsense limits are SolverErrors saying what is wrong."""
    inst = make_instance(6, [2, 2, 2], 1)
    bad = Schedule({r: 0 for r in inst.ids})  # 3 x 3 tokens at t = 2 > M = 6
    with pytest.raises(SolverError, match="valid schedule"):
        improve_schedule(inst, bad, iterations=1)
    good = Schedule({"r0": 0, "r1": 0, "r2": 2})
    for kwargs, msg in (({"time_limit": 0}, "time limit"), ({"iterations": -1}, "iterations"),
                        ({"workers": 0}, "workers"), ({"sizes": ()}, "sizes")):
        with pytest.raises(SolverError, match=msg):
            improve_schedule(inst, good, **kwargs)


def test_an_infeasible_move_is_caught_before_it_is_kept():
    """The profile re-check refuses a proposal that breaks memory (a bug would not pass)."""
    inst = make_instance(6, [2, 2, 2], 1)
    search = _Search(inst, np.array([0, 0, 2]))
    with pytest.raises(SolverError, match="infeasible"):
        search.improved(search.starts, np.array([0, 0, 0]))


def test_left_shift_only_moves_requests_earlier_and_keeps_memory():
    """The compaction pass moves starts earlier (never later) and keeps the schedule valid."""
    inst = jaillet_model1(2, n_range=(15, 15))
    start = best_incumbent(inst)
    starts = np.array([start.starts[r] for r in inst.ids]) + 3  # a valid, delayed copy
    search = _Search(inst, starts)
    shifted = search.left_shift(starts, 0)
    assert (shifted <= starts).all()
    assert shifted.sum() < starts.sum()
    assert validate(inst, Schedule(dict(zip(inst.ids, shifted.tolist(), strict=True)))).valid


def test_lns_method_is_honest(oracle):
    """solve(method='lns') says optimal only when its bound meets the oracle optimum."""
    for inst, want in list(zip(PEAK, oracle, strict=True))[::8]:
        res = solve(inst, "cpsat", method="lns", time_limit=1.0)
        assert res.bound <= want <= res.objective
        assert (res.status == "optimal") == (res.objective == res.bound)
        assert validate(inst, res.schedule).valid
        assert res.parameters["method"] == "lns"


def test_lns_method_runs_on_cpsat_only():
    """method='lns' on HiGHS is refused with a clear message."""
    with pytest.raises(SolverError, match="CP-SAT only"):
        solve(make_instance(5, [2], 1), "highs", method="lns")
