"""Core commands: solve, validate, verify, export."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from optsched.cli.common import (
    add_solver_options,
    check_output_path,
    print_json,
    resolve_instance,
    solver_logs_to_stderr,
    table,
)
from optsched.errors import OptschedError
from optsched.exact.certificate import (
    certificate_dict,
    load_certificate,
    save_certificate,
    verify_certificate,
)
from optsched.exact.solve import (
    DEFAULT_METHOD,
    SOLVERS,
    solve,
)
from optsched.model.schedule import load_schedule
from optsched.model.validate import validate


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "solve", help="solve an instance to proven optimality (or report the gap)",
        description="Solve the time-indexed MILP of an instance (SPEC section 3). The result is "
        "'optimal' only when a proven lower bound equals the value of a schedule that passed "
        "the independent validator; otherwise 'feasible' with the bound, or 'unknown'.")
    p.add_argument("instance", help="instance JSON file or builtin:NAME (e.g. builtin:default)")
    add_solver_options(
        p, solver={"choices": SOLVERS,
                   "help": "cpsat (OR-Tools CP-SAT, default), highs (HiGHS), cbc (CBC via PuLP), "
                   "bruteforce (exhaustive oracle, tiny instances only)"},
        time_limit={}, threads={"help": "solver threads (default 1, deterministic)"}, seed={},
        method={"default": DEFAULT_METHOD}, bound_effort={})
    p.add_argument("--json", action="store_true", help="print one JSON object (see docs/cli.md)")
    p.add_argument("--certificate", metavar="FILE",
                   help="also write an optimality certificate (JSON) to FILE")
    p.add_argument("--log", action="store_true", help="show the solver log (on stderr)")
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser("validate", help="check a schedule against an instance",
                       description="Recompute the memory of a schedule at every round and list "
                       "every violation. Exit 0 if valid, 1 if not.")
    p.add_argument("instance", help="instance JSON file or builtin:NAME")
    p.add_argument("schedule", help="schedule JSON ({\"starts\": {id: start}}), or a solve "
                   "--json output / certificate")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("verify", help="re-check a certificate without any solver",
                       description="Re-validate a certificate's schedule from scratch, recompute "
                       "its objective and check the status/bound claims. With --resolve, also "
                       "re-solve the instance with another solver and compare the optimum. "
                       "Exit 0 if the certificate holds, 1 if not.")
    p.add_argument("certificate", help="certificate JSON written by solve --certificate")
    p.add_argument("--instance", help="also check the certificate is for this instance")
    p.add_argument("--resolve", choices=SOLVERS, metavar="SOLVER",
                   help=f"re-solve independently with SOLVER ({', '.join(SOLVERS)})")
    add_solver_options(p, time_limit={"help": "time limit for --resolve"})
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("export", help="write the MILP as MPS or LP for any solver",
                       description="Write the time-indexed MILP (see models/time_indexed.md). "
                       "Variable x_<i>_<t> = request number i (0-based position) starts at t.")
    p.add_argument("instance", help="instance JSON file or builtin:NAME")
    p.add_argument("--format", choices=("mps", "lp"), default="mps", help="file format")
    p.add_argument("-o", "--output", help="output file (default: stdout)")
    p.add_argument("--full-horizon", action="store_true",
                   help="do not shrink start windows with a heuristic incumbent")
    p.set_defaults(func=cmd_export)


def cmd_solve(args: argparse.Namespace) -> int:
    inst = resolve_instance(args.instance)
    check_output_path(args.certificate, "certificate")
    with solver_logs_to_stderr(args.log):
        res = solve(inst, args.solver, time_limit=args.time_limit, threads=args.threads,
                    seed=args.seed, log=args.log, method=args.method,
                    bound_effort=args.bound_effort)
    if args.certificate:
        save_certificate(res, args.certificate)
    if args.json:
        print_json(res.to_dict())
        return 0
    name = inst.name or args.instance
    print(f"instance   {name}: n = {inst.n}, M = {inst.memory_limit}")
    print(f"solver     {res.solver} ({res.solver_version}), method "
          f"{res.parameters.get('method', '-')}, raw status: {res.raw_status}")
    print(f"status     {res.status.value}")
    print(f"objective  {res.objective} (total completion time); total latency "
          f"{res.total_latency}")
    print(f"bound      {res.bound}" + ("" if res.gap is None else f"  (gap {res.gap:.2%})"))
    print(f"runtime    {res.runtime:.2f} s; model {res.model_size}")
    if res.schedule is not None and inst.n <= 60:
        assert res.validation is not None and res.validation.metrics is not None
        m = res.validation.metrics
        rows = [[r.id, r.arrival, r.prompt_tokens, r.output_tokens, res.schedule.starts[r.id],
                 res.schedule.starts[r.id] + r.output_tokens] for r in inst.requests]
        print()
        print(table(rows, ["id", "arrival", "prompt", "output", "start", "completion"]))
        print(f"\nvalidator: {res.validation.summary()}; makespan {m.makespan}, peak memory "
              f"{m.peak_memory} / {inst.memory_limit}, utilisation {m.memory_utilisation:.1%}")
    if args.certificate:
        print(f"certificate written to {args.certificate}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    inst = resolve_instance(args.instance)
    sched = load_schedule(args.schedule)
    report = validate(inst, sched)
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.summary(limit=50))
        if report.metrics is not None:
            m = report.metrics
            print(f"total completion time {m.total_completion_time}, total latency "
                  f"{m.total_latency}, makespan {m.makespan}, peak memory {m.peak_memory} / "
                  f"{inst.memory_limit}")
    return 0 if report.valid else 1


def cmd_verify(args: argparse.Namespace) -> int:
    data = load_certificate(args.certificate)
    inst = resolve_instance(args.instance) if args.instance else None
    check = verify_certificate(data, inst)
    out = check.to_dict()
    if args.resolve:
        res = solve(check.instance, args.resolve, time_limit=args.time_limit)
        out["resolve"] = {"solver": args.resolve, "status": res.status.value,
                          "objective": res.objective, "bound": res.bound}
        if res.status.value == "optimal" and check.status == "optimal" and \
                res.objective != check.objective:
            check.problems.append(f"independent re-solve with {args.resolve} proves optimum "
                                  f"{res.objective}, certificate says {check.objective}")
        if check.objective is not None and res.bound is not None and res.bound > check.objective:
            check.problems.append(f"re-solve bound {res.bound} exceeds certificate objective")
        if res.status.value != "optimal" and check.status == "optimal":
            out["resolve"]["note"] = "re-solve did not prove optimality within its limit"
        check.ok = not check.problems
        out["ok"], out["problems"] = check.ok, check.problems
    if args.json:
        print_json(out)
    else:
        verdict = "OK" if check.ok else "REJECTED"
        print(f"{verdict}: status {check.status}, objective {check.objective}, bound "
              f"{check.bound}, instance {check.instance.content_hash()[:19]}…")
        for prob in check.problems:
            print(f"  problem: {prob}")
        if "resolve" in out:
            r = out["resolve"]
            print(f"  re-solve with {r['solver']}: {r['status']}, objective {r['objective']}, "
                  f"bound {r['bound']}")
    return 0 if check.ok else 1


def cmd_export(args: argparse.Namespace) -> int:
    from optsched.exact.export import export_model
    from optsched.exact.incumbent import earliest_fit_schedule

    inst = resolve_instance(args.instance)
    check_output_path(args.output, "output")
    value = None
    if not args.full_horizon:
        value = earliest_fit_schedule(inst).objective({r.id: r.output_tokens
                                                         for r in inst.requests})
    if args.output:
        model = export_model(inst, args.output, args.format, value)
        print(f"wrote {args.format.upper()} model ({model.num_vars} variables, "
              f"{len(model.rows)} memory rows) to {args.output}", file=sys.stderr)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"model.{args.format}"
            export_model(inst, path, args.format, value)
            sys.stdout.write(path.read_text())
    return 0


__all__ = ["register", "certificate_dict", "OptschedError"]
