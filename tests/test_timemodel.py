"""Batch-time models and the engine clock in seconds (issue 19)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from optsched.data.generators import jaillet_model2
from optsched.data.traces import load_trace, trace_instance
from optsched.model.instance import make_instance
from optsched.policies import run_policy
from optsched.policies.engine import simulate
from optsched.policies.run import make_policy
from optsched.policies.timemodel import (
    LAYER_OPS,
    ONCE_OPS,
    PRESETS,
    SHAPE_COLUMNS,
    STAT,
    TimeModelError,
    fit_preset,
    get_time_model,
    shipped_fit,
)

PROFILES = Path(__file__).resolve().parents[2] / "shared" / "profiles" / "vidur"

#: Stated tolerance of the fit on held-out profile rows (relative error of the linear-layer
#: time; see models/batch-time.md): mean, 90th percentile and worst row per preset.
HELD_OUT_MEAN, HELD_OUT_P90, HELD_OUT_MAX = 0.06, 0.15, 0.35


@pytest.mark.parametrize("name", PRESETS)
def test_preset_reproduces_held_out_profile_rows(name):
    """The shipped preset predicts the held-out profile rows within the stated tolerance."""
    entry = shipped_fit()["presets"][name]
    model = get_time_model(name)
    held = set(entry["held_out_tokens"])
    rows = [(t, ms) for t, ms in entry["rows_ms"] if t in held]
    assert len(rows) >= 60
    err = np.array([abs(model.linear_seconds(t) * 1000 - ms) / ms for t, ms in rows])
    assert err.mean() <= HELD_OUT_MEAN
    assert np.quantile(err, 0.9) <= HELD_OUT_P90
    assert err.max() <= HELD_OUT_MAX
    assert err.mean() == pytest.approx(entry["residuals"]["held_out"]["mean_rel_error"], rel=1e-6)


def test_preset_attention_term_from_model_shape():
    """KV bytes per token = 2 x layers x KV heads x head dim x 2 B, over TP x bandwidth."""
    fit = shipped_fit()["presets"]
    assert fit["llama2-70b-tp2-a100"]["kv_bytes_per_token"] == 2 * 80 * 8 * 128 * 2
    assert fit["llama2-7b-h100"]["kv_bytes_per_token"] == 2 * 32 * 32 * 128 * 2
    m = get_time_model("llama2-70b-tp2-a100")
    lin = m.round_seconds(0, 10, 0)
    assert m.round_seconds(0, 10, 10_000) - lin == pytest.approx(10_000 * 327_680 / (2 * 2.039e12))


@pytest.mark.skipif(not PROFILES.is_dir(), reason="Vidur profiles not beside the repository")
def test_shipped_fit_regenerates_from_profiles(tmp_path):
    """Refitting the profiles gives exactly the shipped derived data file."""
    from optsched.policies.timemodel import write_fit

    out = tmp_path / "fit.json"
    write_fit(PROFILES, out)
    assert json.loads(out.read_text()) == shipped_fit()
    assert (tmp_path / "LICENSE-vidur").read_text().strip().startswith("MIT License")


def _profile_csv(path: Path, ms_per_token: float, drop: str | None = None) -> None:
    """A profile file whose every operator takes base + slope * tokens milliseconds."""
    cols = [f"time_stats.{op}.{STAT}" for op in {**LAYER_OPS, **ONCE_OPS}] + list(SHAPE_COLUMNS)
    cols = [c for c in cols if c != drop]
    lines = [",".join(cols)]
    for tokens in [1, 2, 4, 8, 16, *range(24, 4097, 32)]:
        vals = {c: f"{0.1 + ms_per_token * tokens}" for c in cols if c.startswith("time_")}
        vals |= {"n_head": "64", "n_kv_head": "8", "n_embd": "8192", "num_tokens": str(tokens),
                 "num_tensor_parallel_workers": "2"}
        lines.append(",".join(vals[c] for c in cols))
    path.write_text("\n".join(lines) + "\n")


def test_fit_recovers_a_linear_profile(tmp_path):
    """A profile that is exactly linear in tokens is fitted with (near) zero held-out error."""
    _profile_csv(tmp_path / "a100_Llama-2-70b-hf_mlp.csv", 0.001)
    e = fit_preset(tmp_path, "llama2-70b-tp2-a100")
    assert e["residuals"]["held_out"]["max_rel_error"] < 1e-9
    per_pass = lambda t: 80 * 10 * (0.1 + 0.001 * t) + (0.1 + 0.001 * t)  # noqa: E731
    assert e["linear_ms"][-1] == pytest.approx(per_pass(4096))


class _Affine:
    """round = 10 ms + 1 ms per prefill token + 2 ms per decode token + 0.01 ms per KV token."""

    name = "affine-test"

    def round_seconds(self, prefill_tokens: int, decode_tokens: int, kv_tokens: int) -> float:
        return 0.010 + 0.001 * prefill_tokens + 0.002 * decode_tokens + 1e-5 * kv_tokens


def test_two_requests_by_hand_in_seconds():
    """Hand-computed: r1 arrives mid-round, waits for the next round; TTFT/TPOT/latency match."""
    inst = make_instance(100, [3, 2], [4, 2], [0, 0])
    run = run_policy(inst, "mcsf", time_model=_Affine(), arrival_seconds=[0.0, 0.012])
    # round 0 (0 s): r0 prefills 4 tokens, holds 5 at its end: 0.010 + 0.004 + 0.00005
    r0 = 0.01405
    # r1 (0.012 s) arrived during round 0 -> starts at round 1: prefill 2, decode 1, KV 6 + 3
    r1 = 0.010 + 0.002 + 0.002 + 0.00009
    # round 2: two decode tokens, KV 7 + 4; both complete at its end
    r2 = 0.010 + 0.004 + 0.00011
    assert dict(run.schedule.starts) == {"r0": 0, "r1": 1}
    rs = run.request_seconds
    assert rs["arrival_round"] == [0, 1]
    assert rs["ttft_s"].tolist() == pytest.approx([r0, r0 + r1 - 0.012])
    assert rs["latency_s"].tolist() == pytest.approx([r0 + r1 + r2, r0 + r1 + r2 - 0.012])
    assert rs["tpot_s"].tolist() == pytest.approx([(r1 + r2) / 2, r2])
    m = run.metrics
    assert m["makespan_s"] == pytest.approx(r0 + r1 + r2)
    assert m["throughput_tokens_per_s"] == pytest.approx(5 / (r0 + r1 + r2))


def test_idle_gpu_waits_for_the_next_arrival():
    """With nothing running, the next round starts exactly at the next arrival."""
    inst = make_instance(100, [1, 1], [1, 1], [0, 0])
    run = run_policy(inst, "mcsf", time_model="fixed:0.5", arrival_seconds=[0.0, 7.25])
    assert run.request_seconds["latency_s"].tolist() == [0.5, 0.5]
    assert run.request_seconds["ttft_s"].tolist() == [0.5, 0.5]
    assert np.isnan(run.request_seconds["tpot_s"]).all()


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("policy", "pred"), [("mcsf", None), ("mc-benchmark", None),
                                              ("fcfs", None), ("smallest-volume-first", None),
                                              ("mcsf", "noisy:0.5"), ("a-min", "interval:0.5")])
def test_fixed_one_second_rounds_match_unit_rounds(seed, policy, pred):
    """fixed:1 with integer arrival seconds gives the unit run's latencies, TTFTs and
    evictions in seconds (also with overflows and restarts)."""
    inst = jaillet_model2(seed)
    unit = run_policy(inst, policy, seed=seed, predictions=pred)
    timed = run_policy(inst, policy, seed=seed, predictions=pred, time_model="fixed:1",
                       arrival_seconds=inst.arrival.tolist())
    starts = dict(unit.schedule.starts)
    comp = np.array([starts[r.id] + r.output_tokens for r in inst.requests])
    assert timed.request_seconds["latency_s"].tolist() == (comp - inst.arrival).tolist()
    assert timed.metrics["mean_ttft_s"] == unit.metrics["mean_ttft"]
    assert (timed.overflows, timed.evictions) == (unit.overflows, unit.evictions)


#: Digest of unit-round runs (schedules, aborted runs, completions, counters, decision rounds,
#: metrics) of every policy, computed with the engine as it was before the clock existed
#: (commit 547e46e). Unit rounds must stay bit-for-bit the same.
#: Without decision rounds (fewer since the engine skips idle rounds, issue 26): the digest of
#: the round-by-round engine of f980af8, which the event-driven engine reproduces.
UNIT_DIGEST = "43f3f22990db00ef344bae2873696165872f7494c49825c9c225b72e680f65f1"
#: The policies and metrics that existed then (later policies and measures are not in the digest).
UNIT_POLICIES = ("a-max", "a-min", "algorithm1", "alpha-beta-clearing", "alpha-greedy", "fcfs",
                 "mc-benchmark", "mcsf", "shortest-first", "smallest-volume-first", "sorted-f")
UNIT_METRICS = ("total_completion_time", "total_latency", "mean_latency", "max_latency",
                "mean_ttft", "max_ttft", "makespan", "throughput_tokens_per_round",
                "throughput_requests_per_round", "overflows", "evictions", "wasted_tokens")


def test_unit_rounds_unchanged_bit_for_bit():
    """Every policy's unit-round run equals the pre-clock engine's (same digest)."""
    h = hashlib.sha256()
    tr = load_trace("azure-conv")
    insts = [jaillet_model2(s) for s in range(4)]
    insts.append(trace_instance(tr, range(400), round_seconds=2.0, token_scale=64,
                                memory_tokens=8192))
    for inst in insts:
        for name in UNIT_POLICIES:
            for pred in ("exact", "noisy:0.5"):
                try:
                    res = simulate(inst, make_policy(name), pred, seed=3)
                    m = res.metrics(inst)
                    rec = [sorted(res.schedule.starts.items()),
                           [tuple(a) for a in res.schedule.aborted],
                           sorted(res.completion.items()), res.overflows, res.evictions,
                           res.wasted_tokens,
                           sorted((k, m[k]) for k in UNIT_METRICS)]
                except Exception as e:  # a policy that stalls is part of the record
                    rec = [type(e).__name__, str(e)]
                h.update(json.dumps(rec, default=str).encode())
    assert h.hexdigest() == UNIT_DIGEST


def test_policies_see_no_time_model():
    """A policy's view holds arrival rounds (ints) and the same fields with or without a clock."""
    seen = {}

    class Spy(type(make_policy("mcsf"))):
        def reset(self, view, rng):
            super().reset(view, rng)
            seen.setdefault("fields", []).append(sorted(vars(view)))

        def on_arrival(self, i, t):
            assert isinstance(self.view.arrival[i], int)
            assert self.view.arrival[i] == t
            super().on_arrival(i, t)

    inst = jaillet_model2(1)
    run_policy(inst, Spy())
    run_policy(inst, Spy(), time_model="llama2-7b-h100",
               arrival_seconds=(inst.arrival * 0.013).tolist())
    assert seen["fields"][0] == seen["fields"][1]


class _Broken:
    name = "broken"

    def __init__(self, value: float) -> None:
        self.value = value

    def round_seconds(self, prefill_tokens: int, decode_tokens: int, kv_tokens: int) -> float:
        return self.value


@pytest.mark.parametrize("value", [0.0, -0.5, float("nan")])
def test_non_positive_round_time_is_refused(value):
    """A plug-in model giving a zero, negative or NaN round time stops the run clearly."""
    inst = make_instance(100, [2], [1], [0])
    with pytest.raises(TimeModelError, match="round times must be > 0"):
        run_policy(inst, "mcsf", time_model=_Broken(value), arrival_seconds=[0.0])


def test_time_model_needs_arrival_seconds():
    """A time model without arrival seconds (or seconds without a model) is refused."""
    inst = make_instance(100, [2], [1], [0])
    with pytest.raises(TimeModelError, match="arrival_seconds"):
        run_policy(inst, "mcsf", time_model="fixed:1")
    with pytest.raises(TimeModelError, match="without a time model"):
        run_policy(inst, "mcsf", arrival_seconds=[0.0])


@pytest.mark.parametrize(("spec", "msg"), [("nope", "unknown time model 'nope'"),
                                      ("fixed:0", "must be > 0"), ("fixed:-2", "must be > 0"),
                                      ("fixed:abc", "expected fixed:SECONDS")])
def test_bad_time_model_names(spec, msg):
    """Unknown presets and non-positive fixed round times are named in the error."""
    with pytest.raises(TimeModelError, match=msg):
        get_time_model(spec)


def test_cli_fit_missing_column_exits_2_and_writes_nothing(tmp_path, run_cli):
    """A profile file without a needed column: exit 2, one line naming it, nothing written."""
    d = tmp_path / "prof"
    d.mkdir()
    (d / "LICENSE").write_text("MIT License\n")
    _profile_csv(d / "a100_Llama-2-70b-hf_mlp.csv", 0.001, drop="time_stats.mlp_act.median")
    out = tmp_path / "fit.json"
    r = run_cli("time-model", "fit", d, "-o", out)
    assert r.code == 2
    assert r.err.count("\n") == 1
    assert "missing column(s) time_stats.mlp_act.median" in r.err
    assert not out.exists()
    assert not (tmp_path / "LICENSE-vidur").exists()


def test_cli_list_shows_presets(run_cli):
    """``time-model list`` names every preset."""
    r = run_cli("time-model", "list")
    assert r.code == 0
    assert all(p in r.out for p in PRESETS)


def _azure_csv(path: Path, rows: int = 40) -> Path:
    lines = ["TIMESTAMP,ContextTokens,GeneratedTokens"]
    lines += [f"2023-11-16 18:15:{i // 4:02d}.{i % 4 * 25:02d}00000,{50 + 37 * i % 400},"
              f"{5 + 13 * i % 90}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_reproduce_in_seconds_cli(tmp_path, run_cli):
    """--time-model runs the trace study in seconds: table beside the paper, Parquet, figures."""
    import pyarrow.parquet as pq

    out = tmp_path / "out"
    r = run_cli("reproduce", "jaillet2025", "--no-synthetic", "--time-model", "llama2-7b-h100",
                "--trace", _azure_csv(tmp_path / "conv.csv"), "--trace-requests", "30",
                "--rates", "50", "10", "-o", out, "--no-progress")
    assert r.code == 0, r.err
    data = json.loads((out / "trace-seconds.json").read_text())
    assert [s["name"] for s in data["settings"]] == ["conv", "lengths@50/s", "lengths@10/s"]
    assert all(x["valid"] and x["mean_latency_s"] > 0 for x in data["runs"])
    cols = pq.read_table(out / "trace-requests.parquet").column_names
    assert {"arrival_s", "ttft_s", "tpot_s", "latency_s", "arrival_round"} <= set(cols)
    report = (out / "report.md").read_text()
    assert "Real-trace study in seconds" in report
    assert "32.11" in report
    assert "46.47" in report
    assert "--time-model llama2-7b-h100" in report
    assert str(tmp_path) not in report
    assert (out / "figures" / "latency-cdf-conv.png").is_file()
    assert (out / "figures" / "memory-lengths-50s.png").is_file()


@pytest.mark.parametrize(("args", "message"), [
    (["--time-model", "llama9-h100"], "unknown time model 'llama9-h100'"),
    (["--time-model", "fixed:0"], "round time must be > 0"),
    (["--time-model", "fixed:-1"], "round time must be > 0"),
    (["--time-model", "llama2-7b-a100", "--no-trace"], "needs the real-trace study"),
    (["--time-model", "llama2-7b-a100", "--rates", "0"], "--rates must be > 0"),
    (["--time-model", "llama2-7b-a100", "--trace", "sharegpt"], "needs a trace with timestamps"),
])
def test_reproduce_time_model_bad_input(tmp_path, run_cli, args, message):
    """Bad time-model options: exit 2, one clear line, nothing written."""
    r = run_cli("reproduce", "jaillet2025", "--no-synthetic", "-o", tmp_path / "o", *args)
    assert r.code == 2
    assert message in r.err
    assert r.err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_profile_with_non_positive_timings_is_refused(tmp_path):
    """A profile row with a zero or negative timing is refused, naming the file."""
    _profile_csv(tmp_path / "a100_Llama-2-70b-hf_mlp.csv", -0.001)
    with pytest.raises(TimeModelError, match="timings must be > 0 ms"):
        fit_preset(tmp_path, "llama2-70b-tp2-a100")


def test_bench_engine_time_on_the_sample_prints_every_variant():
    """bench_engine_time.py on the shipped sample exits 0 with a row and ratio per variant."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_engine_time.py"
    out = subprocess.run([sys.executable, str(script), "--trace", "azure-conv", "--repeat", "1",
                          "--policies", "mcsf"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    for variant in ("unit", "fixed:0.045", "llama2-70b-tp2-a100"):
        assert f" {variant} " in out.stdout
    assert "x unit" in out.stdout


def test_cli_fit_missing_directory_or_licence_exits_2(tmp_path, run_cli):
    """No profile directory, or profiles without Vidur's LICENSE: exit 2, nothing written."""
    out = tmp_path / "fit.json"
    r = run_cli("time-model", "fit", tmp_path / "nope", "-o", out)
    assert r.code == 2
    assert "profile directory nope not found" in r.err
    (tmp_path / "prof").mkdir()
    _profile_csv(tmp_path / "prof" / "a100_Llama-2-70b-hf_mlp.csv", 0.001)
    r = run_cli("time-model", "fit", tmp_path / "prof", "-o", out)
    assert r.code == 2
    assert "no LICENSE file" in r.err
    assert r.err.count("\n") == 1
    assert not out.exists()


def test_cli_schedule_in_seconds(run_cli):
    """schedule --time-model prints seconds; the JSON metrics carry them; bad pairs exit 2."""
    r = run_cli("schedule", "builtin:default", "--time-model", "fixed:0.5",
                "--arrival-seconds-per-round", "0.5", "--json")
    assert r.code == 0, r.err
    unit = run_cli("schedule", "builtin:default", "--json").json()["metrics"]
    m = r.json()["metrics"]
    assert m["mean_latency_s"] == pytest.approx(0.5 * unit["mean_latency"])
    assert m["time_model"] == "fixed:0.5"
    r = run_cli("schedule", "builtin:default", "--time-model", "llama2-7b-a100",
                "--arrival-seconds-per-round", "0.02")
    assert r.code == 0
    assert "TTFT (s)" in r.out
    assert "mean TPOT" in r.out
    for bad, msg in ((["--time-model", "llama2-7b-a100"], "needs --arrival-seconds-per-round"),
                     (["--arrival-seconds-per-round", "1"], "needs a --time-model"),
                     (["--time-model", "x", "--arrival-seconds-per-round", "1"],
                      "unknown time model 'x'")):
        r = run_cli("schedule", "builtin:default", *bad)
        assert r.code == 2
        assert msg in r.err
        assert r.err.count("\n") == 1
