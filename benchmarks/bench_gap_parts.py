"""Where the gap between the best schedule and the lower bound lies (issue 6), per instance.

    python benchmarks/bench_gap_parts.py --set paper --limit 5 --lns 40

The restriction bound splits an instance at a point k of the peak order: the k largest-peak
requests (the *first part*, where the path and window bounds run) and the rest. The whole
gap, best schedule minus bound, is split into

* the gap *inside* the first part: best schedule of the first part alone minus
  ``lower_bound`` of the first part alone;
* the *interaction*: what the rest adds to the best schedule minus what it adds to the bound.

Both shown as a share of the whole instance's best schedule. "Best" is the best incumbent
improved by ``--lns`` seconds of single-worker LNS, for the whole instance and for the first
part alike; nothing is proven, so part of either column may be the schedule's, not the bound's.
"""

from __future__ import annotations

import argparse

from optsched.exact.bounds import lower_bound, peak_order
from optsched.exact.lns import improve_schedule
from optsched.exact.solve import best_incumbent
from optsched.model.instance import Instance
from optsched.studies.benchmark import INSTANCE_SETS, instance_set
from optsched.studies.formatting import table


def best_known(instance: Instance, seconds: float) -> int:
    """Value of the best incumbent after ``seconds`` of one-worker LNS (0: no LNS)."""
    incumbent = best_incumbent(instance)
    if seconds > 0:
        return improve_schedule(instance, incumbent, time_limit=seconds).value
    return incumbent.objective({r.id: r.output_tokens for r in instance.requests})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="paper", choices=list(INSTANCE_SETS))
    ap.add_argument("--limit", type=int, default=None, help="first K seeds of each family")
    ap.add_argument("--lns", type=float, default=40.0, metavar="SECONDS",
                    help="LNS seconds for each best schedule (default 40)")
    args = ap.parse_args()
    cases = [c for c in instance_set(args.set) if args.limit is None or c.seed < args.limit]
    body = []
    for case in cases:
        inst = case.instance()
        report = lower_bound(inst)
        whole_bound, k = report.value, report.split
        first = inst.with_requests([inst.requests[i] for i in peak_order(inst)[:k]])
        first_bound = lower_bound(first).value
        whole_best = best_known(inst, args.lns)
        first_best = whole_best if k == inst.n else best_known(first, args.lns)
        inside = first_best - first_bound
        interaction = (whole_best - first_best) - (whole_bound - first_bound)
        body.append([case.name, inst.n, k, f"{whole_bound:,} / {whole_best:,}",
                     f"{first_bound:,} / {first_best:,}",
                     f"{inside:,} ({100 * inside / whole_best:.1f}%)",
                     f"{interaction:,} ({100 * interaction / whole_best:.1f}%)"])
    print(f"set {args.set}: best schedules after {args.lns:g} s of one-worker LNS; shares of "
          "the whole best schedule")
    print(table(body, ["instance", "n", "first part", "whole: bound / best",
                       "first part: bound / best", "gap inside first part", "interaction"]))


if __name__ == "__main__":
    main()
