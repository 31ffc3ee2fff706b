"""The sensitivity study (issue 18): tiny grid, checkpoint resume, CLI bad input."""

from __future__ import annotations

import json
import math

import pyarrow.parquet as pq
import pytest

import optsched.studies.sensitivity as sens
from optsched.data.generators import jaillet_model1
from optsched.model.validate import validate


def tiny_config(trials: int = 2) -> sens.SensitivityConfig:
    return sens.SensitivityConfig(sens.parse_readings(None, "tiny"), trials=trials,
                                  time_limit=5.0)


def test_tiny_grid_rows_table_and_parquet(tmp_path):
    """A tiny grid gives one row per reading and trial, exact where proven, and both files."""
    rows = sens.run_sensitivity(tiny_config(), tmp_path, progress=False)
    assert len(rows) == 2 * len(sens.GRIDS["tiny"])
    for r in rows:
        inst = sens.READINGS[r["reading"]].instance(r["seed"])
        assert inst.content_hash() == r["instance_hash"]
        if r["opt_kind"] == "exact":
            assert r["opt_lower"] <= r["opt_upper"] <= r["mcsf_completion"]
            assert r["ratio_lo"] <= r["ratio_hi"]
            if r["opt_proven"]:
                assert r["ratio_lo"] == r["ratio_hi"]
                assert r["mcsf_optimal"] is (r["mcsf_completion"] == r["opt_upper"])
        else:
            assert r["inc_vs_mcsf"] in ("tie", "better", "worse", "none")
            if r["inc_value"] is not None:
                assert math.isclose(r["printed_ratio"], r["mcsf_latency"] / r["inc_value"])
    table = (tmp_path / "sensitivity.md").read_text()
    for name in sens.GRIDS["tiny"]:
        assert f"`{name}`" in table
    assert "1.005 / 1.074 / 114 of 200" in table
    assert pq.read_table(tmp_path / "sensitivity.parquet").num_rows == len(rows)


def test_checkpoint_resume_runs_only_new_trials(tmp_path, monkeypatch):
    """A second run reuses finished trials from the checkpoint and runs only the new ones."""
    first = sens.run_sensitivity(tiny_config(1), tmp_path, progress=False)
    calls = []
    real = sens.trial_row

    def counting(reading, seed, trial, cfg, cache):
        calls.append((reading.name, seed))
        return real(reading, seed, trial, cfg, cache)

    monkeypatch.setattr(sens, "trial_row", counting)
    second = sens.run_sensitivity(tiny_config(2), tmp_path, progress=False)
    assert sorted(calls) == sorted((name, 1) for name in sens.GRIDS["tiny"])
    # rows compared as JSON: NaN (no ratio of that kind) is not equal to itself
    assert json.dumps([r for r in second if r["seed"] == 0]) == json.dumps(first)


def test_plain_ip_incumbent_is_validated_and_warm_start_kept():
    """The plain IP's warm-started incumbent is never worse than its warm start."""
    from optsched.policies import mcsf_fast

    inst = jaillet_model1(4, n_range=(6, 6)).with_convention("last-token-free")
    warm = mcsf_fast(inst)
    value = validate(inst, warm).metrics.total_completion_time
    out = sens.plain_ip_incumbent(inst, "highs", 5.0, warm)
    assert out["inc_value"] is not None
    assert out["inc_value"] <= value
    assert out["inc_bound"] is None or out["inc_bound"] <= out["inc_value"]


def test_generator_readings_draw_what_they_say():
    """Output caps and one prompt per instance hold on every drawn request."""
    for seed in range(5):
        half = jaillet_model1(seed, output_max="M/2")
        assert half.output.max() <= half.memory_limit // 2
        assert jaillet_model1(seed, output_max=10).output.max() <= 10
        assert len(set(jaillet_model1(seed, shared_prompt=True).prompt.tolist())) == 1
    with pytest.raises(Exception, match="output_max"):
        jaillet_model1(0, output_max="M")


def test_cli_tiny_grid(run_cli, tmp_path):
    """The CLI runs a tiny grid and prints the table."""
    out = tmp_path / "s"
    res = run_cli("reproduce", "jaillet2025", "--sensitivity", "--grid", "tiny", "--trials", "1",
                  "--time-limit", "5", "--no-progress", "-o", out)
    assert res.code == 0, res.err
    assert "`tiny-prefill`" in res.out
    assert (out / "sensitivity.parquet").exists()
    assert (out / "checkpoint.jsonl").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--sensitivity", "--grid", "huge"], "--grid: must be one of"),
    (["--sensitivity", "--readings", "base,nope"], "unknown reading(s) nope"),
    (["--sensitivity", "--readings", " , "], "name at least one reading"),
    (["--sensitivity", "--trials", "0"], "trials: must be >= 1"),
    (["--sensitivity", "--time-limit", "0"], "time limit: must be > 0"),
    (["--sensitivity", "--seed", "-1"], "seed: must be >= 0"),
    (["--sensitivity", "--quick"], "--quick does not apply with --sensitivity"),
    (["--sensitivity", "--method", "lns"], "do not apply with --sensitivity"),
    (["--readings", "base"], "--readings applies only with --sensitivity"),
    (["--checkpoint", "c.jsonl"], "--checkpoint applies only with --sensitivity"),
])
def test_cli_bad_input_exit_2_nothing_written(run_cli, tmp_path, args, message):
    """Bad sensitivity options: exit 2, one line naming the option, nothing written."""
    out = tmp_path / "never"
    res = run_cli("reproduce", "jaillet2025", *args, "--no-progress", "-o", out)
    assert res.code == 2
    assert message in res.err
    assert "Traceback" not in res.err
    assert len(res.err.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_checkpoint_paths_refused(run_cli, tmp_path):
    """A checkpoint that is a directory, or in a missing folder, is refused before any work."""
    out = tmp_path / "never"
    for ck, message in ((tmp_path, "is a directory"), (tmp_path / "no" / "c.jsonl",
                                                       "does not exist")):
        res = run_cli("reproduce", "jaillet2025", "--sensitivity", "--grid", "tiny",
                      "--checkpoint", ck, "-o", out)
        assert res.code == 2
        assert message in res.err
        assert len(res.err.strip().splitlines()) == 1
        assert not out.exists()
