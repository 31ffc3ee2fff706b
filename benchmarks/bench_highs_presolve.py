"""HiGHS with and without its MIP presolve, side by side, on the 'epoch' solve path.

optsched runs HiGHS with ``presolve off`` because HiGHS's presolve does not look at interrupts
(a Ctrl-C waited for it for 5-16 s). This checks what that costs: for each Model 1 instance
(n requests, seeds 0 and 1) one solve with presolve on and one with it off, same time limit,
printing status, schedule, bound and wall time.

    nice -n 10 python benchmarks/bench_highs_presolve.py --time-limit 20
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import highspy

from optsched.data.generators import jaillet_model1
from optsched.exact.solve import solve

_SET_OPTION = highspy.Highs.setOptionValue
PRESOLVE = {"value": "off"}


def _set_option(self: Any, name: str, value: Any) -> Any:
    """HiGHS's setOptionValue, with the presolve choice of this benchmark forced."""
    if name == "presolve":
        value = PRESOLVE["value"]
    return _SET_OPTION(self, name, value)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--time-limit", type=float, default=20.0)
    ap.add_argument("--sizes", default="10,12,14", help="comma-separated request counts")
    args = ap.parse_args()
    highspy.Highs.setOptionValue = _set_option  # type: ignore[method-assign]
    print(f"load: {os.getloadavg()} (1 / 5 / 15 min) at the start")
    print(f"{'instance':<14}{'presolve':>9}  {'status':<9}{'schedule':>9}{'bound':>7}{'s':>7}")
    for n in map(int, args.sizes.split(",")):
        for seed in (0, 1):
            inst = jaillet_model1(seed, n_range=(n, n))
            for value in ("on", "off"):
                PRESOLVE["value"] = value
                t0 = time.perf_counter()
                res = solve(inst, solver="highs", method="epoch", time_limit=args.time_limit)
                took = time.perf_counter() - t0
                print(f"n={n} seed={seed:<4}{value:>9}  {res.status.value:<9}"
                      f"{res.objective!s:>9}{res.bound!s:>7}{took:>7.1f}", flush=True)
    print(f"load: {os.getloadavg()} (1 / 5 / 15 min) at the end")


if __name__ == "__main__":
    main()
