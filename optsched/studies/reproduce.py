"""Reproduction of the experiments of Jaillet et al. (arXiv 2502.07115), SPEC §6.

Two studies:

* **synthetic** (:func:`run_synthetic`): Model 1 (all requests at time 0) and Model 2 (Poisson
  arrivals), seeded trials drawn by :mod:`optsched.data.generators`; every policy is run, its
  schedule validated, and compared with the hindsight optimum from :func:`optsched.exact.solve`.
  When the solver does not prove optimality within its limit, the optimum is only known to lie in
  ``[bound, best schedule]`` and every ratio is reported as the interval it implies.
* **trace** (:func:`optsched.studies.trace_study.run_trace_study`): the same policies on
  request lengths from a real conversation trace, with Poisson arrivals at a high and a low
  rate and M = 16,492 tokens, in unit-time rounds (no exact optimum at that size).

This module holds the synthetic study, the report and :func:`run_study`, which runs both; the
trace study, the policy runs and the formatting helpers are modules of their own beside it.

Exact solves are cached per instance (append-only JSON lines under ``cache/``), so an
interrupted run continues where it stopped, and a later run with a stronger solver re-solves only
the trials that are still unproven.
"""

from __future__ import annotations

import dataclasses
import json
import math
import platform
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from optsched.data.generators import jaillet_model1, jaillet_model2
from optsched.errors import OptschedError
from optsched.exact import SOLVERS, solve
from optsched.exact.bounds import check_bound_effort, lower_bound
from optsched.exact.solve import METHODS, choose_method
from optsched.model.instance import Instance
from optsched.model.io import (
    append_jsonl,
    atomic_write_json,
    atomic_write_parquet,
    atomic_write_text,
    dumps,
    jsonl_appender,
    read_jsonl,
)
from optsched.model.schedule import Schedule
from optsched.model.validate import validate
from optsched.studies.formatting import fmt_interval, fmt_number, progress_bar
from optsched.studies.policy_runs import (
    PAPER_POLICIES,
    PolicyOutcome,
    available_policies,
    default_policies,
    final_runs_only,
    run_one_policy,
)
from optsched.studies.trace_study import (
    PUBLISHED_TRACE,
    TraceConfig,
    read_trace_lengths,
    run_trace_study,
    trace_section,
)
from optsched.version import __version__

#: Figures published in arXiv 2502.07115 (v4/v5), SPEC §6: MC-SF / hindsight optimum.
PUBLISHED: dict[int, dict[str, Any]] = {
    1: {"trials": 200, "average": 1.005, "worst": 1.074, "mcsf_optimal": 114},
    2: {"trials": 200, "average": 1.047, "worst": 1.227, "mcsf_optimal": None},
}


MODEL_GENERATORS: dict[int, Callable[..., Instance]] = {1: jaillet_model1, 2: jaillet_model2}

#: Generator scales. ``paper`` is SPEC §6 exactly; ``small`` is a scaled-down protocol (NOT the
#: paper's) whose optima open-source solvers prove in seconds, for first looks and CI.
SCALES: dict[str, dict[int, dict[str, tuple[int, int]]]] = {
    "paper": {1: {}, 2: {}},
    "small": {1: {"n_range": (8, 12), "m_range": (12, 20), "s_range": (1, 3)},
              2: {"horizon_range": (8, 12), "m_range": (12, 20), "s_range": (1, 3)}},
}



# --------------------------------------------------------------------------------------------
# exact solves, cached per instance
# --------------------------------------------------------------------------------------------
@dataclass
class OptEntry:
    """What is known about one instance's hindsight optimum (total completion time)."""

    instance_hash: str
    solver: str
    time_limit: float | None
    status: str
    upper: int  # value of the best validated schedule
    lower: int  # proven lower bound
    runtime: float
    raw_status: str
    starts: dict[str, int]
    solver_version: str = ""
    method: str = "time-indexed"  # the method that ran: "auto" is resolved before solving
    optsched_version: str = ""  # empty in caches written before 0.5

    @property
    def proven(self) -> bool:
        return self.status == "optimal" and self.upper == self.lower


class SolveCache:
    """Append-only JSON-lines store of exact solves keyed by instance content hash.

    A partially written last line (a run killed mid-write) is ignored on reading. Entries are
    re-validated against their instance before use, so a stale or edited cache cannot smuggle in
    a wrong optimum.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, list[OptEntry]] = {}
        for obj in read_jsonl(path):
            try:
                e = OptEntry(**obj)
            except TypeError:
                continue
            self.entries.setdefault(e.instance_hash, []).append(e)

    def lookup(self, instance: Instance, solver: str, time_limit: float | None,
               method: str = "time-indexed") -> OptEntry | None:
        """A cached answer good enough for this request: a proven optimum from any solver, or
        a run of the same solver and method with at least this time limit."""
        best = None
        for e in self.entries.get(instance.content_hash(), []):
            if not _entry_valid(instance, e):
                continue
            # A run with no limit, or a longer one, of the same method answers this request.
            same = e.solver == solver and e.method == method and (
                e.time_limit is None or (time_limit is not None and e.time_limit >= time_limit))
            better = best is None or ((e.proven, -e.upper, e.lower)
                                      > (best.proven, -best.upper, best.lower))
            if (e.proven or same) and better:
                best = e
        return best

    def best_schedule(self, instance: Instance) -> Schedule | None:
        """The best validated schedule any cached run found (a warm start for a new solve)."""
        good = [e for e in self.entries.get(instance.content_hash(), [])
                if _entry_valid(instance, e)]
        return Schedule(dict(min(good, key=lambda e: e.upper).starts)) if good else None

    def add(self, entry: OptEntry) -> None:
        with jsonl_appender(self.path) as fh:
            append_jsonl(fh, asdict(entry))
        self.entries.setdefault(entry.instance_hash, []).append(entry)


def _entry_valid(instance: Instance, e: OptEntry) -> bool:
    sched = Schedule(dict(e.starts))
    report = validate(instance, sched)
    return (report.valid and report.metrics is not None
            and report.metrics.total_completion_time == e.upper and e.lower <= e.upper)


_BOUNDS: dict[tuple[str, str], int] = {}


def combinatorial_bound(instance: Instance, effort: str = "full") -> int:
    """The lower bound of :mod:`optsched.exact.bounds` for ``instance`` (memoised by content hash
    and effort: the report asks again for trials already solved)."""
    key = (instance.content_hash(), effort)
    if key not in _BOUNDS:
        _BOUNDS[key] = lower_bound(instance, effort=effort).value
    return _BOUNDS[key]


def _with_current_bound(instance: Instance, entry: OptEntry, cache: SolveCache,
                        effort: str = "full") -> OptEntry:
    """A cached unproven answer with its lower end raised to this version's combinatorial bound
    (bounds improve between versions and need no new solve); the raised entry is appended to
    the cache, so the record says which version proved what."""
    if entry.proven:
        return entry
    bound = combinatorial_bound(instance, effort)
    if bound <= entry.lower:
        return entry
    if bound > entry.upper:
        raise OptschedError(f"lower bound {bound} exceeds the validated schedule's value "
                            f"{entry.upper} for instance {entry.instance_hash}: a bound bug")
    raised = dataclasses.replace(
        entry, lower=bound, status="optimal" if bound == entry.upper else entry.status,
        raw_status=f"{entry.raw_status}; lower end raised to {bound} by optsched "
                   f"{__version__}'s bound", optsched_version=__version__)
    cache.add(raised)
    return raised


def hindsight_optimum(instance: Instance, solver: str, time_limit: float | None, threads: int,
                      cache: SolveCache | None, warm: Iterable[Schedule] = (),
                      method: str = "time-indexed", bound_effort: str = "full") -> OptEntry:
    """Solve (or fetch from ``cache``) the hindsight optimum with ``solver`` and ``method`` (see
    :data:`optsched.exact.solve.METHODS`), warm-started with the best of the ``warm`` schedules
    and any cached schedule. ``"auto"`` is resolved first (:func:`choose_method`), so the entry
    records the method that ran and an ``auto`` run reuses cached runs of that method."""
    if method == "auto":
        method = choose_method(instance, solver)
    if cache is not None:
        hit = cache.lookup(instance, solver, time_limit, method)
        if hit is not None:
            return _with_current_bound(instance, hit, cache, bound_effort)
    candidates = [s for s in warm if validate(instance, s).valid]
    if cache is not None and (c := cache.best_schedule(instance)) is not None:
        candidates.append(c)
    outputs = {r.id: r.output_tokens for r in instance.requests}
    initial = min(candidates, key=lambda s: s.objective(outputs)) if candidates else None
    res = solve(instance, solver, time_limit=time_limit, threads=threads,
                initial_solution=initial, method=method, bound_effort=bound_effort)
    if res.schedule is None or res.objective is None:
        raise OptschedError(f"{solver} found no schedule for instance {instance.content_hash()}")
    entry = OptEntry(instance.content_hash(), solver, time_limit, res.status.value,
                     int(res.objective), int(res.bound if res.bound is not None else 0),
                     round(res.runtime, 3), res.raw_status, dict(res.schedule.starts),
                     res.solver_version, method, __version__)
    if method in ("heuristic", "lns"):  # their bound is the combinatorial one: no recompute
        _BOUNDS.setdefault((entry.instance_hash, bound_effort), entry.lower)
    if cache is not None:
        cache.add(entry)
    return entry


# --------------------------------------------------------------------------------------------
# the synthetic study
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SyntheticConfig:
    """Everything that determines the synthetic study's numbers (recorded in the report)."""

    trials: int = 200
    models: tuple[int, ...] = (1, 2)
    solver: str = "cpsat"
    #: "auto" picks by size (optsched.exact.solve.choose_method): at the paper's sizes that is
    #: "lns", whose schedules make the ratio intervals' lower ends the strongest measured
    method: str = "auto"
    time_limit: float | None = 60.0
    threads: int = 1
    seed: int = 0
    policies: tuple[str, ...] = field(default_factory=default_policies)
    scale: str = "paper"
    #: optsched.exact.bounds.BOUND_EFFORTS: "fast" leaves the path and window bounds out of the
    #: lower ends (much quicker at the papers' size, wider intervals)
    bound_effort: str = "full"

    def seeds(self) -> range:
        """Trial k of each model uses generator seed ``seed + k``."""
        return range(self.seed, self.seed + self.trials)

    def check(self) -> None:
        if self.trials < 1:
            raise OptschedError("trials must be >= 1")
        bad = [m for m in self.models if m not in MODEL_GENERATORS]
        if bad or not self.models:
            raise OptschedError(f"models must be a non-empty subset of 1, 2; got {bad}")
        if self.solver not in SOLVERS or self.solver == "bruteforce":
            raise OptschedError(f"solver must be one of "
                                f"{', '.join(s for s in SOLVERS if s != 'bruteforce')}")
        if self.time_limit is not None and self.time_limit <= 0:
            raise OptschedError("time limit must be > 0 seconds")
        if self.method not in METHODS:
            raise OptschedError(f"method must be one of {', '.join(METHODS)}")
        check_bound_effort(self.bound_effort)
        known = available_policies()
        for p in self.policies:
            if p not in known:
                raise OptschedError(f"unknown policy {p!r}; available: {', '.join(known)}")
        if self.scale not in SCALES:
            raise OptschedError(f"scale must be one of {', '.join(SCALES)}")
        if "mcsf" not in self.policies:
            raise OptschedError("the policies must include mcsf (the study compares it)")




def trial_instance(model: int, seed: int, scale: str = "paper") -> Instance:
    """The instance of one trial (rebuildable from its metadata)."""
    return MODEL_GENERATORS[model](seed, **SCALES[scale][model])


def ratio_interval(value: int, lower: int, upper: int) -> tuple[float, float]:
    """policy / OPT when OPT is only known to lie in [lower, upper]: [value/upper, value/lower].

    Values are totals measured from an origin (completion times, or latencies); a zero
    denominator (impossible for valid instances since every o_i >= 1) gives inf."""
    lo = value / upper if upper > 0 else math.inf
    hi = value / lower if lower > 0 else math.inf
    return lo, hi


def synthetic_rows(model: int, seed: int, trial: int, config: SyntheticConfig,
                   cache: SolveCache | None) -> list[dict[str, Any]]:
    """Run one trial: every policy, the hindsight optimum, one result row per policy."""
    inst = trial_instance(model, seed, config.scale)
    outcomes = [run_one_policy(inst, p, seed=seed) for p in config.policies]
    warm = [final_runs_only(o.schedule) for o in outcomes if o.valid]
    opt = hindsight_optimum(inst, config.solver, config.time_limit, config.threads, cache, warm,
                            config.method, config.bound_effort)
    # Any valid policy schedule is also an upper bound on OPT (the solver was warm-started with
    # the best of them, so opt.upper is already <= each of them).
    gen = inst.metadata.get("generator", {})
    base = {
        "model": model, "trial": trial, "seed": seed, "n": inst.n,
        "memory_limit": inst.memory_limit, "horizon": gen.get("horizon"),
        "rate": gen.get("rate"), "total_arrival": inst.total_arrival,
        "instance_hash": inst.content_hash(), "opt_status": opt.status,
        "opt_proven": opt.proven, "opt_solver": opt.solver, "opt_method": opt.method,
        "opt_time_limit": opt.time_limit,
        "opt_runtime": opt.runtime, "opt_upper": opt.upper, "opt_lower": opt.lower,
        "opt_upper_latency": opt.upper - inst.total_arrival,
        "opt_lower_latency": opt.lower - inst.total_arrival,
    }
    rows = []
    for o in outcomes:
        row = dict(base, policy=o.policy, valid=o.valid, completion=o.completion,
                   latency=o.latency, overflows=o.overflows, evictions=o.evictions,
                   wasted_tokens=o.wasted_tokens, problems=o.problems)
        if o.valid:
            lo, hi = ratio_interval(o.latency, base["opt_lower_latency"],
                                    base["opt_upper_latency"])
            clo, chi = ratio_interval(o.completion, opt.lower, opt.upper)
            # optimal: True only when proven; False when a better schedule is known.
            is_opt = (True if o.completion <= opt.lower else
                      False if o.completion > opt.upper else None)
        else:
            lo = hi = clo = chi = math.nan
            is_opt = None
        row.update(ratio_lo=lo, ratio_hi=hi, ratio_ct_lo=clo, ratio_ct_hi=chi,
                   policy_optimal=is_opt)
        rows.append(row)
    return rows


def run_synthetic(config: SyntheticConfig, out_dir: Path, progress: bool = True
                  ) -> list[dict[str, Any]]:
    """Run (or resume) every trial of the synthetic study; rows in long format."""
    config.check()
    cache = SolveCache(out_dir / "cache" / "solves.jsonl")
    jobs = [(m, s, k) for m in config.models for k, s in enumerate(config.seeds())]
    rows: list[dict[str, Any]] = []
    bar = progress_bar(len(jobs), "trials", progress)
    proven = 0
    for m, s, k in jobs:
        trial_rows = synthetic_rows(m, s, k, config, cache)
        rows.extend(trial_rows)
        proven += bool(trial_rows[0]["opt_proven"])
        bar.set_postfix_str(f"model {m} trial {k}, proven {proven}")
        bar.update(1)
    bar.close()
    return rows


def write_certificates(rows: list[dict[str, Any]], config: SyntheticConfig, out_dir: Path,
                       cache: SolveCache) -> int:
    """An optimality certificate (``optsched verify`` checks it) for every proven trial, as
    ``certificates/model<M>-seed<S>.json``; adds the relative path to the rows. Existing files
    are kept (they hold the same proof)."""
    from optsched.exact import SolveResult, Status
    from optsched.exact.certificate import save_certificate

    written = 0
    paths: dict[tuple[int, int], str] = {}
    for r in rows:
        key = (r["model"], r["seed"])
        if not r["opt_proven"] or key in paths:
            continue
        rel = f"certificates/model{key[0]}-seed{key[1]}.json"
        paths[key] = rel
        if (out_dir / rel).exists():
            continue
        inst = trial_instance(key[0], key[1], config.scale)
        e = cache.lookup(inst, config.solver, config.time_limit, config.method)
        if e is None or not e.proven:
            continue
        sched = Schedule(dict(e.starts))
        res = SolveResult(instance=inst, solver=e.solver, status=Status.OPTIMAL,
                          objective=e.upper, bound=e.lower, schedule=sched,
                          raw_status=e.raw_status, runtime=e.runtime,
                          solver_version=e.solver_version,
                          parameters={"time_limit": e.time_limit, "method": e.method},
                          validation=validate(inst, sched), schedule_source="solver")
        save_certificate(res, out_dir / rel)
        written += 1
    for r in rows:
        r["certificate"] = paths.get((r["model"], r["seed"]))
    return written




# --------------------------------------------------------------------------------------------
# aggregation
# --------------------------------------------------------------------------------------------
@dataclass
class PolicySummary:
    """Ratios of one policy on one model (latency ratio, the paper's measure)."""

    model: int
    policy: str
    trials: int
    valid: int
    proven: int
    proven_average: float | None
    proven_best: float | None
    proven_worst: float | None
    average_interval: tuple[float, float]
    worst_interval: tuple[float, float]
    optimal_proven: int
    optimal_possible: int  # proven optimal + equal to the best known value without proof
    average_ct_interval: tuple[float, float]


def summarise(rows: list[dict[str, Any]]) -> list[PolicySummary]:
    """One summary per (model, policy), in the order they first appear."""
    keys: list[tuple[int, str]] = []
    for r in rows:
        if (r["model"], r["policy"]) not in keys:
            keys.append((r["model"], r["policy"]))
    out = []
    for model, policy in keys:
        rs = [r for r in rows if r["model"] == model and r["policy"] == policy]
        ok = [r for r in rs if r["valid"]]
        pr = [r["ratio_lo"] for r in ok if r["opt_proven"]]
        lo = np.array([r["ratio_lo"] for r in ok]) if ok else np.array([math.nan])
        hi = np.array([r["ratio_hi"] for r in ok]) if ok else np.array([math.nan])
        clo = np.array([r["ratio_ct_lo"] for r in ok]) if ok else np.array([math.nan])
        chi = np.array([r["ratio_ct_hi"] for r in ok]) if ok else np.array([math.nan])
        out.append(PolicySummary(
            model=model, policy=policy, trials=len(rs), valid=len(ok),
            proven=sum(1 for r in rs if r["opt_proven"]),
            proven_average=float(np.mean(pr)) if pr else None,
            proven_best=float(np.min(pr)) if pr else None,
            proven_worst=float(np.max(pr)) if pr else None,
            average_interval=(float(lo.mean()), float(hi.mean())),
            worst_interval=(float(lo.max()), float(hi.max())),
            optimal_proven=sum(1 for r in ok if r["policy_optimal"] is True),
            optimal_possible=sum(1 for r in ok if r["policy_optimal"] is not False),
            average_ct_interval=(float(clo.mean()), float(chi.mean())),
        ))
    return out


def generator_check(config: SyntheticConfig) -> list[dict[str, Any]]:
    """Empirical ranges of the generated trials, to compare with SPEC §6's reading."""
    out = []
    for model in config.models:
        insts = [trial_instance(model, s, config.scale) for s in config.seeds()]
        ms = [i.memory_limit for i in insts]
        ns = [i.n for i in insts]
        s_all = np.concatenate([i.prompt for i in insts])
        slack = min(int((i.memory_limit - i.prompt - i.output).min()) for i in insts)
        row = {"model": model, "M": (min(ms), max(ms)), "n": (min(ns), max(ns)),
               "s": (int(s_all.min()), int(s_all.max())),
               "min M - s - o": slack,
               "mean o / (M - s)": float(np.mean(np.concatenate(
                   [i.output / (i.memory_limit - i.prompt) for i in insts])))}
        if model == 2:
            hs = [i.metadata["generator"]["horizon"] for i in insts]
            lams = [i.metadata["generator"]["rate"] for i in insts]
            row["horizon"] = (min(hs), max(hs))
            row["rate"] = (round(min(lams), 3), round(max(lams), 3))
            row["last arrival"] = max(int(i.arrival.max()) for i in insts)
        out.append(row)
    return out




# --------------------------------------------------------------------------------------------
# outputs: Parquet, figures, Markdown report
# --------------------------------------------------------------------------------------------
def write_parquet(rows: list[dict[str, Any]], path: Path) -> None:
    """Raw per-(trial, policy) results as Parquet (written atomically)."""
    atomic_write_parquet(rows, path)


def read_results(path: Path) -> list[dict[str, Any]]:
    """Rows from a results file written by the study (Parquet) or a JSON list of rows."""
    if not path.is_file():
        raise OptschedError(f"results file not found: {path}")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            return pq.read_table(path).to_pylist()
        except Exception as exc:  # pyarrow raises several types for a broken file
            raise OptschedError(f"{path}: not a readable Parquet file: {exc}") from None
    from optsched.model.instance import read_json_file

    data = read_json_file(path, "results")
    if isinstance(data, dict) and isinstance(data.get("rows"), list):
        data = data["rows"]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise OptschedError(f"{path}: expected a JSON list of result objects (or "
                            "{\"rows\": [...]})")
    return data




@dataclass
class ReportInputs:
    """What the Markdown report is rendered from."""

    command: str
    synthetic: SyntheticConfig | None
    rows: list[dict[str, Any]]
    trace: dict[str, Any] | None
    figures: dict[str, str]
    elapsed: float
    versions: dict[str, str]
    notes: list[str] = field(default_factory=list)
    #: the study in seconds (optsched.studies.reproduce_seconds)
    seconds: dict[str, Any] | None = None


def render_report(inp: ReportInputs) -> str:
    """The Markdown report: published vs ours, per-policy tables, investigations, trace study."""
    L: list[str] = ["# Reproduction of Jaillet et al. (arXiv 2502.07115)", ""]
    L += ["Produced by:", "", "```", inp.command, "```", ""]
    L += [f"Software: {', '.join(f'{k} {v}' for k, v in inp.versions.items())}. "
          f"Wall-clock time of this invocation: {inp.elapsed / 60:.1f} min (a resumed run reuses "
          "cached solves; their recorded time is given below)."]
    L += inp.notes
    L.append("")
    if inp.synthetic is not None and inp.rows:
        L += _synthetic_section(inp.synthetic, inp.rows, inp.figures)
    if inp.trace is not None:
        L += trace_section(inp.trace, inp.figures)
    if inp.seconds is not None:
        from optsched.studies.reproduce_seconds import seconds_section

        L += seconds_section(inp.seconds, inp.figures)
    return "\n".join(L).rstrip() + "\n"


def _synthetic_section(cfg: SyntheticConfig, rows: list[dict[str, Any]],
                       figures: dict[str, str]) -> list[str]:
    sums = summarise(rows)
    mc = {s.model: s for s in sums if s.policy == "mcsf"}
    tl = "none" if cfg.time_limit is None else f"{cfg.time_limit:g} s"
    how = (f"by `{cfg.solver}` (method {_method_label(cfg, rows)}) with a time limit of {tl} "
           "per trial, "
           f"{cfg.threads} thread(s), warm-started with the best policy schedule"
           if cfg.method != "heuristic" else
           "without any MILP (method `heuristic`): the best schedule known (the best of the "
           "policies', MC-SF's and earliest-fit) as upper end and the combinatorial lower bound of "
           "`optsched.exact.bounds` as lower end")
    if cfg.bound_effort != "full":
        how += (f" (combinatorial bound with effort `{cfg.bound_effort}`: without the path and "
                "window bounds, so the lower ends are weaker than the default's)")
    L = ["## Synthetic study (SPEC §6)", "",
         f"{cfg.trials} seeded trials per model (generator seeds {cfg.seed}..."
         f"{cfg.seed + cfg.trials - 1}); hindsight optimum {how}. Ratio = policy's total "
         "latency / "
         "optimal total latency (the paper's measure; for Model 1, where every arrival is 0, "
         "it equals the total-completion-time ratio). When the optimum is not proven it lies "
         "in [bound, best schedule] and the ratio is shown as the interval "
         "[policy/best schedule, policy/bound].", "",
         _solve_time_note(rows), "",
         *_scale_note(cfg), "### MC-SF against the published figures", "",
         "| model | measure | paper (Gurobi, 200 trials) | ours, proven trials only | "
         "ours, all trials (interval) | difference (proven − paper) |",
         "|---|---|---:|---:|---:|---:|"]
    for model in cfg.models:
        s, p = mc.get(model), PUBLISHED[model]
        if s is None:
            continue
        def diff(ours: float | None, paper: float | None) -> str:
            return "–" if ours is None or paper is None else f"{ours - paper:+.3f}"
        L.append(f"| {model} | trials proven optimal | – | {s.proven} of {s.trials} | – | – |")
        L.append(f"| {model} | average ratio | {p['average']} | {fmt_number(s.proven_average)} | "
                 f"{fmt_interval(s.average_interval)} | {diff(s.proven_average, p['average'])} |")
        L.append(f"| {model} | worst ratio | {p['worst']} | {fmt_number(s.proven_worst)} | "
                 f"{fmt_interval(s.worst_interval)} | {diff(s.proven_worst, p['worst'])} |")
        L.append(f"| {model} | best ratio | – | {fmt_number(s.proven_best)} | – | – |")
        pub_opt = p["mcsf_optimal"]
        share = (f"{pub_opt} of 200 ({pub_opt / 200:.0%})" if pub_opt is not None else "–")
        ours = (f"{s.optimal_proven} of {s.proven} ({s.optimal_proven / s.proven:.0%})"
                if s.proven else "–")
        L.append(f"| {model} | MC-SF optimal | {share} | {ours} | "
                 f"{s.optimal_proven}–{s.optimal_possible} of {s.trials} | – |")
    certs = sorted({r["certificate"] for r in rows if r.get("certificate")})
    if certs:
        L += ["", f"Each of the {len(certs)} proven optima has a certificate under "
              f"`certificates/` (`optsched verify {certs[0]}` re-checks one without a solver)."]
    L += ["", "“MC-SF optimal, all trials” counts proven-optimal trials up to trials where "
          "MC-SF matches the best schedule found but optimality is not proven.", ""]

    L += ["### Every policy", "",
          "| model | policy | valid runs | average ratio (all trials) | worst ratio (all "
          "trials) | average on proven | worst on proven | proven optimal | "
          "average completion-time ratio |",
          "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for s in sums:
        L.append(f"| {s.model} | {s.policy} | {s.valid}/{s.trials} | "
                 f"{fmt_interval(s.average_interval)} | {fmt_interval(s.worst_interval)} | "
                 f"{fmt_number(s.proven_average)} | {fmt_number(s.proven_worst)} | "
                 f"{s.optimal_proven}/{s.proven} | {fmt_interval(s.average_ct_interval)} |")
    L.append("")
    L += _failures(rows)
    for key, title in (("ratios-model1", "Model 1"), ("ratios-model2", "Model 2")):
        if key in figures:
            L += [f"![{title}: ratio distribution]({figures[key]})", ""]
    if "gantt" in figures:
        L += [f"![Example schedule and memory profile]({figures['gantt']})", "",
              figures.get("gantt-caption", ""), ""]

    L += ["### Investigation of differences", ""]
    L += _investigation(cfg, rows, sums)
    return L


def _method_label(cfg: SyntheticConfig, rows: list[dict[str, Any]]) -> str:
    """The requested method and, for ``auto``, what it ran (per trial, from the results)."""
    if cfg.method != "auto":
        return f"`{cfg.method}`"
    per_trial = {(r["model"], r["trial"]): r["opt_method"] for r in rows}.values()
    counts = {m: sum(1 for x in per_trial if x == m) for m in sorted(set(per_trial))}
    ran = ", ".join(f"`{m}` on {k} trial{'s' if k != 1 else ''}" for m, k in counts.items())
    return f"`auto`, which ran {ran}"


def _solve_time_note(rows: list[dict[str, Any]]) -> str:
    """Exact-solve time as recorded when each solve ran (a resumed run reuses cached solves, so
    its own wall-clock time says nothing about the cost of the study)."""
    per_trial = {(r["model"], r["trial"]): r for r in rows}.values()
    total = sum(r["opt_runtime"] for r in per_trial)
    methods = sorted({f"{r['opt_solver']}/{r['opt_method']}" for r in per_trial})
    return (f"Exact solves took {total / 60:.1f} min in total ({total / max(len(per_trial), 1):.1f}"
            f" s per trial on average, as recorded when each ran; solver/method: "
            f"{', '.join(methods)}). Times depend on the machine and its load when each solve ran.")


def _failures(rows: list[dict[str, Any]]) -> list[str]:
    """Policies whose runs failed (no valid schedule), with a count and the first reason."""
    bad: dict[tuple[int, str], list[str]] = {}
    for r in rows:
        if not r["valid"]:
            bad.setdefault((r["model"], r["policy"]), []).append(r["problems"])
    if not bad:
        return []
    L = ["Runs without a valid schedule (they count in no average):", ""]
    for (model, policy), reasons in bad.items():
        L.append(f"- Model {model}, `{policy}`: {len(reasons)} run(s); first reason: "
                 f"{reasons[0].splitlines()[0] if reasons[0] else 'invalid schedule'}")
    return L + [""]


def _scale_note(cfg: SyntheticConfig) -> list[str]:
    if cfg.scale == "paper":
        return []
    sizes = "; ".join(f"Model {m}: " + ", ".join(f"{k} {v[0]}..{v[1]}" for k, v in
                                                 SCALES[cfg.scale][m].items())
                      for m in cfg.models)
    return [f"!!! warning \"Scaled-down instances\"\n    This run uses the `{cfg.scale}` "
            f"scale ({sizes}), not the paper's sizes, so that every optimum can be proven. "
            "Its ratios describe smaller, tighter instances and are not an estimate of the "
            "paper's figures.", ""]


def _investigation(cfg: SyntheticConfig, rows: list[dict[str, Any]],
                   sums: list[PolicySummary]) -> list[str]:
    L: list[str] = []
    trials = {(r["model"], r["trial"]): r for r in rows if r["policy"] == "mcsf"}
    unproven = [r for r in trials.values() if not r["opt_proven"]]
    L.append(f"1. **Solver limits.** {len(trials) - len(unproven)} of {len(trials)} hindsight "
             f"optima were proven (solver `{cfg.solver}`, method {_method_label(cfg, rows)}, "
             f"{cfg.time_limit} s per trial).")
    if unproven:
        gaps = [(r["opt_upper"] - r["opt_lower"]) / r["opt_upper"] for r in unproven]
        L.append(f"   For the {len(unproven)} unproven trials the relative gap between the best "
                 f"schedule and the bound is {np.median(gaps):.1%} (median), "
                 f"{max(gaps):.1%} (max); their ratios are intervals, not numbers. Averages "
                 "over the proven subset are biased towards the instances the solver finds "
                 "easy (typically smaller n or M), so they are not a like-for-like estimate "
                 "of the paper's 200-trial average.")
    unp_best = sum(1 for r in unproven if r["completion"] <= r["opt_upper"])
    if unproven:
        L.append(f"   In {unp_best} of the unproven trials no schedule better than MC-SF's was "
                 "found.")
        best_policy: dict[tuple[int, int], int] = {}
        for r in rows:
            if r["valid"]:
                key = (r["model"], r["trial"])
                best_policy[key] = min(best_policy.get(key, r["completion"]), r["completion"])
        idle = sum(1 for r in unproven
                   if r["opt_upper"] >= best_policy[(r["model"], r["trial"])]
                   and r["opt_lower"] <= combinatorial_bound(
                       trial_instance(r["model"], r["seed"], cfg.scale), cfg.bound_effort))
        L.append(f"   In {idle} of them the exact solve improved neither the best policy "
                 "schedule (its warm start) nor the combinatorial lower bound of "
                 "`optsched.exact.bounds` (computed in seconds without any solver): the interval "
                 "comes from the "
                 "policies and that bound alone.")
    L.append("2. **Generator reading.** The trials drawn here have these empirical ranges "
             "(SPEC §6: M ~ U{30..50}, n ~ U{40..60}, s ~ U{1..5}, o ~ U{1..M − s}; Model 2: "
             "horizon ~ U{40..60} rounds, λ ~ U[0.5, 1.5], Poisson(λ) arrivals in each round "
             "of the horizon):")
    for g in generator_check(cfg):
        parts = ", ".join(f"{k} {v[0]}..{v[1]}" if isinstance(v, tuple) else f"{k} {v:.3g}"
                          if isinstance(v, float) else f"{k} {v}"
                          for k, v in g.items() if k != "model")
        L.append(f"   - Model {g['model']}: {parts}.")
    L.append("   Readings we had to choose: o_i is drawn per request given its own s_i (so "
             "every request fits alone); Model 2 draws the number of arrivals in each round "
             "t = 0..H−1 as Poisson(λ) and redraws an all-empty instance; ties in MC-SF are "
             "broken by request index. The paper does not state how λ and H interact beyond "
             "this, nor whether requests arriving after H are cut (here none arrive after "
             "H − 1).")
    from optsched.data.builtin import resolve_instance

    ex = resolve_instance("builtin:worked-example")
    rep = validate(ex, Schedule({r.id: 0 for r in ex.requests}))
    prof = [int(x) for x in rep.memory_profile[1:3]] if rep.memory_profile is not None else []
    L.append(f"3. **Model convention.** The SPEC §2 worked example (M = 6, two requests with "
             f"s = 1, o = 2, both started at 0) validates with memory {prof} at t = 1, 2 and "
             f"total completion time {rep.metrics.total_completion_time if rep.metrics else '?'}"
             " (SPEC: [4, 6] and 4). A convention where the prompt is held one round earlier or "
             "the cache is freed one round later would shift every memory profile by one "
             "round and change which batches fit; the paper's model (a request started at p "
             "holds s + (t − p) at t = p+1..p+o) is the one implemented.")
    mc_all = [s for s in sums if s.policy == "mcsf"]
    ct = ", ".join(f"Model {s.model}: {fmt_interval(s.average_ct_interval)}" for s in mc_all)
    L.append(f"4. **Ratio measure.** The paper compares total latency. With the "
             f"total-completion-time measure instead, MC-SF's average ratio would be {ct}; "
             "for Model 2 the latency ratio is the larger of the two because both totals "
             "shrink by the same Σ a_i.")
    L.append("5. **Sampling.** The paper's 200 trials and ours are different random draws. "
             "With 200 trials, the standard error of an average ratio is about "
             "sd/√200; see the standard deviations below.")
    for s in mc_all:
        pr = [r["ratio_lo"] for r in rows if r["model"] == s.model and r["policy"] == "mcsf"
              and r["opt_proven"] and r["valid"]]
        lows = [r["ratio_lo"] for r in rows if r["model"] == s.model and r["policy"] == "mcsf"
                and r["valid"] and r["ratio_lo"] is not None]
        for what, values in (("the proven ratios", pr),
                             ("the intervals' lower ends (proven lower bounds on each trial's "
                              "ratio)", lows)):
            if len(values) > 1:
                sd = np.std(values, ddof=1)
                L.append(f"   - Model {s.model}: sd of {what} {sd:.4f}, standard error of "
                         f"their mean {sd / math.sqrt(len(values)):.4f} ({len(values)} trials).")
    L.append("")
    return L




def versions() -> dict[str, str]:
    """Versions that matter for the numbers."""
    from optsched.version import __version__

    out = {"optsched": __version__, "python": platform.python_version()}
    for mod in ("ortools", "highspy", "numpy"):
        try:
            out[mod] = __import__(mod).__version__
        except (ImportError, AttributeError):
            continue
    return out


# --------------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------------
def ratio_histogram(rows: list[dict[str, Any]], model: int, path: Path) -> None:
    """MC-SF's ratios for one model (proven trials, and both ends of the interval of unproven
    ones) with the paper's average and worst ratio marked."""
    from optsched import plots

    mine = [r for r in rows if r["model"] == model and r["policy"] == "mcsf" and r["valid"]]
    open_ = [r for r in mine if not r["opt_proven"]]
    groups = {"proven optimum": [r["ratio_lo"] for r in mine if r["opt_proven"]],
              "not proven: lower end": [r["ratio_lo"] for r in open_],
              "not proven: upper end": [r["ratio_hi"] for r in open_ if math.isfinite(
                  r["ratio_hi"])]}
    fig = plots.ratio_figure({k: v for k, v in groups.items() if v},
                             title=f"Model {model}: MC-SF vs hindsight optimum, {len(mine)} trials",
                             xlabel="MC-SF total latency / optimal total latency")
    pub = PUBLISHED[model]
    for ax in fig.axes:
        ax.axvline(float(pub["average"]), color="k", ls="--", lw=1)
        ax.axvline(float(pub["worst"]), color="k", ls=":", lw=1)
    fig.axes[0].plot([], [], color="k", ls="--", lw=1, label="paper: average")
    fig.axes[0].plot([], [], color="k", ls=":", lw=1, label="paper: worst")
    fig.axes[0].legend(fontsize=7)
    plots.save_figure(fig, path)


def make_figures(rows: list[dict[str, Any]], cfg: SyntheticConfig, out_dir: Path,
                 cache: SolveCache) -> dict[str, str]:
    """Ratio histograms per model and a Gantt + memory plot of the trial where MC-SF is
    furthest from the best known schedule. Returns report-relative paths."""
    from optsched import plots

    fig_dir = out_dir / "figures"
    figs: dict[str, str] = {}
    for model in cfg.models:
        if any(r["model"] == model for r in rows):
            p = fig_dir / f"ratios-model{model}.png"
            ratio_histogram(rows, model, p)
            figs[f"ratios-model{model}"] = f"figures/{p.name}"
    mc = [r for r in rows if r["policy"] == "mcsf" and r["valid"]]
    if mc:
        worst = max(mc, key=lambda r: (r["ratio_lo"], r["ratio_hi"], -r["trial"]))
        inst = trial_instance(worst["model"], worst["seed"], cfg.scale)
        mcsf = run_one_policy(inst, "mcsf").schedule
        best = cache.best_schedule(inst)
        p = fig_dir / "example-gantt.png"
        outputs = {r.id: r.output_tokens for r in inst.requests}
        same = best is None or best.objective(outputs) >= mcsf.objective(outputs)
        shown = {"MC-SF": mcsf} if same or best is None else {"MC-SF": mcsf, "best known": best}
        plots.save_figure(plots.compare_gantt(inst, shown), p)
        figs["gantt"] = f"figures/{p.name}"
        figs["gantt-caption"] = (
            f"Model {worst['model']}, trial {worst['trial']} (seed {worst['seed']}; n = "
            f"{inst.n}, M = {inst.memory_limit}): MC-SF's largest ratio (largest lower end, "
            f"then upper end): {fmt_interval((worst['ratio_lo'], worst['ratio_hi']))}. "
            + ("MC-SF's schedule is the best one known here. " if same else
               "Left MC-SF, right the best schedule known. ")
            + "Bars are requests (held rounds), the line below is memory in use against M.")
    return figs


# --------------------------------------------------------------------------------------------
# the whole study
# --------------------------------------------------------------------------------------------
def run_study(out_dir: Path, synthetic: SyntheticConfig | None, trace: str | Path | None,
              trace_config: TraceConfig | None, command: str, progress: bool = True,
              notes: Sequence[str] = (), seconds: Any = None) -> dict[str, Any]:
    """Run the synthetic study and/or the trace study and write report.md, results.parquet,
    trace.json and figures/ into ``out_dir``. Returns a JSON-ready summary.

    ``seconds`` (a :class:`optsched.studies.reproduce_seconds.SecondsConfig`): also the trace
    study in seconds under its time model, into trace-seconds.json, trace-requests.parquet (one
    row per request and policy: arrival, TTFT, TPOT, latency in seconds) and figures/."""
    t0 = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    figures: dict[str, str] = {}
    if synthetic is not None:
        rows = run_synthetic(synthetic, out_dir, progress)
        cache = SolveCache(out_dir / "cache" / "solves.jsonl")
        write_certificates(rows, synthetic, out_dir, cache)
        write_parquet(rows, out_dir / "results.parquet")
        figures.update(make_figures(rows, synthetic, out_dir, cache))
    trace_res = None
    if trace is not None and trace_config is not None:
        trace_res = run_trace_study(trace, trace_config, progress)
        atomic_write_json(out_dir / "trace.json", trace_res)
    sec_res = None
    if seconds is not None:
        from optsched.studies.reproduce_seconds import run_seconds_study, seconds_figures

        sec_res, sec_rows, sec_runs = run_seconds_study(seconds, progress)
        atomic_write_json(out_dir / "trace-seconds.json", sec_res)
        atomic_write_parquet(sec_rows, out_dir / "trace-requests.parquet")
        figures.update(seconds_figures(sec_res, sec_rows, sec_runs, out_dir))
    inp = ReportInputs(command, synthetic, rows, trace_res, figures,
                       time.perf_counter() - t0, versions(), list(notes), sec_res)
    atomic_write_text(out_dir / "report.md", render_report(inp))
    summary = {"report": "report.md", "results": "results.parquet" if rows else None,
               "figures": {k: v for k, v in figures.items() if k.endswith(".png")
                           or v.endswith(".png")},
               "synthetic": [_summary_dict(s) for s in summarise(rows)] if rows else [],
               "trace": trace_res, "trace_seconds": sec_res}
    return json.loads(dumps(summary))


def _summary_dict(s: PolicySummary) -> dict[str, Any]:
    d = asdict(s)
    for k in ("average_interval", "worst_interval", "average_ct_interval"):
        d[k] = [None if math.isinf(x) or math.isnan(x) else x for x in d[k]]
    return d


__all__ = [
    "PAPER_POLICIES", "PUBLISHED", "PUBLISHED_TRACE", "OptEntry", "PolicyOutcome",
    "SCALES", "PolicySummary", "SolveCache", "SyntheticConfig", "TraceConfig", "available_policies",
    "default_policies", "hindsight_optimum", "ratio_interval", "read_results",
    "read_trace_lengths", "run_one_policy", "run_study", "run_synthetic", "run_trace_study",
    "summarise", "trial_instance", "versions", "ReportInputs", "render_report",
]
