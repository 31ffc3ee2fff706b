"""What each part of method 'layered' does: the objective cut and the LNS share, switched on and
off side by side through solve().

    python benchmarks/bench_layered_parts.py --set frontier --families m1-n12,m1-n16 \
        --time-limit 20 --threads 2

Variants set optsched.exact.layered.USE_OBJECTIVE_CUT and LNS_SHARE for each solve (one solve
at a time, alternating per instance); everything else is method 'layered' with the default
CP-SAT profile. Every schedule is validated by solve(); the variants must agree wherever both
prove optimality.
"""

from __future__ import annotations

import importlib
import sys

from optsched.studies.benchmark import (
    print_side_by_side,
    side_by_side_arguments,
    side_by_side_row,
)

layered = importlib.import_module("optsched.exact.layered")
solve_module = importlib.import_module("optsched.exact.solve")
VARIANTS = {"cut + LNS 25% (layered)": (True, 0.25), "no cut, LNS 25%": (False, 0.25),
            "cut, no LNS": (True, 0.0), "no cut, no LNS": (False, 0.0)}


def main() -> None:
    args, cases = side_by_side_arguments(__doc__, lambda ap: ap.add_argument(
        "--families", default=None, help="only these families (comma-separated)"))
    if args.families:
        cases = [c for c in cases if c.family in args.families.split(",")]
    rows = []
    for case in cases:
        inst = case.instance()
        for name, (cut, share) in VARIANTS.items():
            layered.USE_OBJECTIVE_CUT, layered.LNS_SHARE = cut, share
            res = solve_module.solve(inst, "cpsat", time_limit=args.time_limit,
                                     threads=args.threads, method="layered")
            rows.append(side_by_side_row(case, name, res, args.time_limit))
        print(f"{case.name}: done", file=sys.stderr, flush=True)
    print_side_by_side(rows, f"set {args.set}: {len(cases)} instances, method layered, "
                             f"{args.time_limit:g} s per solve, {args.threads} worker(s)")


if __name__ == "__main__":
    main()
