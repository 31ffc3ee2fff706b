"""Command ``bound``: every lower-bound family on one instance, with its gap to the best known
schedule and its time, so a researcher sees what is proven in seconds without a full solve."""

from __future__ import annotations

import argparse
import math

from optsched.cli.common import add_solver_options, print_json
from optsched.data.builtin import resolve_instance
from optsched.errors import OptschedError
from optsched.exact.bound_report import PRICINGS
from optsched.studies.formatting import table


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


def cmd_bound(args: argparse.Namespace) -> int:
    from optsched.control import interruptible
    from optsched.exact.bound_report import bound_report

    _check(args)
    inst = resolve_instance(args.instance)
    with interruptible():
        report = bound_report(inst, time_limit=args.time_limit, pricing=args.pricing,
                              width=args.width, repeat_limit=args.repeat_limit,
                              lp=not args.no_lp)
    out = {"instance": args.instance, **report}
    rows, best, proven = report["bounds"], report["best_schedule"], report["best_bound"]
    if args.json:
        print_json(out)
        return 0
    body = [[r["bound"], "-" if r["value"] is None else round(r["value"], 2),
             "-" if r["gap"] is None else f"{100 * r['gap']:.2f}%", r["seconds"], r["note"]]
            for r in rows]
    print(f"{args.instance}: n = {report['n']}, M = {report['memory_limit']}, best schedule found "
          f"{best} (heuristic, validated)")
    print(table(body, ["bound", "value", "gap", "seconds", "note"]))
    verdict = ("proven optimal" if proven >= best
               else f"best bound {proven}, gap {100 * (best - proven) / best:.2f}%")
    print(verdict)
    return 0


__all__ = ["register", "cmd_bound"]
