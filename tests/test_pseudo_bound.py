"""The pseudo-schedule bound (issue 24): exact pricing = CP-SAT reference, relaxed <= exact <=
restricted, the Lagrangian value never above a validated schedule, never above the brute-force
optimum, at least the time-indexed LP when converged; the ``bound`` command."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optsched import make_instance, validate
from optsched.control import Deadline
from optsched.errors import SolverError
from optsched.exact.colgen import time_indexed_lp
from optsched.exact.incumbent import earliest_fit_schedule
from optsched.exact.pseudo.bound import pseudo_schedule_bound
from optsched.exact.pseudo.pricing import (
    PricingData,
    is_pseudo_schedule,
    price,
    reduced_cost,
)


def _random_case(rng: random.Random):
    n, m = rng.randint(2, 4), rng.randint(6, 12)
    s = [rng.randint(0, 3) for _ in range(n)]
    o = [rng.randint(1, m - x) for x in s]
    a = [rng.randint(0, 2) for _ in range(n)]
    return make_instance(m, o, s, a), [rng.randint(0, 15) for _ in range(n)]


CASES = [_random_case(random.Random(k)) for k in range(12)]


def test_issue_example_gives_the_optimum_where_the_lp_does_not():
    """n = 3, M = 10, s = (3, 3, 1), o = (6, 6, 5): the bound is 31 = OPT, the LP 25.9."""
    inst = make_instance(10, [6, 6, 5], [3, 3, 1])
    lp, _ = time_indexed_lp(inst, earliest_fit_schedule(inst))
    assert lp < 26
    for pricing in ("exact", "relaxed"):
        for shrink in (True, False):
            b = pseudo_schedule_bound(inst, pricing=pricing, shrink=shrink)
            assert b.bound == 31 == b.incumbent, (pricing, shrink, b)


@pytest.mark.parametrize("k", range(len(CASES)))
def test_exact_pricing_matches_the_cpsat_reference(k):
    """Same optimum as CP-SAT's, with and without a repeat limit of 1 on every request; the
    returned pseudo-schedule is feasible and costs what is reported."""
    from optsched.exact.pseudo.reference import cpsat_pricing

    inst, duals = CASES[k]
    data = PricingData.of(inst)
    res = price(data, duals)
    assert res.exact
    assert res.starts is not None
    assert is_pseudo_schedule(data, res.starts)
    assert reduced_cost(data, duals, res.starts) == pytest.approx(res.value)
    assert res.value == pytest.approx(cpsat_pricing(data, duals)[0])
    once = price(data, duals, repeat_limit=1, tracked=range(inst.n))
    assert once.value == pytest.approx(cpsat_pricing(data, duals, repeat_limit=1)[0])


@pytest.mark.parametrize("k", range(len(CASES)))
def test_relaxed_is_below_and_restricted_above_the_exact_pricing(k):
    """Merging states only lowers the optimum, cutting them only raises it (tiny widths force
    both); tracking fewer requests under a repeat limit only lowers it."""
    inst, duals = CASES[k]
    data = PricingData.of(inst)
    exact = price(data, duals).value
    for width in (1, 2, 5):
        assert price(data, duals, mode="relaxed", width=width).value <= exact + 1e-9
        cut = price(data, duals, mode="restricted", width=width)
        assert cut.value >= exact - 1e-9
        assert cut.starts is None or is_pseudo_schedule(data, cut.starts)
    full = price(data, duals, repeat_limit=1, tracked=range(inst.n)).value
    part = price(data, duals, repeat_limit=1, tracked=[0]).value
    assert exact - 1e-9 <= part <= full + 1e-9


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.lists(st.integers(-10, 25), min_size=4, max_size=4))
def test_lagrangian_value_is_never_above_a_validated_schedule(seed, duals):
    """For any multipliers, sum pi + exact pricing optimum <= the value of any valid schedule
    (earliest-fit in a random order, checked by the validator)."""
    rng = random.Random(seed)
    inst, _ = _random_case(rng)
    data = PricingData.of(inst)
    pi = duals[:inst.n]
    value = sum(pi) + price(data, pi).value
    order = list(range(inst.n))
    rng.shuffle(order)
    report = validate(inst, earliest_fit_schedule(inst, order))
    assert report.valid
    assert report.metrics is not None
    assert value <= report.metrics.total_completion_time + 1e-9


def test_bound_never_exceeds_the_brute_force_optimum(oracle):
    """On the exhaustive peak family (tests/test_bounds.py): never above the optimum, for exact
    pricing over full windows and relaxed pricing with a repeat limit; when the exact column
    generation converged, the Lagrangian value is at least the time-indexed LP."""
    from test_bounds import PEAK

    tight = converged = 0
    for inst, opt in list(zip(PEAK, oracle, strict=True))[::3]:
        exact = pseudo_schedule_bound(inst, pricing="exact", shrink=False)
        relaxed = pseudo_schedule_bound(inst, pricing="relaxed", repeat_limit=1, width=3)
        assert exact.bound <= opt, inst.to_dict()
        assert relaxed.bound <= opt, inst.to_dict()
        tight += exact.bound == opt
        shrunk = pseudo_schedule_bound(inst, pricing="exact")
        if shrunk.stopped == "converged":
            converged += 1
            lp, _ = time_indexed_lp(inst, earliest_fit_schedule(inst))
            assert shrunk.lagrangian >= lp - 1e-6, inst.to_dict()
    assert tight > 60
    assert converged > 0


def test_a_spent_deadline_still_returns_a_valid_bound():
    """Deadline(0): no column generation, but a bound at least the trivial one and at most the
    incumbent."""
    inst = make_instance(20, [5, 7, 3, 9, 4, 6], [2, 1, 3, 2, 1, 2])
    b = pseudo_schedule_bound(inst, deadline=Deadline(0))
    assert int(inst.output.sum()) <= b.bound <= b.incumbent
    assert b.stopped in ("deadline", "proven")


def test_bad_parameters_are_refused():
    inst = make_instance(10, [6, 6, 5], [3, 3, 1])
    with pytest.raises(SolverError, match="pricing must be one of"):
        pseudo_schedule_bound(inst, pricing="fast")
    with pytest.raises(SolverError, match="repeat limit"):
        price(PricingData.of(inst), [0, 0, 0], repeat_limit=0)
    with pytest.raises(SolverError, match="multipliers"):
        price(PricingData.of(inst), [0, 0])


def test_non_spec_convention_is_priced_on_its_spec_equivalent():
    """A prefill instance: the bound never exceeds its brute-force optimum."""
    from optsched.exact import solve

    inst = make_instance(10, [5, 5, 4], [3, 3, 1], memory_convention="prefill")
    opt = solve(inst, "bruteforce").objective
    assert pseudo_schedule_bound(inst, pricing="exact").bound <= opt


def test_bound_command_json_and_bad_input(run_cli, write_json):
    res = run_cli("bound", "builtin:worked-example", "--json", "--time-limit", "5")
    assert res.code == 0, res.err
    out = res.json()
    assert out["optimal"]
    assert out["best_schedule"] == 4 == out["best_bound"]
    assert [r["bound"] for r in out["bounds"]] == [
        "combinatorial", "time-indexed LP", "pseudo-schedule (relaxed)"]
    for args in (("--time-limit", "0"), ("--repeat-limit", "0"), ("--width", "0")):
        bad = run_cli("bound", "builtin:worked-example", *args)
        assert bad.code == 2
        assert bad.err.count("\n") == 1
        assert "Traceback" not in bad.err
    path = write_json("bad.json", {"memory_limit": 5, "requests": [
        {"id": "a", "prompt_tokens": 3, "output_tokens": 4}]})
    bad = run_cli("bound", path)
    assert bad.code == 2
    assert "'a'" in bad.err
    assert "Traceback" not in bad.err


def test_bound_report_from_python_never_claims_more_than_it_proves():
    """optsched.exact.bound_report.bound_report (what ``optsched bound`` prints): every bound
    is at most the validated schedule's value, and ``optimal`` only when the best one meets it."""
    from optsched.data.builtin import resolve_instance
    from optsched.exact.bound_report import bound_report

    rep = bound_report(resolve_instance("builtin:default"), time_limit=2, lp=False)
    values = [r["value"] for r in rep["bounds"] if r["value"] is not None]
    assert [r["bound"] for r in rep["bounds"]] == ["combinatorial", "pseudo-schedule (relaxed)"]
    assert max(values) <= rep["best_schedule"]
    assert rep["optimal"] == (rep["best_bound"] >= rep["best_schedule"])
