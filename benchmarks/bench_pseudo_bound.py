"""Root gaps of the pseudo-schedule bound (issue 24) on the 16 proven instances, side by side
with the combinatorial bound and the time-indexed LP, in one resumable run.

    nice -n 10 python benchmarks/bench_pseudo_bound.py --time-limit 60 \\
        --checkpoint pseudo60.jsonl

The 16 instances: jaillet_model1(seed, n_range=(n, n)) for n = 8, 10 (seeds 0-3) and n = 12
(seeds 3-6), plus the frontier set's m1-n12 (seeds 0-2) and m1-n16-s0. Their optima come from
``--optima`` (a committed JSON cache: value, status, the command and the optsched version that
proved it); a missing one is solved with method "cumulative" for ``--solve-limit`` seconds and
added to the cache only when proven. Each bound is reported as its gap below the optimum, with
its time; the last table gives the means and each variant's ratio to the combinatorial bound.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from optsched.control import Deadline
from optsched.data.generators import jaillet_model1
from optsched.model.instance import Instance
from optsched.studies.benchmark import Case

#: (label, pricing, repeat limit) of each pseudo-schedule variant.
VARIANTS = (("relaxed", "relaxed", None), ("relaxed-r1", "relaxed", 1),
            ("exact", "exact", None), ("exact-r1", "exact", 1))
DEFAULT_OPTIMA = Path(__file__).with_name("pseudo_bound_optima.json")


def cases() -> list[tuple[str, Instance]]:
    """The 16 instances of issue 24, by name."""
    out = [(f"m1-n{n}-s{s}", jaillet_model1(s, n_range=(n, n)))
           for n, seeds in ((8, range(4)), (10, range(4)), (12, range(3, 7))) for s in seeds]
    out += [(f"frontier-{c.name}", c.instance())
            for c in [Case("m1-n12", s) for s in range(3)] + [Case("m1-n16", 0)]]
    return out


def optimum(name: str, inst: Instance, cache: dict[str, Any], path: Path,
            limit: float) -> int | None:
    """The cached proven optimum, or solve (cumulative) and cache it when proven."""
    from optsched.exact.solve import solve
    from optsched.version import __version__

    row = cache.get(name)
    if row is not None and row["instance_hash"] == inst.content_hash():
        return int(row["optimum"])
    res = solve(inst, "cpsat", method="cumulative", time_limit=limit, threads=1)
    if res.status.value != "optimal" or res.objective is None:
        print(f"{name}: not proven in {limit:g} s ({res.status.value}); left out")
        return None
    cache[name] = {"optimum": int(res.objective), "instance_hash": inst.content_hash(),
                   "command": f"optsched solve FILE --method cumulative --time-limit {limit:g}"
                              " --threads 1", "optsched_version": __version__,
                   "runtime": round(res.runtime, 2)}
    path.write_text(json.dumps(cache, indent=1, sort_keys=True) + "\n")
    return int(res.objective)


def measure(name: str, inst: Instance, opt: int, limit: float,
            variants: tuple[tuple[str, str, int | None], ...] = VARIANTS) -> dict[str, Any]:
    """Every bound of one instance with its time."""
    from optsched.exact.bounds import lower_bound
    from optsched.exact.colgen import time_indexed_lp
    from optsched.exact.pseudo.bound import pseudo_schedule_bound
    from optsched.exact.solve import best_incumbent

    row: dict[str, Any] = {"instance": name, "n": inst.n, "M": inst.memory_limit,
                           "optimum": opt}
    t0 = time.perf_counter()
    row["comb"], row["comb_s"] = lower_bound(inst).value, time.perf_counter() - t0
    row["lp"], row["lp_s"] = time_indexed_lp(inst, best_incumbent(inst))
    for label, pricing, r in variants:
        b = pseudo_schedule_bound(inst, deadline=Deadline(limit), pricing=pricing,
                                  repeat_limit=r)
        if b.bound > opt:
            raise SystemExit(f"{name}: {label} bound {b.bound} above the optimum {opt}")
        row[label], row[f"{label}_s"], row[f"{label}_stop"] = b.bound, b.runtime, b.stopped
    return row


def gap(bound: float, opt: int) -> float:
    return 100.0 * (opt - bound) / opt


def report(rows: list[dict[str, Any]], variants: tuple[tuple[str, str, int | None], ...]
           ) -> None:
    """Per-instance gaps and times, then means and ratios to the combinatorial bound."""
    from optsched.studies.formatting import table

    labels = ["comb", "lp"] + [v[0] for v in variants]
    body = [[r["instance"], r["n"], r["optimum"]] +
            [f"{gap(r[k], r['optimum']):.2f}% ({r[k + '_s']:.0f}s)" for k in labels]
            for r in rows]
    print(table(body, ["instance", "n", "OPT"] + labels))
    means = [[k, f"{sum(gap(r[k], r['optimum']) for r in rows) / len(rows):.2f}%",
              f"{sum(r[k] / r['comb'] for r in rows) / len(rows):.4f}",
              f"{max(r[k + '_s'] for r in rows):.0f}"] for k in labels]
    print()
    print(table(means, ["bound", "mean gap", "mean bound / comb", "max s"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per variant")
    ap.add_argument("--solve-limit", type=float, default=120.0, help="seconds per optimum")
    ap.add_argument("--optima", type=Path, default=DEFAULT_OPTIMA)
    ap.add_argument("--checkpoint", type=Path, default=None, help="JSONL of finished rows")
    ap.add_argument("--only", default=None, help="comma-separated instance names")
    ap.add_argument("--variants", default=",".join(v[0] for v in VARIANTS),
                    help="comma-separated variants (default: all)")
    args = ap.parse_args()
    known = {v[0]: v for v in VARIANTS}
    wanted = [v.strip() for v in args.variants.split(",") if v.strip()]
    bad = [v for v in wanted if v not in known]
    if bad or not wanted:
        ap.error(f"--variants: unknown {', '.join(bad) or '(none given)'}; choose from "
                 f"{', '.join(known)}")
    variants = tuple(known[v] for v in wanted)
    cache = json.loads(args.optima.read_text()) if args.optima.exists() else {}
    done = {}
    if args.checkpoint is not None and args.checkpoint.exists():
        for line in args.checkpoint.read_text().splitlines():
            row = json.loads(line)
            done[row["instance"]] = row
    print(f"load before: {os.getloadavg()[0]:.2f}")
    rows = []
    for name, inst in cases():
        if args.only and name not in args.only.split(","):
            continue
        opt = optimum(name, inst, cache, args.optima, args.solve_limit)
        if opt is None:
            continue
        row = done.get(name) or measure(name, inst, opt, args.time_limit, variants)
        if name not in done and args.checkpoint is not None:
            with args.checkpoint.open("a") as f:
                f.write(json.dumps(row) + "\n")
        rows.append(row)
        print(f"{name}: done (load {os.getloadavg()[0]:.2f})", flush=True)
    if rows:
        report(rows, variants)


if __name__ == "__main__":
    main()
