"""``optsched dataset build|summary|families``: certified datasets (see docs/datasets.md)."""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
from typing import Any

from optsched.cli.common import add_solver_options, check_output_path, print_json
from optsched.data.families import FAMILIES, FamilyError, get_family, parse_param_args
from optsched.exact.solve import SOLVERS
from optsched.model.instance import save_instance
from optsched.studies.dataset import (
    TABLE,
    BuildConfig,
    build,
    summarize,
    summary_figure,
    verify_dataset,
)
from optsched.studies.execution import BACKENDS
from optsched.studies.formatting import table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dataset", help="build and inspect datasets of certified instances",
                       description="Datasets of instances with certified optimal schedules, "
                       "policy values and one Parquet row per instance. See docs/datasets.md.")
    dsub = p.add_subparsers(dest="dataset_command", metavar="WHAT")
    dsub.required = True

    b = dsub.add_parser(
        "build", help="build or resume a dataset folder",
        description="Generate COUNT instances of a family (instance i is drawn from the seed "
        "pair (SEED, i)), solve each exactly, run the standard policies, and store the instance, "
        "its certificate and one table row. Resumable: re-running the same command skips "
        f"finished instances; the folder's {TABLE} is rebuilt atomically. Killing the run loses "
        "at most the instances in flight.")
    b.add_argument("out", metavar="DIR", help="dataset folder (created if missing)")
    b.add_argument("--family", required=True,
                   help="instance family (see 'optsched dataset families')")
    b.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="family parameter (repeatable), e.g. --param n_max=8")
    b.add_argument("--count", type=int, default=20, help="number of instances (default 20)")
    b.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    add_solver_options(
        b, solver={"choices": SOLVERS}, method={"default": "time-indexed"},
        time_limit={"default": 10.0,
                    "help": "per-instance solve limit in seconds (default 10); instances not "
                    "proven optimal in time are kept with status 'feasible' and their bound"},
        threads={"help": "solver threads per instance (default 1: deterministic)"},
        seed={"flag": "--solver-seed"})
    b.add_argument("--policies", default=None, metavar="P1,P2",
                   help="policies whose values each row records (default: the standard ones, "
                   "algorithm1, mc-benchmark, alpha-greedy, alpha-beta-clearing)")
    b.add_argument("--backend", choices=BACKENDS, default="local",
                   help="local process pool (default), sequential (this process), or ray")
    b.add_argument("--workers", type=int, default=None, metavar="N",
                   help="concurrent solves (default: cores // threads; local requires "
                   "workers x threads <= cores)")
    b.add_argument("--address", default=None, metavar="ADDR",
                   help="Ray cluster address (backend ray; default: start a local Ray)")
    b.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    b.add_argument("--json", action="store_true", help="print the build report as JSON")
    b.set_defaults(func=cmd_build)

    s = dsub.add_parser("summary", help="print (and plot) what a dataset folder holds",
                        description="Settings, progress, statuses, sizes, solve times and the "
                        "policies' ratios to the proven optimum; writes a PNG overview.")
    s.add_argument("out", metavar="DIR", help="dataset folder")
    s.add_argument("--plot", metavar="FILE.png", default=None,
                   help="where to write the PNG (default DIR/summary.png)")
    s.add_argument("--no-plot", action="store_true", help="do not write a PNG")
    s.add_argument("--json", action="store_true", help="print the summary as JSON")
    s.set_defaults(func=cmd_summary)

    v = dsub.add_parser(
        "verify", help="re-check every instance and certificate of a dataset (no solver)",
        description="For every row: the instance file matches the row's hash, the certificate "
        "re-validates (schedule, objective, status and bound) and agrees with the row, and the "
        "family record in the instance's metadata regenerates the same instance. Exit 0 if "
        "all hold, 1 if not.")
    v.add_argument("out", metavar="DIR", help="dataset folder")
    v.add_argument("--no-rebuild", action="store_true",
                   help="skip regenerating instances from their family records")
    v.add_argument("--json", action="store_true", help="print the verdict as JSON")
    v.set_defaults(func=cmd_verify)

    i = dsub.add_parser(
        "instance", help="write one instance of a family (no solving)",
        description="Draw instance INDEX of a family for dataset seed SEED, exactly as "
        "'dataset build' would, and write it as instance JSON (stdout or -o FILE). Use it to "
        "solve, schedule or plot single family or trace instances.")
    i.add_argument("family", help="instance family")
    i.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="family parameter (repeatable)")
    i.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    i.add_argument("--index", type=int, default=0, help="instance number (default 0)")
    i.add_argument("-o", "--output", metavar="FILE", help="output file (default: stdout)")
    i.set_defaults(func=cmd_instance)

    f = dsub.add_parser("families", help="list the instance families and their parameters")
    f.add_argument("name", nargs="?", help="show only this family")
    f.add_argument("--json", action="store_true", help="print as JSON")
    f.set_defaults(func=cmd_families)


def cmd_build(args: argparse.Namespace) -> int:
    fam = get_family(args.family)
    params = fam.resolve(parse_param_args(args.param))
    cfg = BuildConfig(family=fam.name, count=args.count, seed=args.seed, params=params,
                      solver=args.solver, method=args.method, time_limit=args.time_limit,
                      threads=args.threads, solver_seed=args.solver_seed,
                      policies=[p.strip() for p in args.policies.split(",") if p.strip()]
                      if args.policies else [])
    command = shlex.join(["optsched", *sys.argv[1:]]) if sys.argv[1:2] == ["dataset"] else \
        shlex.join(["optsched", "dataset", "build", *_argv_of(args)])
    rep = build(args.out, cfg, backend=args.backend, workers=args.workers,
                address=args.address, progress=not args.no_progress, command=command)
    if args.json:
        print_json(dataclasses.asdict(rep))
        return 0
    print(f"dataset {rep.out_dir}: {rep.count} instances of {fam.name} "
          f"({rep.skipped} already finished, {rep.built} built now in {rep.seconds:.1f} s on "
          f"{rep.backend} x {rep.workers})")
    if rep.statuses:
        print("statuses this run: "
              + ", ".join(f"{k} {v}" for k, v in sorted(rep.statuses.items())))
    print(f"table: {rep.out_dir}/{TABLE}")
    return 0


def _argv_of(args: argparse.Namespace) -> list[str]:
    """The command as options (when called in-process, sys.argv is not ours)."""
    out = [args.out, "--family", args.family, "--count", str(args.count), "--seed",
           str(args.seed), "--solver", args.solver, "--method", args.method, "--time-limit",
           str(args.time_limit), "--threads", str(args.threads), "--backend", args.backend]
    for item in args.param:
        out += ["--param", item]
    if args.policies:
        out += ["--policies", args.policies]
    if args.workers is not None:
        out += ["--workers", str(args.workers)]
    if args.address:
        out += ["--address", args.address]
    return out


def cmd_summary(args: argparse.Namespace) -> int:
    summ = summarize(args.out)
    plot = None
    if not args.no_plot:
        plot = args.plot or f"{args.out.rstrip('/')}/summary.png"
        check_output_path(plot, "plot")
        from optsched.plots import save_figure

        save_figure(summary_figure(args.out), plot)
        summ["plot"] = plot
    if args.json:
        print_json(summ)
        return 0
    print(f"dataset {summ['folder']}: family {summ['family']}, seed {summ['seed']}, solver "
          f"{summ['solver']} ({summ['method']}, time limit {summ['time_limit']} s)")
    print("params: " + ", ".join(f"{k}={v}" for k, v in summ["params"].items()))
    print(f"finished {summ['finished']} of {summ['requested']} requested, over {summ['runs']} "
          f"run(s); statuses: " + (", ".join(f"{k} {v}" for k, v in
                                           sorted(summ["statuses"].items())) or "none"))
    rows = [[name, summ[name]["min"], summ[name]["median"], summ[name]["mean"],
             summ[name]["max"]] for name in ("n", "memory_limit", "solve_time", "gap")
            if summ[name] is not None]
    if rows:
        print()
        print(table(rows, ["measure", "min", "median", "mean", "max"]))
    prow = []
    for name, d in summ["policies"].items():
        r = d["ratio"] or {}
        prow.append([name, d["certified_instances"], r.get("mean"), r.get("max"),
                     None if d["optimal_share"] is None else f"{d['optimal_share']:.0%}",
                     d["failed"]])
    if prow:
        print()
        print("policy / proven optimum, over instances certified optimal:")
        print(table(prow, ["policy", "instances", "mean", "worst", "ratio = 1", "failed runs"]))
    if plot:
        print(f"\nplot written to {plot}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    res = verify_dataset(args.out, rebuild=not args.no_rebuild)
    if args.json:
        print_json(res)
    else:
        print(f"dataset {res['folder']}: {res['checked']} instances checked: "
              + ("all verify" if res["ok"] else f"{len(res['problems'])} problem(s)"))
        for p in res["problems"][:50]:
            print("  " + p)
    return 0 if res["ok"] else 1


def cmd_instance(args: argparse.Namespace) -> int:
    fam = get_family(args.family)
    if args.index < 0:
        raise FamilyError(f"--index must be >= 0, got {args.index}")
    inst = fam.instance(fam.resolve(parse_param_args(args.param)), args.seed, args.index)
    if args.output:
        check_output_path(args.output, "instance")
        save_instance(inst, args.output)
        print(f"{fam.name} seed {args.seed} index {args.index}: n = {inst.n}, "
              f"M = {inst.memory_limit}; written to {args.output}")
    else:
        sys.stdout.write(inst.to_json())
    return 0


def cmd_families(args: argparse.Namespace) -> int:
    names = [get_family(args.name).name] if args.name else list(FAMILIES)
    data: dict[str, dict[str, Any]] = {
        n: {"description": FAMILIES[n].description, "tags": list(FAMILIES[n].tags),
            "params": {p.name: {"type": p.kind.__name__, "default": p.default,
                                "help": p.help, "choices": p.choices}
                       for p in FAMILIES[n].params}} for n in names}
    if args.json:
        print_json(data)
        return 0
    for n in names:
        d = data[n]
        print(f"{n}: {d['description']}")
        for pname, pd in d["params"].items():
            default = pd["default"] if pd["default"] != "" else "(shipped sample)"
            extra = f" [{'|'.join(pd['choices'])}]" if pd["choices"] else ""
            print(f"    {pname} = {default}  ({pd['type']}) {pd['help']}{extra}")
    return 0
