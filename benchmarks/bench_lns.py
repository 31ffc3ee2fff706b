"""LNS with one worker against several, same wall-clock budget, one run (issue 6).

    python benchmarks/bench_lns.py --set paper --limit 3 --time-limit 30 --workers 1,2

Each instance starts from the same incumbent (the exact paths' best heuristic schedule); each
worker count gets the same wall-clock limit, run one after the other on the same machine, so
the ratios (value / value of the first worker count) are what to compare. Several workers run
in synchronous rounds (optsched.exact.lns): more sub-solves per second, one merge per round.
Use a machine with at least as many free cores as the largest worker count.
"""

from __future__ import annotations

import argparse
import statistics

from optsched.exact.lns import improve_schedule
from optsched.exact.solve import best_incumbent
from optsched.studies.benchmark import INSTANCE_SETS, instance_set
from optsched.studies.formatting import table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="paper", choices=list(INSTANCE_SETS))
    ap.add_argument("--limit", type=int, default=None, help="first K seeds of each family")
    ap.add_argument("--time-limit", type=float, default=30.0, help="seconds per search")
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    args = ap.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    cases = [c for c in instance_set(args.set) if args.limit is None or c.seed < args.limit]
    body, ratios = [], {w: [] for w in counts}
    for case in cases:
        inst = case.instance()
        start = best_incumbent(inst)
        row: list[object] = [case.name, inst.n]
        first = None
        for w in counts:
            out = improve_schedule(inst, start, time_limit=args.time_limit, workers=w)
            first = out.value if first is None else first
            ratios[w].append(out.value / first)
            row += [f"{out.value:,}", out.iterations, f"{out.value / first:.4f}"]
        body.append(row)
    header = ["instance", "n"]
    for w in counts:
        header += [f"{w}w value", f"{w}w sub-solves", f"{w}w ratio"]
    print(f"set {args.set}: {args.time_limit:g} s per search; ratio = value / value with "
          f"{counts[0]} worker(s)")
    print(table(body, header))
    print("geometric-mean ratio: " + ", ".join(
        f"{w} workers {statistics.geometric_mean(r):.4f}" for w, r in ratios.items()))


if __name__ == "__main__":
    main()
