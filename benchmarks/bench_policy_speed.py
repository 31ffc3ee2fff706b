"""Algorithm 1 / MC-SF speed: the line-by-line reference against the fast implementation.

For growing n, one seeded instance per size and mode, both implementations run on the same
instance in the same process; the two schedules must be identical (checked) and valid
(validator). Reported: total time, time per round (rounds = makespan, the rounds the policy
decides), and the speed ratio reference / fast. The reference is skipped for larger n once one
of its runs exceeded ``--ref-budget`` seconds (marked, never extrapolated here).

Modes: ``offline`` (all requests at time 0, the setting of the poster's Theorems) and
``online`` (Poisson arrivals at a rate that keeps the memory busy). Sizes: s ~ U{1..20},
o ~ U{1..200}, M = 1000 (about 10-30 requests run at once). Run::

    python benchmarks/bench_policy_speed.py [--sizes 100,200,...] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from optsched.model.instance import Instance, make_instance
from optsched.model.validate import validate
from optsched.policies import mcsf_fast, mcsf_reference


def make(n: int, mode: str, seed: int, memory: int = 1000) -> Instance:
    """Seeded instance of n requests (see module doc)."""
    rng = np.random.default_rng([seed, n, mode == "online"])
    s = rng.integers(1, 21, size=n)
    o = rng.integers(1, 201, size=n)
    if mode == "offline":
        a = np.zeros(n, dtype=np.int64)
    else:
        # memory-time per request ~ E[s o + o^2/2]; rate so that demand ~ 0.9 M per round
        volume = float(np.mean(s * o + o * (o + 1) / 2))
        rate = 0.9 * memory / volume
        a = np.floor(np.cumsum(rng.exponential(1.0 / rate, size=n))).astype(np.int64)
    return make_instance(memory, o.tolist(), s.tolist(), a.tolist(),
                         metadata={"bench": {"n": n, "mode": mode, "seed": seed}})


def timed(fn, inst):  # noqa: ANN001, ANN202 - tiny helper
    t0 = time.perf_counter()
    out = fn(inst)
    return out, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="MC-SF reference vs fast implementation")
    ap.add_argument("--sizes", default="100,200,400,800,1600,3200",
                    help="comma-separated numbers of requests")
    ap.add_argument("--modes", default="offline,online", help="offline, online or both")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ref-budget", type=float, default=60.0,
                    help="skip the reference for larger n once a run took longer (seconds)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    rows = []
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        ref_ok = True
        for n in sizes:
            inst = make(n, mode, args.seed)
            fast, t_fast = timed(mcsf_fast, inst)
            rep = validate(inst, fast)
            assert rep.valid, rep.summary()
            rounds = rep.metrics.makespan - int(inst.arrival.min())
            row = {"mode": mode, "n": n, "rounds": rounds, "fast_s": t_fast,
                   "fast_us_per_round": 1e6 * t_fast / rounds, "ref_s": None,
                   "ref_us_per_round": None, "ratio": None}
            if ref_ok:
                ref, t_ref = timed(mcsf_reference, inst)
                assert dict(ref.starts) == dict(fast.starts), f"schedules differ at n={n}"
                row.update(ref_s=t_ref, ref_us_per_round=1e6 * t_ref / rounds,
                           ratio=t_ref / t_fast)
                ref_ok = t_ref <= args.ref_budget
            rows.append(row)
            print(f"{mode} n={n}: fast {t_fast:.3f} s" + (
                f", reference {row['ref_s']:.2f} s, ratio {row['ratio']:.1f}x"
                if row["ref_s"] is not None else ", reference skipped"), file=sys.stderr)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'mode':<8}{'n':>6}{'rounds':>8}{'ref s':>10}{'fast s':>9}{'ref us/rnd':>12}"
          f"{'fast us/rnd':>12}{'ratio':>8}")
    for r in rows:
        ref = "skipped" if r["ref_s"] is None else f"{r['ref_s']:.3f}"
        ref_r = "-" if r["ref_s"] is None else f"{r['ref_us_per_round']:.1f}"
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.1f}x"
        print(f"{r['mode']:<8}{r['n']:>6}{r['rounds']:>8}{ref:>10}{r['fast_s']:>9.3f}"
              f"{ref_r:>12}{r['fast_us_per_round']:>12.1f}{ratio:>8}")
    print("\nboth implementations give identical schedules on every instance above "
          "(checked); times are wall-clock, one run each, this machine.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
