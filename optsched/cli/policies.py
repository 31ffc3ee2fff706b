"""Policy commands: ``schedule`` (run one policy through the online engine) and ``compare``
(several policies against the hindsight optimum of the time-indexed MILP)."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from optsched.cli.common import (
    add_solver_options,
    check_output_path,
    print_json,
    resolve_instance,
    solver_logs_to_stderr,
    table,
)
from optsched.errors import OptschedError, SolverError
from optsched.exact.solve import SOLVERS, solve
from optsched.model.instance import Instance
from optsched.model.io import atomic_write_json
from optsched.model.schedule import Schedule
from optsched.policies import ALIASES, POLICIES, STANDARD_POLICIES, run_policy
from optsched.policies.base import NotApplicableError
from optsched.policies.engine import NoProgressError
from optsched.policies.predictions import PREDICTION_MODELS, parse_predictions

POLICY_HELP = ", ".join(n for n in POLICIES if n not in ALIASES) + \
    "".join(f" ({a} = {b})" for a, b in ALIASES.items())
FAMILY_HELP = ("an instance file, builtin:NAME, a directory of instance files, a generated "
               "family: jaillet1:K / jaillet2:K (Model 1 / Model 2 of arXiv 2502.07115, seeds "
               "0..K-1) or uniform:K[:N[:M]] (K small instances of N requests, default 8, "
               "memory M, default 16, arrivals 0..N, prompts 0..3), or a whole timestamped trace "
               "trace:SOURCE[:MEMORY_TOKENS] (a shipped sample name such as azure-conv, or a trace "
               "file; one round = 0.025 s, one memory unit = one token, M = MEMORY_TOKENS, "
               "default 49152)")

#: policy parameter (argparse dest) -> policies that take it
POLICY_PARAMS: dict[str, tuple[str, ...]] = {
    "alpha": ("alpha-greedy", "alpha-beta-clearing", "alpha-greedy-recheck",
              "alpha-beta-clearing-recheck"),
    "beta": ("alpha-beta-clearing", "alpha-beta-clearing-recheck"),
    "block_size": ("vllm", "vllm-token"),
    "threshold": ("wait", "nested-wait"),
    "first_segment": ("nested-wait",),
}

#: trace:SOURCE conversion choices (the same as benchmarks/bench_engine_azure.py)
TRACE_ROUND_SECONDS = 0.025
TRACE_MEMORY_TOKENS = 49_152


def _add_policy_params(p: argparse.ArgumentParser) -> None:
    p.add_argument("--prediction", default=None, metavar="MODEL",
                   help=f"what the policy sees of output lengths: {', '.join(PREDICTION_MODELS)} "
                   "(default: the instance's predicted_output_tokens, else the true lengths)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed for noisy predictions and randomised policies (default 0)")
    p.add_argument("--alpha", type=float, default=None,
                   help="alpha of the alpha-protection policies (default 0.2)")
    p.add_argument("--beta", type=float, default=None,
                   help="beta of alpha-beta-clearing[-recheck] (default 0.5)")
    p.add_argument("--block-size", type=int, default=None, metavar="B",
                   help="KV block size in tokens of vllm / vllm-token (default 16 / 1)")
    p.add_argument("--threshold", type=int, default=None, metavar="N",
                   help="cohort threshold of wait / nested-wait (default 4)")
    p.add_argument("--first-segment", type=int, default=None, metavar="L",
                   help="first segment length of nested-wait (default 16)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "schedule", help="run a scheduling policy on an instance (online engine)",
        description="Run a policy through the online engine: requests arrive over time, the "
        "policy sees predicted lengths only, the engine runs the true ones and records every "
        "overflow and eviction. The run is checked by the independent validator. Policies: "
        + POLICY_HELP + ".")
    p.add_argument("instance", help="instance JSON file or builtin:NAME")
    p.add_argument("--policy", default="algorithm1", metavar="NAME",
                   help="policy name (default algorithm1 = MC-SF); see the list above")
    _add_policy_params(p)
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: policy, objective, total_latency, schedule, "
                   "overflows, evictions, metrics, validation")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="also write the schedule ({\"starts\", \"aborted\"}) to FILE")
    p.add_argument("--plot", metavar="PNG", help="also draw the Gantt chart + memory profile")
    p.add_argument("--time-model", default="unit", metavar="NAME",
                   help="batch-time model: unit (default, rounds), fixed:SECONDS or a preset "
                   "(`optsched time-model list`); reports TTFT, TPOT, latency and throughput "
                   "in seconds. Needs --arrival-seconds-per-round")
    p.add_argument("--arrival-seconds-per-round", type=float, metavar="S",
                   help="with --time-model: request i arrives at arrival_i x S seconds")
    p.set_defaults(func=cmd_schedule)

    p = sub.add_parser(
        "compare", help="compare policies with the hindsight optimum",
        description="Run each policy, solve the hindsight MILP (all lengths and arrivals known) "
        "and report policy / OPT. Where the optimum is not proven within the time limit, the "
        "ratio is reported as the interval [objective / best known, objective / lower bound]. "
        "A policy that stops making progress (e.g. alpha-greedy re-clearing the same batch "
        "forever) is reported as 'stalled'.")
    p.add_argument("instances", metavar="INSTANCE-or-DIR", nargs="+",
                   help=FAMILY_HELP + ". Several families: one protocol table per family "
                   "(--json: one entry per family under 'families')")
    p.add_argument("--policies", default=",".join(STANDARD_POLICIES), metavar="LIST",
                   help=f"comma-separated policy names, or 'all' (default "
                   f"{','.join(STANDARD_POLICIES)})")
    add_solver_options(
        p, solver={"choices": list(SOLVERS),
                   "help": "exact solver for the hindsight optimum (default cpsat)"},
        time_limit={"default": 30.0,
                    "help": "solver time limit per instance in seconds (default 30)"},
        threads={})
    p.add_argument("--no-opt", action="store_true",
                   help="do not solve the hindsight optimum (policies only, e.g. for traces "
                   "too large for the MILP); an instance too large to model is reported as "
                   "'not solved' anyway")
    _add_policy_params(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true",
                   help="no live progress line on stderr (shown for a single instance when "
                   "stderr is a terminal and its solve takes more than about 2 s)")
    p.add_argument("--plot", metavar="DIR",
                   help="write ratios.png (per-policy ratio distribution) and, for a single "
                   "instance, schedules.png (Gantt chart + memory profile of every schedule, "
                   "side by side)")
    p.set_defaults(func=cmd_compare)


def _policy_kwargs(args: argparse.Namespace, name: str) -> dict[str, Any]:
    return {k: getattr(args, k) for k, names in POLICY_PARAMS.items()
            if name in names and getattr(args, k, None) is not None}


def _check_policy(name: str) -> None:
    if name not in POLICIES:
        raise OptschedError(f"unknown policy {name!r}; choose one of {POLICY_HELP}")


def _schedule_settings(args: argparse.Namespace) -> tuple[Any, float | None]:
    """Check ``schedule``'s options before any work; the time model and arrival scale."""
    _check_policy(args.policy)
    check_output_path(args.output, "schedule output")
    check_output_path(args.plot, "plot")
    if args.plot and not args.plot.lower().endswith(".png"):
        raise OptschedError(f"--plot {args.plot}: the file name must end in .png")
    from optsched.policies.timemodel import get_time_model

    model = get_time_model(args.time_model)
    scale = args.arrival_seconds_per_round
    if model is not None and scale is None:
        raise OptschedError("--time-model needs --arrival-seconds-per-round S (request i "
                            "arrives at arrival_i x S seconds)")
    if model is None and scale is not None:
        raise OptschedError("--arrival-seconds-per-round needs a --time-model other than unit")
    if scale is not None and not (math.isfinite(scale) and scale >= 0):
        raise OptschedError(f"--arrival-seconds-per-round must be >= 0, got {scale}")
    return model, scale


def cmd_schedule(args: argparse.Namespace) -> int:
    model, scale = _schedule_settings(args)
    inst = resolve_instance(args.instance)
    pred = parse_predictions(args.prediction, inst, args.seed)
    try:
        run = run_policy(inst, args.policy, predictions=pred, seed=args.seed, time_model=model,
                         arrival_seconds=None if model is None
                         else (inst.arrival * scale).tolist(),
                         **_policy_kwargs(args, args.policy))
    except NoProgressError as exc:  # an outcome of the policy, not bad input
        return _report_stalled(args, inst, exc)
    if args.output:
        atomic_write_json(args.output, run.schedule.to_dict())
    if args.plot:
        from optsched import plots

        plots.save_figure(plots.gantt_figure(inst, run.schedule, title=args.policy), args.plot)
    if args.json:
        print_json({"status": "ok", **run.to_dict()})
        return 0
    m = run.metrics
    v = run.validation.metrics
    assert v is not None  # a PolicyRun holds a validated schedule
    print(f"instance    {inst.name or args.instance}: n = {inst.n}, M = {inst.memory_limit}")
    params = "".join(f" {k}={v}" for k, v in run.parameters.items())
    print(f"policy      {run.policy}{params} with predictions {run.predictions}")
    print(f"objective   {run.objective} (total completion time); total latency "
          f"{run.total_latency}, mean {m['mean_latency']:.2f}; mean TTFT {m['mean_ttft']:.2f}")
    print(f"makespan    {m['makespan']}; peak memory {v.peak_memory} / {inst.memory_limit}, "
          f"utilisation {v.memory_utilisation:.1%}")
    print(f"overflows   {run.overflows}; evictions {run.evictions}; preemptions "
          f"{m['preemptions']}; wasted tokens {run.wasted_tokens}; recomputed tokens "
          f"{m['recomputed_tokens']}")
    print(f"validator   {run.validation.summary()}; runtime {run.runtime:.3f} s")
    if model is not None:
        print(f"seconds     ({m['time_model']}) mean latency {m['mean_latency_s']:.4g} s, p99 "
              f"{m['p99_latency_s']:.4g} s; mean TTFT {m['mean_ttft_s']:.4g} s; mean TPOT "
              f"{m['mean_tpot_s']:.4g} s; throughput {m['throughput_tokens_per_s']:.4g} "
              "tokens/s (rounds above are the clock's round indices)")
    if inst.n <= 60:
        restarts: dict[str, int] = {}
        for a in run.schedule.aborted:
            restarts[a.id] = restarts.get(a.id, 0) + 1
        rs = run.request_seconds
        rows = [[r.id, r.arrival if rs is None else rs["arrival_round"][k], r.prompt_tokens,
                 r.output_tokens, int(pred.point[k]),
                 run.schedule.starts[r.id], run.schedule.starts[r.id] + r.output_tokens,
                 restarts.get(r.id, 0)]
                + ([] if rs is None else [f"{rs['ttft_s'][k]:.4g}", f"{rs['latency_s'][k]:.4g}"])
                for k, r in enumerate(inst.requests)]
        print()
        print(table(rows, ["id", "arrival", "prompt", "output", "predicted", "start",
                           "completion", "evicted"]
                    + ([] if rs is None else ["TTFT (s)", "latency (s)"])))
    if args.output:
        print(f"schedule written to {args.output}")
    if args.plot:
        print(f"plot written to {args.plot}")
    return 0


def _report_stalled(args: argparse.Namespace, inst: Instance, exc: NoProgressError) -> int:
    """A policy that stopped making progress is a result: status "stalled", the rounds
    simulated and the partial counts, exit 1 ("a check failed"), with ``--json`` too."""
    out = {"status": "stalled", "policy": args.policy, "instance": inst.name or args.instance,
           "n": inst.n, "memory_limit": inst.memory_limit, "message": str(exc),
           "partial": exc.partial}
    if args.json:
        print_json(out)
        return 1
    print(f"instance    {inst.name or args.instance}: n = {inst.n}, M = {inst.memory_limit}")
    print(f"policy      {args.policy}: STALLED (no schedule)")
    print(f"why         {exc}")
    if exc.partial:
        print("so far      " + ", ".join(f"{k.replace('_', ' ')} {v}"
                                         for k, v in exc.partial.items()))
    return 1


# --- compare ---------------------------------------------------------------------------------


def load_family(ref: str) -> list[tuple[str, Instance]]:
    """Instances named by ``ref``: a file, builtin:NAME, a directory, or jaillet1:K/jaillet2:K."""
    head, _, arg = ref.partition(":")
    if head == "uniform" and arg:
        return _uniform_family(ref, arg)
    if head == "trace" and arg:
        return [_trace_family(ref, arg)]
    if head in ("jaillet1", "jaillet2") and arg:
        from optsched.data.generators import jaillet_model1, jaillet_model2

        try:
            k = int(arg)
        except ValueError:
            raise OptschedError(f"{ref}: expected {head}:K with K a number of instances") from None
        if not 1 <= k <= 100_000:
            raise OptschedError(f"{ref}: K must be between 1 and 100000")
        gen = jaillet_model1 if head == "jaillet1" else jaillet_model2
        return [(f"{head}-seed{s}", gen(s)) for s in range(k)]
    p = Path(ref)
    if not ref.startswith("builtin:") and p.is_dir():
        files = sorted(p.glob("*.json"))
        if not files:
            raise OptschedError(f"directory {p} holds no *.json instance files")
        return [(f.stem, resolve_instance(str(f))) for f in files]
    inst = resolve_instance(ref)
    return [(inst.name or Path(ref).stem, inst)]


def _trace_family(ref: str, arg: str) -> tuple[str, Instance]:
    """trace:SOURCE[:MEMORY_TOKENS]: every row of a timestamped trace as one instance
    (optsched.data.traces.trace_instance; the choices are recorded in its metadata)."""
    from optsched.data.traces import load_trace, trace_instance

    source, _, mem = arg.partition(":")
    try:
        memory = int(mem) if mem else TRACE_MEMORY_TOKENS
    except ValueError:
        raise OptschedError(f"{ref}: MEMORY_TOKENS must be an integer") from None
    trace = load_trace(source)
    inst = trace_instance(trace, range(trace.n), round_seconds=TRACE_ROUND_SECONDS,
                          token_scale=1, memory_tokens=memory)
    return f"trace-{Path(trace.file_name).stem}-{trace.n}", inst


def _uniform_family(ref: str, arg: str) -> list[tuple[str, Instance]]:
    """uniform:K[:N[:M]]: K seeded instances of N requests (default 8), memory M (default 16),
    prompts 0..3, arrivals 0..N (optsched.data.generators.uniform_instance, seeds 0..K-1)."""
    from optsched.data.generators import uniform_instance

    try:
        nums = [int(x) for x in arg.split(":")]
    except ValueError:
        raise OptschedError(f"{ref}: expected uniform:K[:N[:M]] with integers") from None
    if not 1 <= len(nums) <= 3:
        raise OptschedError(f"{ref}: expected uniform:K[:N[:M]]")
    defaults = [1, 8, 16]
    k, n, m = nums + defaults[len(nums):]
    if not (1 <= k <= 100_000 and 1 <= n <= 10_000 and m >= 4):
        raise OptschedError(f"{ref}: expected uniform:K[:N[:M]] with 1 <= K <= 100000, "
                            "1 <= N <= 10000, M >= 4")
    return [(f"uniform-n{n}-M{m}-seed{s}",
             uniform_instance(s, n, m, max_prompt=3, max_arrival=n)) for s in range(k)]


def _ratio(obj: int, opt: dict[str, Any], arrivals: int = 0) -> dict[str, Any]:
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


def compare_instance(name: str, inst: Instance, policies: list[str],
                     args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Schedule]]:
    """Run every policy and the exact solve on one instance; the best policy schedule (its final
    starts alone are a feasible offline schedule) warm-starts the solver."""
    pred = parse_predictions(args.prediction, inst, args.seed)
    rows: list[dict[str, Any]] = []
    schedules: dict[str, Schedule] = {}
    best: tuple[int, Schedule] | None = None
    for pol in policies:
        try:
            run = run_policy(inst, pol, predictions=pred, seed=args.seed,
                             **_policy_kwargs(args, pol))
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
    res = None
    if args.no_opt:
        opt = {"status": "not attempted", "objective": None, "bound": None,
               "solver": None, "runtime": 0.0}
    else:
        try:
            with solver_logs_to_stderr(True):
                res = solve(inst, args.solver, time_limit=args.time_limit, threads=args.threads,
                            seed=args.seed, initial_solution=best[1] if best else None,
                            progress=getattr(args, "progress", None))
        except SolverError as exc:  # e.g. the model is too large: keep the policy results
            opt = {"status": "not solved", "objective": None, "bound": None,
                   "solver": args.solver, "runtime": 0.0, "message": str(exc)}
    if res is not None:
        opt = {"status": res.status.value, "objective": res.objective, "bound": res.bound,
               "solver": res.solver, "runtime": round(res.runtime, 3)}
        if res.schedule is not None:
            schedules["optimum" if res.proven_optimal else "best known"] = res.schedule
    for row in rows:
        if row["status"] == "ok" and opt["objective"] is not None:
            row.update(_ratio(row["objective"], opt, int(inst.arrival.sum())))
        elif row["status"] == "ok":
            row.update(ratio=None, ratio_lo=None, ratio_hi=None, proven=False)
    return ({"instance": name, "n": inst.n, "memory_limit": inst.memory_limit,
             "predictions": pred.describe(), "opt": opt, "policies": rows}, schedules)


#: per-run measures of the comparison protocol (engine metrics, rounds and tokens)
PROTOCOL_METRICS = ("total_latency", "mean_latency", "p50_latency", "p95_latency", "p99_latency",
                    "overflows", "evictions", "preemptions", "wasted_tokens", "recomputed_tokens",
                    "throughput_tokens_per_round")


def summarise(results: list[dict[str, Any]], policies: list[str]) -> dict[str, dict[str, Any]]:
    """Per policy: instances, how many at ratio 1 (proven), mean/max ratio (lower ends where
    unproven, upper ends from the bound), stalled and not-applicable runs, and the mean over the
    finished runs of every protocol measure."""
    out: dict[str, dict[str, Any]] = {}
    for pol in policies:
        rows = [r for res in results for r in res["policies"] if r["policy"] == pol]
        done = [r for r in rows if r["status"] == "ok"]
        ok = [r for r in done if r.get("ratio_lo") is not None]
        lo = [r["ratio_lo"] for r in ok]
        proven = [r for r in ok if r["proven"]]
        his = [r["ratio_hi"] for r in ok if r["ratio_hi"] is not None]
        out[pol] = {
            "instances": len(rows),
            "finished": len(done),
            "stalled": sum(r["status"] == "stalled" for r in rows),
            "not_applicable": sum(r["status"] == "n/a" for r in rows),
            "mean_ratio_hi": sum(his) / len(his) if his and len(his) == len(ok) else None,
            "proven": len(proven),
            "optimal": sum(r["ratio"] == 1 for r in proven),
            "mean_ratio_lo": sum(lo) / len(lo) if lo else None,
            "max_ratio_lo": max(lo) if lo else None,
            "max_ratio_hi": (max(r["ratio_hi"] for r in ok)
                             if ok and all(r["ratio_hi"] is not None for r in ok) else None),
            "overflows": sum(r.get("overflows", 0) for r in rows),
            "mean_objective": (sum(r["objective"] for r in done) / len(done)) if done else None,
            "mean_latency_ratio_lo": _mean_of(ok, "latency_ratio_lo"),
            "mean_latency_ratio_hi": _mean_of(ok, "latency_ratio_hi"),
            "mean": {k: (sum(r[k] for r in done) / len(done)) if done else None
                     for k in PROTOCOL_METRICS},
        }
    return out


def _mean_of(rows: list[dict[str, Any]], key: str) -> float | None:
    """Mean of ``key`` over rows, or None when any row lacks it (no partial averages)."""
    vals: list[Any] = [r.get(key) for r in rows]
    return sum(vals) / len(vals) if vals and None not in vals else None


def cmd_compare(args: argparse.Namespace) -> int:
    policies = [x.strip() for x in args.policies.split(",") if x.strip()]
    if policies == ["all"]:
        policies = [n for n in POLICIES if n not in ALIASES]
    if not policies:
        raise OptschedError("--policies: give at least one policy name")
    for pol in policies:
        _check_policy(pol)
    if args.time_limit is not None and args.time_limit <= 0:
        raise OptschedError("--time-limit must be > 0 seconds")
    if args.plot and Path(args.plot).exists() and not Path(args.plot).is_dir():
        raise OptschedError(f"--plot {args.plot} exists and is not a directory")
    if args.plot and len(args.instances) > 1:
        raise OptschedError("--plot takes a single family")
    families = [(ref, load_family(ref)) for ref in args.instances]  # all bad input first
    if len(families) > 1:
        return _compare_families(families, policies, args)
    family = families[0][1]
    if len(family) == 1:  # one long solve: show its progress (the bar covers families)
        from optsched.progress import for_terminal

        args.progress = for_terminal(quiet=args.quiet)
    try:
        results, last_schedules = _run_family(family, policies, args)
    finally:
        if getattr(args, "progress", None) is not None:
            args.progress.close()
    summary = summarise(results, policies)
    plots_written = _compare_plots(args, family, results, last_schedules, policies) \
        if args.plot else []
    if args.json:
        print_json({"policies": policies, "solver": args.solver, "time_limit": args.time_limit,
                    "instances": results, "summary": summary, "plots": plots_written})
        return 0
    _print_compare(results, summary, policies)
    for p in plots_written:
        print(f"plot written to {p}")
    return 0


def _run_family(family: list[tuple[str, Instance]], policies: list[str],
                args: argparse.Namespace) -> tuple[list[dict[str, Any]], dict[str, Schedule]]:
    from tqdm import tqdm

    results: list[dict[str, Any]] = []
    last_schedules: dict[str, Schedule] = {}
    for name, inst in tqdm(family, desc="compare", unit="instance", file=sys.stderr,
                           disable=len(family) < 2):
        res, last_schedules = compare_instance(name, inst, policies, args)
        results.append(res)
    return results, last_schedules


def _compare_families(families: list[tuple[str, list[tuple[str, Instance]]]],
                      policies: list[str], args: argparse.Namespace) -> int:
    """Several families in one run: the protocol table of each (never averaged across)."""
    out: list[dict[str, Any]] = []
    for ref, family in families:
        results, _ = _run_family(family, policies, args)
        out.append({"family": ref, "instances": results,
                    "summary": summarise(results, policies)})
    if args.json:
        print_json({"policies": policies, "solver": args.solver, "time_limit": args.time_limit,
                    "families": out})
        return 0
    for fam in out:
        opt = [r["opt"]["status"] for r in fam["instances"]]
        print(f"== {fam['family']}: {len(opt)} instance(s), hindsight OPT proven for "
              f"{opt.count('optimal')} ==")
        print(protocol_table(fam["summary"]))
        print()
    return 0


def _fmt_ratio(r: dict[str, Any]) -> str:
    if r["status"] != "ok":
        return r["status"]
    if r.get("ratio") is not None:
        return f"{r['ratio']:.4f}"
    lo, hi = r.get("ratio_lo"), r.get("ratio_hi")
    if lo is None:
        return "no OPT"
    return f"[{lo:.4f}, {hi:.4f}]" if hi is not None else f">= {lo:.4f}"


def _print_compare(results: list[dict[str, Any]], summary: dict[str, dict[str, Any]],
                   policies: list[str]) -> None:
    if len(results) <= 40:
        rows = []
        for res in results:
            by = {r["policy"]: r for r in res["policies"]}
            opt = res["opt"]
            opt_txt = (f"{opt['objective']}" if opt["status"] == "optimal"
                       else opt["status"] if opt["objective"] is None
                       else f"{opt['objective']} (bound {opt['bound']}, {opt['status']})")
            rows.append([res["instance"], res["n"], res["memory_limit"], opt_txt]
                        + [f"{by[p].get('objective', '-')} ({_fmt_ratio(by[p])})"
                           for p in policies])
        print(table(rows, ["instance", "n", "M", "OPT"] + policies))
        print()
    for res in results:
        if res["opt"].get("message"):
            print(f"{res['instance']}: optimum not solved: {res['opt']['message']}")
    rows = [[p, s["instances"], s["proven"], s["optimal"], s["mean_ratio_lo"],
             s["max_ratio_lo"], s["max_ratio_hi"], s["stalled"], s["overflows"],
             s["mean_objective"]]
            for p, s in summary.items()]
    print(table(rows, ["policy", "instances", "OPT proven", "ratio = 1", "mean ratio",
                       "max ratio", "max ratio (bound)", "stalled", "overflows",
                       "mean objective"]))
    print("\nratio = policy / OPT (total completion time); where OPT is not proven, 'mean/max "
          "ratio' use the best known schedule (a lower end) and 'max ratio (bound)' the solver's "
          "lower bound (an upper end).")
    print()
    print(protocol_table(summary))


def _num(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def protocol_table(summary: dict[str, dict[str, Any]]) -> str:
    """The protocol table: per policy, runs finished / stalled / not applicable, then the mean
    over finished runs of each measure, and the ratio interval to the hindsight optimum."""
    rows: list[list[object]] = []
    for p, s in summary.items():
        m = s["mean"]
        lo, hi = s["mean_ratio_lo"], s["mean_ratio_hi"]
        ratio = "-" if lo is None else (f"{lo:.3f}" if hi is not None and hi == lo
                                        else f"[{lo:.3f}, {_num(hi, 3)}]")
        mlo, mhi = s["max_ratio_lo"], s["max_ratio_hi"]
        worst = "-" if mlo is None else (f"{mlo:.3f}" if mhi == mlo
                                         else f"[{mlo:.3f}, {_num(mhi, 3)}]")
        llo, lhi = s["mean_latency_ratio_lo"], s["mean_latency_ratio_hi"]
        lat_ratio = "-" if llo is None else (f"{llo:.3f}" if lhi == llo
                                             else f"[{llo:.3f}, {_num(lhi, 3)}]")
        rows.append([p, f"{s['finished']}/{s['stalled']}/{s['not_applicable']}",
                     _num(m["total_latency"], 0), _num(m["mean_latency"], 2),
                     _num(m["p50_latency"]), _num(m["p95_latency"]), _num(m["p99_latency"]),
                     _num(m["overflows"]), _num(m["evictions"]), _num(m["preemptions"]),
                     _num(m["wasted_tokens"]), _num(m["recomputed_tokens"]),
                     _num(m["throughput_tokens_per_round"], 2), ratio, worst, lat_ratio])
    return table(rows, ["policy", "ok/stalled/n-a", "total lat", "mean lat", "p50", "p95", "p99",
                        "overflows", "evictions", "preemptions", "wasted tok", "recomputed tok",
                        "tok/round", "mean ratio", "max ratio", "mean lat ratio"]) + (
        "\nmeans over the finished runs (latencies in rounds; p50/p95/p99 are per-instance "
        "percentiles, averaged); ratio = total completion time / hindsight OPT, an interval "
        "[/ best known, / lower bound] where OPT is not proven; lat ratio = the same for total "
        "latency (completion minus arrival)")


def _compare_plots(args: argparse.Namespace, family: list[tuple[str, Instance]],
                   results: list[dict[str, Any]], schedules: dict[str, Schedule],
                   policies: list[str]) -> list[str]:
    from optsched import plots

    out = Path(args.plot)
    written = []
    groups: dict[str, list[float]] = {}
    for res in results:
        for r in res["policies"]:
            if r["status"] == "ok" and r.get("ratio_lo") is not None and not math.isnan(
                    r["ratio_lo"]):
                groups.setdefault(r["policy"], []).append(r["ratio_lo"])
    if groups:
        written.append(str(plots.save_figure(plots.ratio_figure(
            groups, title="policy / OPT (lower end where OPT is unproven)"),
            out / "ratios.png")))
    if len(family) == 1:
        name, inst = family[0]
        written.append(str(plots.save_figure(
            plots.compare_gantt(inst, schedules, title=name), out / "schedules.png")))
    return written
