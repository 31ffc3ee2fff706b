"""The branch-and-bound of optsched.exact.branch_bound: exact on tiny families, honest bounds,
every dominance rule exercised (models/branch-and-bound.md)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from optsched import make_instance, validate
from optsched.data.generators import jaillet_model1
from optsched.errors import SolverError
from optsched.exact import solve
from optsched.exact.branch_bound import RULES, _Tree, branch_and_bound
from optsched.exact.bruteforce import brute_force, sequential_schedule
from optsched.studies.enumerate import Bounds, exhaustive, spec_instance

#: Every non-trivial instance of up to 4 requests with o <= 3, s <= 1, arrivals 0..1, and of
#: up to 3 requests with arrivals 0..2 (any prompts; about 7,600 instances).
TINY = [spec_instance(spec) for bounds in (Bounds(n_max=4, o_max=3, s_max=1, a_max=1,
                                                  prompts="any"),
                                           Bounds(n_max=3, o_max=3, s_max=1, a_max=2,
                                                  prompts="any"))
        for spec in exhaustive(bounds)]


def _random_instance(rng: random.Random, n: int, arrivals: bool) -> object:
    """A random small instance (s + o <= M), arrivals spread over a few rounds if asked."""
    m = rng.randint(4, 10)
    o = [rng.randint(1, m - 1) for _ in range(n)]
    s = [rng.randint(0, m - x) for x in o]
    a = [rng.randint(0, 4) if arrivals else 0 for _ in range(n)]
    return make_instance(m, o, s, a)


def test_matches_oracle_on_exhaustive_tiny_family():
    """From the weak sequential incumbent, the search proves the oracle's optimum on every
    tiny instance, and its schedule is valid."""
    assert len(TINY) > 7000
    for inst in TINY:
        want = brute_force(inst)[1]
        out = branch_and_bound(inst, sequential_schedule(inst))
        assert out.complete, inst.to_dict()
        assert out.value == out.bound == want, inst.to_dict()
        assert validate(inst, out.schedule).valid
        assert out.schedule.objective({r.id: r.output_tokens for r in inst.requests}) == want


def test_agrees_with_cpsat_on_random_instances_with_arrivals():
    """solve(method='bnb') and the time-indexed CP-SAT model prove the same optimum on random
    instances of 5-7 requests with arrivals; both schedules validate."""
    rng = random.Random(17)
    for _ in range(12):
        inst = _random_instance(rng, rng.randint(5, 7), arrivals=True)
        ours = solve(inst, "cpsat", method="bnb", time_limit=30)
        ref = solve(inst, "cpsat", method="time-indexed", time_limit=30)
        assert ours.status == ref.status == "optimal", inst.to_dict()
        assert ours.objective == ref.objective == ours.bound
        assert ours.validation.valid
        assert ref.validation.valid


def test_time_limit_gives_a_valid_bound_not_a_fake_optimum():
    """Cut off after 0.5 s on a 16-request Model 1 instance, the result is feasible with a
    proven bound at most its validated objective."""
    inst = jaillet_model1(0, n_range=(16, 16))
    res = solve(inst, "cpsat", method="bnb", time_limit=0.5)
    assert res.status == "feasible"
    assert "time limit" in res.raw_status
    assert 0 < res.bound < res.objective
    assert res.validation.valid
    assert validate(inst, res.schedule).valid
    assert res.parameters["method"] == "bnb"


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_dominance_rule_prunes_and_keeps_the_optimum(rule):
    """Switching one rule off gives the same optimum with strictly more nodes (or, for the
    memo, none pruned by it): each rule is exercised and none cuts off the optimum."""
    cases = {
        "identical": make_instance(8, [3, 3, 3, 3, 2], [1, 1, 1, 1, 2]),
        "idle": make_instance(7, [6, 3, 6, 6, 6, 5], [0, 3, 0, 0, 0, 0], [1, 2, 0, 2, 4, 0]),
        "memo": make_instance(7, [6, 3, 6, 6, 6, 5], [0, 3, 0, 0, 0, 0], [1, 2, 0, 2, 4, 0]),
    }
    inst = cases[rule]
    start = sequential_schedule(inst)
    full = branch_and_bound(inst, start)
    fewer = branch_and_bound(inst, start, rules=RULES - {rule})
    assert full.complete
    assert fewer.complete
    assert full.value == fewer.value == brute_force(inst)[1]
    assert fewer.nodes > full.nodes
    if rule == "memo":
        assert full.memo_pruned > 0
        assert fewer.memo_pruned == 0


def test_earliest_start_is_the_first_fitting_start():
    """The node's earliest start e_j (which the bound relies on) equals a round-by-round scan
    on random profiles."""
    rng = np.random.default_rng(3)
    inst = make_instance(12, [1, 4, 7, 11], [3, 2, 1, 0])
    tree = _Tree(inst)
    for _ in range(300):
        rel = rng.integers(0, 12, size=rng.integers(0, 15)).astype(np.int64)
        t, j = int(rng.integers(0, 5)), int(rng.integers(0, 4))
        p0 = t + int(rng.integers(0, 4))
        p = p0
        while any(rel[u - t - 1] + inst.prompt[j] + (u - p) > 12
                  for u in range(p + 1, p + inst.output[j] + 1) if 0 <= u - t - 1 < rel.size):
            p += 1
        assert tree.earliest(j, p0, t, rel) == p


def test_refuses_other_memory_convention_and_other_backends():
    """The search itself takes only the SPEC memory convention and the cpsat solver name, with a
    clear error naming why (solve() hands it the SPEC equivalent); unknown rules are refused."""
    inst = make_instance(6, [2, 2], [1, 1])
    with pytest.raises(SolverError, match="runs on CP-SAT only"):
        solve(inst, "highs", method="bnb")
    with pytest.raises(SolverError, match="unknown dominance rule"):
        branch_and_bound(inst, sequential_schedule(inst), rules=frozenset({"swap"}))
    prefill = inst.with_convention("prefill")
    with pytest.raises(SolverError, match="'spec' memory convention"):
        branch_and_bound(prefill, sequential_schedule(prefill))
    res = solve(prefill, "cpsat", method="bnb")  # through the SPEC-equivalent instance
    assert res.status == "optimal"
    assert res.objective == solve(prefill, "bruteforce").objective


def test_shorter_first_among_equal_prompt_is_not_a_valid_rule():
    """The counterexample of models/branch-and-bound.md §4: the only optimal schedule starts the
    longer of two requests with equal (a, s) first, so that rule must stay out of the search."""
    inst = make_instance(3, [1, 2, 1, 2], [0, 0, 1, 1])
    out = branch_and_bound(inst, sequential_schedule(inst))
    assert out.complete
    assert out.value == brute_force(inst)[1] == 9
    assert [out.schedule.starts[f"r{i}"] for i in range(4)] == [1, 0, 0, 2]


def test_cli_solve_method_bnb(run_cli, write_json):
    """`optsched solve --method bnb` proves a small instance and records the method; on
    another backend it exits 2 with one line and no traceback."""
    inst = make_instance(7, [3, 2, 4, 1, 2], [1, 2, 0, 3, 1], [0, 1, 0, 2, 1])
    path = write_json("inst.json", inst.to_dict())
    res = run_cli("solve", path, "--method", "bnb", "--time-limit", "20", "--json")
    assert res.code == 0
    out = res.json()
    assert out["parameters"]["method"] == "bnb"
    assert out["validation"]["valid"]
    assert out["status"] == "optimal"
    assert out["objective"] == brute_force(inst)[1]
    bad = run_cli("solve", path, "--method", "bnb", "--solver", "highs")
    assert bad.code == 2
    assert "CP-SAT only" in bad.err
    assert len(bad.err.strip().splitlines()) == 1
    assert "Traceback" not in bad.err


def test_depth_first_overflow_stays_exact(monkeypatch):
    """With the open-node cap at 3, children go to the depth-first stack and the search still
    proves the oracle's optimum (random instances with arrivals)."""
    import optsched.exact.branch_bound as bb

    monkeypatch.setattr(bb, "MAX_OPEN_NODES", 3)
    rng = random.Random(4)
    for _ in range(40):
        inst = _random_instance(rng, rng.randint(3, 6), arrivals=True)
        out = branch_and_bound(inst, sequential_schedule(inst))
        assert out.complete
        assert out.value == out.bound == brute_force(inst)[1]
        assert validate(inst, out.schedule).valid
