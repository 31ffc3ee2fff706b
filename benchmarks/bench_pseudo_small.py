"""The pseudo-schedule bound where its pricing fits: the exhaustive peak family of
tests/test_bounds.py against the brute-force oracle, and Model 1 instances of six requests.

    nice -n 10 python benchmarks/bench_pseudo_small.py --peak
    nice -n 10 python benchmarks/bench_pseudo_small.py --six --time-limit 120

``--peak``: every instance of the family (2..4 requests, s in {0, 2}, o in {1, 3, 5}, a in
{0, 1}, M in {6, 8}); per variant the number of instances where the bound equals the optimum,
where column generation converged, and the mean gap (the time-indexed LP for comparison). It
stops with an error if any bound is above the optimum. ``--six``: jaillet_model1(seed,
n_range=(6, 6)) for seeds 0-2, optimum by the cumulative CP-SAT model, the combinatorial bound,
the time-indexed LP and three variants of the bound, each with its gap, stop reason and time.
"""

from __future__ import annotations

import argparse
import math
import os

from optsched.control import Deadline
from optsched.studies.enumerate import peak_family

#: (label, keyword arguments of pseudo_schedule_bound) of the peak-family variants.
PEAK_VARIANTS = (("exact, full windows", {"pricing": "exact", "shrink": False}),
                 ("exact, full windows, r=1", {"pricing": "exact", "shrink": False,
                                               "repeat_limit": 1}),
                 ("exact, shrunk windows", {"pricing": "exact"}))



def run_peak() -> None:
    from optsched.exact import solve
    from optsched.exact.colgen import time_indexed_lp
    from optsched.exact.incumbent import earliest_fit_schedule
    from optsched.exact.pseudo.bound import pseudo_schedule_bound
    from optsched.studies.formatting import table

    insts = list(peak_family())
    stats = {label: [0, 0, 0.0] for label, _ in PEAK_VARIANTS}
    lp_tight, lp_gap = 0, 0.0
    for inst in insts:
        opt = solve(inst, "bruteforce").objective
        assert opt is not None
        for label, kw in PEAK_VARIANTS:
            b = pseudo_schedule_bound(inst, **kw)  # type: ignore[arg-type]
            if b.bound > opt:
                raise SystemExit(f"{label}: bound {b.bound} above the optimum {opt}: "
                                 f"{inst.to_dict()}")
            row = stats[label]
            row[0] += b.bound == opt
            row[1] += b.stopped == "converged"
            row[2] += (opt - b.bound) / opt
        lp, _ = time_indexed_lp(inst, earliest_fit_schedule(inst))
        lp_tight += math.ceil(lp - 1e-6) >= opt
        lp_gap += (opt - lp) / opt
    body = [[label, f"{t}/{len(insts)}", c, f"{100 * g / len(insts):.3f}%"]
            for label, (t, c, g) in stats.items()]
    body.append(["time-indexed LP", f"{lp_tight}/{len(insts)}", "-",
                 f"{100 * lp_gap / len(insts):.3f}%"])
    print(table(body, ["bound", "= optimum", "converged", "mean gap"]))


def run_six(limit: float) -> None:
    from optsched.data.generators import jaillet_model1
    from optsched.exact.bounds import lower_bound
    from optsched.exact.colgen import time_indexed_lp
    from optsched.exact.pseudo.bound import pseudo_schedule_bound
    from optsched.exact.solve import best_incumbent, solve

    for seed in range(3):
        inst = jaillet_model1(seed, n_range=(6, 6))
        res = solve(inst, "cpsat", method="cumulative", time_limit=60)
        if res.status.value != "optimal" or res.objective is None:
            print(f"m1-n6-s{seed}: optimum not proven in 60 s; skipped")
            continue
        opt = res.objective
        comb = lower_bound(inst).value
        lp, _ = time_indexed_lp(inst, best_incumbent(inst))
        print(f"m1-n6-s{seed}: M = {inst.memory_limit}, OPT = {opt}, combinatorial "
              f"{100 * (opt - comb) / opt:.1f}% below, time-indexed LP "
              f"{100 * (opt - lp) / opt:.1f}%")
        for pricing, r in (("exact", None), ("exact", 1), ("relaxed", None)):
            b = pseudo_schedule_bound(inst, pricing=pricing, repeat_limit=r,
                                      deadline=Deadline(limit))
            print(f"  {pricing}, r={r}: {b.bound} ({100 * (opt - b.bound) / opt:.1f}% below), "
                  f"{b.stopped}, {b.iterations} rounds, {b.runtime:.0f} s", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peak", action="store_true", help="the exhaustive peak family")
    ap.add_argument("--six", action="store_true", help="Model 1 instances of six requests")
    ap.add_argument("--time-limit", type=float, default=120.0, help="seconds per bound (--six)")
    args = ap.parse_args()
    if not (args.peak or args.six):
        ap.error("give --peak and/or --six")
    print(f"load before: {os.getloadavg()[0]:.2f}")
    if args.peak:
        run_peak()
    if args.six:
        run_six(args.time_limit)
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
