"""The ramp-cumulative CP-SAT model (method='cumulative'): exact, and its extra rows are valid."""

from __future__ import annotations

import itertools

import pytest
from test_bounds import PEAK
from test_core_exact import FAMILIES

from optsched import make_instance, validate
from optsched.data.generators import jaillet_model1, jaillet_model2
from optsched.errors import SolverError
from optsched.exact import solve
from optsched.exact.backends import SolveParameters
from optsched.exact.ramp import (
    build_ramp_model,
    conflict_cliques,
    identical_groups,
    lag_pairs,
    never_together,
    solve_ramp_cpsat,
)
from optsched.model.schedule import Schedule
from optsched.policies import mcsf_fast


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_cumulative_matches_oracle_on_exhaustive_family(family):
    """method='cumulative' proves exactly the brute-force optimum on every tiny instance."""
    for inst in FAMILIES[family]:
        want = solve(inst, "bruteforce").objective
        res = solve(inst, "cpsat", method="cumulative")
        assert (res.status, res.objective, res.bound) == ("optimal", want, want), inst.to_dict()
        assert validate(inst, res.schedule).valid


def test_cumulative_matches_oracle_on_peak_family():
    """Lengths close to M (conflict cliques occur): it still proves the oracle's value."""
    with_cliques = 0
    for inst in PEAK:
        want = solve(inst, "bruteforce").objective
        res = solve(inst, "cpsat", method="cumulative")
        assert (res.status, res.objective) == ("optimal", want), inst.to_dict()
        with_cliques += bool(conflict_cliques(inst))
    assert with_cliques > len(PEAK) // 10  # 58 of 400 when written


@pytest.mark.parametrize("seed", range(4))
def test_cumulative_agrees_with_time_indexed(seed):
    """On seeded small Model 1/2 instances both CP-SAT models prove the same optimum."""
    inst = (jaillet_model1(seed, n_range=(7, 8), m_range=(12, 16)) if seed % 2 == 0
            else jaillet_model2(seed, horizon_range=(5, 6), m_range=(12, 16)))
    a = solve(inst, "cpsat", method="cumulative", time_limit=60)
    b = solve(inst, "cpsat", method="time-indexed", time_limit=60)
    assert a.status == b.status == "optimal"
    assert a.objective == b.objective


@pytest.mark.parametrize("seed", range(8))
def test_conflict_cliques_hold_in_every_valid_schedule(seed):
    """Clique members never share a round in MC-SF's or the optimal schedule (and are pairwise
    never-together)."""
    inst = jaillet_model1(seed, n_range=(6, 7), m_range=(10, 14))
    cliques = conflict_cliques(inst)
    opt = solve(inst, "bruteforce", time_limit=30).schedule
    for clique in cliques:
        assert len(clique) >= 2
        assert all(never_together(inst, i, j) for i, j in itertools.combinations(clique, 2))
        for sched in (opt, mcsf_fast(inst)):
            lives = sorted((sched.starts[inst.ids[i]] + 1, sched.starts[inst.ids[i]]
                            + int(inst.output[i])) for i in clique)
            assert all(prev[1] < nxt[0] for prev, nxt in itertools.pairwise(lives))


def test_clique_cover_covers_every_conflicting_pair():
    """Every never-together pair lies in some clique of the cover."""
    inst = make_instance(10, [9, 8, 8, 7, 2, 1], [0, 1, 1, 2, 0, 3])
    cliques = conflict_cliques(inst)
    for i, j in itertools.combinations(range(inst.n), 2):
        if never_together(inst, i, j):
            assert any(i in c and j in c for c in cliques), (i, j)
        else:
            assert not any(i in c and j in c for c in cliques), (i, j)


def test_identical_groups_and_an_unordered_hint():
    """Identical requests are grouped; a hint listing them out of order is still accepted."""
    inst = make_instance(6, [2, 2, 2, 1], 1)
    assert identical_groups(inst) == [[0, 1, 2]]
    hint = Schedule({inst.ids[0]: 4, inst.ids[1]: 2, inst.ids[2]: 0, inst.ids[3]: 0})
    assert validate(inst, hint).valid
    out = solve_ramp_cpsat(build_ramp_model(inst), SolveParameters(time_limit=10), hint)
    assert out.claims_optimal
    assert validate(inst, out.schedule).valid
    assert solve(inst, "bruteforce").objective == out.schedule.objective(
        {r.id: r.output_tokens for r in inst.requests})


@pytest.mark.parametrize("method", ["cumulative", "portfolio"])
def test_cpsat_only_methods_refuse_other_backends(method):
    """Asking for a CP-SAT-only model on another backend is a clear SolverError."""
    with pytest.raises(SolverError, match="CP-SAT only"):
        solve(make_instance(5, [2], 1), "highs", method=method)


@pytest.mark.parametrize("threads", [1, 2])
def test_portfolio_matches_oracle(threads):
    """method='portfolio' (both models, sequential or side by side) proves the oracle's value."""
    for inst in FAMILIES["spread-n3"][::9]:
        want = solve(inst, "bruteforce").objective
        res = solve(inst, "cpsat", method="portfolio", threads=threads)
        assert (res.status, res.objective, res.bound) == ("optimal", want, want), inst.to_dict()
        assert validate(inst, res.schedule).valid
        assert res.raw_status.startswith("cumulative: ")


def test_portfolio_keeps_the_best_of_both_when_unproven():
    """Under a short limit both models run and the result is a validated, bounded schedule."""
    inst = jaillet_model1(1, n_range=(12, 12))
    port = solve(inst, "cpsat", method="portfolio", threads=2, time_limit=2)
    assert port.status in ("feasible", "optimal")
    assert validate(inst, port.schedule).valid
    assert port.bound <= port.objective
    assert any(k.startswith("time_indexed_") for k in port.model_size)


def test_portfolio_run_that_proves_optimality_stops_the_other(monkeypatch):
    """Side by side, a run that proves optimality calls StopGroup.stop_all (ends the other)."""
    from optsched.exact import backends

    calls = []
    original = backends.StopGroup.stop_all

    def spy(self):
        calls.append(True)
        original(self)

    monkeypatch.setattr(backends.StopGroup, "stop_all", spy)
    inst = make_instance(6, [2, 2, 3], [1, 1, 0])
    res = solve(inst, "cpsat", method="portfolio", threads=2, time_limit=30)
    assert res.status == "optimal"
    assert calls


def test_auto_method_picks_by_size_and_solver():
    """method='auto' (default) runs the portfolio up to 20 requests on CP-SAT, LNS from 31,
    epoch between and on the other solvers."""
    from optsched.exact.solve import (
        AUTO_LNS_MIN_REQUESTS,
        AUTO_PORTFOLIO_MAX_REQUESTS,
        choose_method,
    )

    small = make_instance(6, [2, 2, 3], [1, 1, 0])
    assert choose_method(small, "cpsat") == "portfolio"
    assert choose_method(small, "highs") == "epoch"
    large = make_instance(50, [3] * (AUTO_PORTFOLIO_MAX_REQUESTS + 1), 1)
    assert choose_method(large, "cpsat") == "epoch"
    larger = make_instance(50, [3] * AUTO_LNS_MIN_REQUESTS, 1)
    assert choose_method(larger, "cpsat") == "lns"
    assert choose_method(larger, "highs") == "epoch"
    res = solve(small, "cpsat")
    assert res.parameters["method"] == "portfolio"
    assert res.status == "optimal"


@pytest.mark.parametrize("seed", range(6))
def test_lag_pairs_hold_in_every_valid_schedule(seed):
    """For every lag pair, the optimal and MC-SF schedules complete the two requests at least
    the lag apart, in whichever order they complete."""
    inst = jaillet_model1(seed, n_range=(6, 7), m_range=(10, 14))
    pairs = lag_pairs(inst)
    assert pairs  # lengths up to M - s: there are always large-peak pairs here
    opt = solve(inst, "bruteforce", time_limit=30).schedule
    for sched in (opt, mcsf_fast(inst)):
        c = [sched.starts[inst.ids[i]] + int(inst.output[i]) for i in range(inst.n)]
        for i, j, lag_ij, lag_ji in pairs:
            assert lag_ij > 0
            assert lag_ji > 0
            assert c[j] >= c[i] + lag_ij or c[i] >= c[j] + lag_ji, (i, j, c)


def test_model_without_lags_proves_the_same_optimum():
    """with_lags=False drops only the disjunctions; both models prove the oracle's value."""
    inst = jaillet_model1(2, n_range=(6, 6), m_range=(10, 12))
    want = solve(inst, "bruteforce").objective
    outputs = {r.id: r.output_tokens for r in inst.requests}
    for with_lags in (True, False):
        model = build_ramp_model(inst, with_lags=with_lags)
        assert bool(model.lag_pairs) == with_lags
        out = solve_ramp_cpsat(model, SolveParameters(time_limit=30), None)
        assert out.claims_optimal
        assert validate(inst, out.schedule).valid
        assert out.schedule.objective(outputs) == want
