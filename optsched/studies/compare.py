"""Policies against the hindsight optimum, as a Python API: run every policy on every instance
through the online engine, solve the instance with all lengths known, and report policy / OPT
(an interval [/ best known, / lower bound] where the optimum is not proven).

``optsched compare`` is a thin layer over :func:`compare`; the tables it prints are built here
too (:func:`instance_table`, :func:`summary_table`, :func:`protocol_table`), so a notebook gets
the same numbers and the same text as the command line.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import textwrap
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from optsched.data.families import load_family
from optsched.errors import OptschedError, SolverError
from optsched.exact.solve import SOLVERS, solve
from optsched.model.instance import Instance
from optsched.model.schedule import Schedule
from optsched.policies import ALIASES, POLICIES, STANDARD_POLICIES, run_policy
from optsched.policies.base import NotApplicableError
from optsched.policies.engine import NoProgressError
from optsched.policies.predictions import parse_predictions
from optsched.progress import NoProgress, Progress, for_terminal
from optsched.studies.formatting import wrapped_table

#: policy parameter -> the policies that take it (others ignore it)
POLICY_PARAMS: dict[str, tuple[str, ...]] = {
    "alpha": ("alpha-greedy", "alpha-beta-clearing", "alpha-greedy-recheck",
              "alpha-beta-clearing-recheck"),
    "beta": ("alpha-beta-clearing", "alpha-beta-clearing-recheck"),
    "block_size": ("vllm", "vllm-token"),
    "threshold": ("wait", "nested-wait"),
    "first_segment": ("nested-wait",),
}

#: per-run measures of the comparison protocol (engine metrics, rounds and tokens)
PROTOCOL_METRICS = ("total_latency", "mean_latency", "p50_latency", "p95_latency", "p99_latency",
                    "overflows", "evictions", "preemptions", "wasted_tokens", "recomputed_tokens",
                    "throughput_tokens_per_round")

#: widest line of the per-instance table before its policy columns wrap into another block
TABLE_WIDTH = 120


@dataclass(frozen=True)
class CompareSettings:
    """How one comparison runs: the exact solve of the hindsight optimum and what the
    policies see. ``solve_opt=False`` runs the policies only (traces too large for a MILP)."""

    solver: str = "cpsat"
    time_limit: float | None = 30.0
    threads: int = 1
    seed: int = 0
    prediction: str | None = None
    solve_opt: bool = True
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        """Refuse settings that cannot run, before any instance is touched."""
        if self.solver not in SOLVERS:
            raise OptschedError(f"solver {self.solver!r}: choose one of {', '.join(SOLVERS)}")
        if self.time_limit is not None and not self.time_limit > 0:
            raise OptschedError(f"time_limit must be > 0 seconds, got {self.time_limit}")
        unknown = sorted(set(self.parameters) - set(POLICY_PARAMS))
        if unknown:
            raise OptschedError(f"unknown policy parameter(s) {', '.join(unknown)}; known: "
                                f"{', '.join(POLICY_PARAMS)}")


@dataclass
class Comparison:
    """What :func:`compare` found: one result per instance, the per-policy summary, and the
    schedules of the last instance (for a Gantt chart of a single instance)."""

    policies: list[str]
    settings: CompareSettings
    results: list[dict[str, Any]]
    summary: dict[str, dict[str, Any]]
    schedules: dict[str, Schedule]

    def to_dict(self) -> dict[str, Any]:
        """The ``compare --json`` object (without the plots)."""
        return {"policies": self.policies, "solver": self.settings.solver,
                "time_limit": self.settings.time_limit, "instances": self.results,
                "summary": self.summary}


def policy_names(policies: str | Sequence[str] | None) -> list[str]:
    """The policies to run: None for the standard set, 'all' for every policy (aliases left
    out), else names checked against the registry."""
    if policies is None:
        return list(STANDARD_POLICIES)
    names = [x.strip() for x in policies.split(",")] if isinstance(policies, str) \
        else [str(x).strip() for x in policies]
    names = [x for x in names if x]
    if names == ["all"]:
        return [n for n in POLICIES if n not in ALIASES]
    if not names:
        raise OptschedError("policies: give at least one policy name")
    for name in names:
        if name not in POLICIES:
            raise OptschedError(f"unknown policy {name!r}; choose one of "
                                f"{', '.join(n for n in POLICIES if n not in ALIASES)}")
    return names


def policy_kwargs(name: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters (alpha, beta, ...) that policy ``name`` takes, from a shared set."""
    return {k: v for k, v in parameters.items()
            if v is not None and name in POLICY_PARAMS.get(k, ())}


def ratio(obj: int, opt: Mapping[str, Any], arrivals: int = 0) -> dict[str, Any]:
    """policy/OPT: exact when OPT is proven, else the interval [obj/UB, obj/bound]. With the sum
    of arrivals, also the same for total latency (objective minus that constant), which is the
    informative ratio when arrivals are large (on a trace, total completion time is mostly the
    arrival times themselves and every ratio is close to 1)."""
    ub, lb = opt["objective"], opt["bound"]
    lat, ub_lat = obj - arrivals, ub - arrivals
    lb_lat = lb - arrivals if lb is not None else None
    if opt["status"] == "optimal":
        r = obj / ub
        lr = lat / ub_lat if ub_lat > 0 else None
        return {"ratio": r, "ratio_lo": r, "ratio_hi": r, "proven": True,
                "latency_ratio_lo": lr, "latency_ratio_hi": lr}
    return {"ratio": None, "ratio_lo": obj / ub if ub else None,
            "ratio_hi": obj / lb if lb and lb > 0 else None, "proven": False,
            "latency_ratio_lo": lat / ub_lat if ub_lat > 0 else None,
            "latency_ratio_hi": lat / lb_lat if lb_lat is not None and lb_lat > 0 else None}


@contextlib.contextmanager
def solver_output_to_stderr() -> Iterator[None]:
    """Solvers may print on stdout; keep stdout for the caller's report (or JSON)."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no real file descriptor (e.g. a captured stream)
        yield
        return
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _run_policies(inst: Instance, policies: Sequence[str], settings: CompareSettings,
                  ) -> tuple[list[dict[str, Any]], dict[str, Schedule], Schedule | None]:
    """Every policy on one instance: result rows, their schedules, the best one's final starts
    (a feasible offline schedule, the solver's warm start)."""
    pred = parse_predictions(settings.prediction, inst, settings.seed)
    rows: list[dict[str, Any]] = []
    schedules: dict[str, Schedule] = {}
    best: tuple[int, Schedule] | None = None
    for pol in policies:
        try:
            run = run_policy(inst, pol, predictions=pred, seed=settings.seed,
                             **policy_kwargs(pol, settings.parameters))
        except NoProgressError as exc:
            rows.append({"policy": pol, "status": "stalled", "message": str(exc)})
            continue
        except NotApplicableError as exc:
            rows.append({"policy": pol, "status": "n/a", "message": str(exc)})
            continue
        schedules[pol] = run.schedule
        rows.append({"policy": pol, "status": "ok", "objective": run.objective,
                     **{k: run.metrics[k] for k in PROTOCOL_METRICS},
                     "runtime": round(run.runtime, 6)})
        if best is None or run.objective < best[0]:
            best = (run.objective, Schedule(dict(run.schedule.starts)))
    return rows, schedules, best[1] if best else None


def _hindsight(inst: Instance, settings: CompareSettings, warm: Schedule | None,
               schedules: dict[str, Schedule], live: Progress | None = None) -> dict[str, Any]:
    """The hindsight optimum (or what the solver proved of it) as a result entry; its schedule,
    validated by solve(), joins ``schedules``."""
    if not settings.solve_opt:
        return {"status": "not attempted", "objective": None, "bound": None, "solver": None,
                "runtime": 0.0}
    try:
        with solver_output_to_stderr():
            res = solve(inst, settings.solver, time_limit=settings.time_limit,
                        threads=settings.threads, seed=settings.seed, initial_solution=warm,
                        progress=live)
    except SolverError as exc:  # e.g. the model is too large: keep the policy results
        return {"status": "not solved", "objective": None, "bound": None,
                "solver": settings.solver, "runtime": 0.0, "message": str(exc)}
    if res.schedule is not None:
        schedules["optimum" if res.proven_optimal else "best known"] = res.schedule
    return {"status": res.status.value, "objective": res.objective, "bound": res.bound,
            "solver": res.solver, "runtime": round(res.runtime, 3)}


def compare_instance(name: str, inst: Instance, policies: Sequence[str],
                     settings: CompareSettings, live: Progress | None = None
                     ) -> tuple[dict[str, Any], dict[str, Schedule]]:
    """Run every policy and the exact solve on one instance; the best policy schedule warm-starts
    the solver (``live`` hears of its progress). Returns the instance's result entry and every
    schedule by name."""
    rows, schedules, warm = _run_policies(inst, policies, settings)
    opt = _hindsight(inst, settings, warm, schedules, live)
    for row in rows:
        if row["status"] == "ok" and opt["objective"] is not None:
            row.update(ratio(row["objective"], opt, int(inst.arrival.sum())))
        elif row["status"] == "ok":
            row.update(ratio=None, ratio_lo=None, ratio_hi=None, proven=False)
    pred = parse_predictions(settings.prediction, inst, settings.seed)
    return ({"instance": name, "n": inst.n, "memory_limit": inst.memory_limit,
             "predictions": pred.describe(), "opt": opt, "policies": rows}, schedules)


def _named(instances: str | Instance | Iterable[Instance | tuple[str, Instance]],
           ) -> list[tuple[str, Instance]]:
    """(name, instance) pairs from a family reference, one instance, or a sequence of
    instances or pairs."""
    if isinstance(instances, str):
        return load_family(instances)
    if isinstance(instances, Instance):
        return [(instances.name or "instance", instances)]
    out: list[tuple[str, Instance]] = []
    for k, item in enumerate(instances):
        if isinstance(item, Instance):
            out.append((item.name or f"instance-{k}", item))
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Instance):
            out.append((str(item[0]), item[1]))
        else:
            raise OptschedError(f"instances[{k}]: expected an Instance or a (name, Instance) "
                                f"pair, got {type(item).__name__}")
    if not out:
        raise OptschedError("instances: the family is empty")
    return out


def compare(instances: str | Instance | Iterable[Instance | tuple[str, Instance]],
            policies: str | Sequence[str] | None = None, *, solver: str = "cpsat",
            time_limit: float | None = 30.0, threads: int = 1, seed: int = 0,
            prediction: str | None = None, solve_opt: bool = True,
            parameters: Mapping[str, Any] | None = None,
            progress: bool = False) -> Comparison:
    """Compare ``policies`` with the hindsight optimum on ``instances``.

    Args:
        instances: a family reference as ``optsched compare`` takes it (see
            :func:`optsched.data.families.load_family`), one instance, or a sequence of
            instances or ``(name, instance)`` pairs.
        policies: names (a list or a comma-separated string), ``"all"``, or None for the
            standard set.
        solver: the exact solver of the hindsight optimum.
        time_limit: its limit in seconds per instance (None: none).
        threads: its threads.
        seed: its random seed; also seeds noisy predictions and randomised policies.
        prediction: what the policies see of output lengths (a prediction model name); None
            for the instance's own predictions, else the true lengths.
        solve_opt: False runs the policies only.
        parameters: policy parameters (alpha, beta, block_size, threshold, first_segment),
            each passed to the policies that take it.
        progress: a progress bar on stderr for families of two or more instances, and for a
            single instance the solve's live line (optsched.progress) when stderr is a
            terminal.

    Every schedule, the policies' and the solver's, is checked by the independent validator
    before it is counted; a ratio is exact only where the optimum is proven.
    """
    settings = CompareSettings(solver, time_limit, threads, seed, prediction, solve_opt,
                               dict(parameters or {}))
    settings.check()
    names = policy_names(policies)
    family = _named(instances)
    from tqdm import tqdm

    results: list[dict[str, Any]] = []
    schedules: dict[str, Schedule] = {}
    live = for_terminal(quiet=not progress) if len(family) == 1 else NoProgress()
    try:
        for name, inst in tqdm(family, desc="compare", unit="instance", file=sys.stderr,
                               disable=not progress or len(family) < 2):
            res, schedules = compare_instance(name, inst, names, settings, live)
            results.append(res)
    finally:
        live.close()
    return Comparison(names, settings, results, summarise(results, names), schedules)


def summarise(results: list[dict[str, Any]], policies: Sequence[str],
              ) -> dict[str, dict[str, Any]]:
    """Per policy: instances, how many at ratio 1 (proven), mean/max ratio (lower ends where
    unproven, upper ends from the bound), stalled and not-applicable runs, and the mean over the
    finished runs of every protocol measure."""
    return {pol: _policy_summary([r for res in results for r in res["policies"]
                                  if r["policy"] == pol]) for pol in policies}


def _policy_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The summary of one policy's result rows (see :func:`summarise`)."""
    done = [r for r in rows if r["status"] == "ok"]
    ok = [r for r in done if r.get("ratio_lo") is not None]
    lo = [r["ratio_lo"] for r in ok]
    proven = [r for r in ok if r["proven"]]
    his = [r["ratio_hi"] for r in ok if r["ratio_hi"] is not None]
    all_hi = bool(ok) and len(his) == len(ok)
    return {
        "instances": len(rows),
        "finished": len(done),
        "stalled": sum(r["status"] == "stalled" for r in rows),
        "not_applicable": sum(r["status"] == "n/a" for r in rows),
        "mean_ratio_hi": sum(his) / len(his) if all_hi else None,
        "proven": len(proven),
        "optimal": sum(r["ratio"] == 1 for r in proven),
        "mean_ratio_lo": sum(lo) / len(lo) if lo else None,
        "max_ratio_lo": max(lo) if lo else None,
        "max_ratio_hi": max(his) if all_hi else None,
        "overflows": sum(r.get("overflows", 0) for r in rows),
        "mean_objective": _mean_of(done, "objective"),
        "mean_latency_ratio_lo": _mean_of(ok, "latency_ratio_lo"),
        "mean_latency_ratio_hi": _mean_of(ok, "latency_ratio_hi"),
        "mean": {k: _mean_of(done, k) for k in PROTOCOL_METRICS},
    }


def _mean_of(rows: list[dict[str, Any]], key: str) -> float | None:
    """Mean of ``key`` over rows, or None when there are none or any row lacks it (no partial
    averages)."""
    vals: list[Any] = [r.get(key) for r in rows]
    return sum(vals) / len(vals) if vals and None not in vals else None


# -- text tables ---------------------------------------------------------------------------


def ratio_text(r: Mapping[str, Any]) -> str:
    """One policy's ratio on one instance: exact, an interval, a lower end, or its status."""
    if r["status"] != "ok":
        return str(r["status"])
    if r.get("ratio") is not None:
        return f"{r['ratio']:.4f}"
    lo, hi = r.get("ratio_lo"), r.get("ratio_hi")
    if lo is None:
        return "no OPT"
    return f"[{lo:.4f}, {hi:.4f}]" if hi is not None else f">= {lo:.4f}"


def _opt_text(opt: Mapping[str, Any]) -> str:
    """The OPT cell: the proven value, the status, or the value with its bound and status."""
    if opt["status"] == "optimal":
        return f"{opt['objective']}"
    if opt["objective"] is None:
        return str(opt["status"])
    return f"{opt['objective']} (bound {opt['bound']}, {opt['status']})"


def instance_table(results: list[dict[str, Any]], policies: Sequence[str],
                   width: int = TABLE_WIDTH) -> str:
    """Per instance: n, M, OPT and each policy's objective (ratio). When the policy columns
    would make a line wider than ``width``, they wrap into several blocks, each repeating the
    instance columns (``--policies all`` is ~20 columns)."""
    rows: list[list[object]] = [
        [res["instance"], res["n"], res["memory_limit"], _opt_text(res["opt"])]
        + [_policy_cell(res, p) for p in policies] for res in results]
    return wrapped_table(rows, ["instance", "n", "M", "OPT", *policies], keep=4, width=width)


def _policy_cell(res: Mapping[str, Any], policy: str) -> str:
    """'objective (ratio)' of one policy on one instance."""
    r = next(x for x in res["policies"] if x["policy"] == policy)
    return f"{r.get('objective', '-')} ({ratio_text(r)})"


def summary_table(summary: Mapping[str, Mapping[str, Any]], width: int = TABLE_WIDTH) -> str:
    """Per policy: instances, OPT proven, at ratio 1, mean and max ratio, stalled, overflows."""
    rows = [[p, s["instances"], s["proven"], s["optimal"], s["mean_ratio_lo"],
             s["max_ratio_lo"], s["max_ratio_hi"], s["stalled"], s["overflows"],
             s["mean_objective"]] for p, s in summary.items()]
    return wrapped_table(rows, ["policy", "instances", "OPT proven", "ratio = 1", "mean ratio",
                                "max ratio", "max ratio (bound)", "stalled", "overflows",
                                "mean objective"], keep=1, width=width)


def _num(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def _interval(lo: float | None, hi: float | None) -> str:
    """A ratio, or [lo, hi] when the two ends differ; '-' without a lower end."""
    if lo is None:
        return "-"
    return f"{lo:.3f}" if hi == lo else f"[{lo:.3f}, {_num(hi, 3)}]"


def protocol_table(summary: Mapping[str, Mapping[str, Any]], width: int = TABLE_WIDTH) -> str:
    """The protocol table: per policy, runs finished / stalled / not applicable, then the mean
    over finished runs of each measure, and the ratio interval to the hindsight optimum; its
    columns wrap into blocks (each repeating the policy) to stay within ``width``."""
    rows: list[list[object]] = []
    for p, s in summary.items():
        m = s["mean"]
        rows.append([p, f"{s['finished']}/{s['stalled']}/{s['not_applicable']}",
                     _num(m["total_latency"], 0), _num(m["mean_latency"], 2),
                     _num(m["p50_latency"]), _num(m["p95_latency"]), _num(m["p99_latency"]),
                     _num(m["overflows"]), _num(m["evictions"]), _num(m["preemptions"]),
                     _num(m["wasted_tokens"]), _num(m["recomputed_tokens"]),
                     _num(m["throughput_tokens_per_round"], 2),
                     _interval(s["mean_ratio_lo"], s["mean_ratio_hi"]),
                     _interval(s["max_ratio_lo"], s["max_ratio_hi"]),
                     _interval(s["mean_latency_ratio_lo"], s["mean_latency_ratio_hi"])])
    return wrapped_table(rows, ["policy", "ok/stalled/n-a", "total lat", "mean lat", "p50",
                                "p95", "p99", "overflows", "evictions", "preemptions",
                                "wasted tok", "recomputed tok", "tok/round", "mean ratio",
                                "max ratio", "mean lat ratio"], keep=1, width=width) + "\n" + (
        textwrap.fill("means over the finished runs (latencies in rounds; p50/p95/p99 are "
                      "per-instance percentiles, averaged); ratio = total completion time / "
                      "hindsight OPT, an interval [/ best known, / lower bound] where OPT is not "
                      "proven; lat ratio = the same for total latency (completion minus arrival)",
                      width))


def ratio_groups(results: list[dict[str, Any]]) -> dict[str, list[float]]:
    """policy -> its ratios (the lower end where OPT is unproven), for a ratio figure."""
    groups: dict[str, list[float]] = {}
    for res in results:
        for r in res["policies"]:
            lo = r.get("ratio_lo")
            if r["status"] == "ok" and lo is not None and not math.isnan(lo):
                groups.setdefault(r["policy"], []).append(lo)
    return groups
