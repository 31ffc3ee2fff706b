"""Dataset store: contents, certificates, resume, kill -9 safety, CLI errors, summary, Ray."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from optsched.exact.certificate import load_certificate, verify_certificate
from optsched.model.instance import load_instance
from optsched.studies.dataset import TIMING_COLUMNS, BuildConfig, build, read_table

# Tiny Model 1 instances: each certifies in well under a second.
TINY = {"n_min": 4, "n_max": 5, "m_min": 10, "m_max": 14}
TINY_ARGS = [arg for k, v in TINY.items() for arg in ("--param", f"{k}={v}")]


def _table(path: Path) -> list[dict]:
    """The Parquet rows without timing columns, sorted by index."""
    rows = pq.read_table(path / "dataset.parquet").to_pylist()
    return sorted(({k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows),
                  key=lambda r: r["index"])


def _build(out: Path, count: int = 4, **kw) -> object:
    cfg = BuildConfig(family=kw.pop("family", "jaillet-model1"), count=count, seed=3,
                      params=dict(kw.pop("params", TINY)), time_limit=20)
    return build(out, cfg, backend=kw.pop("backend", "sequential"), progress=False,
                 command="test", **kw)


def test_build_writes_instances_certificates_rows_and_manifest(tmp_path):
    """Every instance gets its JSON, a certificate that re-checks, and one complete row."""
    out = tmp_path / "ds"
    rep = _build(out, 4)
    assert (rep.built, rep.skipped) == (4, 0)
    rows = read_table(out).to_pylist()
    assert [r["index"] for r in rows] == [0, 1, 2, 3]
    for r in rows:
        inst = load_instance(out / r["instance_file"])
        assert inst.content_hash() == r["instance_hash"]
        assert inst.metadata["family"]["index"] == r["index"]
        cert = load_certificate(out / r["certificate_file"])
        check = verify_certificate(cert, inst)
        assert check.ok, check.problems
        assert r["status"] == "optimal"
        assert r["objective"] == r["bound"] == cert["objective"]
        assert r["algorithm1_value"] >= r["objective"]
        assert r["warm_start"] in ("algorithm1", "mc-benchmark", "alpha-greedy",
                                   "alpha-beta-clearing", "earliest-fit")
        for p in ("algorithm1", "mc_benchmark", "alpha_beta_clearing"):
            assert r[f"{p}_value"] >= r["objective"]
            assert r[f"{p}_ratio_ub"] >= r[f"{p}_ratio"]
        assert r["algorithm1_ratio"] == pytest.approx(r["algorithm1_value"] / r["objective"])
        assert r["param_n_max"] == 5
        assert json.loads(r["params"])["m_min"] == 10
        assert r["optsched_version"]
        assert r["solver_version"].startswith("ortools")
    man = json.loads((out / "manifest.json").read_text())
    assert man["settings"]["seed"] == 3
    assert man["settings"]["params"]["n_min"] == 4
    run = man["runs"][0]
    assert run["command"] == "test"
    assert run["finished"]
    assert run["versions"]["ortools"]


def test_rerun_skips_finished_and_extends(tmp_path):
    """Re-running builds nothing; a larger count builds only the new instances."""
    out = tmp_path / "ds"
    _build(out, 3)
    before = _table(out)
    rep = _build(out, 3)
    assert (rep.built, rep.skipped) == (0, 3)
    assert _table(out) == before
    rep = _build(out, 5)
    assert (rep.built, rep.skipped) == (2, 3)
    assert _table(out)[:3] == before
    assert len(json.loads((out / "manifest.json").read_text())["runs"]) == 3


def test_killed_build_resumes_to_the_uninterrupted_dataset(tmp_path):
    """kill -9 of a real `optsched dataset build` half-way, then a re-run, gives exactly the
    table of an uninterrupted run (timing columns aside), with no stray files."""
    count = 14
    ref = tmp_path / "ref"
    _build(ref, count)  # uninterrupted (in-process, sequential)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "optsched", "dataset", "build", str(out), "--family",
           "jaillet-model1", "--count", str(count), "--seed", "3", "--time-limit", "20",
           "--workers", "2", "--no-progress", *TINY_ARGS]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = list((out / "results").glob("[0-9]*.json")) if (out / "results").exists() else []
        if len(done) >= 3 or proc.poll() is not None:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole run, workers included, at once
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    n_done = len(list((out / "results").glob("[0-9]*.json")))
    assert 3 <= n_done < count  # really interrupted half-way
    if (out / "dataset.parquet").exists():  # an earlier snapshot, never a broken file
        assert pq.read_table(out / "dataset.parquet").num_rows <= n_done
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert f"{n_done} already finished" in res.stdout
    assert _table(out) == _table(ref)
    leftovers = [p for p in out.rglob(".*") if p.name != ".lock"]
    assert leftovers == []
    man = json.loads((out / "manifest.json").read_text())
    assert [r["finished"] is not None for r in man["runs"]] == [False, True]
    assert man["runs"][0]["command"].startswith("optsched dataset build")


def test_changed_settings_refuse_to_resume(tmp_path, run_cli):
    """Resuming with another seed, family parameter or solver limit is refused (exit 2)."""
    out = tmp_path / "ds"
    _build(out, 2)
    r = run_cli("dataset", "build", out, "--family", "jaillet-model1", "--count", "2", "--seed",
                "4", "--time-limit", "20", "--no-progress", *TINY_ARGS)
    assert r.code == 2
    assert "was built with seed = 3, not 4" in r.err
    r = run_cli("dataset", "build", out, "--family", "jaillet-model1", "--count", "2", "--seed",
                "3", "--time-limit", "5", "--no-progress", *TINY_ARGS)
    assert r.code == 2
    assert "time_limit = 20" in r.err


@pytest.mark.parametrize(("args", "fragment"), [
    (["--family", "nope"], "unknown family 'nope'; available: jaillet-model1"),
    (["--family", "uniform", "--param", "n=-3"], "parameter 'n' must be >= 1"),
    (["--family", "uniform", "--param", "q=1"], "has no parameter 'q'"),
    (["--family", "uniform", "--param", "n"], "must look like NAME=VALUE"),
    (["--family", "uniform", "--count", "0"], "count must be >= 1"),
    (["--family", "uniform", "--workers", "999"], "exceeds the"),
    (["--family", "uniform", "--threads", "0"], "threads per solve must be >= 1"),
    (["--family", "uniform", "--address", "x:1"], "only used with the ray backend"),
    (["--family", "uniform", "--policies", "mcsf,nope"], "unknown policy 'nope'"),
    (["--family", "uniform", "--backend", "ray", "--address", "127.0.0.1:1"], "Ray"),
])
def test_bad_build_input_exits_2(tmp_path, run_cli, args, fragment):
    """Bad family, parameter, count or worker plan: one clear line, exit 2, nothing written."""
    out = tmp_path / "ds"
    r = run_cli("dataset", "build", out, "--no-progress", *args)
    assert r.code == 2, r.err
    assert fragment in r.err
    assert "Traceback" not in r.err
    assert not out.exists()


def test_unwritable_folder_exits_2(tmp_path, run_cli):
    """A dataset path below a regular file cannot be created: clear error, exit 2."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run_cli("dataset", "build", blocker / "ds", "--family", "uniform", "--no-progress")
    assert r.code == 2
    assert "is not writable" in r.err
    r = run_cli("dataset", "build", blocker, "--family", "uniform", "--no-progress")
    assert r.code == 2
    assert "not a folder" in r.err


def test_summary_prints_and_plots(tmp_path, run_cli):
    """summary reports counts, statuses and policy ratios, and writes a PNG."""
    out = tmp_path / "ds"
    _build(out, 3)
    png = tmp_path / "s.png"
    r = run_cli("dataset", "summary", out, "--plot", png)
    assert r.code == 0, r.err
    assert "finished 3 of 3" in r.out
    assert "optimal 3" in r.out
    assert "algorithm1" in r.out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = run_cli("dataset", "summary", out, "--json", "--no-plot")
    data = r.json()
    assert data["finished"] == 3
    assert data["statuses"] == {"optimal": 3}
    a1 = data["policies"]["algorithm1"]
    assert a1["certified_instances"] == 3
    assert a1["ratio"]["min"] >= 1.0
    r = run_cli("dataset", "summary", tmp_path / "nothing")
    assert r.code == 2
    assert "dataset folder not found" in r.err


def test_families_command_lists_parameters(run_cli):
    """`dataset families` lists every family with its parameters and defaults."""
    r = run_cli("dataset", "families")
    assert r.code == 0
    assert "jaillet-model2" in r.out
    assert "token_scale = 64" in r.out
    data = run_cli("dataset", "families", "azure-conv", "--json").json()
    assert data["azure-conv"]["params"]["round_seconds"]["default"] == 2.0


def test_verify_command_accepts_a_dataset_and_catches_tampering(tmp_path, run_cli):
    """`dataset verify` passes a fresh dataset and names a tampered row or certificate."""
    out = tmp_path / "ds"
    _build(out, 3)
    r = run_cli("dataset", "verify", out)
    assert r.code == 0
    assert "3 instances checked: all verify" in r.out
    row_file = out / "results" / "000001.json"
    row = json.loads(row_file.read_text())
    row["objective"] -= 1
    row_file.write_text(json.dumps(row))
    cert_file = out / "certificates" / "000002.json"
    cert = json.loads(cert_file.read_text())
    cert["bound"] = cert["objective"] + 1
    cert_file.write_text(json.dumps(cert))
    data = run_cli("dataset", "verify", out, "--json").json()
    assert not data["ok"]
    text = "\n".join(data["problems"])
    assert "instance 000001: row says objective" in text
    assert "instance 000002: certificate: bound" in text
    assert "000000" not in text


def test_real_trace_family_dataset_verifies(tmp_path, run_cli):
    """A trace family builds from the shipped sample and every instance verifies."""
    out = tmp_path / "trace"
    rep = _build(out, 3, family="azure-conv", params={})
    assert rep.built == 3
    r = run_cli("dataset", "verify", out)
    assert r.code == 0, r.out
    assert "all verify" in r.out, r.out
    for r in read_table(out).to_pylist():
        inst = load_instance(out / r["instance_file"])
        assert inst.metadata["trace"]["file"] == "AzureLLMInferenceTrace_conv.csv"
        check = verify_certificate(load_certificate(out / r["certificate_file"]), inst)
        assert check.ok
        assert r["status"] == "optimal"


def test_local_pool_equals_sequential(tmp_path):
    """The process pool gives the same table as the sequential backend."""
    _build(tmp_path / "seq", 4)
    _build(tmp_path / "pool", 4, backend="local", workers=2)
    assert _table(tmp_path / "pool") == _table(tmp_path / "seq")


@pytest.mark.slow
def test_ray_local_equals_sequential(tmp_path):
    """The Ray backend on a local Ray runtime gives the same table as the sequential one."""
    pytest.importorskip("ray", reason="Ray is an optional extra (pip install 'optsched[ray]')")
    from optsched.studies.execution import ExecutionError

    _build(tmp_path / "seq", 3)
    try:
        _build(tmp_path / "ray", 3, backend="ray", workers=2)
    except ExecutionError as exc:  # e.g. a sandbox without the shared memory Ray needs
        if "cannot start or reach Ray" not in str(exc):
            raise
        pytest.skip(f"a local Ray runtime cannot start here: {exc}")
    assert _table(tmp_path / "ray") == _table(tmp_path / "seq")
    man = json.loads((tmp_path / "ray" / "manifest.json").read_text())
    assert man["runs"][0]["backend"] == "ray"
    assert man["runs"][0]["versions"]["ray"]


def test_instance_command_matches_the_dataset(tmp_path, run_cli):
    """`dataset instance` writes exactly the instance `dataset build` stores at that index."""
    out = tmp_path / "ds"
    _build(out, 2)
    f = tmp_path / "one.json"
    args = [a for k, v in TINY.items() for a in ("--param", f"{k}={v}")]
    r = run_cli("dataset", "instance", "jaillet-model1", "--seed", 3, "--index", 1, "-o", f,
                *args)
    assert r.code == 0, r.err
    assert load_instance(f).content_hash() == load_instance(out / "instances/000001.json"
                                                             ).content_hash()
    r = run_cli("dataset", "instance", "sharegpt", "--param", "n=3")
    assert r.code == 0
    assert json.loads(r.out)["metadata"]["trace"]["arrival"] == "poisson"
    r = run_cli("dataset", "instance", "uniform", "--index", -1)
    assert r.code == 2
    assert "--index must be >= 0" in r.err


def test_worker_plan_respects_cores():
    """Default workers = cores // threads; more than the cores on this machine is refused."""
    from optsched.studies.execution import ExecutionError, available_cores, plan_workers

    cores = available_cores()
    assert plan_workers("local", None, 1) == cores
    with pytest.raises(ExecutionError, match="exceeds the"):
        plan_workers("local", None, cores + 1)  # one solve with more threads than cores
    assert plan_workers("sequential", 8, 1) == 1
    with pytest.raises(ExecutionError, match="exceeds the"):
        plan_workers("ray", cores, 2)  # a local Ray runtime shares this machine's cores
    assert plan_workers("ray", 4 * cores, 1, address="head:6379") == 4 * cores  # a cluster


def test_pool_reports_a_failing_task():
    """A task that raises in a pool worker surfaces as TaskFailed naming that task."""
    import math

    from optsched.studies.execution import TaskFailed, run_tasks

    got = {}
    def drain() -> None:
        for task, res in run_tasks(math.sqrt, [4.0, 9.0, -1.0], backend="local", workers=1):
            got[task] = res

    with pytest.raises(TaskFailed) as info:
        drain()
    assert info.value.task == -1.0
    assert "math domain error" in str(info.value)
    assert got == {4.0: 2.0, 9.0: 3.0}


def test_failing_instance_stops_with_a_clear_error_and_keeps_the_rest(tmp_path, monkeypatch,
                                                                      run_cli):
    """If one instance fails, the run stops with its id (exit 2); finished ones stay in the
    table and a re-run continues from them."""
    import optsched.studies.dataset as ds

    real = ds.certify_task

    def flaky(task):
        if task["index"] == 2:
            raise RuntimeError("solver crashed")
        return real(task)

    monkeypatch.setattr(ds, "certify_task", flaky)
    out = tmp_path / "ds"
    args = ["dataset", "build", out, "--family", "jaillet-model1", "--count", "4", "--seed", "3",
            "--time-limit", "20", "--backend", "sequential", "--no-progress", *TINY_ARGS]
    r = run_cli(*args)
    assert r.code == 2
    assert "instance 000002 failed: RuntimeError: solver crashed" in r.err
    assert [row["index"] for row in read_table(out).to_pylist()] == [0, 1]
    monkeypatch.setattr(ds, "certify_task", real)
    r = run_cli(*args)
    assert r.code == 0
    assert "2 already finished" in r.out
    assert [row["index"] for row in read_table(out).to_pylist()] == [0, 1, 2, 3]


def test_policies_option_selects_the_recorded_policies(tmp_path, run_cli):
    """--policies records exactly the chosen policies (columns and manifest)."""
    out = tmp_path / "ds"
    r = run_cli("dataset", "build", out, "--family", "equal-prompt", "--count", "1",
                "--backend", "sequential", "--no-progress", "--policies", "sorted-f,algorithm1")
    assert r.code == 0, r.err
    row = read_table(out).to_pylist()[0]
    assert row["sorted_f_value"] >= row["objective"]
    assert "algorithm1_value" in row
    assert "mc_benchmark_value" not in row
    man = json.loads((out / "manifest.json").read_text())
    assert man["settings"]["policies"] == ["sorted-f", "algorithm1"]
