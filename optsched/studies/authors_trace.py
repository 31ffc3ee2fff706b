"""The real-trace study of Jaillet et al. under the authors'-code protocol (issue 25).

The authors' published simulators (MC-SF, MC-Benchmark, the alpha baselines) differ from our
study in seconds (:mod:`optsched.studies.reproduce_seconds`) in three ways, each declared here:

* **the prompt step**: a request's prompt is a batch step of its own that emits the first token,
  so a request with o output tokens runs o + 1 steps and holds input + tokens processed, up to
  s + o + 1; here it is the default memory convention with o + 1 held rounds;
* **the batch time**: the published linear formula, preset ``jaillet2025-linear``
  (:data:`optsched.policies.timemodel.JAILLET2025_LINEAR`);
* **the rows and the metrics**: the first 1,000 rows of the data frame (in file order, not
  sampled), M = 16,492; the mean latency over all requests, and over the requests completed
  within a simulation time limit (the metric of the alpha scripts; MC-SF and MC-Benchmark run
  to the end, where both coincide).

The data frame's arrival times are set outside the files; the paper states Poisson arrivals at
50/s and 10/s, which is what is used here (seeded, first arrival at 0 s).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from optsched.errors import OptschedError
from optsched.model.instance import Instance, make_instance
from optsched.studies.formatting import fmt_number
from optsched.studies.trace_study import PUBLISHED_TRACE, TRACE_MEMORY_LIMIT

#: Policies compared under the protocol (the paper's two headline ones).
AUTHORS_TRACE_POLICIES = ("mcsf", "mc-benchmark")


@dataclass(frozen=True)
class AuthorsTraceConfig:
    """Recorded choices of the protocol (docs/reproduction.md explains each)."""

    traces: tuple[str, ...] = ("sharegpt", "azure-conv")
    rows: int = 1_000  # the published scripts take the first 1,000 * (i + 1) rows; MC-SF i = 0
    rates: tuple[float, ...] = (50.0, 10.0)
    memory_limit: int = TRACE_MEMORY_LIMIT
    seed: int = 0
    time_limits_s: tuple[float, ...] = (60.0, 600.0)
    policies: tuple[str, ...] = AUTHORS_TRACE_POLICIES
    time_model: str = "jaillet2025-linear"
    #: batch caps B tried for the policies that take one (the published alpha baselines)
    batch_caps: tuple[int, ...] = (4, 8, 16, 32)


def prompt_step_instance(prompt: np.ndarray, output: np.ndarray, memory_limit: int,
                         ids: list[str]) -> Instance:
    """Requests with the published prompt step: o + 1 held rounds (s + 1 .. s + o + 1)."""
    return make_instance(memory_limit, (output + 1).tolist(), prompt.tolist(), 0, ids=ids)


def authors_setting(trace: str, rate: float, cfg: AuthorsTraceConfig
                    ) -> tuple[Instance, np.ndarray, dict[str, Any]]:
    """The first ``cfg.rows`` rows of ``trace`` that fit in M with the prompt step, with
    seeded Poisson arrivals at ``rate`` per second."""
    from optsched.data.traces import load_trace

    tr = load_trace(trace)
    fits = np.flatnonzero(tr.prompt + tr.output + 1 <= cfg.memory_limit)
    rows = fits[:cfg.rows]
    if rows.size == 0:
        raise OptschedError(f"trace {tr.file_name}: no row fits in M = {cfg.memory_limit}")
    rng = np.random.default_rng(cfg.seed)
    gaps = rng.exponential(1.0 / rate, size=rows.size)
    secs = np.concatenate([[0.0], np.cumsum(gaps[1:])])
    inst = prompt_step_instance(tr.prompt[rows], tr.output[rows], cfg.memory_limit,
                                [f"row{r}" for r in rows.tolist()])
    rec = {"trace": tr.file_name, "sha256": tr.sha256, "rate": rate, "requests": int(rows.size),
           "dropped_too_large": int(rows[-1] + 1 - rows.size),
           "mean_prompt": float(tr.prompt[rows].mean()),
           "mean_output": float(tr.output[rows].mean())}
    return inst, secs, rec


def completed_within(latency_s: np.ndarray, arrival_s: np.ndarray, limit: float
                     ) -> tuple[int, float]:
    """(how many requests completed by ``limit`` seconds, their mean latency)."""
    done = arrival_s + latency_s <= limit
    k = int(done.sum())
    return k, float(latency_s[done].mean()) if k else math.nan


def run_authors_trace(cfg: AuthorsTraceConfig) -> dict[str, Any]:
    """Every policy on every (trace, rate) setting under the protocol; a JSON-ready summary.
    Every run's schedule is validated by the engine (invalid runs are recorded as failed)."""
    from optsched.policies import run_policy

    out: dict[str, Any] = {"config": asdict(cfg), "runs": []}
    for trace in cfg.traces:
        for rate in cfg.rates:
            inst, secs, rec = authors_setting(trace, rate, cfg)
            for p in cfg.policies:
                for kw in _variants(p, cfg):
                    out["runs"].append(_one_run(run_policy, inst, secs, rec, p, cfg, kw))
    return out


def _variants(policy: str, cfg: AuthorsTraceConfig) -> list[dict[str, Any]]:
    """Keyword sets to run ``policy`` with: every batch cap for the published alpha rules."""
    if policy.endswith("-published"):
        return [{"batch_cap": b} for b in cfg.batch_caps]
    return [{}]


def _one_run(run_policy: Any, inst: Instance, secs: np.ndarray, rec: dict[str, Any],
             policy: str, cfg: AuthorsTraceConfig, kw: dict[str, Any] | None = None
             ) -> dict[str, Any]:
    kw = kw or {}
    label = policy + "".join(f", B = {v}" for v in kw.values())
    row: dict[str, Any] = dict(rec, policy=policy, label=label, **kw)
    try:
        run = run_policy(inst, policy, time_model=cfg.time_model, arrival_seconds=secs.tolist(),
                         **kw)
    except (OptschedError, RuntimeError) as exc:
        return dict(row, valid=False, problems=f"{type(exc).__name__}: {exc}"[:300])
    if not run.validation.valid:
        return dict(row, valid=False, problems=run.validation.summary()[:300])
    rs = run.request_seconds or {}
    lat = np.asarray(rs["latency_s"])
    row.update(valid=True, mean_latency_s=float(lat.mean()),
               makespan_s=float(run.metrics["makespan_s"]), overflows=run.metrics["overflows"],
               evictions=run.metrics["evictions"])
    for limit in cfg.time_limits_s:
        k, mean = completed_within(lat, np.asarray(rs["arrival_s"]), limit)
        row[f"completed_by_{limit:g}s"] = k
        row[f"mean_latency_completed_by_{limit:g}s"] = mean
    return row


def authors_trace_section(summary: dict[str, Any]) -> list[str]:
    """The report section: both metrics per setting and policy, beside 32.11 / 46.47."""
    cfg = summary["config"]
    limits = cfg["time_limits_s"]
    head = " | ".join(f"completed by {t:g} s: count, mean (s)" for t in limits)
    L = ["## Real-trace study under the authors'-code protocol", "",
         f"Batch time `{cfg['time_model']}`, the prompt as a step of its own (o + 1 steps per "
         f"request), M = {cfg['memory_limit']:,}, the first {cfg['rows']:,} rows of each trace "
         "that fit, seeded Poisson arrivals (first at 0 s), exact output lengths. Paper "
         f"(LMSYS-Chat-1M): MC-SF {PUBLISHED_TRACE['mcsf']} s, MC-Benchmark "
         f"{PUBLISHED_TRACE['mc-benchmark']} s.", "",
         f"| trace | rate (/s) | requests | policy | mean latency, all requests (s) | {head} "
         "| overflows |",
         "|---|---:|---:|---|---:|" + "---:|" * len(limits) + "---:|"]
    for r in summary["runs"]:
        pre = f"| {r['trace']} | {r['rate']:g} | {r['requests']:,} | {r['label']} |"
        if not r["valid"]:
            L.append(f"{pre} failed: {r['problems'][:80]} |" + " |" * (len(limits) + 1))
            continue
        cells = " | ".join(
            f"{r[f'completed_by_{t:g}s']:,}, "
            f"{fmt_number(r[f'mean_latency_completed_by_{t:g}s'], 2)}" for t in limits)
        L.append(f"{pre} {fmt_number(r['mean_latency_s'], 2)} | {cells} | {r['overflows']} |")
    L += ["", _ratios(summary["runs"]), ""]
    return L


def _ratios(runs: list[dict[str, Any]]) -> str:
    """MC-Benchmark / MC-SF on all requests, per setting, beside the paper's 1.447."""
    parts = []
    by = {(r["trace"], r["rate"], r["label"]): r for r in runs if r["valid"]}
    for (trace, rate, pol), r in by.items():
        other = by.get((trace, rate, "mc-benchmark"))
        if pol == "mcsf" and other is not None:
            parts.append(f"{trace} at {rate:g}/s: "
                         f"{other['mean_latency_s'] / r['mean_latency_s']:.3f}")
    pub = PUBLISHED_TRACE["mc-benchmark"] / PUBLISHED_TRACE["mcsf"]
    return (f"MC-Benchmark / MC-SF (all requests): {'; '.join(parts) or '–'} "
            f"(paper: {pub:.3f}).")


__all__ = ["AUTHORS_TRACE_POLICIES", "AuthorsTraceConfig", "authors_setting",
           "authors_trace_section", "completed_within", "prompt_step_instance",
           "run_authors_trace"]
