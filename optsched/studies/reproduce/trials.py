"""The synthetic study's trials: the published figures, the generator scales, the
configuration, one trial's rows (every policy against the hindsight optimum) and the
certificates."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from optsched.data.generators import jaillet_model1, jaillet_model2
from optsched.errors import OptschedError
from optsched.exact import SOLVERS
from optsched.exact.bounds import check_bound_effort
from optsched.exact.solve import METHODS
from optsched.model.instance import Instance
from optsched.model.schedule import Schedule
from optsched.model.validate import validate
from optsched.studies.formatting import progress_bar
from optsched.studies.policy_runs import (
    available_policies,
    default_policies,
    final_runs_only,
    run_one_policy,
)
from optsched.studies.reproduce.cache import SolveCache, hindsight_optimum

#: Figures published in arXiv 2502.07115 (v4/v5): MC-SF / hindsight optimum.
PUBLISHED: dict[int, dict[str, Any]] = {
    1: {"trials": 200, "average": 1.005, "worst": 1.074, "mcsf_optimal": 114},
    2: {"trials": 200, "average": 1.047, "worst": 1.227, "mcsf_optimal": None},
}


MODEL_GENERATORS: dict[int, Callable[..., Instance]] = {1: jaillet_model1, 2: jaillet_model2}

#: Generator scales. ``paper`` is the paper's ranges exactly; ``small`` is a scaled-down
#: protocol (NOT the paper's) whose optima open-source solvers prove in seconds, for first looks
#: and CI.
SCALES: dict[str, dict[int, dict[str, tuple[int, int]]]] = {
    "paper": {1: {}, 2: {}},
    "small": {1: {"n_range": (8, 12), "m_range": (12, 20), "s_range": (1, 3)},
              2: {"horizon_range": (8, 12), "m_range": (12, 20), "s_range": (1, 3)}},
}



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




def generator_check(config: SyntheticConfig) -> list[dict[str, Any]]:
    """Empirical ranges of the generated trials, to compare with the paper's ranges."""
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
