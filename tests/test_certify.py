"""`optsched certify`: end to end through the CLI on a small exhaustive family, resuming,
unproven instances, counterexample files that verify, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from optsched.data.generators import jaillet_model1
from optsched.exact.certificate import load_certificate, verify_certificate
from optsched.exact.solve import solve
from optsched.model.instance import load_instance, make_instance, save_instance
from optsched.model.schedule import load_schedule
from optsched.model.validate import validate
from optsched.policies.mcsf import mcsf_reference
from optsched.studies.certify import CertifyConfig, certify_instance
from optsched.studies.enumerate import Bounds, exhaustive

SMALL = ["--prompts", "equal", "--n-max", "4", "--o-max", "3", "--s-max", "1"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """One certify run over the small equal-prompt family (shared by several tests)."""
    from optsched.cli import main

    out = tmp_path_factory.mktemp("certify")
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["certify", *SMALL, "--out", str(out), "--json", "--no-progress",
                     "--shrink", "2"])
    assert code == 0
    return out, json.loads(buf.getvalue())


def test_cli_json_counts_add_up(small_run):
    """instances = optimal + suboptimal + unproven, and the family size is the enumeration's."""
    _, s = small_run
    b = Bounds(n_max=4, o_max=3, s_max=1, prompts="equal")
    assert s["instances"] == len(list(exhaustive(b)))
    assert s["policy_optimal"] + s["policy_suboptimal"] + s["unproven"] == s["instances"]
    assert s["unproven"] == 0
    assert s["policy_invalid"] == 0
    assert sum(g["instances"] for g in s["by_n"]) == s["instances"]
    assert s["max_ratio"] >= 1.0
    assert s["ratio"]["mean"] >= 1.0


def test_cli_counterexamples_are_real_and_cross_checked(small_run):
    """Each counterexample: policy value > proven optimum, both schedules valid, certificate
    verifies, and an independent solver proved the same optimum."""
    out, s = small_run
    assert s["counterexample_count"] == len(s["counterexamples"]) > 0
    for c in s["counterexamples"]:
        inst = load_instance(c["files"]["instance"])
        pol = load_schedule(c["files"]["policy_schedule"])
        opt = load_schedule(c["files"]["optimal_schedule"])
        assert pol.starts == mcsf_reference(inst).starts
        rp, ro = validate(inst, pol), validate(inst, opt)
        assert rp.valid
        assert ro.valid
        assert rp.metrics.total_completion_time == c["policy_objective"]
        assert ro.metrics.total_completion_time == c["optimal_objective"] < c["policy_objective"]
        check = verify_certificate(load_certificate(c["files"]["certificate"]), inst)
        assert check.ok
        assert check.status == "optimal"
        assert c["crosscheck"]["agrees"] is True
        assert c["crosscheck"]["certificate_ok"]
        assert c["crosscheck"]["solver"] != load_certificate(
            c["files"]["certificate"])["solver"]["name"]
        assert Path(c["files"]["explanation"]).read_text().startswith("algorithm1")
    assert (out / "ratio-histogram.png").stat().st_size > 1000
    assert json.loads((out / "summary.json").read_text())["instances"] == s["instances"]


def test_cli_certify_counterexample_files_pass_optsched_verify(small_run, run_cli):
    """`optsched verify --resolve` accepts a saved counterexample certificate."""
    _, s = small_run
    c = s["counterexamples"][0]
    res = run_cli("verify", c["files"]["certificate"], "--instance", c["files"]["instance"],
                  "--resolve", "highs", "--json")
    assert res.code == 0, res.err
    assert res.json()["ok"]
    assert res.json()["resolve"]["objective"] == c["optimal_objective"]


def test_cli_shrink_in_certify_gives_minimal_counterexamples(small_run):
    """--shrink K stores distinct minimal counterexamples with their explanations."""
    _, s = small_run
    mins = s["minimal_counterexamples"]
    assert mins
    assert all(m["proven_minimal"] for m in mins)
    for m in mins:
        assert m["policy_objective"] > m["optimal_objective"]
        assert Path(m["files"]["certificate"]).exists()


def test_rerun_resumes_from_results_file(small_run, run_cli):
    """A second run over the same family reuses every stored result and reports the same."""
    out, s = small_run
    res = run_cli("certify", *SMALL, "--out", out, "--json", "--no-progress")
    assert res.code == 0, res.err
    t = res.json()
    assert t["reused"] == s["instances"]
    assert t["computed"] == 0
    for k in ("instances", "policy_optimal", "policy_suboptimal", "max_ratio"):
        assert t[k] == s[k]


def test_interrupted_results_file_is_tolerated(tmp_path, run_cli):
    """A torn last line (crash while writing) is ignored and that instance is recomputed."""
    args = ["certify", "--prompts", "equal", "--n-max", "3", "--o-max", "3", "--s-max", "0",
            "--out", tmp_path, "--json", "--no-progress"]
    first = run_cli(*args).json()
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    (tmp_path / "results.jsonl").write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:20])
    again = run_cli(*args).json()
    assert again["computed"] == 1
    assert again["instances"] == first["instances"]
    assert again["policy_optimal"] == first["policy_optimal"]


def test_unproven_instance_is_reported_as_unproven(tmp_path, run_cli):
    """A 20-request instance with a 0.5 s CP-SAT limit: unproven, with a ratio interval,
    and not counted as optimal."""
    inst = jaillet_model1(3, n_range=(20, 20))
    save_instance(inst, tmp_path / "hard.json")
    res = run_cli("certify", "--files", tmp_path / "hard.json", "--solver", "cpsat",
                  "--time-limit", "0.5", "--out", tmp_path / "out", "--json", "--no-progress")
    assert res.code == 0, res.err
    s = res.json()
    assert s["instances"] == 1
    assert s["unproven"] == 1
    assert s["policy_optimal"] == 0
    assert s["max_ratio"] is None
    (u,) = s["unproven_instances"]
    low, high = u["ratio_interval"]
    assert 1.0 <= low <= high
    assert u["bound"] < u["best_known"]


def test_unproven_result_is_recomputed_with_a_longer_limit(tmp_path):
    """A stored unproven result is not reused when the new time limit is larger."""
    from optsched.studies.certify import _reusable

    rec = {"verdict": "unproven", "optimum_proven": False, "time_limit": 0.5}
    assert not _reusable(rec, CertifyConfig(time_limit=5.0))
    assert _reusable(rec, CertifyConfig(time_limit=0.5))


def test_certify_instance_trivial_and_suboptimal():
    """Policy at the trivial bound is optimal without a solver; a known counterexample is
    suboptimal with the brute-force optimum."""
    easy = certify_instance(make_instance(10, [1, 2], 1, 0), CertifyConfig())
    assert easy.record["verdict"] == "optimal"
    assert easy.record["solver"] == "trivial-bound"
    cx = certify_instance(make_instance(5, [1, 1, 3, 3], 1, 0), CertifyConfig())
    assert cx.record["verdict"] == "suboptimal"
    assert (cx.record["policy_objective"], cx.record["optimum"]) == (13, 12)
    assert solve(make_instance(5, [1, 1, 3, 3], 1, 0), "highs").objective == 12


def test_random_family_via_cli(tmp_path, run_cli):
    """--random COUNT with a seed is reproducible, serially and with two worker processes."""
    args = ["certify", "--random", "8", "--seed", "3", "--n-max", "4", "--a-max", "2",
            "--prompts", "any", "--json", "--no-progress"]
    one = run_cli(*args, "--out", tmp_path / "a").json()
    two = run_cli(*args, "--out", tmp_path / "b", "--jobs", "2").json()
    assert one["instances"] == two["instances"] == 8
    assert one["policy_optimal"] == two["policy_optimal"]
    assert sorted(c["key"] for c in one["counterexamples"]) == sorted(
        c["key"] for c in two["counterexamples"])
    assert one["family"]["kind"] == "random"


@pytest.mark.parametrize(("args", "needle"), [
    (["--n-min", "3", "--n-max", "2"], "n-max"),
    (["--policy", "nope"], "unknown policy"),
    (["--files", "no-such-file.json"], "not found"),
    (["--random", "3", "--files", "x.json"], "not both"),
    (["--time-limit", "0"], "time limit"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, run_cli, args, needle):
    """User errors: exit 2, one stderr line naming the problem, no traceback."""
    res = run_cli("certify", *args, "--out", tmp_path / "o", "--no-progress")
    assert res.code == 2
    assert needle in res.err
    assert "Traceback" not in res.err


def test_bruteforce_initial_solution_and_symmetry_keep_the_optimum():
    """The oracle's warm start (policy schedule) and identical-request symmetry breaking give
    the same optimum as CP-SAT on a small exhaustive family with many identical requests."""
    from optsched.studies.enumerate import spec_instance

    specs = list(exhaustive(Bounds(n_min=4, n_max=4, o_max=3, s_max=1, prompts="equal")))
    for spec in specs[::7]:
        inst = spec_instance(spec)
        warm = solve(inst, "bruteforce", initial_solution=mcsf_reference(inst))
        cold = solve(inst, "bruteforce")
        ref = solve(inst, "cpsat")
        assert warm.status == cold.status == ref.status == "optimal"
        assert warm.objective == cold.objective == ref.objective


def test_crosscheck_all_resolves_every_solved_instance(tmp_path, run_cli):
    """--crosscheck all re-solves every instance a solver proved (not only counterexamples)."""
    res = run_cli("certify", "--prompts", "equal", "--n-max", "3", "--o-max", "3", "--s-max", "0",
                  "--crosscheck", "all", "--out", tmp_path, "--json", "--no-progress")
    assert res.code == 0, res.err
    s = res.json()
    recs = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    solved = [r for r in recs if r["solver"] != "trivial-bound"]
    assert solved
    assert s["crosscheck"]["checked"] == len(solved)
    assert s["crosscheck"]["resolve_agrees"] == len(solved)


def test_failed_policy_run_is_recorded_not_fatal(monkeypatch):
    """A policy whose run fails is recorded as policy_invalid with the message."""
    import optsched.studies.certify as C

    def broken(instance, name):
        raise C.InvalidPolicyRun("no progress at t = 0")

    monkeypatch.setattr(C, "policy_schedule", broken)
    out = certify_instance(make_instance(5, [1, 1, 3, 3], 1, 0), CertifyConfig())
    assert out.record["verdict"] == "policy_invalid"
    assert not out.record["counterexample"]
    assert "no progress" in out.record["violations"]


def test_fresh_discards_earlier_results(tmp_path, run_cli):
    """--fresh recomputes everything and removes stale counterexample directories."""
    args = ["certify", "--prompts", "equal", "--n-max", "4", "--o-max", "3", "--s-max", "0",
            "--out", tmp_path, "--json", "--no-progress"]
    first = run_cli(*args).json()
    stale = tmp_path / "counterexamples" / "stale"
    stale.mkdir(parents=True)
    again = run_cli(*args, "--fresh").json()
    assert again["computed"] == first["instances"]
    assert again["reused"] == 0
    assert not stale.exists()
    assert again["policy_suboptimal"] == first["policy_suboptimal"]
