"""The ramp-cumulative CP-SAT model with and without its lag disjunctions, side by side.

    python benchmarks/bench_ramp_rows.py --set small --time-limit 20

Both variants get the same instances, incumbent (the exact paths' incumbent search, also the
hint), time limit, workers and seed, one solve at a time. The reported bound is the larger of
CP-SAT's and the combinatorial bound of optsched.exact.bounds, as in solve(method="cumulative").
Every schedule is validated; the two variants must agree wherever both prove optimality,
and no bound may exceed a validated value (the harness's own checks and summary table).
"""

from __future__ import annotations

import math
import sys

from optsched.exact.backends import SolveParameters
from optsched.exact.bounds import lower_bound
from optsched.exact.ramp import build_ramp_model, solve_ramp_cpsat
from optsched.exact.solve import best_incumbent
from optsched.model.validate import validate
from optsched.studies.benchmark import print_side_by_side, side_by_side_arguments

VARIANTS = {"no lags (0.2)": False, "lag disjunctions": True}


def main() -> None:
    args, cases = side_by_side_arguments(__doc__)
    rows = []  # in the shape of optsched.studies.benchmark's rows, so its summary applies
    for case in cases:
        inst = case.instance()
        incumbent = best_incumbent(inst)
        inc_value = validate(inst, incumbent).metrics.total_completion_time
        comb = lower_bound(inst).value
        for name, with_lags in VARIANTS.items():
            model = build_ramp_model(inst, inc_value, with_lags=with_lags)
            params = SolveParameters(time_limit=args.time_limit, threads=args.threads)
            out = solve_ramp_cpsat(model, params, incumbent)
            value = inc_value
            if out.schedule is not None:
                report = validate(inst, out.schedule)
                if not report.valid:
                    raise SystemExit(f"{case.name} {name}: invalid schedule from CP-SAT")
                value = min(value, report.metrics.total_completion_time)
            bound = max(comb, math.ceil(out.bound - 1e-6) if out.bound is not None else 0)
            proven = out.claims_optimal and bound >= value
            rows.append({"instance": case.name, "family": case.family, "variant": name,
                         "status": "optimal" if proven else "feasible", "objective": value,
                         "bound": bound, "gap": (value - bound) / value,
                         "runtime": out.runtime, "time_limit": args.time_limit})
        print(f"{case.name}: done", file=sys.stderr, flush=True)
    print_side_by_side(rows, f"set {args.set}: {len(cases)} instances, {args.time_limit:g} s "
                             f"per solve, {args.threads} worker(s)")


if __name__ == "__main__":
    main()
