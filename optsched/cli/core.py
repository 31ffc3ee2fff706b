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
    solver_logs_to_stderr,
)
from optsched.control import interruptible, stop_requested
from optsched.data.builtin import resolve_instance
from optsched.errors import OptschedError
from optsched.exact.certificate import (
    certificate_dict,
    load_certificate,
    save_certificate,
    verify_certificate,
)
from optsched.exact.result import SolveResult
from optsched.exact.solve import (
    DEFAULT_METHOD,
    SOLVERS,
    solve,
)
from optsched.model.instance import Instance
from optsched.model.schedule import load_schedule
from optsched.model.validate import validate
from optsched.progress import for_terminal
from optsched.studies.formatting import table

#: Exit status of a run ended by Ctrl-C (128 + SIGINT), as the shell reports it.
EXIT_INTERRUPTED = 130


def add_quiet_option(parser: argparse.ArgumentParser) -> None:
    """--quiet: no live progress line on stderr (one text for every long command)."""
    parser.add_argument("--quiet", action="store_true",
                        help="no live progress line on stderr (shown only when stderr is a "
                        "terminal and the run takes more than about 2 s)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "solve", help="solve an instance to proven optimality (or report the gap)",
        description="Solve an instance exactly: the time-indexed MILP of docs/model.md "
        "(\"The time-indexed MILP\") or one of the other methods below. The result is "
        "'optimal' only when a proven lower bound equals the value of a schedule that passed "
        "the independent validator; otherwise 'feasible' with the bound, or 'unknown'. "
        "--time-limit holds for the whole run. Ctrl-C stops the run within about a second "
        "and prints the best validated schedule and bound so far (exit 130); a second Ctrl-C "
        "exits at once.")
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
    p.add_argument("--log", action="store_true",
                   help="show the solver log and one progress line per new best schedule or "
                   "bound (on stderr; every method, also lns)")
    add_quiet_option(p)
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
    progress = for_terminal(quiet=args.quiet, log=args.log)
    with solver_logs_to_stderr(args.log), interruptible():
        try:
            res = solve(inst, args.solver, time_limit=args.time_limit, threads=args.threads,
                        seed=args.seed, log=args.log, method=args.method,
                        bound_effort=args.bound_effort, progress=progress)
        finally:
            progress.close()
        stopped = stop_requested()
    if stopped:
        print("optsched: interrupted; the best validated schedule and bound so far follow",
              file=sys.stderr)
    if args.certificate:
        save_certificate(res, args.certificate)
    if args.json:
        print_json(res.to_dict())
    else:
        _print_result(inst, args.instance, res)
        if args.certificate:
            print(f"certificate written to {args.certificate}")
    return EXIT_INTERRUPTED if stopped else 0


def solver_line(res: SolveResult) -> str:
    """Which backend ran, or why none did (the bound met the incumbent first)."""
    method = res.parameters.get("method", "-")
    if res.solver == "none":
        return (f"none: no backend was called (method {method}; {res.raw_status}); the "
                f"schedule is optsched's own ({res.solver_version})")
    return (f"{res.solver} ({res.solver_version}), method {method}, raw status: "
            f"{res.raw_status}")


def model_line(size: dict[str, int]) -> str:
    """The model's size in words ("variables 12, memory rows 30, ..."), not a Python dict."""
    if not size:
        return "none built"
    return ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in size.items())


def _print_result(inst: Instance, ref: str, res: SolveResult) -> None:
    """The human-readable report of one solve (stdout)."""
    print(f"instance   {inst.name or ref}: n = {inst.n}, M = {inst.memory_limit}")
    print(f"solver     {solver_line(res)}")
    print(f"status     {res.status.value}")
    print(f"objective  {res.objective} (total completion time); total latency "
          f"{res.total_latency}")
    print(f"bound      {res.bound}" + ("" if res.gap is None else f"  (gap {res.gap:.2%})"))
    print(f"runtime    {res.runtime:.2f} s; model {model_line(res.model_size)}")
    if res.schedule is not None and inst.n <= 60:
        assert res.validation is not None  # a schedule is always validated
        assert res.validation.metrics is not None
        m = res.validation.metrics
        rows = [[r.id, r.arrival, r.prompt_tokens, r.output_tokens, res.schedule.starts[r.id],
                 res.schedule.starts[r.id] + r.output_tokens] for r in inst.requests]
        print()
        print(table(rows, ["id", "arrival", "prompt", "output", "start", "completion"]))
        print(f"\nvalidator: {res.validation.summary()}; makespan {m.makespan}, peak memory "
              f"{m.peak_memory} / {inst.memory_limit}, utilisation {m.memory_utilisation:.1%}")


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
