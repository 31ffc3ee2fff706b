"""Commands ``reproduce`` (published experiments) and ``plot`` (PNG figures)."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from optsched.cli.common import add_solver_options, check_output_path, print_json
from optsched.data.builtin import resolve_instance
from optsched.errors import OptschedError
from optsched.studies.reproduce import SyntheticConfig

#: Defaults of ``--quick``: a first look (and the CI run) in a few minutes.
QUICK_TRIALS = 3
QUICK_TIME_LIMIT = 5.0
QUICK_TRACE_REQUESTS = 500
#: Trace of the real-trace study unless --trace is given: the shipped Azure conversation sample.
DEFAULT_TRACE = "azure-conv"


def register(sub: argparse._SubParsersAction) -> None:
    from optsched.exact import SOLVERS
    from optsched.studies.reproduce import SCALES
    from optsched.studies.sensitivity import GRIDS

    p = sub.add_parser(
        "reproduce", help="re-run a published experiment and write a report",
        description="Re-run the experiments of Jaillet et al. (arXiv 2502.07115): Model 1 and "
        "Model 2 synthetic trials (MC-SF and baselines against the hindsight optimum, unproven "
        "optima reported as intervals) and, with --trace, the real-trace study. Writes "
        "report.md, results.parquet, trace.json and figures/ into the output directory. Exact "
        "solves are cached in DIR/cache, so an interrupted run resumes where it stopped.")
    p.add_argument("study", choices=("jaillet2025",), help="the experiment to reproduce")
    p.add_argument("-o", "--output", default="reproduction-jaillet2025", metavar="DIR",
                   help="output directory (default: reproduction-jaillet2025)")
    p.add_argument("--quick", action="store_true",
                   help=f"a first look in minutes: {QUICK_TRIALS} trials per model, "
                   f"{QUICK_TIME_LIMIT:g} s per solve, {QUICK_TRACE_REQUESTS} trace requests "
                   "(explicit options still win)")
    p.add_argument("--trials", type=int, metavar="N", help="trials per model (default 200)")
    p.add_argument("--models", type=int, nargs="+", choices=(1, 2), default=[1, 2],
                   help="which arrival models (default: 1 2)")
    p.add_argument("--scale", choices=tuple(SCALES), default="paper",
                   help="instance sizes: paper (the paper's ranges, default) or small (a "
                   "scaled-down protocol that solvers prove in seconds; not the paper's)")
    add_solver_options(
        p, solver={"choices": [s for s in SOLVERS if s != "bruteforce"],
                   "help": "MILP solver for the hindsight optimum (default cpsat)"},
        method={"default": SyntheticConfig().method}, bound_effort={},
        time_limit={"help": "seconds per exact solve (default 60)"}, threads={},
        seed={"help": "first generator seed (trial k uses seed + k; default 0)"})
    p.add_argument("--policies", metavar="LIST",
                   help="comma-separated policies (default: MC-SF and the paper's baselines "
                   "that are available)")
    p.add_argument("--no-synthetic", action="store_true", help="skip the synthetic study")
    p.add_argument("--trace", metavar="TRACE", default=DEFAULT_TRACE,
                   help="trace for the real-trace study: a shipped sample name (azure-conv, "
                   "sharegpt, ...) or a trace file (Azure CSV, Mooncake JSONL, length CSV); "
                   f"default {DEFAULT_TRACE}")
    p.add_argument("--no-trace", action="store_true", help="skip the real-trace study")
    p.add_argument("--trace-requests", type=int, metavar="N",
                   help="requests sampled from the trace (default 10000, as in the paper)")
    p.add_argument("--load-factors", type=float, nargs="+", metavar="RHO",
                   help="offered loads for the trace study, high then low (default 4 0.8)")
    p.add_argument("--time-model", default="unit", metavar="NAME",
                   help="batch-time model for the real-trace study: unit (default: rounds, "
                   "load factors as above) or a preset (see `optsched time-model list`), which "
                   "runs the study in seconds instead: --trace with its own timestamps, and "
                   "--lengths-trace with Poisson arrivals at --rates")
    p.add_argument("--lengths-trace", default="sharegpt", metavar="TRACE",
                   help="request lengths for the Poisson settings of the study in seconds "
                   "(default sharegpt)")
    p.add_argument("--rates", type=float, nargs="+", metavar="PER_S",
                   help="Poisson rates in requests/second for the study in seconds "
                   "(default 50 10, the paper's)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    s = p.add_argument_group(
        "sensitivity study (issue 18)",
        "With --sensitivity, run a grid of readings of the paper's generator, memory convention "
        "and 'OPT' instead of the study above, and write DIR/sensitivity.md (the table), "
        "DIR/sensitivity.parquet (one row per reading and trial) and a checkpoint to resume "
        "from. Uses --trials (per reading, default 200), --time-limit (per exact solve, "
        "default 60), --seed, --threads, --bound-effort, --no-progress and -o.")
    s.add_argument("--sensitivity", action="store_true",
                   help="run the sensitivity study (docs/reproduction.md)")
    s.add_argument("--grid", metavar="NAME",
                   help=f"named grid of readings: {', '.join(GRIDS)} (default full; "
                   "authors-code with --protocol authors-code)")
    s.add_argument("--readings", metavar="LIST",
                   help="comma-separated reading names instead of the grid's (see "
                   "optsched.studies.sensitivity.READINGS)")
    s.add_argument("--checkpoint", metavar="FILE",
                   help="checkpoint file (JSON lines; default DIR/checkpoint.jsonl): finished "
                   "trials are appended and reused when the command is run again")
    s.add_argument("--resume-from", metavar="DIR|FILE",
                   help="reuse the finished trials (and cached solves) of an earlier run, such "
                   "as a committed one, by copying them into -o DIR first: the earlier run is "
                   "read, never written")
    s.add_argument("--protocol", choices=("paper", "authors-code"), default="paper",
                   help="authors-code: run the experiment the way the authors' published code "
                   "does it (one prompt size per instance, the plain IP with a time limit and "
                   "MC-SF warm start, its incumbent taken as OPT; HiGHS and CP-SAT) beside "
                   "what optsched proves on the same draws; writes DIR/authors-code.md")
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser("plot", help="draw schedules and result distributions as PNG",
                       description="Figures as PNG files (matplotlib).")
    plot = p.add_subparsers(dest="plot_kind", metavar="KIND")
    plot.required = True
    q = plot.add_parser("gantt", help="Gantt chart of a schedule with its memory profile vs M",
                        description="One bar per request (from start to completion; evicted "
                        "runs hatched) above the memory in use at every round against M. The "
                        "schedule is validated first.")
    q.add_argument("instance", help="instance JSON file or builtin:NAME")
    q.add_argument("schedule", help="schedule JSON, solve --json output or certificate")
    q.add_argument("-o", "--output", required=True, metavar="FILE.png", help="PNG file to write")
    q.add_argument("--title", help="figure title")
    q.set_defaults(func=cmd_plot_gantt)

    q = plot.add_parser("ratios", help="distribution of policy / optimum ratios",
                        description="Histogram of ratios per policy from a results file: "
                        "the results.parquet of `optsched reproduce`, the dataset.parquet of "
                        "`optsched dataset build` (certified instances only: policy / proven "
                        "optimum), or JSON rows with 'policy' and 'ratio' (or 'ratio_lo').")
    q.add_argument("results", help="results file (.parquet or .json)")
    q.add_argument("-o", "--output", required=True, metavar="FILE.png", help="PNG file to write")
    q.add_argument("--policy", action="append", metavar="NAME",
                   help="only these policies (repeatable; default all)")
    q.add_argument("--model", type=int, choices=(1, 2), help="only this arrival model")
    q.set_defaults(func=cmd_plot_ratios)

    q = plot.add_parser("cactus", help="cactus plot of solver runs (solved vs time)",
                        description="For each solver/method: the number of instances proven "
                        "optimal within a given time. Rows need a solver ('solver' or "
                        "'opt_solver') and/or a method ('method' or 'opt_method'), a runtime "
                        "('runtime' or 'opt_runtime') and "
                        "whether it was proven ('status' == 'optimal', 'proven' or "
                        "'opt_proven').")
    q.add_argument("results", help="results file (.parquet or .json)")
    q.add_argument("-o", "--output", required=True, metavar="FILE.png", help="PNG file to write")
    q.set_defaults(func=cmd_plot_cactus)


# --------------------------------------------------------------------------------------------
def cmd_reproduce(args: argparse.Namespace) -> int:
    """``reproduce jaillet2025``: the synthetic and trace studies (or, with --sensitivity or
    --protocol authors-code, a grid of readings); every check before anything is written."""
    from optsched.studies.reproduce import run_study

    if args.sensitivity or args.protocol == "authors-code":
        return cmd_sensitivity(args)
    for flag, value in (("--readings", args.readings), ("--checkpoint", args.checkpoint),
                        ("--grid", args.grid), ("--resume-from", args.resume_from)):
        if value is not None:
            raise OptschedError(f"{flag} applies only with --sensitivity or --protocol "
                                "authors-code")
    policies, synthetic = _synthetic_config(args)
    trace = None if args.no_trace else args.trace
    if trace is not None:
        from optsched.data.traces import load_trace

        load_trace(trace)  # fail now, before any trial runs
    trace_cfg, seconds, timed = _trace_configs(args, trace, policies)
    if synthetic is None and trace is None:
        raise OptschedError("nothing to run: both --no-synthetic and --no-trace given")
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise OptschedError(f"output path {out} exists and is not a directory")
    summary = run_study(out, synthetic, trace if not timed else None, trace_cfg,
                        _command_line(args, out, trace), progress=not args.no_progress,
                        seconds=seconds)
    if args.json:
        print_json(dict(summary, output=str(out)))
        return 0
    print(f"report written to {out / 'report.md'}")
    for s in summary["synthetic"]:
        if s["policy"] == "mcsf":
            lo, hi = s["average_interval"]
            print(f"model {s['model']}: MC-SF proven optima {s['proven']}/{s['trials']}, "
                  f"average ratio {_span(lo, hi)}, worst {_span(*s['worst_interval'])}")
    return 0


def _synthetic_config(args: argparse.Namespace) -> tuple[tuple[str, ...], Any]:
    """(the policies, the synthetic study's checked configuration or None)."""
    from optsched.studies.reproduce import default_policies

    trials = args.trials if args.trials is not None else (QUICK_TRIALS if args.quick else 200)
    limit = args.time_limit if args.time_limit is not None else (
        QUICK_TIME_LIMIT if args.quick else 60.0)
    policies = (tuple(x.strip() for x in args.policies.split(",") if x.strip())
                if args.policies else default_policies())
    synthetic = None if args.no_synthetic else SyntheticConfig(
        trials=trials, models=tuple(dict.fromkeys(args.models)), solver=args.solver,
        method=args.method, time_limit=limit, threads=args.threads, seed=args.seed,
        policies=policies, scale=args.scale, bound_effort=args.bound_effort)
    if synthetic is not None:
        synthetic.check()
    return policies, synthetic


def _trace_configs(args: argparse.Namespace, trace: str | None, policies: tuple[str, ...]
                   ) -> tuple[Any, Any, bool]:
    """(the round-based trace study's configuration, the study in seconds', whether a time
    model is in use), checked."""
    from optsched.policies.timemodel import get_time_model
    from optsched.studies.reproduce import TraceConfig

    requests = args.trace_requests if args.trace_requests is not None else (
        QUICK_TRACE_REQUESTS if args.quick else 10_000)
    if requests < 1:
        raise OptschedError("--trace-requests must be >= 1")
    loads = tuple(args.load_factors) if args.load_factors else TraceConfig.load_factors
    if any(x <= 0 for x in loads):
        raise OptschedError("--load-factors must be > 0")
    timed = get_time_model(args.time_model) is not None  # an unknown name fails here
    if timed and trace is None:
        raise OptschedError("--time-model needs the real-trace study (drop --no-trace)")
    seconds = _seconds_config(args, trace, policies, requests) if timed else None
    trace_cfg = TraceConfig(requests=requests, load_factors=loads, seed=args.seed,
                            policies=policies) if trace is not None and not timed else None
    return trace_cfg, seconds, timed


def _seconds_config(args: argparse.Namespace, trace: Any, policies: tuple[str, ...],
                    requests: int) -> Any:
    from optsched.data.traces import load_trace
    from optsched.studies.reproduce_seconds import SECONDS_POLICIES, SecondsConfig

    load_trace(args.lengths_trace)
    rates = tuple(args.rates) if args.rates else SecondsConfig.rates
    if any(not r > 0 for r in rates):
        raise OptschedError("--rates must be > 0 requests/second")
    if not load_trace(trace).has_times:
        raise OptschedError(f"--trace {trace}: the study in seconds needs a trace with "
                            "timestamps (lengths-only traces go to --lengths-trace)")
    return SecondsConfig(args.time_model, requests=requests, seed=args.seed, conv_trace=trace,
                         lengths_trace=args.lengths_trace, rates=rates,
                         policies=tuple(policies) if args.policies else SECONDS_POLICIES)


#: Options of the main study that mean nothing to the sensitivity study (refused with it).
_NOT_WITH_SENSITIVITY = (("quick", "--quick"), ("policies", "--policies"),
                         ("no_synthetic", "--no-synthetic"), ("trace_requests", "--trace-requests"),
                         ("load_factors", "--load-factors"))


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """``reproduce jaillet2025 --sensitivity`` (or ``--protocol authors-code``): every check
    before anything is written; the first Ctrl-C stops after the current trial."""
    from optsched.control import interruptible
    from optsched.studies.sensitivity import SensitivityConfig, parse_readings

    authors = args.protocol == "authors-code"
    flag = "--protocol authors-code" if authors else "--sensitivity"
    for attr, name in _NOT_WITH_SENSITIVITY:
        if getattr(args, attr):
            raise OptschedError(f"{name} does not apply with {flag}")
    if args.models != [1, 2] or args.scale != "paper" or args.solver != "cpsat" or \
            args.method != SyntheticConfig().method:
        raise OptschedError(f"--models, --scale, --solver and --method do not apply with "
                            f"{flag} (each reading fixes its own; see --grid/--readings)")
    grid = args.grid or ("authors-code" if authors else "full")
    readings = parse_readings(args.readings, grid)
    cfg = SensitivityConfig(readings, trials=200 if args.trials is None else args.trials,
                            seed=args.seed, time_limit=60.0 if args.time_limit is None
                            else args.time_limit, threads=args.threads,
                            bound_effort=args.bound_effort)
    cfg.check()
    out, ck, source = _sensitivity_paths(args)
    with interruptible():
        stats = _run_readings(args, cfg, out, ck, source, authors)
    _print_sensitivity(args, out, stats, authors)
    return 0


def _sensitivity_paths(args: argparse.Namespace) -> tuple[Path, Path | None, Path | None]:
    """The output directory, checkpoint and copy-on-write source, checked before any work."""
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise OptschedError(f"output path {out} exists and is not a directory")
    check_output_path(args.checkpoint, "--checkpoint")
    ck = None if args.checkpoint is None else Path(args.checkpoint)
    if ck is not None and not (ck.parent if str(ck.parent) else Path(".")).is_dir():
        raise OptschedError(f"--checkpoint {ck}: folder {ck.parent} does not exist")
    source = None if args.resume_from is None else Path(args.resume_from)
    if source is not None:
        src_ck = source / "checkpoint.jsonl" if source.is_dir() else source
        if not src_ck.is_file():
            raise OptschedError(f"--resume-from {source}: no checkpoint.jsonl to resume from")
        if source.is_dir() and source.resolve() == out.resolve():
            raise OptschedError(f"--resume-from {source}: is the output directory itself; "
                                "give a fresh -o DIR (the earlier run is only read)")
    return out, ck, source


def _run_readings(args: argparse.Namespace, cfg: Any, out: Path, ck: Path | None,
                  source: Path | None, authors: bool) -> dict[str, Any]:
    from optsched.studies.sensitivity import run_sensitivity

    if authors:
        from optsched.studies.authors_code import run_authors_protocol

        return run_authors_protocol(cfg, out, _sensitivity_command(args, out), ck,
                                    progress=not args.no_progress, resume_from=source,
                                    trace=None if args.no_trace else _authors_trace(args))
    stats: dict[str, Any] = {}
    run_sensitivity(cfg, out, ck, progress=not args.no_progress, resume_from=source,
                    stats=stats)
    return stats


def _authors_trace(args: argparse.Namespace) -> Any:
    """The authors'-code trace study's configuration (--rates and --seed apply)."""
    from optsched.studies.authors_trace import AuthorsTraceConfig

    rates = tuple(args.rates) if args.rates else AuthorsTraceConfig.rates
    if any(not r > 0 for r in rates):
        raise OptschedError("--rates must be > 0 requests/second")
    return AuthorsTraceConfig(rates=rates, seed=args.seed,
                              policies=("mcsf", "mc-benchmark", "alpha-greedy-published",
                                        "alpha-beta-clearing-published"))


def _print_sensitivity(args: argparse.Namespace, out: Path, stats: dict[str, Any],
                       authors: bool) -> None:
    table = out / ("authors-code.md" if authors else "sensitivity.md")
    if args.json:
        print_json({"output": str(out), "table": table.name,
                    "results": "sensitivity.parquet", "rows": stats["reused"] + stats["computed"],
                    "computed": stats["computed"], "reused": stats["reused"],
                    "stopped": stats["stopped"]})
        return
    print(table.read_text(encoding="utf-8"), end="")
    if stats["computed"] == 0:
        print(f"nothing recomputed: all {stats['reused']} trials came from the checkpoint")
    else:
        print(f"{stats['computed']} trial(s) computed, {stats['reused']} reused")
    if stats["stopped"]:
        print(f"stopped early: {stats['reused'] + stats['computed']} of {stats['planned']} "
              "trials done; the same command resumes")
    print(f"table written to {table}, rows to {out / 'sensitivity.parquet'}")


def _sensitivity_command(args: argparse.Namespace, out: Path) -> str:
    """The protocol command as a user would retype it (paths shortened to their names)."""
    parts = ["optsched", "reproduce", args.study, "--protocol", args.protocol]
    for flag, value in (("--grid", args.grid), ("--readings", args.readings),
                        ("--trials", args.trials), ("--time-limit", args.time_limit),
                        ("--seed", args.seed or None)):
        if value is not None:
            parts += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    if args.bound_effort != "full":
        parts += ["--bound-effort", args.bound_effort]
    if args.resume_from is not None:
        parts += ["--resume-from", Path(args.resume_from).name]
    if args.no_trace:
        parts.append("--no-trace")
    if args.rates:
        parts += ["--rates", *(f"{r:g}" for r in args.rates)]
    parts += ["-o", out.name if out.is_absolute() else str(out)]
    return shlex.join(parts)


def _span(lo: float | None, hi: float | None) -> str:
    if lo is None:
        return "-"
    if hi is None:
        return f"[{lo:.3f}, inf]"
    return f"{lo:.3f}" if abs(hi - lo) < 5e-4 else f"[{lo:.3f}, {hi:.3f}]"


def _command_line(args: argparse.Namespace, out: Path, trace: str | None) -> str:
    """The command as a user would retype it (paths shortened to their names if absolute)."""
    parts = ["optsched", "reproduce", args.study] + (["--quick"] if args.quick else [])
    for flag, value in (("--trials", args.trials), ("--time-limit", args.time_limit),
                        ("--seed", args.seed or None), ("--policies", args.policies),
                        ("--trace-requests", args.trace_requests)):
        if value is not None:
            parts += [flag, str(value)]
    if args.models != [1, 2]:
        parts += ["--models", *map(str, args.models)]
    for flag, value, default in (
            ("--scale", args.scale, "paper"), ("--solver", args.solver, "cpsat"),
            ("--method", args.method, SyntheticConfig().method),
            ("--bound-effort", args.bound_effort, "full"), ("--threads", str(args.threads), "1")):
        if value != default:
            parts += [flag, value]
    parts += [flag for flag, on in (("--no-synthetic", args.no_synthetic),
                                    ("--no-trace", args.no_trace)) if on]
    if not args.no_trace and trace is not None and trace != DEFAULT_TRACE:
        parts += ["--trace", Path(trace).name]
    if args.load_factors:
        parts += ["--load-factors", *map(str, args.load_factors)]
    for flag, value, default in (
            ("--time-model", args.time_model, "unit"),
            ("--lengths-trace", Path(args.lengths_trace).name, "sharegpt")):
        if value != default:
            parts += [flag, value]
    if args.rates:
        parts += ["--rates", *map(str, args.rates)]
    parts += ["-o", out.name if out.is_absolute() else str(out)]
    return shlex.join(parts)


# --------------------------------------------------------------------------------------------
def _png_path(path: str) -> Path:
    check_output_path(path, "output")
    p = Path(path)
    if p.suffix.lower() != ".png":
        raise OptschedError(f"output {p} must end in .png")
    return p


def cmd_plot_gantt(args: argparse.Namespace) -> int:
    from optsched import plots
    from optsched.model.schedule import load_schedule
    from optsched.model.validate import validate

    out = _png_path(args.output)
    inst = resolve_instance(args.instance)
    sched = load_schedule(args.schedule)
    report = validate(inst, sched)
    if report.metrics is None:
        raise OptschedError(f"schedule does not cover the instance:\n{report.summary(5)}")
    fig = plots.gantt_figure(inst, sched, title=args.title)
    plots.save_figure(fig, out)
    note = "" if report.valid else f" (schedule INVALID: {len(report.violations)} violation(s))"
    print(f"wrote {out}{note}")
    return 0


def ratio_groups(rows: list[dict[str, Any]], policies: list[str] | None = None,
                 model: int | None = None) -> dict[str, list[float]]:
    """policy -> ratios, from study rows (``ratio_lo``), generic rows (``ratio``) or the rows of
    a dataset table (``<policy>_ratio`` columns, certified instances only)."""
    from optsched.studies.dataset import dataset_ratio_groups, is_dataset_row

    if rows and is_dataset_row(rows[0]):
        if model is not None:
            raise OptschedError("--model selects an arrival model of reproduce results; a "
                                "dataset table has none (its family is in the manifest)")
        found = dataset_ratio_groups(rows, policies)
        if not found:
            raise OptschedError("dataset table: no certified (status optimal) row with a "
                                "policy ratio to plot (check --policy)")
        return found
    groups: dict[str, list[float]] = {}
    for k, r in enumerate(rows):
        if model is not None and r.get("model") != model:
            continue
        name = r.get("policy")
        val = r.get("ratio", r.get("ratio_lo"))
        if name is None or val is None:
            raise OptschedError(f"result row #{k} needs 'policy' and 'ratio' (or 'ratio_lo')")
        if r.get("valid") is False or val != val:  # skip invalid runs and NaN
            continue
        if policies and name not in policies:
            continue
        groups.setdefault(str(name), []).append(float(val))
    if not groups:
        raise OptschedError("no ratios to plot (check --policy / --model)")
    return groups


def cactus_groups(rows: list[dict[str, Any]]) -> dict[str, list[float]]:
    """solver (and method, when given) -> sorted runtimes of its proven-optimal runs."""
    groups: dict[str, list[float]] = {}
    seen: set[tuple[str, object]] = set()
    for k, r in enumerate(rows):
        parts = (r.get("solver", r.get("opt_solver")), r.get("method", r.get("opt_method")))
        name = "/".join(str(x) for x in parts if x) or None
        rt = r.get("runtime", r.get("opt_runtime"))
        if name is None or rt is None:
            raise OptschedError(f"result row #{k} needs a solver ('solver', 'method' or "
                                "'opt_solver') and a 'runtime'")
        # study results repeat each solve once per policy: count every instance once
        key = (name, r.get("instance_hash", k))
        if key in seen:
            continue
        seen.add(key)
        solved = r.get("status") == "optimal" or bool(r.get("proven", r.get("opt_proven")))
        groups.setdefault(str(name), [])
        if solved:
            groups[str(name)].append(float(rt))
    return {k: sorted(v) for k, v in groups.items()}


def cmd_plot_ratios(args: argparse.Namespace) -> int:
    from optsched import plots
    from optsched.studies.reproduce import read_results

    out = _png_path(args.output)
    groups = ratio_groups(read_results(Path(args.results)), args.policy, args.model)
    plots.save_figure(plots.ratio_figure(groups), out)
    print(f"wrote {out} ({sum(map(len, groups.values()))} ratios, {len(groups)} policies)")
    return 0


def cmd_plot_cactus(args: argparse.Namespace) -> int:
    from optsched import plots
    from optsched.studies.reproduce import read_results

    out = _png_path(args.output)
    groups = cactus_groups(read_results(Path(args.results)))
    plots.save_figure(plots.cactus_figure(groups), out)
    print(f"wrote {out} ({len(groups)} solvers)")
    return 0
