"""Engine throughput on the full Azure LLM inference conversation trace (2023, 19,366 requests).

Builds one instance from the whole trace with recorded choices (round length, token scale, M;
all in the instance metadata), then in one run:

* fast MC-SF (``mcsf_fast``) on the whole trace;
* the online engine with ``algorithm1`` (exact predictions; must give the same schedule as
  ``mcsf_fast``), with ``algorithm1`` under noisy predictions, and with ``alpha-greedy``;
* the online engine with **every** policy (``--policies``, default all) with its default
  parameters and the instance's (exact) lengths, side by side: seconds per run (engine and
  validator), mean / p99 latency, overflows, evictions and preemptions;
* the line-by-line reference ``mcsf_reference`` on growing prefixes of the same instance (the
  whole trace would take hours), each checked to give the same schedule as ``mcsf_fast`` on that
  prefix; the speed ratio is *measured* on the largest prefix, and the full-trace time of the
  reference is *extrapolated* from its measured cost per (round x request), clearly labelled.

Every schedule goes through the independent validator. Run::

    python benchmarks/bench_engine_azure.py [--trace PATH] [--ref-full] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

from optsched.data.traces import load_trace, trace_instance
from optsched.model.instance import Instance
from optsched.model.validate import validate
from optsched.policies import ALIASES, POLICIES, mcsf_fast, mcsf_reference, run_policy
from optsched.policies.base import NotApplicableError
from optsched.policies.engine import NoProgressError

DEFAULT_TRACE = (Path(__file__).resolve().parents[2] / "shared" / "traces" / "azure-llm-2023"
                 / "AzureLLMInferenceTrace_conv.csv")


def build_instance(path: Path, round_seconds: float, token_scale: int,
                   memory_tokens: int) -> Instance:
    """Whole trace -> instance through optsched.data.traces (arrival round = floor(seconds /
    round_seconds); lengths in units of ``token_scale`` tokens, rounded up; M = floor(memory_tokens
    / token_scale)). The choices are recorded in ``metadata["trace"]``."""
    trace = load_trace(path)
    inst = trace_instance(trace, range(trace.n), round_seconds=round_seconds,
                          token_scale=token_scale, memory_tokens=memory_tokens)
    return dataclasses.replace(inst, name="azure-conv-2023-full")


def prefix(inst: Instance, n: int) -> Instance:
    return inst.with_requests(inst.requests[:n])


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trace", type=Path, default=DEFAULT_TRACE,
                    help="path to AzureLLMInferenceTrace_conv.csv (default: the shared traces "
                    "folder next to the repository)")
    ap.add_argument("--round-seconds", type=float, default=0.025,
                    help="seconds per round = one decode step (default 0.025)")
    ap.add_argument("--token-scale", type=int, default=1,
                    help="tokens per memory unit (default 1: one round = one token)")
    ap.add_argument("--memory-tokens", type=int, default=49_152,
                    help="KV-cache budget in tokens (default 49152)")
    ap.add_argument("--ref-prefixes", default="250,500,1000",
                    help="prefix sizes on which the reference runs (default 250,500,1000)")
    ap.add_argument("--ref-full", action="store_true",
                    help="also run the reference on the whole trace (about 20-40 minutes)")
    ap.add_argument("--noisy", type=float, default=0.3,
                    help="relative error of the noisy-prediction run (default 0.3)")
    ap.add_argument("--policies", default="all",
                    help="comma-separated policies to time on the whole trace (default all)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)
    names = [n for n in POLICIES if n not in ALIASES] if args.policies == "all" else [
        x.strip() for x in args.policies.split(",") if x.strip()]
    unknown = [x for x in names if x not in POLICIES]
    if unknown:
        sys.exit(f"unknown policies: {', '.join(unknown)}")
    if not args.trace.exists():
        sys.exit(f"trace not found: {args.trace} (pass --trace PATH)")

    inst, t_load = timed(build_instance, args.trace, args.round_seconds, args.token_scale,
                         args.memory_tokens)
    n = inst.n
    print(f"instance: {n} requests, M = {inst.memory_limit} units, last arrival round "
          f"{int(inst.arrival.max())}; choices {json.dumps(inst.metadata['trace'])}; "
          f"built in {t_load:.1f} s", file=sys.stderr)
    rows: list[dict[str, Any]] = []

    def record(method: str, requests: int, seconds: float, sched: Any, prefix_inst: Instance,
               note: str = "", **extra: Any) -> dict[str, Any]:
        rep = validate(prefix_inst, sched)
        assert rep.valid, f"{method}: invalid schedule\n{rep.summary()}"
        row = {"method": method, "requests": requests, "seconds": seconds,
               "requests_per_second": requests / seconds, "rounds": rep.metrics.makespan
               - int(prefix_inst.arrival.min()), "mean_latency_rounds": rep.metrics.mean_latency,
               "peak_memory": rep.metrics.peak_memory, "note": note, **extra}
        rows.append(row)
        print(f"  {method:<34} n={requests:>6}  {seconds:8.3f} s  "
              f"{requests / seconds:10.0f} req/s  {note}", file=sys.stderr)
        return row

    fast, t_fast = timed(mcsf_fast, inst)
    record("mcsf_fast (offline planner)", n, t_fast, fast, inst)
    run = run_policy(inst, "algorithm1", predictions="exact")
    same = dict(run.schedule.starts) == dict(fast.starts)
    record("engine algorithm1 (exact)", n, run.runtime, run.schedule, inst,
           note=f"same schedule as mcsf_fast: {same}", overflows=run.overflows)
    assert same, "engine algorithm1 with exact predictions differs from mcsf_fast"
    run = run_policy(inst, "algorithm1", predictions=f"noisy:{args.noisy}", seed=0)
    record(f"engine algorithm1 (noisy:{args.noisy})", n, run.runtime, run.schedule, inst,
           note=f"{run.overflows} overflows, {run.evictions} evictions",
           overflows=run.overflows, evictions=run.evictions)
    try:
        run = run_policy(inst, "alpha-greedy")
        record("engine alpha-greedy (alpha 0.2)", n, run.runtime, run.schedule, inst,
               note=f"{run.overflows} overflows, {run.evictions} evictions",
               overflows=run.overflows, evictions=run.evictions)
    except NoProgressError as exc:
        print(f"  alpha-greedy stalled: {exc}", file=sys.stderr)
        rows.append({"method": "engine alpha-greedy (alpha 0.2)", "requests": n,
                     "note": f"stalled: {exc}"})

    policy_rows = time_policies(inst, names)

    # reference on prefixes, checked against the fast path on the same prefix
    ref_rows = []
    for k in [int(x) for x in args.ref_prefixes.split(",") if x.strip()]:
        sub = prefix(inst, min(k, n))
        ref, t_ref = timed(mcsf_reference, sub)
        fast_sub, t_fsub = timed(mcsf_fast, sub)
        assert dict(ref.starts) == dict(fast_sub.starts), f"reference != fast on prefix {k}"
        r1 = record(f"mcsf_reference prefix {sub.n}", sub.n, t_ref, ref, sub)
        record(f"mcsf_fast prefix {sub.n}", sub.n, t_fsub, fast_sub, sub,
               note=f"measured speed ratio {t_ref / t_fsub:.1f}x")
        ref_rows.append((sub.n, r1["rounds"], t_ref, t_fsub))
    if args.ref_full:
        ref, t_ref = timed(mcsf_reference, inst)
        assert dict(ref.starts) == dict(fast.starts), "reference != fast on the full trace"
        record("mcsf_reference (whole trace)", n, t_ref, ref, inst,
               note=f"MEASURED speed ratio vs mcsf_fast {t_ref / t_fast:.0f}x")
    # extrapolate the reference: its rounds each scan all n requests, cost ~ c * rounds * n
    n_k, rounds_k, t_k, tf_k = ref_rows[-1]
    c = t_k / (rounds_k * n_k)
    full_rounds = rows[0]["rounds"]
    t_ref_full = c * full_rounds * n
    summary = {
        "instance": {"n": n, "memory_limit": inst.memory_limit, **inst.metadata["trace"]},
        "rows": rows,
        "measured_ratio_on_prefix": {"n": n_k, "reference_s": t_k, "fast_s": tf_k,
                                     "ratio": t_k / tf_k},
        "reference_full_trace_extrapolated_s": t_ref_full,
        "extrapolated_ratio_full_trace": t_ref_full / t_fast,
        "extrapolation": "reference cost per (round x request) on the largest prefix, times "
                         "the full trace's rounds and requests (EXTRAPOLATED, not measured)",
        "policies": policy_rows,
    }
    if args.json:
        print(json.dumps(summary, indent=1, default=float))
        return 0
    print(f"\nAzure conv 2023, {n} requests, M = {inst.memory_limit} units "
          f"(token scale {args.token_scale}, round {args.round_seconds} s)")
    print(f"{'method':<36}{'requests':>9}{'rounds':>9}{'seconds':>10}{'req/s':>10}"
          f"{'mean lat':>10}  note")
    for r in rows:
        if "seconds" not in r:
            print(f"{r['method']:<36}{r['requests']:>9}  {r['note']}")
            continue
        print(f"{r['method']:<36}{r['requests']:>9}{r['rounds']:>9}{r['seconds']:>10.3f}"
              f"{r['requests_per_second']:>10.0f}{r['mean_latency_rounds']:>10.1f}  {r['note']}")
    print("(mean lat = mean latency in rounds, arrival to completion)")
    print(f"\nmeasured: reference vs fast on the {n_k}-request prefix: {t_k:.2f} s vs "
          f"{tf_k:.3f} s = {t_k / tf_k:.1f}x")
    print(f"EXTRAPOLATED (not measured): reference on the full trace ~ {t_ref_full:.0f} s "
          f"({c * 1e9:.0f} ns per round x request x {full_rounds} rounds x {n} requests), "
          f"fast {t_fast:.2f} s measured -> ~{t_ref_full / t_fast:.0f}x")
    print(f"\nevery policy on the whole trace (one run each, engine + validator, "
          f"{n} requests)")
    print(f"{'policy':<30}{'seconds':>9}{'mean lat':>10}{'p99 lat':>10}{'overflows':>10}"
          f"{'evictions':>10}{'preempt.':>10}  note")
    for r in policy_rows:
        if "seconds" not in r:
            print(f"{r['policy']:<30}{'-':>9}  {r['note']}")
            continue
        print(f"{r['policy']:<30}{r['seconds']:>9.3f}{r['mean_latency']:>10.1f}"
              f"{r['p99_latency']:>10.1f}{r['overflows']:>10}{r['evictions']:>10}"
              f"{r['preemptions']:>10}  {r['note']}")
    return 0


def time_policies(inst: Instance, names: list[str]) -> list[dict[str, Any]]:
    """Run every named policy on the whole instance (validated by run_policy); a stall or a
    policy that cannot serve the instance is reported, not fatal."""
    out = []
    for name in names:
        try:
            run = run_policy(inst, name)
        except (NoProgressError, NotApplicableError) as exc:
            out.append({"policy": name, "note": f"{type(exc).__name__}: {exc}"})
            continue
        m = run.metrics
        out.append({"policy": name, "seconds": run.runtime, "mean_latency": m["mean_latency"],
                    "p99_latency": m["p99_latency"], "overflows": run.overflows,
                    "evictions": run.evictions, "preemptions": m["preemptions"],
                    "note": "under 10 s" if run.runtime < 10 else "OVER 10 s"})
        print(f"  policy {name:<28} {run.runtime:8.3f} s", file=sys.stderr)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
