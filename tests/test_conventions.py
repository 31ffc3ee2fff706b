"""Memory conventions (optsched.model.conventions): hand-computed examples, the brute-force
oracle on exhaustive tiny families, agreement of validator / MILP / MC-SF, refusals, SPEC
unchanged."""

from __future__ import annotations

import hashlib
import itertools
import json

import numpy as np
import pytest

from optsched.errors import InstanceError, SolverError
from optsched.exact import solve
from optsched.exact.bruteforce import brute_force
from optsched.exact.formulation import build_model
from optsched.model.conventions import CONVENTIONS, completion_time, memory_at
from optsched.model.instance import instance_from_dict, make_instance, spec_equivalent
from optsched.model.schedule import Schedule
from optsched.model.validate import validate
from optsched.policies import mcsf_fast, mcsf_reference, run_policy

NAMES = tuple(CONVENTIONS)


def naive_optimum(inst) -> int:
    """Optimum by trying every start vector, memory from conventions.memory_at alone."""
    conv = inst.memory_convention
    reqs = inst.requests
    span = sum(completion_time(0, r.output_tokens, conv) for r in reqs)
    best = None
    for starts in itertools.product(*[range(r.arrival, r.arrival + span + 1) for r in reqs]):
        pairs = list(zip(starts, reqs, strict=True))
        last = max(completion_time(p, r.output_tokens, conv) for p, r in pairs)
        if all(sum(memory_at(r.prompt_tokens, r.output_tokens, p, t, conv) for p, r in pairs)
               <= inst.memory_limit for t in range(1, last + 1)):
            value = sum(completion_time(p, r.output_tokens, conv) for p, r in pairs)
            best = value if best is None else min(best, value)
    return best


def tiny_family(conv: str):
    """Every instance with M in 3..5, two requests, s in 1..2, o in 1..3, a in 0..1 that can
    run under ``conv``."""
    per = [(a, s, o) for a in (0, 1) for s in (1, 2) for o in (1, 2, 3)]
    for m in (3, 4, 5):
        for x, y in itertools.combinations_with_replacement(per, 2):
            try:
                yield make_instance(m, [x[2], y[2]], [x[1], y[1]], [x[0], y[0]],
                                    memory_convention=conv)
            except InstanceError:
                continue


@pytest.mark.parametrize(("conv", "profile", "total"), [
    ("spec", [0, 4, 6], 4), ("prefill", [0, 2, 4, 6], 6), ("last-token-free", [0, 2, 4], 4)])
def test_worked_example_by_hand(conv, profile, total):
    """SPEC's worked example (M = 6, s = 1, o = 2, both at 0) under each convention, by hand."""
    inst = make_instance(6, [2, 2], [1, 1], memory_convention=conv)
    rep = validate(inst, Schedule({"r0": 0, "r1": 0}))
    assert rep.valid
    assert rep.memory_profile.tolist() == profile
    assert rep.metrics.total_completion_time == total


def test_conventions_change_feasibility_by_hand():
    """M = 4, s = 2, o = 3: fits only where the peak is s + o - 1 = 4 (hand-computed)."""
    assert make_instance(4, [3], [2], memory_convention="last-token-free").n == 1
    for conv in ("spec", "prefill"):
        with pytest.raises(InstanceError, match="can never run"):
            make_instance(4, [3], [2], memory_convention=conv)
    # Two s = 1, o = 1 requests started together with M = 3: spec holds 2 + 2 at t = 1 (over),
    # prefill 1 + 1 at t = 1 and 2 + 2 at t = 2 (over), last-token-free only 1 + 1 (fits).
    both = Schedule({"r0": 0, "r1": 0})
    expect = {"spec": False, "prefill": False, "last-token-free": True}
    for conv, ok in expect.items():
        inst = make_instance(3, [1, 1], [1, 1], memory_convention=conv)
        assert validate(inst, both).valid is ok


@pytest.mark.parametrize("conv", NAMES)
def test_bruteforce_matches_naive_enumeration_exhaustively(conv):
    """Brute force equals plain enumeration on every instance of a tiny family."""
    count = 0
    for inst in tiny_family(conv):
        sched, value, done, _ = brute_force(inst)
        assert done, inst.to_dict()
        assert value == naive_optimum(inst), inst.to_dict()
        rep = validate(inst, sched)
        assert rep.valid
        assert rep.metrics.total_completion_time == value
        count += 1
    assert count > 100


@pytest.mark.parametrize("conv", NAMES)
def test_milp_and_paths_match_oracle(conv):
    """CP-SAT / HiGHS time-indexed, epoch, cumulative and heuristic agree with the oracle."""
    rng = np.random.default_rng(3)
    for _ in range(4):
        n = 5
        s = rng.integers(1, 4, size=n)
        o = [int(rng.integers(1, 7 - si)) for si in s]
        inst = make_instance(8, o, s.tolist(), rng.integers(0, 3, size=n).tolist(),
                             memory_convention=conv)
        truth = solve(inst, "bruteforce")
        assert truth.status == "optimal"
        for solver, method in (("cpsat", "time-indexed"), ("highs", "time-indexed"),
                               ("cpsat", "epoch"), ("cpsat", "cumulative")):
            res = solve(inst, solver, method=method, time_limit=20)
            assert res.status == "optimal", (solver, method)
            assert res.objective == truth.objective, (solver, method)
            assert res.validation.valid
            assert res.instance is inst
        heur = solve(inst, "cpsat", method="heuristic")
        assert heur.bound <= truth.objective <= heur.objective


@pytest.mark.parametrize("conv", NAMES)
def test_milp_rows_equal_validator_memory(conv):
    """Each memory row of the MILP, evaluated at a schedule, equals the validator's memory."""
    inst = make_instance(9, [3, 2, 4, 1], [1, 2, 1, 3], [0, 0, 1, 2], memory_convention=conv)
    sched = Schedule({"r0": 0, "r1": 1, "r2": 4, "r3": 2})
    model = build_model(inst)
    x = model.values_from_schedule(sched)
    profile = validate(inst, sched).memory_profile
    for row in model.rows:
        lhs = int(np.dot(row.coefs, x[row.vars]))
        assert lhs == (profile[row.time] if row.time < profile.size else 0)
    assert int(np.dot(model.cost, x)) == validate(inst, sched).metrics.total_completion_time


@pytest.mark.parametrize("conv", NAMES)
def test_mcsf_variants_agree_and_validate(conv):
    """MC-SF reference, fast and engine runs give one schedule, valid under the convention."""
    rng = np.random.default_rng(11)
    for _ in range(10):
        n = int(rng.integers(3, 9))
        s = rng.integers(1, 4, size=n)
        o = [int(rng.integers(1, 12 - si)) for si in s]
        inst = make_instance(12, o, s.tolist(), rng.integers(0, 4, size=n).tolist(),
                             memory_convention=conv)
        ref, fast = mcsf_reference(inst), mcsf_fast(inst)
        assert ref.starts == fast.starts
        assert run_policy(inst, "mcsf").schedule.starts == fast.starts
        assert validate(inst, fast).valid
        bench = run_policy(inst, "mc-benchmark")
        assert validate(inst, bench.schedule).valid


def test_prefill_mcsf_differs_from_spec_mcsf():
    """MC-SF planned under SPEC overflows under prefill; planned under prefill it does not."""
    found = False
    rng = np.random.default_rng(5)
    for _ in range(50):
        s = rng.integers(1, 4, size=6)
        inst = make_instance(10, [int(rng.integers(1, 10 - x)) for x in s], s.tolist())
        pre = inst.with_convention("prefill")
        if not validate(pre, mcsf_fast(inst)).valid:
            found = True
            assert validate(pre, mcsf_fast(pre)).valid
    assert found


def test_spec_unchanged():
    """SPEC instances: no JSON field, the same hash formula, spec_equivalent is the identity."""
    inst = make_instance(6, [2, 2], [1, 1])
    assert "memory_convention" not in inst.to_dict()
    core = {"memory_limit": 6, "requests": [["r0", 0, 1, 2], ["r1", 0, 1, 2]]}
    blob = json.dumps(core, sort_keys=True, separators=(",", ":")).encode()
    assert inst.content_hash() == "sha256:" + hashlib.sha256(blob).hexdigest()
    assert spec_equivalent(inst) is inst
    other = inst.with_convention("prefill")
    assert other.content_hash() != inst.content_hash()
    again = instance_from_dict(json.loads(other.to_json()))
    assert again.memory_convention == "prefill"
    assert again == other


def test_bad_convention_and_prompt_errors():
    """Unknown convention names the field and the choices; s = 0 is refused where s - 1 < 0."""
    with pytest.raises(InstanceError, match="memory_convention: must be one of 'spec'"):
        instance_from_dict({"memory_limit": 5, "memory_convention": "lazy",
                            "requests": [{"id": "a", "prompt_tokens": 1, "output_tokens": 1}]})
    with pytest.raises(InstanceError, match=r"request #0 \(id 'r0'\): field 'prompt_tokens' "
                                            r"\(memory_convention 'prefill'\): must be >= 1"):
        make_instance(5, [1], [0], memory_convention="prefill")


def test_unextended_code_refuses_non_spec():
    """Code written for SPEC only (engine, single bounds, non-exact predictions) refuses."""
    from optsched.exact.bounds import volume_bound
    from optsched.policies import make_policy
    from optsched.policies.engine import simulate

    inst = make_instance(8, [2, 3], [1, 1], memory_convention="last-token-free")
    with pytest.raises(SolverError, match="memory_convention 'last-token-free'"):
        simulate(inst, make_policy("mcsf"))
    with pytest.raises(SolverError, match="default memory convention"):
        volume_bound(inst)
    with pytest.raises(SolverError, match="exact predictions only"):
        run_policy(inst, "mcsf", predictions="noisy:0.2")
