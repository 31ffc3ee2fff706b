"""Exact solving: all four exact paths agree on exhaustive tiny families; statuses are honest."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from optsched import make_instance, validate
from optsched.data.generators import jaillet_model1
from optsched.exact import solve
from optsched.exact.backends import BACKENDS, BackendOutcome
from optsched.exact.formulation import build_model, trivial_lower_bound
from optsched.exact.incumbent import earliest_fit_schedule
from optsched.exact.solve import InvalidSolverSchedule


def tiny_family(arrivals: tuple[int, ...], memory_limits: tuple[int, ...], max_n: int):
    """Every multiset of up to max_n requests with s in {0,1}, o in {1,2,3}, a in arrivals."""
    kinds = [(a, s, o) for a in arrivals for s in (0, 1) for o in (1, 2, 3)]
    for m in memory_limits:
        for n in range(1, max_n + 1):
            for combo in itertools.combinations_with_replacement(kinds, n):
                if all(s + o <= m for _, s, o in combo):
                    yield make_instance(m, [o for _, _, o in combo], [s for _, s, _ in combo],
                                        [a for a, _, _ in combo])


FAMILIES = {
    "a0-n4": (tuple(tiny_family((0,), (3, 4, 6), 4))),
    "spread-n3": (tuple(tiny_family((0, 2), (3, 5), 3))),
}


def _optima(instances, solver, **kw):
    out = []
    for inst in instances:
        res = solve(inst, solver, **kw)
        assert res.status == "optimal", (solver, inst.to_dict(), res.raw_status)
        assert res.bound == res.objective
        assert validate(inst, res.schedule).valid
        out.append(res.objective)
    return out


def _needs_proof(inst) -> bool:
    """True when the time-indexed path cannot settle ``inst`` without its backend: the
    earliest-fit incumbent lies above the trivial bound, the only bound that path computes
    before the backend runs."""
    sched = earliest_fit_schedule(inst)
    return sched.objective({r.id: r.output_tokens for r in inst.requests}) > \
        trivial_lower_bound(inst)


class _BackendSpy:
    """Wraps a backend and records the size (start variables) of every model it is given."""

    def __init__(self, backend):
        self.backend, self.name, self.sizes = backend, backend.name, []

    def run(self, model, params, hint):
        self.sizes.append(model.num_vars)
        return self.backend.run(model, params, hint)


@pytest.fixture(scope="module")
def oracle_values():
    """Brute-force optimum of every instance in every family."""
    return {name: _optima(insts, "bruteforce") for name, insts in FAMILIES.items()}


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("solver", ["cpsat", "highs", "cbc"])
def test_backends_match_oracle_on_exhaustive_family(family, solver, oracle_values, monkeypatch):
    """Each MILP backend proves exactly the brute-force optimum on every tiny instance that
    needs a proof: the time-indexed path on the instances whose earliest-fit incumbent is above
    the trivial bound, so no instance is settled before the backend runs (asserted: the result
    names the backend and the backend was called once per instance)."""
    spy = _BackendSpy(BACKENDS[solver])
    monkeypatch.setitem(BACKENDS, solver, spy)
    insts = FAMILIES[family]
    idx = [k for k in range(len(insts)) if _needs_proof(insts[k])]
    # CBC runs as a subprocess (~50 ms each): it gets every third of them.
    idx = idx[::3] if solver == "cbc" else idx
    results = [solve(insts[k], solver, method="time-indexed") for k in idx]
    assert len(idx) > 100
    assert len(spy.sizes) == len(idx)
    assert all(res.solver == solver for res in results)
    assert [res.objective for res in results] == [oracle_values[family][k] for k in idx]
    assert all(res.status == "optimal" and res.bound == res.objective
               and validate(res.instance, res.schedule).valid for res in results)


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("solver", ["cpsat", "highs", "cbc"])
def test_default_path_matches_oracle_on_exhaustive_family(family, solver, oracle_values):
    """The default solve path of each solver (bounds first, a backend only when they do not
    meet the incumbent) proves the brute-force optimum on every tiny instance."""
    insts = FAMILIES[family]
    # CBC runs as a subprocess (~50 ms each): it gets every third instance.
    idx = range(0, len(insts), 3) if solver == "cbc" else range(len(insts))
    got = _optima([insts[k] for k in idx], solver)
    assert got == [oracle_values[family][k] for k in idx]


def test_family_sizes_are_what_we_claim():
    """The exhaustive families are non-trivial (guards against an empty parametrisation)."""
    assert len(FAMILIES["a0-n4"]) > 300
    assert len(FAMILIES["spread-n3"]) > 300


def test_full_horizon_model_gives_same_optimum(monkeypatch):
    """Windows shrunk by the incumbent do not change the optimum (spot check vs full horizon).
    Only instances that need the backend are used, and the backend is asserted to have been
    given both models, the full-horizon one strictly larger on most of them."""
    spy = _BackendSpy(BACKENDS["highs"])
    monkeypatch.setitem(BACKENDS, "highs", spy)
    insts = [inst for inst in FAMILIES["spread-n3"] if _needs_proof(inst)][::20]
    larger = 0
    for inst in insts:
        a = solve(inst, "highs", method="time-indexed", use_incumbent=True)
        b = solve(inst, "highs", method="time-indexed", use_incumbent=False)
        assert a.objective == b.objective
        assert a.status == b.status == "optimal"
        assert a.solver == b.solver == "highs"
        windowed, full = spy.sizes[-2:]
        assert full >= windowed
        larger += full > windowed
    assert len(insts) >= 15
    assert len(spy.sizes) == 2 * len(insts)
    assert larger >= len(insts) // 2


@pytest.mark.parametrize("solver", ["cpsat", "highs", "cbc"])
def test_time_limited_hard_instance_is_never_called_optimal(solver):
    """A 1 s solve of a 20-request Model 1 instance reports feasible/unknown with bound < obj."""
    inst = jaillet_model1(3, n_range=(20, 20))
    res = solve(inst, solver, time_limit=1.0)
    assert res.status in ("feasible", "unknown")
    assert res.bound is not None
    assert res.bound >= int(inst.arrival.sum() + inst.output.sum())
    if res.objective is not None:
        assert res.bound < res.objective
        assert validate(inst, res.schedule).valid


def test_solver_label_optimal_is_not_trusted(monkeypatch):
    """A backend that *claims* optimal with a bound below the objective yields 'feasible'."""
    inst = make_instance(6, [3, 3, 2], [1, 1, 0])

    class LyingBackend:
        name = "cpsat"

        def run(self, model, params, hint):
            return BackendOutcome("Optimal", True, False, hint, float(model.cost.min()), "fake",
                                  0.0)

    monkeypatch.setitem(BACKENDS, "cpsat", LyingBackend())
    res = solve(inst, "cpsat", method="time-indexed")  # solver bound only
    assert res.status == "feasible"
    assert res.bound < res.objective


def test_invalid_solver_schedule_is_refused(monkeypatch):
    """A backend returning a memory-infeasible schedule raises instead of being reported."""
    inst = make_instance(4, [3, 3], [1, 1])

    class BrokenBackend:
        name = "cpsat"

        def run(self, model, params, hint):
            values = np.zeros(model.num_vars)
            for idx in model.request_vars:
                values[idx[0]] = 1.0  # both start at 0: memory 2+2 > 4 at t=1? 4, t=2: 6 > 4
            return BackendOutcome("OPTIMAL", True, False, values, 0.0, "fake", 0.0)

    monkeypatch.setitem(BACKENDS, "cpsat", BrokenBackend())
    with pytest.raises(InvalidSolverSchedule, match="fails validation"):
        # time-indexed: the other paths' bounds already prove this instance without a solver
        solve(inst, "cpsat", method="time-indexed")


def test_model_rows_match_spec_coefficients():
    """The memory row at t has coefficient s_i + t - k for a start at k (SPEC §3)."""
    inst = make_instance(5, [2, 3], [1, 0])
    model = build_model(inst)
    for row in model.rows:
        for v, c in zip(row.vars, row.coefs, strict=True):
            i, k = int(model.var_request[v]), int(model.var_start[v])
            assert k + 1 <= row.time <= k + int(inst.output[i])
            assert c == int(inst.prompt[i]) + row.time - k


def test_false_infeasibility_claim_is_refused(monkeypatch):
    """A backend claiming 'infeasible' while a validated schedule exists cannot make it so."""
    inst = make_instance(6, [3, 3, 2], [1, 1, 0])

    class ConfusedBackend:
        name = "cbc"

        def run(self, model, params, hint):
            return BackendOutcome("Pre-processing says infeasible or unbounded", False, True,
                                  None, None, "fake", 0.0)

    monkeypatch.setitem(BACKENDS, "cbc", ConfusedBackend())
    res = solve(inst, "cbc", method="time-indexed")  # no bound-only shortcut
    assert res.status in ("feasible", "optimal")
    assert res.schedule_source == "incumbent"
    assert "claim refused" in res.raw_status
    assert validate(inst, res.schedule).valid
