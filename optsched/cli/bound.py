"""Command ``bound``: every lower-bound family on one instance, with its gap to the best known
schedule and its time, so a researcher sees what is proven in seconds without a full solve."""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

from optsched.cli.common import add_solver_options, print_json, resolve_instance, table
from optsched.errors import OptschedError

PRICINGS = ("relaxed", "exact", "both")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bound", help="lower bounds of one instance, their gaps and times",
        description="Compute the lower bounds of one instance: the combinatorial bound "
        "(optsched.exact.bounds.lower_bound), the time-indexed LP relaxation and the "
        "pseudo-schedule Lagrangian bound (models/pseudo-schedule-bound.md), each with its gap "
        "to the best schedule a quick heuristic finds (validated) and the seconds it took. "
        "Nothing is called optimal unless a bound meets that schedule's value.")
    p.add_argument("instance", help="instance JSON file or builtin:NAME")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_solver_options(p, time_limit={"default": 30.0, "help": "seconds for each "
                                      "pseudo-schedule bound (default 30)"})
    p.add_argument("--pricing", choices=PRICINGS, default="relaxed",
                   help="how the pseudo-schedule bound prices (default relaxed; both: two rows)")
    p.add_argument("--repeat-limit", type=int, default=None, metavar="R",
                   help="at most R starts of a request per pseudo-schedule (default: no limit)")
    p.add_argument("--width", type=int, default=300,
                   help="states per round of the relaxed/restricted diagrams (default 300)")
    p.add_argument("--no-lp", action="store_true", help="skip the time-indexed LP")
    p.set_defaults(func=cmd_bound)


def _check(args: argparse.Namespace) -> None:
    if not math.isfinite(args.time_limit) or args.time_limit <= 0:
        raise OptschedError(f"--time-limit must be a positive number of seconds, not "
                            f"{args.time_limit}")
    if args.repeat_limit is not None and args.repeat_limit < 1:
        raise OptschedError(f"--repeat-limit must be >= 1, not {args.repeat_limit}")
    if args.width < 1:
        raise OptschedError(f"--width must be >= 1, not {args.width}")


def _row(name: str, value: float | None, best: int, seconds: float, note: str = ""
         ) -> dict[str, Any]:
    gap = None if value is None else (best - value) / best if best else 0.0
    return {"bound": name, "value": value, "gap": gap, "seconds": round(seconds, 3),
            "note": note}


def _lp_row(inst: Any, incumbent: Any, best: int) -> dict[str, Any]:
    from optsched.errors import SolverError
    from optsched.exact.colgen import time_indexed_lp

    t0 = time.perf_counter()
    try:
        value, _ = time_indexed_lp(inst, incumbent)
    except SolverError as exc:
        return _row("time-indexed LP", None, best, time.perf_counter() - t0, f"skipped: {exc}")
    return _row("time-indexed LP", value, best, time.perf_counter() - t0, "LP value")


def _pseudo_rows(inst: Any, incumbent: Any, best: int, args: argparse.Namespace
                 ) -> list[dict[str, Any]]:
    from optsched.control import Deadline, interruptible
    from optsched.exact.pseudo.bound import pseudo_schedule_bound

    kinds = ("relaxed", "exact") if args.pricing == "both" else (args.pricing,)
    rows = []
    for kind in kinds:
        with interruptible():
            b = pseudo_schedule_bound(inst, incumbent, deadline=Deadline(args.time_limit),
                                      pricing=kind, width=args.width,
                                      repeat_limit=args.repeat_limit)
        label = f"pseudo-schedule ({kind}" + (
            f", r={args.repeat_limit})" if args.repeat_limit else ")")
        rows.append(_row(label, b.bound, best, b.runtime,
                         f"{b.stopped}, {b.iterations} rounds, {b.columns} columns"))
    return rows


def cmd_bound(args: argparse.Namespace) -> int:
    from optsched.exact.bounds import lower_bound
    from optsched.exact.solve import best_incumbent
    from optsched.model.instance import spec_equivalent
    from optsched.model.validate import validate

    _check(args)
    inst = spec_equivalent(resolve_instance(args.instance))
    incumbent = best_incumbent(inst)
    report = validate(inst, incumbent)
    if not report.valid or report.metrics is None:  # cannot happen: heuristics are validated
        raise OptschedError("the heuristic schedule failed validation")
    best = report.metrics.total_completion_time
    t0 = time.perf_counter()
    comb = lower_bound(inst)
    rows = [_row("combinatorial", comb.value, best, time.perf_counter() - t0,
                 "optsched.exact.bounds.lower_bound")]
    if not args.no_lp:
        rows.append(_lp_row(inst, incumbent, best))
    rows += _pseudo_rows(inst, incumbent, best, args)
    proven = max(math.ceil(r["value"] - 1e-6) for r in rows if r["value"] is not None)
    out = {"instance": args.instance, "n": inst.n, "memory_limit": inst.memory_limit,
           "best_schedule": best, "best_bound": proven, "optimal": proven >= best,
           "bounds": rows}
    if args.json:
        print_json(out)
        return 0
    body = [[r["bound"], "-" if r["value"] is None else round(r["value"], 2),
             "-" if r["gap"] is None else f"{100 * r['gap']:.2f}%", r["seconds"], r["note"]]
            for r in rows]
    print(f"{args.instance}: n = {inst.n}, M = {inst.memory_limit}, best schedule found "
          f"{best} (heuristic, validated)")
    print(table(body, ["bound", "value", "gap", "seconds", "note"]))
    verdict = ("proven optimal" if proven >= best
               else f"best bound {proven}, gap {100 * (best - proven) / best:.2f}%")
    print(verdict)
    return 0


__all__ = ["register", "cmd_bound"]
