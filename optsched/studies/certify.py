"""Certify a policy against the proven optimum over a family of instances.

For every instance: run the policy, validate its schedule, and compare its total completion time
with the optimum. The optimum is *proven* either by the trivial bound (the policy reached
sum(a_i + o_i), which no schedule can beat), by the brute-force oracle (tiny instances) or by the
MILP (CP-SAT by default). An instance whose optimum is not proven within the time limit is
reported as ``unproven`` with the ratio interval [policy / min(UB, policy), policy / bound]; it is
never counted as optimal. If even the best schedule found beats the policy, the policy is provably
suboptimal there and the instance is a counterexample (with ``optimum_proven: false``).

Every counterexample is cross-checked twice: its certificate is re-verified with
:func:`optsched.exact.certificate.verify_certificate`, and the instance is re-solved without a warm
start by an independent solver (brute force vs MILP).

Runs are restartable: each finished instance is appended to ``results.jsonl`` in the output
directory (counterexample files are written before their line), and a rerun reuses every stored
result that is proven or was obtained with at least the same time limit.
"""

from __future__ import annotations

import json
import multiprocessing
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from optsched.errors import OptschedError
from optsched.exact.certificate import certificate_dict, verify_certificate
from optsched.exact.formulation import trivial_lower_bound
from optsched.exact.result import SolveResult, Status
from optsched.exact.solve import BRUTEFORCE_MAX_REQUESTS, SOLVERS, solve
from optsched.model.instance import Instance, instance_from_dict
from optsched.model.io import (
    append_jsonl,
    atomic_write_json,
    atomic_write_text,
    jsonl_appender,
    read_jsonl,
)
from optsched.model.schedule import Schedule
from optsched.model.validate import validate
from optsched.studies.enumerate import Spec, hypothesis_flags, requests_of, spec_instance

DEFAULT_POLICY = "algorithm1"
SOLVER_CHOICES = ("auto", *SOLVERS)
RESULTS_FILE = "results.jsonl"


class InvalidPolicyRun(RuntimeError):
    """The policy's run failed: an invalid schedule, or the engine stopped it for making no
    progress (recorded as verdict ``policy_invalid`` with the message, not fatal)."""


# -- policies --------------------------------------------------------------------------------------
def _registry() -> tuple[Any, Callable[..., Any] | None]:
    """The policy registry (``POLICIES``, ``run_policy``) if the installed optsched has one."""
    try:
        from optsched.policies import POLICIES, run_policy
    except ImportError:
        return None, None
    return POLICIES, run_policy


def available_policies() -> list[str]:
    """Names accepted by ``--policy``."""
    policies, _ = _registry()
    return sorted(policies) if policies else [DEFAULT_POLICY]


def check_policy(name: str) -> None:
    """Fail early with the list of choices if ``name`` is not a registered policy."""
    if name not in available_policies():
        raise OptschedError(f"unknown policy {name!r}; available: "
                            f"{', '.join(available_policies())}")


def policy_schedule(instance: Instance, name: str) -> Schedule:
    """The schedule ``name`` produces on ``instance`` (not yet validated)."""
    check_policy(name)
    _, run = _registry()
    if run is not None:
        try:
            sched: Schedule = run(instance, name).schedule
        except RuntimeError as exc:  # the registry's validator rejected the run
            raise InvalidPolicyRun(str(exc)) from None
        return sched
    from optsched.policies.mcsf import mcsf_reference

    return mcsf_reference(instance)


# -- solving ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CertifyConfig:
    """How each instance is judged. ``solver='auto'``: brute force (for n <= its limit, at most
    ``bruteforce_time`` s), then CP-SAT warm-started with the policy's schedule."""

    policy: str = DEFAULT_POLICY
    solver: str = "auto"
    time_limit: float | None = 10.0
    bruteforce_time: float = 2.0
    crosscheck: str = "counterexamples"  # or "all"
    threads: int = 1

    def __post_init__(self) -> None:
        if self.solver not in SOLVER_CHOICES:
            raise OptschedError(f"unknown solver {self.solver!r}; choose one of "
                                f"{', '.join(SOLVER_CHOICES)}")
        if self.time_limit is not None and self.time_limit <= 0:
            raise OptschedError("time limit must be > 0 seconds")
        if self.crosscheck not in ("counterexamples", "all"):
            raise OptschedError("crosscheck must be 'counterexamples' or 'all'")


def solve_optimum(instance: Instance, cfg: CertifyConfig,
                  hint: Schedule | None = None) -> SolveResult:
    """The optimum of ``instance`` as configured (see :class:`CertifyConfig`)."""
    if cfg.solver == "bruteforce" and instance.n > BRUTEFORCE_MAX_REQUESTS:
        raise OptschedError(f"solver bruteforce handles at most {BRUTEFORCE_MAX_REQUESTS} "
                            f"requests; an instance has {instance.n} (use --solver auto)")
    if cfg.solver != "auto":
        return solve(instance, cfg.solver, time_limit=cfg.time_limit, threads=cfg.threads,
                     initial_solution=hint)
    if instance.n <= BRUTEFORCE_MAX_REQUESTS:
        limit = cfg.bruteforce_time if cfg.time_limit is None else min(cfg.bruteforce_time,
                                                                        cfg.time_limit)
        res = solve(instance, "bruteforce", time_limit=limit)
        if res.status is Status.OPTIMAL:
            return res
    return solve(instance, "cpsat", time_limit=cfg.time_limit, threads=cfg.threads,
                 initial_solution=hint)


def independent_solver(primary: str, n: int) -> str:
    """A solver sharing no code with ``primary``: the MILP checks the oracle and vice versa
    (HiGHS instead of the oracle when the instance is too large for it)."""
    if primary == "bruteforce":
        return "cpsat"
    if n <= BRUTEFORCE_MAX_REQUESTS:
        return "bruteforce"
    return "highs" if primary != "highs" else "cpsat"


def crosscheck(result: SolveResult, value: int, cfg: CertifyConfig) -> dict[str, Any]:
    """Re-verify the certificate of ``result`` and re-solve independently (no warm start).

    ``value`` is the optimum claimed for the instance. ``agrees`` is True when the re-solve
    proves the same optimum, False when it contradicts the claim, None when it could not prove
    anything within the time limit but is consistent with it."""
    check = verify_certificate(certificate_dict(result), result.instance)
    other = independent_solver(result.solver, result.instance.n)
    res = solve(result.instance, other, time_limit=cfg.time_limit)
    contradicts = (res.bound is not None and res.bound > value) or (
        res.objective is not None and res.objective < value)
    agrees: bool | None = False if contradicts else (
        True if res.status is Status.OPTIMAL and res.objective == value else None)
    return {"certificate_ok": check.ok, "certificate_problems": check.problems,
            "solver": other, "status": res.status.value, "objective": res.objective,
            "bound": res.bound, "seconds": round(res.runtime, 4), "agrees": agrees}


# -- one instance ----------------------------------------------------------------------------------
@dataclass
class Outcome:
    """Result of certifying one instance: the JSON record (one line of results.jsonl) and, for
    counterexamples, the files to write."""

    record: dict[str, Any]
    artifacts: dict[str, Any] | None = None


def _key(policy: str, spec: Spec | None, instance: Instance | None) -> str:
    if spec is not None:
        m, reqs = spec
        return f"{policy}|M{m}|" + ";".join(f"{a},{s},{o}" for a, s, o in reqs)
    assert instance is not None
    return f"{policy}|{instance.content_hash()}"


def certify_instance(instance: Instance, cfg: CertifyConfig, key: str | None = None,
                     source: str | None = None) -> Outcome:
    """Judge the policy on one instance (see the module doc for the verdicts)."""
    t0 = time.perf_counter()
    reqs = requests_of(instance)
    rec: dict[str, Any] = {
        "key": key or _key(cfg.policy, None, instance), "policy": cfg.policy, "n": instance.n,
        "memory_limit": instance.memory_limit, "requests": [list(r) for r in reqs],
        "hypotheses": hypothesis_flags(reqs), "time_limit": cfg.time_limit}
    if source:
        rec["source"] = source
    try:
        sched = policy_schedule(instance, cfg.policy)
        report = validate(instance, sched)
        problem = None if report.valid else report.summary(limit=5)
    except InvalidPolicyRun as exc:
        problem = str(exc)
    if problem is not None:
        rec.update(verdict="policy_invalid", counterexample=False, violations=problem,
                   seconds=round(time.perf_counter() - t0, 4))
        return Outcome(rec)
    assert report.metrics is not None  # a valid report has metrics
    value = report.metrics.total_completion_time
    lb0 = trivial_lower_bound(instance)
    rec.update(policy_objective=value, lower_bound=lb0)
    result: SolveResult | None = None
    if value == lb0:
        rec.update(verdict="optimal", optimum_proven=True, optimum=value, bound=lb0,
                   solver="trivial-bound", ratio=1.0, counterexample=False)
    else:
        result = solve_optimum(instance, cfg, hint=sched)
        best, bound = result.objective, result.bound
        proven = result.status is Status.OPTIMAL
        rec.update(solver=result.solver, solver_status=result.status.value, optimum=best,
                   bound=bound, optimum_proven=proven)
        if proven:
            assert best is not None  # a proven optimum comes with its schedule
            if value < best:
                raise RuntimeError(f"policy {cfg.policy} value {value} beats the proven optimum "
                                   f"{best} on {rec['key']}: a solver or policy bug")
            rec.update(verdict="optimal" if value == best else "suboptimal",
                       ratio=value / best, counterexample=value > best)
        else:
            assert bound is not None  # solve() always reports a bound (at least sum(a + o))
            low = value / min(best, value) if best is not None else 1.0
            rec.update(verdict="unproven", ratio_interval=[low, value / bound],
                       counterexample=best is not None and best < value)
    artifacts = None
    if result is not None and (rec["counterexample"] or (
            cfg.crosscheck == "all" and rec.get("optimum_proven"))):
        rec["crosscheck"] = crosscheck(result, result.objective, cfg) if rec.get(
            "optimum_proven") and result.objective is not None else _certificate_only(result)
    if rec["counterexample"]:
        assert result is not None
        assert result.schedule is not None
        from optsched.studies.explain import explain

        if source:  # keep the file's ids even when its files are not saved (--max-saved)
            rec["instance"] = instance.to_dict()
        rec["policy_starts"] = [sched.starts[i] for i in instance.ids]
        rec["optimal_starts"] = [result.schedule.starts[i] for i in instance.ids]
        meta = dict(instance.metadata)
        meta["certify"] = {"policy": cfg.policy, "policy_objective": value,
                           "optimal_objective": result.objective,
                           "optimum_proven": rec["optimum_proven"],
                           "hypotheses": rec["hypotheses"]}
        artifacts = {
            "instance": instance.with_requests(instance.requests, metadata=meta).to_dict(),
            "policy_schedule": sched.to_dict(),
            "optimal_schedule": result.schedule.to_dict(),
            "certificate": certificate_dict(result),
            "explanation": explain(instance, cfg.policy, sched, result.schedule),
        }
    rec["seconds"] = round(time.perf_counter() - t0, 4)
    return Outcome(rec, artifacts)


def _certificate_only(result: SolveResult) -> dict[str, Any]:
    check = verify_certificate(certificate_dict(result), result.instance)
    return {"certificate_ok": check.ok, "certificate_problems": check.problems,
            "solver": None, "agrees": None, "note": "optimum not proven; no re-solve"}


# -- tasks and workers -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Task:
    """One instance to certify: a spec from a generated family, or an instance from a file."""

    key: str
    spec: Spec | None = None
    instance: dict[str, Any] | None = None
    source: str | None = None
    metadata: dict[str, Any] | None = None

    def build(self) -> Instance:
        if self.spec is not None:
            return spec_instance(self.spec, self.metadata)
        return instance_from_dict(self.instance)


def spec_tasks(specs: Iterable[Spec], policy: str,
               metadata: dict[str, Any] | None = None) -> list[Task]:
    return [Task(_key(policy, spec, None), spec=spec, metadata=metadata) for spec in specs]


def instance_tasks(instances: Sequence[Instance], sources: Sequence[str],
                   policy: str) -> list[Task]:
    return [Task(_key(policy, None, inst), instance=inst.to_dict(), source=src)
            for inst, src in zip(instances, sources, strict=True)]


_WORKER_CFG: CertifyConfig | None = None


def _init_worker(cfg: CertifyConfig) -> None:
    global _WORKER_CFG
    _WORKER_CFG = cfg


def _work(task: Task) -> Outcome:
    assert _WORKER_CFG is not None
    return certify_instance(task.build(), _WORKER_CFG, task.key, task.source)


# -- runs ------------------------------------------------------------------------------------------
def load_results(path: Path) -> dict[str, dict[str, Any]]:
    """Records of an earlier run by key; a torn last line (crash while appending) is ignored."""
    return {rec["key"]: rec for rec in read_jsonl(path) if "key" in rec and "verdict" in rec}


def _reusable(rec: dict[str, Any], cfg: CertifyConfig) -> bool:
    if rec.get("verdict") == "policy_invalid":
        return False
    if rec.get("optimum_proven"):
        return cfg.crosscheck != "all" or rec.get("solver") == "trivial-bound" or \
            "crosscheck" in rec
    old = rec.get("time_limit")
    return old is None or (cfg.time_limit is not None and old >= cfg.time_limit)


def cx_dirname(rec: dict[str, Any]) -> str:
    """Directory name of a counterexample: size, memory and a short digest of the key."""
    import hashlib

    digest = hashlib.sha256(rec["key"].encode()).hexdigest()[:10]
    return f"n{rec['n']}-M{rec['memory_limit']}-{digest}"


def write_counterexample(directory: Path, artifacts: dict[str, Any],
                         plot: bool = False) -> dict[str, str]:
    """Write instance, both schedules, the certificate and the explanation (and with ``plot`` a
    side-by-side Gantt/memory PNG of both schedules); return the paths."""
    files = {"instance": "instance.json", "policy_schedule": "policy-schedule.json",
             "optimal_schedule": "optimal-schedule.json", "certificate": "certificate.json"}
    paths = {}
    for what, name in files.items():
        atomic_write_json(directory / name, artifacts[what])
        paths[what] = str(directory / name)
    atomic_write_text(directory / "explanation.txt", artifacts["explanation"])
    paths["explanation"] = str(directory / "explanation.txt")
    if plot:
        from optsched.model.schedule import schedule_from_dict
        from optsched.plots import compare_gantt, save_figure

        inst = instance_from_dict(artifacts["instance"])
        policy = inst.metadata.get("certify", {}).get("policy", "policy")
        scheds = {policy: schedule_from_dict(artifacts["policy_schedule"]),
                  "optimum": schedule_from_dict(artifacts["optimal_schedule"])}
        save_figure(compare_gantt(inst, scheds, title=f"{policy} vs optimum, M = "
                                  f"{inst.memory_limit}"), directory / "schedules.png")
        paths["plot"] = str(directory / "schedules.png")
    return paths


@dataclass
class RunInfo:
    """Context of a run, echoed into the summary."""

    family: dict[str, Any]
    out_dir: Path
    started: float = field(default_factory=time.time)
    reused: int = 0
    computed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _remove_previous_run(out_dir: Path) -> None:
    """Delete what an earlier certify run wrote in ``out_dir`` (and nothing else)."""
    import shutil

    for name in (RESULTS_FILE, "summary.json", "ratio-histogram.png"):
        (out_dir / name).unlink(missing_ok=True)
    for name in ("counterexamples", "minimal"):
        if (out_dir / name).is_dir():
            shutil.rmtree(out_dir / name)


def _split_reusable(tasks: Sequence[Task], previous: dict[str, dict[str, Any]],
                    cfg: CertifyConfig) -> tuple[dict[str, dict[str, Any]], list[Task]]:
    """Records of an earlier run that still hold under ``cfg`` (by task key), and the tasks
    left to certify."""
    records: dict[str, dict[str, Any]] = {}
    todo: list[Task] = []
    for task in tasks:
        rec = previous.get(task.key)
        if rec is not None and _reusable(rec, cfg):
            records[task.key] = rec
        else:
            todo.append(task)
    return records, todo


def run_tasks(tasks: Sequence[Task], cfg: CertifyConfig, out_dir: Path, *, jobs: int = 1,
              progress: bool = True, fresh: bool = False, max_saved: int | None = None,
              family: dict[str, Any] | None = None,
              on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Certify every task, appending to ``out_dir/results.jsonl``, and return the summary.

    Counterexample files go to ``out_dir/counterexamples/<name>/`` (at most ``max_saved`` of
    them; all are listed in the summary and results file either way). The summary is also
    written to ``out_dir/summary.json`` (every minute while running, and at the end) with a ratio
    histogram ``out_dir/ratio-histogram.png``."""
    from tqdm import tqdm

    check_policy(cfg.policy)
    if jobs < 1:
        raise OptschedError("jobs must be >= 1")
    out_dir.mkdir(parents=True, exist_ok=True)
    results_path = out_dir / RESULTS_FILE
    if fresh:
        _remove_previous_run(out_dir)
    info = RunInfo(family or {}, out_dir)
    records, todo = _split_reusable(tasks, load_results(results_path), cfg)
    info.reused = len(records)
    saved = sum(1 for r in records.values() if r.get("files"))
    last_write = time.monotonic()
    bar = tqdm(total=len(tasks), initial=len(records), disable=not progress, unit="inst",
               desc=f"certify {cfg.policy}", dynamic_ncols=True, mininterval=0.5)
    with jsonl_appender(results_path) as fh:
        def finish(out: Outcome) -> None:
            nonlocal saved, last_write
            rec = out.record
            if out.artifacts is not None and (max_saved is None or saved < max_saved):
                rec["files"] = write_counterexample(
                    out_dir / "counterexamples" / cx_dirname(rec), out.artifacts)
                saved += 1
            append_jsonl(fh, rec, sync=False)
            records[rec["key"]] = rec
            info.computed += 1
            bar.update(1)
            if rec.get("counterexample"):
                bar.set_postfix(counterexamples=sum(
                    1 for r in records.values() if r.get("counterexample")), refresh=False)
            if time.monotonic() - last_write > 60:
                _write_summary(summarize(records.values(), cfg, info), out_dir, plot=False)
                last_write = time.monotonic()

        if jobs == 1 or len(todo) < 2:
            _init_worker(cfg)
            for task in todo:
                finish(_work(task))
        else:
            ctx = multiprocessing.get_context("spawn")
            with ctx.Pool(jobs, initializer=_init_worker, initargs=(cfg,)) as pool:
                chunk = max(1, min(64, len(todo) // (jobs * 20)))
                for out in pool.imap_unordered(_work, todo, chunksize=chunk):
                    finish(out)
    bar.close()
    summary = summarize([records[t.key] for t in tasks], cfg, info)
    _write_summary(summary, out_dir, plot=True)
    return summary


def _write_summary(summary: dict[str, Any], out_dir: Path, plot: bool) -> None:
    if plot:
        ratios = summary.pop("_ratios")
        path = out_dir / "ratio-histogram.png"
        plot_ratio_histogram(ratios, path, title=f"{summary['policy']} / optimum, "
                             f"{summary['instances']} instances")
        summary["histogram"] = str(path)
    else:
        summary = {k: v for k, v in summary.items() if k != "_ratios"}
        summary["partial"] = True
    atomic_write_json(out_dir / "summary.json", summary)


# -- summary ---------------------------------------------------------------------------------------
def _ratio_stats(ratios: list[float]) -> dict[str, float | None]:
    if not ratios:
        return {"mean": None, "median": None, "max": None}
    return {"mean": statistics.fmean(ratios), "median": statistics.median(ratios),
            "max": max(ratios)}


def _group(recs: list[dict[str, Any]]) -> dict[str, Any]:
    ratios = [r["ratio"] for r in recs if "ratio" in r]
    return {"instances": len(recs),
            "policy_optimal": sum(r["verdict"] == "optimal" for r in recs),
            "policy_suboptimal": sum(r["verdict"] == "suboptimal" for r in recs),
            "unproven": sum(r["verdict"] == "unproven" for r in recs),
            "counterexamples": sum(bool(r.get("counterexample")) for r in recs),
            "mean_ratio": _ratio_stats(ratios)["mean"], "max_ratio": _ratio_stats(ratios)["max"]}


def summarize(records: Iterable[dict[str, Any]], cfg: CertifyConfig,
              info: RunInfo) -> dict[str, Any]:
    """The run's summary (the ``certify --json`` object; see docs/algorithm1.md)."""
    recs = list(records)
    ratios = [r["ratio"] for r in recs if "ratio" in r]
    unproven = [r for r in recs if r["verdict"] == "unproven"]
    cxs = [r for r in recs if r.get("counterexample")]
    by_n: dict[int, list[dict[str, Any]]] = {}
    for r in recs:
        by_n.setdefault(r["n"], []).append(r)
    def big_m(r: dict[str, Any]) -> bool:
        return bool(r["memory_limit"] >= 2 * max(s + o for _, s, o in r["requests"]))

    h = "hypotheses"
    classes = {
        "theorem2 (a=0, monotone prompts)": [r for r in recs if r[h]["theorem2"]],
        "theorem2, strict (equal o => equal s)": [
            r for r in recs if r[h]["arrivals_zero"] and r[h]["strictly_monotone_prompts"]],
        "equal prompts, a=0": [r for r in recs if r[h]["equal_prompts"]
                               and r[h]["arrivals_zero"]],
        "equal prompts, a=0, M >= 2 max(s+o)": [
            r for r in recs if r[h]["equal_prompts"] and r[h]["arrivals_zero"] and big_m(r)],
        "outside theorem2": [r for r in recs if not r[h]["theorem2"]]}
    checked = [r["crosscheck"] for r in recs if "crosscheck" in r]
    upper = [r["ratio_interval"][1] for r in unproven]
    stats = _ratio_stats(ratios)
    return {
        "policy": cfg.policy,
        "family": info.family,
        "config": asdict(cfg),
        "instances": len(recs),
        "policy_optimal": sum(r["verdict"] == "optimal" for r in recs),
        "policy_suboptimal": sum(r["verdict"] == "suboptimal" for r in recs),
        "unproven": len(unproven),
        "policy_invalid": sum(r["verdict"] == "policy_invalid" for r in recs),
        "counterexample_count": len(cxs),
        "ratio": stats,
        "max_ratio": stats["max"],
        "max_ratio_upper": max([*ratios, *upper]) if upper else stats["max"],
        "by_n": [{"n": n, **_group(g)} for n, g in sorted(by_n.items())],
        "by_class": {name: _group(g) for name, g in classes.items() if g},
        "crosscheck": {"checked": len(checked),
                       "certificates_ok": sum(bool(c["certificate_ok"]) for c in checked),
                       "resolve_agrees": sum(c.get("agrees") is True for c in checked),
                       "resolve_contradicts": sum(c.get("agrees") is False for c in checked),
                       "resolve_unconfirmed": sum(c.get("agrees") is None for c in checked)},
        "reused": info.reused,
        "computed": info.computed,
        "wall_seconds": round(time.time() - info.started, 2),
        "cpu_seconds_instances": round(sum(r.get("seconds", 0.0) for r in recs), 2),
        "results_file": str(info.out_dir / RESULTS_FILE),
        **info.extra,
        "counterexamples": [_cx_entry(r) for r in cxs],
        "unproven_instances": [{"key": r["key"], "n": r["n"], "memory_limit": r["memory_limit"],
                                "requests": r["requests"], "policy_objective":
                                r["policy_objective"], "best_known": r["optimum"],
                                "bound": r["bound"], "ratio_interval": r["ratio_interval"]}
                               for r in unproven],
        "_ratios": ratios,
    }


def _cx_entry(r: dict[str, Any]) -> dict[str, Any]:
    return {"key": r["key"], "n": r["n"], "memory_limit": r["memory_limit"],
            "requests": r["requests"], "instance": _instance_dict(r),
            "policy_objective": r["policy_objective"], "optimal_objective": r["optimum"],
            "optimum_proven": r["optimum_proven"], "ratio": r.get("ratio"),
            "ratio_interval": r.get("ratio_interval"), "hypotheses": r["hypotheses"],
            "policy_starts": r["policy_starts"], "optimal_starts": r["optimal_starts"],
            "crosscheck": r.get("crosscheck"), "files": r.get("files")}


def _instance_dict(r: dict[str, Any]) -> dict[str, Any]:
    """The instance of a record in the public format (generated families use ids r0, r1, ...)."""
    if r.get("files"):
        saved: dict[str, Any] = json.loads(Path(r["files"]["instance"]).read_text())
        return saved
    if "instance" in r:
        inline: dict[str, Any] = r["instance"]
        return inline
    return spec_instance((r["memory_limit"], tuple(tuple(x) for x in r["requests"]))).to_dict()


# -- plot ------------------------------------------------------------------------------------------
def plot_ratio_histogram(ratios: Sequence[float], path: Path, title: str) -> None:
    """Distribution of proven policy/optimum ratios, all of them and the suboptimal ones apart
    (ratio 1 dominates, so the suboptimal tail gets its own histogram and box)."""
    from optsched.plots import ratio_figure, save_figure

    worse = [r for r in ratios if r > 1.0]
    groups = {"all proven": list(ratios), "suboptimal only": worse}
    save_figure(ratio_figure(groups, title=title,
                             xlabel="policy total completion time / proven optimum"), path)
