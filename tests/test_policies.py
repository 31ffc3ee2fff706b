"""Policies: fast MC-SF equals the reference, every policy is valid, none beats the optimum."""

from __future__ import annotations

import numpy as np
import pytest

from optsched.data.generators import jaillet_model1, jaillet_model2, uniform_instance
from optsched.errors import InstanceError
from optsched.exact.solve import solve
from optsched.model.instance import Request, make_instance
from optsched.policies import (
    POLICIES,
    STANDARD_POLICIES,
    UnknownPolicyError,
    mcsf_fast,
    mcsf_reference,
    run_policy,
)
from optsched.policies.base import NotApplicableError
from optsched.policies.engine import NoProgressError
from optsched.policies.feasibility import FutureMemory
from optsched.policies.mcsf import fits_at_all_completions

LOOKAHEAD = ("algorithm1", "mc-benchmark", "smallest-volume-first", "sorted-f", "a-max", "a-min")


def _random_family(count: int, seed: int = 0):
    """Small instances with arrivals and many ties in output length."""
    rng = np.random.default_rng(seed)
    for k in range(count):
        n = int(rng.integers(1, 14))
        m = int(rng.integers(4, 25))
        s = rng.integers(0, min(4, m - 1) + 1, size=n)
        o = np.array([rng.integers(1, min(m - si, 6) + 1) for si in s])
        a = rng.integers(0, int(rng.integers(1, 12)), size=n)
        yield make_instance(m, o.tolist(), s.tolist(), a.tolist(), name=f"rand{k}")


def test_fast_mcsf_equals_reference_random():
    """mcsf_fast gives the reference's schedule on random instances with arrivals and ties."""
    for inst in _random_family(300):
        assert dict(mcsf_fast(inst).starts) == dict(mcsf_reference(inst).starts), inst.name


def test_fast_mcsf_equals_reference_paper_models_and_lengths():
    """Equal on Jaillet Model 1/2 instances, also when planning with other lengths."""
    for seed in range(15):
        for inst in (jaillet_model1(seed), jaillet_model2(seed)):
            assert dict(mcsf_fast(inst).starts) == dict(mcsf_reference(inst).starts)
            rng = np.random.default_rng(seed)
            cap = inst.memory_limit - inst.prompt
            lengths = np.minimum(cap, np.maximum(1, inst.output + rng.integers(-3, 4, inst.n)))
            assert (dict(mcsf_fast(inst, lengths).starts)
                    == dict(mcsf_reference(inst, lengths).starts))


def test_fast_feasibility_matches_definition():
    """FutureMemory.fits_one / fits_batch agree with the line-by-line SPEC §4 check."""
    rng = np.random.default_rng(5)
    for _ in range(400):
        m = int(rng.integers(5, 30))
        t = int(rng.integers(0, 5))
        core = FutureMemory(m)
        running = []
        for i in range(int(rng.integers(0, 5))):
            p = int(rng.integers(0, t + 1))
            o = int(rng.integers(t - p + 1, t - p + 8))
            s = int(rng.integers(0, 4))
            running.append((p, s, o))
            core.add(i, p, s, p + o)
        cands = [(int(rng.integers(0, 4)), int(rng.integers(1, 8))) for _ in range(4)]
        for k in range(1, 5):
            batch = running + [(t, s, o) for s, o in cands[:k]]
            want = fits_at_all_completions(batch, m)
            got = core.fits_batch(t, [s for s, _ in cands[:k]], [o for _, o in cands[:k]])
            assert got == want
            if k == 1:
                assert core.fits_one(t, *cands[0]) == want


def test_fast_mcsf_rejects_impossible_lengths():
    """A planned length with s + L > M is refused (the reference would loop forever)."""
    inst = make_instance(5, [2, 2], 1)
    with pytest.raises(InstanceError, match="planned length 5"):
        mcsf_fast(inst, [5, 2])


def test_engine_mcsf_equals_reference():
    """algorithm1 through the online engine with exact predictions == mcsf_reference."""
    for inst in _random_family(80, seed=1):
        run = run_policy(inst, "algorithm1", predictions="exact")
        assert dict(run.schedule.starts) == dict(mcsf_reference(inst).starts), inst.name
        assert run.overflows == 0


def test_every_policy_valid_with_arrivals():
    """All policies pass the validator on random instances with arrivals; only the clear-all
    baselines may stop, and then only with the engine's no-progress error (their livelock)."""
    assert set(STANDARD_POLICIES) <= set(POLICIES)
    finished = {name: 0 for name in POLICIES}
    cleared = 0
    for seed in range(8):
        inst = uniform_instance(seed, 15, 60, max_prompt=4, max_arrival=20)
        inst = inst.with_requests([Request(r.id, r.arrival, r.prompt_tokens,
                                           1 + r.output_tokens % 12) for r in inst.requests])
        for name in POLICIES:
            for pred in ("exact", "noisy:0.3", "interval:0.5"):
                try:
                    run = run_policy(inst, name, predictions=pred, seed=seed)
                except NoProgressError:
                    assert name.startswith("alpha")
                    continue
                finished[name] += 1
                assert run.validation.valid
                assert run.objective == run.validation.metrics.total_completion_time
                if pred == "exact" and name in LOOKAHEAD:
                    assert run.overflows == 0, name
                if name.startswith("alpha") and run.overflows:
                    cleared += 1
    assert all(v >= 20 for v in finished.values()), finished
    assert cleared > 0  # the clearing rules were exercised on runs that finished


def test_a_max_never_overflows_with_intervals():
    """A_max plans with the upper ends, which bound the truth: no overflow."""
    for seed in range(10):
        inst = jaillet_model2(seed)
        assert run_policy(inst, "a-max", predictions="interval:1.0", seed=seed).overflows == 0


def test_no_policy_beats_proven_optimum():
    """On tiny instances, every run without overflow (exact predictions) is >= the proven OPT."""
    checked = 0
    for inst in _random_family(60, seed=2):
        if inst.n > 6:
            continue
        opt = solve(inst, "bruteforce", time_limit=20)
        assert opt.status == "optimal"
        for name in POLICIES:
            try:
                run = run_policy(inst, name, predictions="exact")
            except NoProgressError:  # only the documented livelock of clear-all rules
                assert name.startswith("alpha")
                continue
            except NotApplicableError:  # B = 16 blocks do not fit these tiny M
                assert name == "vllm"
                continue
            if run.overflows == 0:
                assert run.objective >= opt.objective, (name, inst.name)
                checked += 1
    assert checked > 100


def test_sorted_f_declines_long_request_in_batch():
    """Sorted-F starts {1} rather than {1, 100} (F = 1 vs 101/4) while MC-SF starts both."""
    inst = make_instance(200, [1, 100], 0)
    assert run_policy(inst, "sorted-f").schedule.starts == {"r0": 0, "r1": 1}
    assert run_policy(inst, "algorithm1").schedule.starts == {"r0": 0, "r1": 0}


def test_mc_benchmark_is_fcfs_order():
    """MC-Benchmark admits in arrival order and blocks behind a request that does not fit: r1
    (a big prompt) cannot run next to r0 until r0 completes at 6, so r2, which arrives later
    and would fit next to r0 at once (MC-SF starts it at its arrival, 2), waits behind r1."""
    inst = make_instance(10, [6, 5, 1], [1, 4, 1], [0, 1, 2])
    run = run_policy(inst, "mc-benchmark")
    assert run.schedule.starts == {"r0": 0, "r1": 6, "r2": 6}
    assert run_policy(inst, "algorithm1").schedule.starts["r2"] == 2  # r2 fits at 2


def test_alpha_beta_clearing_is_seeded():
    """beta-clearing is reproducible for a seed and its parameters are reported."""
    inst = make_instance(30, [10, 10, 10, 10, 3], 2)
    a = run_policy(inst, "alpha-beta-clearing", seed=3, alpha=0.1, beta=0.5)
    b = run_policy(inst, "alpha-beta-clearing", seed=3, alpha=0.1, beta=0.5)
    assert a.schedule == b.schedule
    assert a.parameters == {"alpha": 0.1, "beta": 0.5}


def test_unknown_policy_and_bad_parameter():
    """Unknown names and out-of-range parameters give clear errors."""
    inst = make_instance(10, [2])
    with pytest.raises(UnknownPolicyError, match="unknown policy 'nope'"):
        run_policy(inst, "nope")
    with pytest.raises(Exception, match="alpha must be in"):
        run_policy(inst, "alpha-greedy", alpha=1.5)


def test_cli_schedule_json_contract(run_cli, tmp_path):
    """schedule --json prints policy, objective, total_latency, schedule.starts, overflows."""
    out = tmp_path / "s.json"
    r = run_cli("schedule", "builtin:worked-example", "--policy", "algorithm1", "--json",
                "-o", out)
    assert r.code == 0, r.err
    d = r.json()
    assert d["policy"] == "algorithm1"
    assert d["objective"] == 4
    assert d["total_latency"] == 4
    assert d["schedule"]["starts"] == {"r1": 0, "r2": 0}
    assert d["overflows"] == 0
    assert d["evictions"] == 0
    assert d["validation"]["valid"]
    assert out.exists()
    r = run_cli("schedule", "builtin:default", "--policy", "fcfs", "--prediction", "noisy:0.4",
                "--seed", "2")
    assert r.code == 0
    assert "overflows" in r.out


def test_cli_schedule_bad_input(run_cli):
    """Unknown policy or prediction: one error line, exit 2."""
    r = run_cli("schedule", "builtin:default", "--policy", "nope")
    assert r.code == 2
    assert "unknown policy" in r.err
    assert "Traceback" not in r.err
    r = run_cli("schedule", "builtin:default", "--prediction", "noisy:x")
    assert r.code == 2
    assert "noisy:NUMBER" in r.err


def test_cli_compare_json_and_plots(run_cli, write_json, tmp_path):
    """compare reports exact ratios against a proven optimum, stalls, and writes plots."""
    inst = make_instance(12, [3, 5, 2, 4], [1, 2, 1, 1], [0, 0, 1, 2])
    path = write_json("tiny.json", inst.to_dict())
    r = run_cli("compare", path, "--policies", "algorithm1,fcfs,alpha-greedy,sorted-f",
                "--solver", "bruteforce", "--json", "--plot", tmp_path / "plots")
    assert r.code == 0, r.err
    d = r.json()
    res = d["instances"][0]
    assert res["opt"]["status"] == "optimal"
    for row in res["policies"]:
        if row["status"] == "ok":
            assert row["proven"]
            assert row["ratio"] >= 1
            assert row["ratio"] == row["objective"] / res["opt"]["objective"]
    assert (tmp_path / "plots" / "ratios.png").exists()
    assert (tmp_path / "plots" / "schedules.png").exists()
    r = run_cli("compare", path, "--policies", "algorithm1,bogus")
    assert r.code == 2
    assert "bogus" in r.err


def test_cli_compare_generated_family(run_cli):
    """compare on a generated family runs every instance and summarises per policy."""
    r = run_cli("compare", "uniform:2:4:12", "--policies", "algorithm1,mc-benchmark",
                "--solver", "bruteforce", "--json")
    assert r.code == 0, r.err
    d = r.json()
    assert [x["instance"] for x in d["instances"]] == ["uniform-n4-M12-seed0",
                                                       "uniform-n4-M12-seed1"]
    s = d["summary"]["algorithm1"]
    assert s["instances"] == 2
    assert s["proven"] == 2
    assert s["max_ratio_lo"] >= 1
    r = run_cli("compare", "uniform:2:4:3")
    assert r.code == 2
    assert "uniform:K[:N[:M]]" in r.err


def test_stale_overfull_plan_does_not_block_forever():
    """A planned overload that lies in the past (wrong predictions) must not block admission."""
    core = FutureMemory(10)
    core.add(0, 0, 2, 3)
    core.add(1, 0, 2, 4)  # planned memory at 3: (2+3) + (2+3) = 10 ok; add one more over M
    core.add(2, 0, 3, 3)
    assert not core.fits_one(0, 0, 1)  # R alone is over M at c = 3
    for i in core.expired(4):
        core.complete(i)
    assert len(core) == 0
    assert core.fits_one(4, 1, 2)  # everything finished: a new request fits


def test_cli_compare_without_optimum(run_cli):
    """--no-opt runs the policies only; an optimum that cannot be solved is reported, not fatal."""
    r = run_cli("compare", "builtin:default", "--policies", "algorithm1,fcfs", "--no-opt",
                "--json")
    assert r.code == 0, r.err
    res = r.json()["instances"][0]
    assert res["opt"]["status"] == "not attempted"
    assert all(row["ratio"] is None and row["objective"] > 0 for row in res["policies"])
    r = run_cli("compare", "builtin:default", "--policies", "algorithm1", "--solver",
                "bruteforce")  # 10 requests: too many for the brute-force oracle
    assert r.code == 0
    assert "optimum not solved" in r.out
