"""Lower bounds side by side (issue 6, item 3): how far each bound of optsched.exact.bounds stays
below the best known schedule, per instance family, in one run.

    python benchmarks/bench_bounds.py --set small
    python benchmarks/bench_bounds.py --set paper
    python benchmarks/bench_bounds.py --set scale

"Best known" is the best validated schedule of the incumbent search used by the exact solve
paths (MC-SF, earliest-fit, and spaced MC-SF up to 300 requests); with ``--lns SECONDS`` it is
then improved by large-neighbourhood search (one worker, wall-clock limit). No proof
runs here, so the gaps are upper estimates of each bound's true gap to the optimum.

``--large-only`` keeps only each instance's large-peak requests (s + o > M / 2), the chain the
lag, interval and path bounds are about: it shows how much of the gap is that chain's.

    python benchmarks/bench_bounds.py --set paper --limit 5 --large-only --lns 30
"""

from __future__ import annotations

import argparse
import statistics
import time

from optsched.exact.bounds import (
    epoch_bound,
    large_peak_requests,
    machine_bound,
    restriction_bound,
    trivial_bound,
    volume_bound,
)
from optsched.exact.lns import improve_schedule
from optsched.exact.solve import best_incumbent
from optsched.model.instance import Instance
from optsched.studies.benchmark import INSTANCE_SETS, instance_set
from optsched.studies.formatting import table

BOUNDS = {"trivial": trivial_bound, "volume": volume_bound, "epoch": epoch_bound,
          "machine": machine_bound,
          "split-0.2": lambda inst: restriction_bound(inst, machine=False, paths=False)[0],
          "bound-0.4": lambda inst: restriction_bound(inst, paths=False)[0],
          "bound-0.5": lambda inst: restriction_bound(inst, windows=False)[0],
          "bound-0.6": lambda inst: restriction_bound(inst)[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="paper", choices=list(INSTANCE_SETS))
    ap.add_argument("--limit", type=int, default=None, help="first K seeds of each family")
    ap.add_argument("--large-only", action="store_true",
                    help="keep only the requests with peak s + o > M / 2 of each instance")
    ap.add_argument("--lns", type=float, default=0.0, metavar="SECONDS",
                    help="improve the best known schedule by LNS for this long (default 0)")
    args = ap.parse_args()
    cases = [c for c in instance_set(args.set) if args.limit is None or c.seed < args.limit]
    gaps: dict[tuple[str, str], list[float]] = {}
    times: dict[tuple[str, str], list[float]] = {}
    for case in cases:
        inst = _large_only(case.instance()) if args.large_only else case.instance()
        outputs = {r.id: r.output_tokens for r in inst.requests}
        incumbent = best_incumbent(inst)
        if args.lns > 0:
            incumbent = improve_schedule(inst, incumbent, time_limit=args.lns).schedule
        best = incumbent.objective(outputs)
        for name, fn in BOUNDS.items():
            t0 = time.perf_counter()
            value = fn(inst)
            times.setdefault((case.family, name), []).append(time.perf_counter() - t0)
            if value > best:
                raise SystemExit(f"{case.name}: bound {name} = {value} exceeds a valid "
                                 f"schedule's value {best}")
            gaps.setdefault((case.family, name), []).append((best - value) / best)
    body = []
    for (family, name), gs in gaps.items():
        body.append([family, name, len(gs), f"{100 * statistics.fmean(gs):.2f}%",
                     f"{100 * max(gs):.2f}%",
                     f"{max(times[(family, name)]):.3f}"])
    what = "large-peak requests only, " if args.large_only else ""
    print(f"set {args.set}: {len(cases)} instances ({what}best known after {args.lns:g} s of "
          "LNS); gap = (best known - bound) / best known")
    print(table(body, ["family", "bound", "n", "mean gap", "max gap", "max s"]))


def _large_only(instance: Instance) -> Instance:
    """The sub-instance of the large-peak requests (at least two, else the whole instance)."""
    big = large_peak_requests(instance)
    if big.size < 2:
        return instance
    return instance.with_requests([instance.requests[i] for i in big])


if __name__ == "__main__":
    main()
