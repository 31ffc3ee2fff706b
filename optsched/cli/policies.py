"""Policy commands: ``schedule`` (run one policy through the online engine) and ``compare``
(several policies against the hindsight optimum of the time-indexed MILP)."""

from __future__ import annotations

import argparse
import math
import textwrap
from pathlib import Path
from typing import Any

from optsched.cli.common import add_solver_options, check_output_path, print_json
from optsched.data.builtin import resolve_instance
from optsched.data.families import FAMILY_HELP, load_family
from optsched.errors import OptschedError
from optsched.exact.solve import SOLVERS
from optsched.model.instance import Instance
from optsched.model.io import atomic_write_json
from optsched.policies import ALIASES, POLICIES, STANDARD_POLICIES, run_policy
from optsched.policies.engine import NoProgressError
from optsched.policies.predictions import PREDICTION_MODELS, parse_predictions
from optsched.progress import for_terminal
from optsched.studies.compare import (
    POLICY_PARAMS,
    TABLE_WIDTH,
    CompareSettings,
    Comparison,
    compare,
    instance_table,
    policy_kwargs,
    policy_names,
    protocol_table,
    ratio_groups,
    summary_table,
)
from optsched.studies.formatting import table

POLICY_HELP = ", ".join(n for n in POLICIES if n not in ALIASES) + \
    "".join(f" ({a} = {b})" for a, b in ALIASES.items())


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
    p.add_argument("--quiet", action="store_true",
                   help="no live progress line on stderr (shown on long runs, e.g. large "
                   "traces, when stderr is a terminal)")
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
                   help="no progress on stderr (the bar over a family; for a single instance the "
                   "solve's live line, shown when stderr is a terminal after about 2 s)")
    p.add_argument("--plot", metavar="DIR",
                   help="write ratios.png (per-policy ratio distribution) and, for a single "
                   "instance, schedules.png (Gantt chart + memory profile of every schedule, "
                   "side by side)")
    p.set_defaults(func=cmd_compare)


def _policy_kwargs(args: argparse.Namespace, name: str) -> dict[str, Any]:
    """The policy parameters given on the command line that policy ``name`` takes."""
    return policy_kwargs(name, {k: getattr(args, k, None) for k in POLICY_PARAMS})


def _check_policy(name: str) -> None:
    if name not in POLICIES:
        raise OptschedError(f"unknown policy {name!r}; choose one of {POLICY_HELP}")


def _time_model(args: argparse.Namespace) -> tuple[Any, float | None]:
    """--time-model and --arrival-seconds-per-round, checked together (one needs the other)."""
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
    _check_policy(args.policy)
    check_output_path(args.output, "schedule output")
    check_output_path(args.plot, "plot")
    if args.plot and not args.plot.lower().endswith(".png"):
        raise OptschedError(f"--plot {args.plot}: the file name must end in .png")
    model, scale = _time_model(args)
    inst = resolve_instance(args.instance)
    pred = parse_predictions(args.prediction, inst, args.seed)
    live = for_terminal(quiet=args.quiet)
    try:
        run = run_policy(inst, args.policy, predictions=pred, seed=args.seed, time_model=model,
                         arrival_seconds=None if model is None
                         else (inst.arrival * scale).tolist(), progress=live,
                         **_policy_kwargs(args, args.policy))
    except NoProgressError as exc:  # an outcome of the policy, not bad input
        return _report_stalled(args, inst, exc)
    finally:
        live.close()
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


# --- compare ---------------------------------------------------------------------------------


def _settings(args: argparse.Namespace) -> CompareSettings:
    """The comparison settings of the command's options."""
    return CompareSettings(
        solver=args.solver, time_limit=args.time_limit, threads=args.threads, seed=args.seed,
        prediction=args.prediction, solve_opt=not args.no_opt,
        parameters={k: getattr(args, k) for k in POLICY_PARAMS
                    if getattr(args, k, None) is not None})


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


def cmd_compare(args: argparse.Namespace) -> int:
    policies = policy_names(args.policies)
    if args.time_limit is not None and args.time_limit <= 0:
        raise OptschedError("--time-limit must be > 0 seconds")
    settings = _settings(args)
    settings.check()
    if args.plot and Path(args.plot).exists() and not Path(args.plot).is_dir():
        raise OptschedError(f"--plot {args.plot} exists and is not a directory")
    if args.plot and len(args.instances) > 1:
        raise OptschedError("--plot takes a single family")
    families = [(ref, load_family(ref)) for ref in args.instances]  # all bad input first
    runs = [(ref, compare(family, policies, solver=settings.solver,
                          time_limit=settings.time_limit, threads=settings.threads,
                          seed=settings.seed, prediction=settings.prediction,
                          solve_opt=settings.solve_opt, parameters=settings.parameters,
                          progress=not args.quiet)) for ref, family in families]
    if len(runs) > 1:
        return _print_families(runs, args.json)
    (_, family), (_, found) = families[0], runs[0]
    plots_written = _compare_plots(args.plot, family, found) if args.plot else []
    if args.json:
        print_json({**found.to_dict(), "plots": plots_written})
        return 0
    _print_compare(found)
    for p in plots_written:
        print(f"plot written to {p}")
    return 0


def _print_families(runs: list[tuple[str, Comparison]], as_json: bool) -> int:
    """Several families in one run: the protocol table of each (never averaged across)."""
    if as_json:
        first = runs[0][1]
        print_json({"policies": first.policies, "solver": first.settings.solver,
                    "time_limit": first.settings.time_limit,
                    "families": [{"family": ref, "instances": c.results, "summary": c.summary}
                                 for ref, c in runs]})
        return 0
    for ref, found in runs:
        opt = [r["opt"]["status"] for r in found.results]
        print(f"== {ref}: {len(opt)} instance(s), hindsight OPT proven for "
              f"{opt.count('optimal')} ==")
        print(protocol_table(found.summary))
        print()
    return 0


def _print_compare(found: Comparison) -> None:
    """The text report of one family: per-instance table (up to 40 instances), unsolved
    optima, the summary and the protocol table."""
    if len(found.results) <= 40:
        print(instance_table(found.results, found.policies))
        print()
    for res in found.results:
        if res["opt"].get("message"):
            print(f"{res['instance']}: optimum not solved: {res['opt']['message']}")
    print(summary_table(found.summary))
    print()
    print(textwrap.fill("ratio = policy / OPT (total completion time); where OPT is not proven, "
                        "'mean/max ratio' use the best known schedule (a lower end) and 'max "
                        "ratio (bound)' the solver's lower bound (an upper end).", TABLE_WIDTH))
    print()
    print(protocol_table(found.summary))


def _compare_plots(plot_dir: str, family: list[tuple[str, Instance]],
                   found: Comparison) -> list[str]:
    """ratios.png, and for a single instance schedules.png (every schedule side by side)."""
    from optsched import plots

    out = Path(plot_dir)
    written = []
    groups = ratio_groups(found.results)
    if groups:
        written.append(str(plots.save_figure(plots.ratio_figure(
            groups, title="policy / OPT (lower end where OPT is unproven)"),
            out / "ratios.png")))
    if len(family) == 1:
        name, inst = family[0]
        written.append(str(plots.save_figure(
            plots.compare_gantt(inst, found.schedules, title=name), out / "schedules.png")))
    return written
