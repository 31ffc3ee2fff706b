"""Start windows with and without completion caps (0.5), side by side, through solve().

    python benchmarks/bench_caps.py --set small --method portfolio --time-limit 20

The caps: in a schedule no worse than the incumbent, c_i <= incumbent - LB(all but i)
(optsched.exact.bounds.completion_caps, models/time_indexed.md). Both variants run the same solve
path with the same instances, time limit, threads and seed, one solve at a time, alternating per
instance, by setting optsched.exact.solve.CAPS_MAX_REQUESTS (off by default since the run in
docs/exact-performance.md) to 0 or 20 for each solve. Every
schedule is validated by solve(); the variants must agree wherever both prove optimality.
"""

from __future__ import annotations

import importlib
import sys

from optsched.studies.benchmark import (
    print_side_by_side,
    side_by_side_arguments,
    side_by_side_row,
)

# the module, not the function optsched.exact re-exports under the same name
solve_module = importlib.import_module("optsched.exact.solve")
VARIANTS = {"without caps (0.4)": 0, "with caps": 20}


def main() -> None:
    args, cases = side_by_side_arguments(__doc__, lambda ap: ap.add_argument(
        "--method", default="portfolio", choices=["portfolio", "cumulative", "epoch"]))
    rows = []  # in the shape of optsched.studies.benchmark's rows, so its summary applies
    for case in cases:
        inst = case.instance()
        for name, cap_limit in VARIANTS.items():
            solve_module.CAPS_MAX_REQUESTS = cap_limit
            res = solve_module.solve(inst, "cpsat", time_limit=args.time_limit,
                                     threads=args.threads, method=args.method)
            rows.append(side_by_side_row(case, name, res, args.time_limit))
        print(f"{case.name}: done", file=sys.stderr, flush=True)
    print_side_by_side(rows, f"set {args.set}: {len(cases)} instances, method {args.method}, "
                             f"{args.time_limit:g} s per solve, {args.threads} worker(s)")


if __name__ == "__main__":
    main()
