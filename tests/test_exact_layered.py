"""CP-SAT as a bound prover (method='layered'): exact decomposition, oracle agreement, the
before/after benchmark table."""

from __future__ import annotations

import numpy as np
import pytest
from test_bounds import PEAK
from test_core_exact import FAMILIES

from optsched import validate
from optsched.data.generators import jaillet_model1, jaillet_model2
from optsched.errors import SolverError
from optsched.exact import solve
from optsched.exact.backends import SolveParameters
from optsched.exact.bounds import lower_bound
from optsched.exact.layered import PROFILES, layered_rectangles, run_layered
from optsched.policies import mcsf_fast
from optsched.studies.benchmark import (
    VARIANTS,
    baseline_summary,
    baseline_table,
    instance_set,
    run_benchmark,
)


def _layered_memory(inst, schedule) -> np.ndarray:
    """Memory per round summed from the layered rectangles of every request."""
    end = max(schedule.starts[r.id] + r.output_tokens for r in inst.requests)
    mem = np.zeros(end + 1, dtype=np.int64)
    for r in inst.requests:
        p = schedule.starts[r.id]
        for first, length, height in layered_rectangles(r.prompt_tokens, r.output_tokens):
            mem[p + first: p + first + length] += height
    return mem


@pytest.mark.parametrize("seed", range(4))
def test_layered_decomposition_equals_validator_memory(seed):
    """The prompt rectangle plus the o unit layers give the validator's memory in every round."""
    for inst in (jaillet_model1(seed, n_range=(15, 25)), jaillet_model2(seed)):
        sched = mcsf_fast(inst)
        report = validate(inst, sched)
        mem = _layered_memory(inst, sched)
        prof = report.memory_profile
        size = max(mem.size, prof.size)
        assert np.array_equal(np.pad(mem, (0, size - mem.size)),
                              np.pad(prof, (0, size - prof.size)))


def test_layered_rectangles_end_at_completion():
    """Every rectangle ends at the completion round (first + length - 1 == o)."""
    for s, o in ((0, 1), (3, 1), (2, 7)):
        rects = layered_rectangles(s, o)
        assert all(first + length - 1 == o for first, length, _ in rects)
        assert sum(h for *_, h in rects) == s + o


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_layered_matches_oracle_on_exhaustive_family(family):
    """method='layered' proves the brute-force optimum on every 10th tiny instance."""
    for inst in FAMILIES[family][::10]:
        want = solve(inst, "bruteforce").objective
        res = solve(inst, "cpsat", method="layered")
        assert (res.status, res.objective, res.bound) == ("optimal", want, want), inst.to_dict()
        assert validate(inst, res.schedule).valid


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_each_profile_proves_the_oracle_value_when_cpsat_must_run(profile):
    """Where the combinatorial bound is below the optimum, CP-SAT (each worker mix, 1 and 2
    threads) proves exactly the oracle's value; the cut and the hint do not cut it off."""
    ran = 0
    for inst in PEAK[::8]:
        want = solve(inst, "bruteforce").objective
        lower = lower_bound(inst).value
        if lower >= want:
            continue
        for threads in (1, 2):
            res = solve(inst, "cpsat", method="layered", profile=profile, threads=threads)
            assert (res.status, res.objective) == ("optimal", want), inst.to_dict()
            ran += "CP-SAT profile" in res.raw_status
    assert ran >= 2  # the CP-SAT part ran, not only LNS meeting the bound


def test_layered_agrees_with_cumulative_on_small_instances():
    """Where both prove optimality on 9-10 request instances, the optima are equal."""
    both = 0
    for seed in range(3):
        inst = jaillet_model1(seed, n_range=(9, 10))
        a = solve(inst, "cpsat", method="layered", time_limit=10)
        b = solve(inst, "cpsat", method="cumulative", time_limit=10)
        assert validate(inst, a.schedule).valid
        assert a.bound <= b.objective
        assert b.bound <= a.objective
        if a.status == b.status == "optimal":
            both += 1
            assert a.objective == b.objective
    assert both >= 2


def test_layered_refuses_other_memory_conventions():
    """An instance declaring another memory convention is refused with a clear error."""
    inst = jaillet_model1(0, n_range=(5, 5)).with_convention("prefill")
    with pytest.raises(SolverError, match="memory convention"):
        run_layered(inst, SolveParameters(time_limit=1), mcsf_fast(inst), 0)


def test_profile_errors():
    """An unknown profile, or a profile with another method, is refused naming the choices."""
    inst = jaillet_model1(0, n_range=(5, 5))
    with pytest.raises(SolverError, match="lbtree"):
        solve(inst, "cpsat", method="layered", profile="nope")
    with pytest.raises(SolverError, match="layered"):
        solve(inst, "cpsat", method="epoch", profile="lbtree")
    with pytest.raises(SolverError, match="CP-SAT only"):
        solve(inst, "highs", method="layered")


def test_baseline_table_on_quick_set():
    """The before/after table: one row per family and variant plus 'all', the baseline's own
    ratios are exactly 1, and both variants prove the quick set."""
    cases = [c for c in instance_set("quick") if c.seed < 1]
    rows = run_benchmark(cases, [VARIANTS["cpsat:auto"], VARIANTS["cpsat:layered"]], 5.0,
                         progress=False)
    summary = baseline_summary(rows, "auto")  # the old name of cpsat:auto still works
    keys = {(s["family"], s["variant"]) for s in summary}
    assert keys == {(f, v) for f in ("m1-tiny", "m2-tiny", "all")
                    for v in ("cpsat:auto", "cpsat:layered")}
    for s in summary:
        assert s["proven"] == s["runs"]
        assert s["proven_delta"] == 0
        if s["variant"] == "cpsat:auto":
            assert s["objective_ratio"] == 1.0
            assert s["bound_ratio"] == 1.0
    assert "vs cpsat:auto" in baseline_table(rows, "auto")


def test_baseline_summary_ratios():
    """Ratios and proven delta are computed per instance against the baseline's row."""
    def row(inst, variant, obj, bound):
        return {"instance": inst, "family": "f", "variant": variant, "objective": obj,
                "bound": bound, "gap": (obj - bound) / obj,
                "status": "optimal" if obj == bound else "feasible"}
    rows = [row("a", "base", 100, 80), row("a", "new", 90, 90),
            row("b", "base", 200, 200), row("b", "new", 200, 150)]
    new = {s["family"]: s for s in baseline_summary(rows, "base") if s["variant"] == "new"}
    assert new["f"]["objective_ratio"] == pytest.approx((0.9 + 1.0) / 2)
    assert new["f"]["bound_ratio"] == pytest.approx((90 / 80 + 150 / 200) / 2)
    assert new["f"]["proven_delta"] == 0
    assert new["all"]["runs"] == 2
    with pytest.raises(Exception, match="no result of variant"):
        baseline_summary(rows, "missing")


def test_cli_baseline_must_be_a_variant(run_cli):
    """--baseline naming no variant at all exits 2 with one line."""
    r = run_cli("bench", "exact", "--set", "quick", "--variants", "heuristic", "--baseline",
                "cpsat:nosuchmethod", "--no-progress")
    assert r.code == 2
    assert "unknown variant" in r.err
    assert "Traceback" not in r.err


def test_cli_baseline_not_in_variants_is_run_too(run_cli):
    """--baseline need not be repeated in --variants (issue 26): it is run as well."""
    r = run_cli("bench", "exact", "--set", "quick", "--limit", "1", "--variants",
                "cpsat:heuristic", "--baseline", "highs:heuristic", "--time-limit", "5",
                "--no-progress", "--json")
    assert r.code == 0, r.err
    data = r.json()
    assert {row["variant"] for row in data["rows"]} == {"cpsat:heuristic", "highs:heuristic"}
    assert data["baseline"] == "highs:heuristic"


def test_cli_prints_the_baseline_table(run_cli):
    """`bench exact --baseline` prints the before/after table after the summary, and in JSON."""
    args = ("bench", "exact", "--set", "quick", "--limit", "1", "--variants", "heuristic",
            "--baseline", "heuristic", "--time-limit", "5", "--no-progress")
    r = run_cli(*args)
    assert r.code == 0
    assert "against cpsat:heuristic" in r.out
    assert "objective ratio" in r.out
    r = run_cli(*args, "--json")
    assert r.code == 0
    assert '"baseline_summary"' in r.out
