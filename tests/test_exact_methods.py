"""Solve paths (method=) and the benchmark harness: agreement with the oracle, honest labels."""

from __future__ import annotations

import pytest
from test_bounds import PEAK

from optsched import make_instance, validate
from optsched.data.generators import jaillet_model1
from optsched.errors import OptschedError, SolverError
from optsched.exact import solve
from optsched.studies.benchmark import (
    FRONTIER_HORIZONS,
    FRONTIER_SIZES,
    VARIANTS,
    Case,
    cactus_plot,
    disagreements,
    instance_set,
    read_parquet,
    resolve_variant,
    run_benchmark,
    run_one,
    summarize,
    summary_table,
    write_parquet,
)


@pytest.mark.parametrize("solver", ["cpsat", "highs"])
def test_epoch_method_matches_oracle(solver, oracle):
    """method='epoch' proves exactly the brute-force optimum on the exhaustive peak family."""
    for inst, want in zip(PEAK[::2], oracle[::2], strict=True):
        res = solve(inst, solver, method="epoch")
        assert res.status == "optimal"
        assert res.objective == want
        assert res.bound == want
        assert validate(inst, res.schedule).valid


def test_heuristic_method_is_honest(oracle):
    """method='heuristic' says optimal only when its bound meets the oracle optimum."""
    for inst, want in zip(PEAK, oracle, strict=True):
        res = solve(inst, "cpsat", method="heuristic")
        assert res.bound <= want <= res.objective
        assert (res.status == "optimal") == (res.objective == want == res.bound)
        assert validate(inst, res.schedule).valid


def test_epoch_method_reports_a_stronger_bound_when_time_runs_out():
    """On a 20-request Model 1 instance a 1 s 'epoch' solve reports at least the epoch bound."""
    from optsched.exact.bounds import epoch_bound

    inst = jaillet_model1(3, n_range=(20, 20))
    res = solve(inst, "cpsat", time_limit=1.0, method="epoch")
    assert res.status in ("feasible", "optimal")
    assert res.bound >= epoch_bound(inst)
    assert res.bound <= res.objective


def test_unknown_method_is_refused():
    """A misspelt method is a SolverError naming the choices."""
    with pytest.raises(SolverError, match="unknown method"):
        solve(make_instance(5, [2], 1), "cpsat", method="fast")


def test_harness_rows_summary_and_parquet(tmp_path):
    """run_one rows summarise, round-trip through Parquet and plot; proven optima agree."""
    cases = instance_set("quick")[:1]
    rows = [run_one(c, resolve_variant(v), time_limit=5) for c in cases
            for v in ("cpsat-epoch", "cpsat:heuristic")]  # an old name and the one naming
    assert all(r["schedule_valid"] for r in rows)
    assert disagreements(rows) == []
    summ = summarize(rows)
    assert {s["variant"] for s in summ} == {"cpsat:epoch", "cpsat:heuristic"}
    assert "proven" in summary_table(rows)
    write_parquet(rows, tmp_path / "r.parquet")
    assert read_parquet(tmp_path / "r.parquet") == rows
    cactus_plot(rows, tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 1000


def test_benchmark_checkpoint_resumes_without_rerunning(tmp_path, monkeypatch):
    """With a checkpoint, every finished row is on disk at once; a second run with the same
    file runs only the solves not recorded there (same rows back, in task order), and a torn
    last line only costs that solve."""
    from optsched.studies import benchmark

    cases, variant = instance_set("quick")[:2], [VARIANTS["cpsat:heuristic"]]
    path = tmp_path / "rows.jsonl"
    first = run_benchmark(cases, variant, time_limit=5, progress=False, checkpoint=path)
    assert len(path.read_text().splitlines()) == 2
    ran = []
    real = benchmark._run_packed
    monkeypatch.setattr(benchmark, "_run_packed", lambda task: ran.append(task) or real(task))
    again = run_benchmark(cases, variant, time_limit=5, progress=False, checkpoint=path)
    assert ran == []
    assert [r["instance"] for r in again] == [r["instance"] for r in first]
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n" + lines[1][:40])  # killed while writing the second row
    third = run_benchmark(cases, variant, time_limit=5, progress=False, checkpoint=path)
    assert [t[0].name for t in ran] == [cases[1].name]
    assert [r["objective"] for r in third] == [r["objective"] for r in first]
    run_benchmark(cases, variant, time_limit=5, progress=False, checkpoint=path)
    assert len(ran) == 1  # the recomputed row was kept on a line of its own
    longer = run_benchmark(cases[:1], variant, time_limit=6, progress=False, checkpoint=path)
    assert len(ran) == 2
    assert longer[0]["time_limit"] == 6.0


def test_benchmark_refuses_a_checkpoint_that_is_not_one(tmp_path, run_cli):
    """A checkpoint file that holds no benchmark rows (here a Parquet file) is refused, exit 2
    from the CLI, and left byte for byte as it was."""
    other = tmp_path / "rows.parquet"
    write_parquet([{"a": 1}], other)
    before = other.read_bytes()
    with pytest.raises(OptschedError, match="holds no benchmark rows"):
        run_benchmark(instance_set("quick")[:1], [VARIANTS["cpsat:heuristic"]], time_limit=5,
                      progress=False, checkpoint=other)
    r = run_cli("bench", "exact", "--quick", "--limit", "1", "--variants", "heuristic",
                "--checkpoint", other, "--no-progress")
    assert r.code == 2
    assert "holds no benchmark rows" in r.err
    assert "Traceback" not in r.err
    assert other.read_bytes() == before


def test_disagreement_detection():
    """Two 'optimal' rows with different objectives, or a bound above an objective, are flagged."""
    base = {"instance": "x", "bound": 10, "objective": 10, "status": "optimal"}
    assert disagreements([base, dict(base, objective=11, bound=11)])
    assert disagreements([base, dict(base, status="feasible", objective=12, bound=12)])
    assert not disagreements([base, dict(base, status="feasible", objective=12, bound=9)])


def test_cases_are_reproducible():
    """A benchmark case rebuilds the same instance every time (fixed seed)."""
    assert Case("m1", 4).instance().content_hash() == Case("m1", 4).instance().content_hash()
    assert len(instance_set("paper")) == 40
    traces = instance_set("traces")
    assert len(traces) == 9
    assert all(c.instance().n == 40 for c in traces[::3])
    frontier = instance_set("frontier")
    assert [c.instance().n for c in frontier if c.family.startswith("m1")] == \
        [n for n in FRONTIER_SIZES for _ in range(3)]
    assert {c.instance().metadata["generator"]["horizon"] for c in frontier
            if c.family.startswith("m2")} == set(FRONTIER_HORIZONS)


def test_auto_variant_runs_the_default_path():
    """The `auto` variant is the default solve path: on a tiny instance it runs the portfolio
    and proves the same optimum as the portfolio variant."""
    case = instance_set("quick")[0]
    auto, portfolio = (run_one(case, VARIANTS[v], time_limit=10)
                       for v in ("cpsat:auto", "cpsat:portfolio"))
    assert auto["method"] == "portfolio"
    assert auto["status"] == "optimal"
    assert disagreements([auto, portfolio]) == []
    assert auto["objective"] == portfolio["objective"]


def test_cli_bench_exact(run_cli, tmp_path):
    """`optsched bench exact` prints the table, writes Parquet + PNG, keeps only the chosen
    families; bad input exits 2."""
    out = tmp_path / "b.parquet"
    r = run_cli("bench", "exact", "--set", "quick", "--limit", "1", "--variants", "heuristic",
                "--out", out, "--plot", tmp_path / "b.png", "--no-progress")
    assert r.code == 0, r.err
    assert "heuristic" in r.out
    assert out.exists()
    assert (tmp_path / "b.png").exists()
    r = run_cli("bench", "exact", "--variants", "nope", "--no-progress")
    assert r.code == 2
    assert "unknown variant 'nope'" in r.err
    r = run_cli("bench", "exact", "--time-limit", "0")
    assert r.code == 2
    assert "--time-limit" in r.err
    r = run_cli("bench", "exact", "--set", "frontier", "--families", "m1-n12,m1-n99")
    assert r.code == 2
    assert "m1-n99 not in set frontier" in r.err
    assert "m2-h10" in r.err
    r = run_cli("bench", "exact", "--families", " , ")
    assert r.code == 2
    assert "no family named" in r.err
    r = run_cli("bench", "exact", "--quick", "--families", "m2-tiny", "--limit", "1",
                "--variants", "heuristic", "--json", "--no-progress")
    assert r.code == 0
    assert [row["family"] for row in r.json()["rows"]] == ["m2-tiny"]
    r = run_cli("bench", "exact", "--quick", "--limit", "1", "--variants", "heuristic", "--json",
                "--no-progress")
    assert r.code == 0
    assert r.json()["summary"]


def test_spaced_mcsf_without_spacing_is_mcsf():
    """spacing=0 and no cap reproduce the MC-SF reference exactly (with and without arrivals)."""
    from optsched.data.generators import jaillet_model2
    from optsched.exact.heuristics import spaced_mcsf
    from optsched.policies.mcsf import mcsf_reference

    for inst in (jaillet_model1(1, n_range=(12, 12)), jaillet_model2(2, horizon_range=(6, 8))):
        assert spaced_mcsf(inst).starts == mcsf_reference(inst).starts


def test_best_spaced_schedule_staggers_identical_requests():
    """On 30 identical requests the spacing search beats MC-SF with a valid staggered schedule."""
    from optsched.exact.heuristics import best_spaced_schedule, spaced_mcsf

    inst = make_instance(40, [19] * 30, 1)
    sched, value, (cap, spacing) = best_spaced_schedule(inst)
    mcsf_value = validate(inst, spaced_mcsf(inst)).metrics.total_completion_time
    assert validate(inst, sched).valid
    assert value == validate(inst, sched).metrics.total_completion_time < mcsf_value
    assert spacing > 0
    with pytest.raises(ValueError, match="spacing"):
        spaced_mcsf(inst, spacing=-1)


def test_completion_caps_keep_every_optimal_completion(oracle):
    """With the optimum as the incumbent value, every request of a brute-force optimal
    schedule completes within its cap (models/time_indexed.md), on the exhaustive family."""
    from optsched.exact.bounds import completion_caps

    for inst, want in zip(PEAK[::3], oracle[::3], strict=True):
        best = solve(inst, "bruteforce").schedule
        caps = completion_caps(inst, want)
        for i, r in enumerate(inst.requests):
            assert best.starts[r.id] + r.output_tokens <= caps[i]


def test_caps_shrink_the_windows_and_an_empty_window_is_refused():
    """Caps from the optimum shrink the time-indexed windows of a 12-request instance; a cap
    below a + o empties a window, which is refused with the request's id."""
    import numpy as np

    from optsched.exact.bounds import completion_caps
    from optsched.exact.formulation import start_windows

    inst = jaillet_model1(4, n_range=(12, 12))
    upper = solve(inst, "cpsat", method="heuristic").objective
    _, plain = start_windows(inst, upper)
    _, capped = start_windows(inst, upper, completion_caps(inst, upper))
    assert sum(h - lo for lo, h in capped) < 0.9 * sum(h - lo for lo, h in plain)
    low = np.array(inst.output) - 1
    with pytest.raises(SolverError, match=inst.ids[0]):
        start_windows(inst, upper, low)


@pytest.mark.parametrize("method", ["epoch", "portfolio"])
def test_solve_with_caps_matches_oracle(method, oracle, monkeypatch):
    """With completion caps switched on, the epoch and portfolio paths still prove exactly the
    brute-force optimum on the exhaustive peak family."""
    import importlib

    monkeypatch.setattr(importlib.import_module("optsched.exact.solve"), "CAPS_MAX_REQUESTS", 20)
    for inst, want in zip(PEAK[1::4], oracle[1::4], strict=True):
        res = solve(inst, "cpsat", method=method)
        assert res.status == "optimal"
        assert res.objective == want
