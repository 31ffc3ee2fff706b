"""The column-generation LP bound against the time-indexed LP and the combinatorial bound,
side by side on the same instances and the same start windows.

    python benchmarks/bench_colgen.py --set frontier --limit 1 --time-limit 30
    python benchmarks/bench_colgen.py --set paper --limit 2 --time-limit 60 --lns 10

Per instance: the best schedule known here (best heuristic incumbent, improved by LNS for
``--lns`` seconds), then each bound as its distance below that schedule: the combinatorial bound
(optsched.exact.bounds.lower_bound), the time-indexed LP relaxation (HiGHS, solved to optimality),
and column generation with blocks of one request (the same LP, solved by pricing: a check) and
of two (optsched.exact.colgen). A column-generation bound is its best Lagrangian value, valid
at any stop; "conv" says whether the LP optimum was reached within ``--time-limit``.
"""

from __future__ import annotations

import sys

from optsched.exact.bounds import lower_bound
from optsched.exact.colgen import colgen_bound, time_indexed_lp
from optsched.exact.lns import improve_schedule
from optsched.exact.solve import best_incumbent
from optsched.studies.benchmark import side_by_side_arguments


def _below(bound: float, best: int) -> str:
    return f"{100 * (best - bound) / best:.2f}%"


def main() -> None:
    from optsched.studies.formatting import table

    args, cases = side_by_side_arguments(__doc__, lambda ap: ap.add_argument(
        "--lns", type=float, default=5.0, help="LNS seconds for the best schedule (0: none)"))
    body = []
    sums: dict[str, list[float]] = {"comb": [], "lp": [], "cg1": [], "cg2": []}
    for case in cases:
        inst = case.instance()
        inc = best_incumbent(inst)
        if args.lns > 0:
            inc = improve_schedule(inst, inc, time_limit=args.lns).schedule
        best = int(sum(inc.starts[r.id] + r.output_tokens for r in inst.requests))
        comb = lower_bound(inst)
        lp, lp_time = time_indexed_lp(inst, inc)
        cg1 = colgen_bound(inst, inc, block_size=1, time_limit=args.time_limit)
        cg2 = colgen_bound(inst, inc, block_size=2, time_limit=args.time_limit)
        for key, b in (("comb", comb.value), ("lp", lp), ("cg1", cg1.bound), ("cg2", cg2.bound)):
            sums[key].append((best - b) / best)
        body.append([case.name, inst.n, best, _below(comb.value, best),
                     f"{_below(lp, best)} ({lp_time:.1f}s)",
                     f"{_below(cg1.bound, best)} ({cg1.runtime:.1f}s, "
                     f"{'conv' if cg1.converged else 'stopped'})",
                     f"{_below(cg2.bound, best)} ({cg2.runtime:.1f}s, {cg2.iterations} it, "
                     f"{'conv' if cg2.converged else 'stopped'})"])
        print(f"{case.name}: done", file=sys.stderr, flush=True)
    body.append(["mean", "", "", *(f"{100 * sum(v) / len(v):.2f}%" for v in sums.values())])
    print(f"set {args.set}: {len(cases)} instances; bounds as % below the best schedule; "
          f"column generation stopped at {args.time_limit:g} s")
    print(table(body, ["instance", "n", "best", "combinatorial", "time-indexed LP",
                       "colgen, blocks of 1", "colgen, pairs"]))


if __name__ == "__main__":
    main()
