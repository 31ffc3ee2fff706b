"""Reproduction of Jaillet et al. (2025): trials, cached optima, intervals, report, trace."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import optsched.studies.reproduce as rp
from optsched.errors import OptschedError
from optsched.exact import Status, solve
from optsched.exact.bounds import lower_bound, trivial_bound
from optsched.model.validate import validate

#: Instances small enough that every optimum is proven in well under a second.
TINY = {1: {"n_range": (3, 5), "m_range": (6, 9), "s_range": (1, 2)},
        2: {"horizon_range": (3, 4), "m_range": (6, 9), "s_range": (1, 2)}}


@pytest.fixture
def tiny_scale(monkeypatch):
    """Register a 'tiny' generator scale for the duration of a test."""
    monkeypatch.setitem(rp.SCALES, "tiny", TINY)
    return "tiny"


def _config(scale: str, **kw) -> rp.SyntheticConfig:
    base = dict(trials=2, scale=scale, time_limit=20.0, policies=("mcsf", "mc-benchmark"))
    return rp.SyntheticConfig(**{**base, **kw})


def test_ratio_interval_bounds():
    """policy/OPT with OPT in [lower, upper] is [value/upper, value/lower]; zero lower -> inf."""
    assert rp.ratio_interval(120, 100, 110) == (120 / 110, 120 / 100)
    assert rp.ratio_interval(5, 5, 5) == (1.0, 1.0)
    assert rp.ratio_interval(5, 0, 4)[1] == math.inf


def test_trial_instances_follow_spec_ranges():
    """Paper-scale trials respect the paper's ranges: M in 30..50, n in 40..60, s in 1..5,
    s + o <= M."""
    for seed in range(5):
        inst = rp.trial_instance(1, seed)
        assert 30 <= inst.memory_limit <= 50
        assert 40 <= inst.n <= 60
        assert inst.prompt.min() >= 1
        assert inst.prompt.max() <= 5
        assert (inst.prompt + inst.output <= inst.memory_limit).all()
        assert (inst.arrival == 0).all()
        inst2 = rp.trial_instance(2, seed)
        assert inst2.arrival.max() < inst2.metadata["generator"]["horizon"]


def test_study_writes_report_parquet_and_figures(tmp_path, tiny_scale):
    """A tiny run writes every artefact; proven rows have equal interval ends and ratio >= 1."""
    cfg = _config(tiny_scale)
    summary = rp.run_study(tmp_path, cfg, None, None, "optsched reproduce jaillet2025 (test)",
                           progress=False)
    rows = pq.read_table(tmp_path / "results.parquet").to_pylist()
    assert len(rows) == 2 * 2 * 2  # models x trials x policies
    for r in rows:
        inst = rp.trial_instance(r["model"], r["seed"], tiny_scale)
        assert r["n"] == inst.n
        assert r["instance_hash"] == inst.content_hash()
        assert r["opt_proven"], "tiny instances must be proven"
        assert r["ratio_lo"] == pytest.approx(r["ratio_hi"])
        assert r["ratio_lo"] >= 1 - 1e-12
        assert r["completion"] >= r["opt_upper"]
        # the recorded optimum agrees with an independent brute-force solve
        assert solve(inst, "bruteforce").objective == r["opt_upper"]
    report = (tmp_path / "report.md").read_text()
    assert "1.005" in report
    assert "1.074" in report
    assert "114 of 200" in report
    assert "1.047" in report
    assert "1.227" in report
    assert "Scaled-down instances" in report
    for name in ("ratios-model1.png", "ratios-model2.png", "example-gantt.png"):
        assert (tmp_path / "figures" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"figures/{name}" in report
    mc = [s for s in summary["synthetic"] if s["policy"] == "mcsf"]
    assert [s["proven"] for s in mc] == [2, 2]
    # every proven optimum has a certificate that `optsched verify` accepts
    from optsched.exact.certificate import load_certificate, verify_certificate

    certs = sorted((tmp_path / "certificates").glob("*.json"))
    assert len(certs) == 4
    assert {r["certificate"] for r in rows} == {
        f"certificates/{c.name}" for c in certs}
    for c in certs:
        check = verify_certificate(load_certificate(c))
        assert check.ok, check.problems
        assert check.status == "optimal", check.problems


def test_resume_uses_cache_and_skips_solver(tmp_path, tiny_scale, monkeypatch):
    """A second run over the same directory reuses every cached optimum without solving."""
    cfg = _config(tiny_scale)
    first = rp.run_synthetic(cfg, tmp_path, progress=False)

    def boom(*a, **k):
        raise AssertionError("solver called although the optimum is cached")

    monkeypatch.setattr(rp.cache, "solve", boom)
    again = rp.run_synthetic(cfg, tmp_path, progress=False)
    assert again == first


def test_cache_ignores_truncated_line_and_rejects_wrong_entries(tmp_path, tiny_scale):
    """A half-written last line is skipped; an entry whose schedule value is wrong is not used."""
    inst = rp.trial_instance(1, 0, tiny_scale)
    path = tmp_path / "solves.jsonl"
    cache = rp.SolveCache(path)
    entry = rp.hindsight_optimum(inst, "cpsat", 20.0, 1, cache)
    assert entry.proven
    bad = dataclasses.replace(entry, upper=entry.upper - 1, lower=entry.upper - 1)
    with open(path, "a") as fh:
        fh.write(json.dumps(dataclasses.asdict(bad)) + "\n" + '{"instance_hash": "sha')
    reread = rp.SolveCache(path)
    assert len(reread.entries[inst.content_hash()]) == 2
    hit = reread.lookup(inst, "cpsat", 20.0)
    assert hit is not None
    assert hit.upper == entry.upper


def test_unproven_optimum_gives_interval(tmp_path, tiny_scale, monkeypatch):
    """If the solver proves nothing, ratios become [value/best, value/bound] and none is called
    optimal; the report says how many trials were proven."""
    real = solve

    def weak(instance, solver="cpsat", **kw):
        res = real(instance, solver, **kw)
        return dataclasses.replace(res, status=Status.FEASIBLE, bound=res.bound - 2)

    monkeypatch.setattr(rp.cache, "solve", weak)
    cfg = _config(tiny_scale, models=(1,), policies=("mcsf",))
    rows = rp.run_synthetic(cfg, tmp_path, progress=False)
    for r in rows:
        assert not r["opt_proven"]
        assert r["opt_status"] == "feasible"
        assert r["ratio_lo"] < r["ratio_hi"]
        assert r["policy_optimal"] in (None, False)
    text = rp.render_report(rp.ReportInputs("cmd", cfg, rows, None, {}, 0.0, rp.versions()))
    assert "0 of 2 hindsight optima were proven" in text
    assert "| 1 | trials proven optimal | – | 0 of 2 |" in text


def test_failed_policy_is_recorded_not_fatal(tmp_path, tiny_scale, monkeypatch):
    """A policy that raises is reported as an invalid run with its reason; MC-SF still counts."""
    import optsched.studies.policy_runs as policy_runs

    real = policy_runs._registry

    def registry():
        run, names = real()

        def run_policy(instance, name, seed=0):
            if name == "mc-benchmark":
                from optsched.errors import OptschedError
                raise OptschedError("stuck")
            return run(instance, name, seed=seed)

        return run_policy, names

    monkeypatch.setattr(policy_runs, "_registry", registry)
    rows = rp.run_synthetic(_config(tiny_scale, models=(1,)), tmp_path, progress=False)
    bad = [r for r in rows if r["policy"] == "mc-benchmark"]
    assert all(not r["valid"] and "stuck" in r["problems"] for r in bad)
    assert all(r["valid"] for r in rows if r["policy"] == "mcsf")


def test_policy_outcomes_are_validated():
    """Every policy outcome's numbers come from the independent validator."""
    inst = rp.trial_instance(2, 3)
    for name in ("mcsf", "mc-benchmark"):
        o = rp.run_one_policy(inst, name)
        report = validate(inst, o.schedule)
        assert o.valid
        assert report.valid
        assert o.latency == report.metrics.total_latency


def _azure_csv(path: Path, rows: int = 40) -> Path:
    lines = ["TIMESTAMP,ContextTokens,GeneratedTokens"]
    lines += [f"2023-11-16 18:15:{i % 60:02d}.0000000,{50 + 37 * i % 400},{5 + 13 * i % 90}"
              for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_trace_study_cli(tmp_path, run_cli):
    """The trace study runs from the CLI on an Azure-format CSV and compares both policies."""
    csv = _azure_csv(tmp_path / "conv.csv")
    res = run_cli("reproduce", "jaillet2025", "--no-synthetic", "--trace", csv,
                  "--trace-requests", "30", "--policies", "mcsf,mc-benchmark",
                  "-o", tmp_path / "out", "--no-progress", "--json")
    assert res.code == 0, res.err
    data = res.json()
    runs = data["trace"]["runs"]
    assert {(r["load_factor"], r["policy"]) for r in runs} == {
        (4.0, "mcsf"), (4.0, "mc-benchmark"), (0.8, "mcsf"), (0.8, "mc-benchmark")}
    assert all(r["valid"] and r["mean_latency"] >= 1 for r in runs)
    report = (tmp_path / "out" / "report.md").read_text()
    assert "Real-trace study" in report
    assert "Vidur" in report
    assert str(tmp_path) not in report  # no machine paths in the report


def test_read_trace_lengths_formats(tmp_path):
    """Azure files, length files and shipped samples are read; unknown formats are refused."""
    p, o, name, digest = rp.read_trace_lengths(_azure_csv(tmp_path / "a.csv", 5))
    assert name == "a.csv"
    assert len(p) == len(o) == 5
    assert digest.startswith("sha256:")
    v = tmp_path / "v.csv"
    v.write_text("num_prefill_tokens,num_decode_tokens,num_total_tokens,pd_ratio\n10,5,15,2\n")
    p, o, _, _ = rp.read_trace_lengths(v)
    assert p.tolist() == [10]
    assert o.tolist() == [5]
    p, o, name, _ = rp.read_trace_lengths("azure-conv")
    assert name == "AzureLLMInferenceTrace_conv.csv"
    assert p.size == o.size > 100
    bad = tmp_path / "b.csv"
    bad.write_text("x,y\n1,2\n")
    with pytest.raises(OptschedError, match="unrecognised format"):
        rp.read_trace_lengths(bad)


@pytest.mark.parametrize(("args", "message"), [
    (["--trials", "0"], "trials must be >= 1"),
    (["--policies", "nope"], "unknown policy"),
    (["--policies", "mc-benchmark"], "must include mcsf"),
    (["--trace", "missing.csv"], "trace file not found"),
    (["--no-synthetic", "--no-trace"], "nothing to run"),
    (["--trace", "no-such-sample"], "trace file not found"),
    (["--time-limit", "0"], "time limit must be > 0"),
    (["--bound-effort", "slow"], "invalid choice"),
])
def test_reproduce_bad_input(tmp_path, run_cli, args, message):
    """Bad options fail fast with exit 2 and one clear line, before any work."""
    res = run_cli("reproduce", "jaillet2025", "-o", tmp_path / "o", *args)
    assert res.code == 2
    assert message in res.err
    assert "Traceback" not in res.err
    assert not (tmp_path / "o").exists()


def test_fast_bound_effort_reaches_the_solves_and_the_report(tmp_path, run_cli, monkeypatch):
    """--bound-effort fast gives every trial the fast combinatorial bound as its lower end, and
    the report names the effort and repeats the flag in its command."""
    monkeypatch.setitem(rp.SCALES, "small", TINY)
    out = tmp_path / "f"
    res = run_cli("reproduce", "jaillet2025", "--trials", "2", "--models", "1", "--scale",
                  "small", "--method", "heuristic", "--bound-effort", "fast", "--no-trace",
                  "--no-progress", "-o", out)
    assert res.code == 0, res.err
    report = (out / "report.md").read_text()
    assert "--bound-effort fast" in report
    assert "effort `fast`" in report
    for r in pq.read_table(out / "results.parquet").to_pylist():
        inst = rp.trial_instance(1, r["seed"], "small")
        assert r["opt_lower"] == lower_bound(inst, effort="fast").value


def test_cache_lookup_respects_method(tmp_path, tiny_scale):
    """An unproven answer of one method is not reused for another; a proven one is."""
    inst = rp.trial_instance(1, 1, tiny_scale)
    cache = rp.SolveCache(tmp_path / "solves.jsonl")
    entry = rp.hindsight_optimum(inst, "cpsat", 20.0, 1, cache, method="epoch")
    assert entry.proven
    assert entry.method == "epoch"
    assert cache.lookup(inst, "highs", 1.0, "time-indexed") is entry  # proven: any request
    weak = dataclasses.replace(entry, status="feasible", lower=entry.lower - 1,
                               method="heuristic")
    cache2 = rp.SolveCache(tmp_path / "other.jsonl")
    cache2.add(weak)
    assert cache2.lookup(inst, "cpsat", 20.0, "heuristic") == weak
    assert cache2.lookup(inst, "cpsat", 20.0, "epoch") is None
    assert cache2.lookup(inst, "cpsat", 30.0, "heuristic") is None  # longer limit asked


def test_quick_cli_defaults(tmp_path, run_cli, monkeypatch):
    """--quick runs 3 trials per model with 5 s solves and the trace sample, and says so."""
    monkeypatch.setitem(rp.SCALES, "small", TINY)
    out = tmp_path / "q"
    res = run_cli("reproduce", "jaillet2025", "--quick", "--scale", "small", "-o", out,
                  "--trace-requests", "40", "--no-progress")
    assert res.code == 0, res.err
    assert "model 1: MC-SF proven optima 3/3" in res.out
    report = (out / "report.md").read_text()
    assert "optsched reproduce jaillet2025 --quick" in report
    assert "3 seeded trials per model" in report
    assert "time limit of 5 s" in report
    assert "AzureLLMInferenceTrace_conv.csv" in report  # the shipped sample by default
    rows = pq.read_table(out / "results.parquet").to_pylist()
    assert {r["trial"] for r in rows} == {0, 1, 2}
    assert {r["policy"] for r in rows} == set(rp.default_policies())


def test_auto_method_is_recorded_as_the_method_that_ran(tmp_path, tiny_scale):
    """'auto' is resolved before solving: the cache entry, the rows and the report name it."""
    from optsched import __version__
    from optsched.exact.solve import choose_method

    inst = rp.trial_instance(1, 0, tiny_scale)
    cache = rp.SolveCache(tmp_path / "solves.jsonl")
    entry = rp.hindsight_optimum(inst, "cpsat", 20.0, 1, cache, method="auto")
    chosen = choose_method(inst, "cpsat")
    assert entry.method == chosen != "auto"
    assert entry.optsched_version == __version__
    assert cache.lookup(inst, "cpsat", 20.0, chosen) is entry
    rows = rp.run_synthetic(_config(tiny_scale, method="auto"), tmp_path / "run",
                            progress=False)
    assert {r["opt_method"] for r in rows} == {chosen}
    label = rp.report._method_label(_config(tiny_scale, method="auto"), rows)
    assert label == f"`auto`, which ran `{chosen}` on 4 trials"


def test_cached_bound_is_raised_to_the_current_bound(tmp_path):
    """A cached unproven answer gets this version's combinatorial bound as its lower end,
    without a new solve, and the raised entry is appended to the cache."""
    inst = rp.trial_instance(1, 0)  # papers' size: the bound is far above sum(a + o)
    cache = rp.SolveCache(tmp_path / "solves.jsonl")
    # no solver runs with "heuristic"; the limit only caps the bound stage (one deadline), so
    # it is set far above the bound's time for the full bound to be computed
    old = rp.hindsight_optimum(inst, "cpsat", 600.0, 1, cache, method="heuristic")
    assert rp.combinatorial_bound(inst) == old.lower == lower_bound(inst).value
    weak = dataclasses.replace(old, lower=trivial_bound(inst), status="feasible")
    stale = rp.SolveCache(tmp_path / "stale.jsonl")
    stale.add(weak)
    raised = rp.hindsight_optimum(inst, "cpsat", 600.0, 1, stale, method="heuristic")
    assert raised.lower == rp.combinatorial_bound(inst) > weak.lower
    assert raised.upper == weak.upper
    assert raised.starts == weak.starts
    reread = rp.SolveCache(tmp_path / "stale.jsonl")
    assert len(reread.entries[inst.content_hash()]) == 2
    assert reread.lookup(inst, "cpsat", 1.0, "heuristic").lower == raised.lower
