"""Core benchmark: each exact backend on a fixed, seeded instance set of growing size.

Prints status, time, objective, bound and gap per backend side by side (one run, same machine,
same time limit), plus per-instance time ratios against CP-SAT. Not a test: timings are noisy.

    python benchmarks/bench_solvers.py --time-limit 30 [--method time-indexed] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from optsched.data.generators import uniform_instance
from optsched.exact import solve

#: (n, M, max_prompt, max_arrival, seed): fixed so every release measures the same set.
INSTANCE_SET = [
    (5, 20, 3, 2, 1),
    (8, 20, 3, 4, 2),
    (10, 25, 3, 5, 3),
    (12, 25, 3, 6, 4),
    (15, 30, 3, 8, 5),
    (20, 30, 3, 10, 6),
    (30, 40, 5, 15, 7),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--solvers", default="cpsat,highs,cbc")
    ap.add_argument("--max-n", type=int, default=1000, help="skip larger instances")
    ap.add_argument("--method", default="time-indexed",
                    help="solve path (default: the plain time-indexed model, as in the docs)")
    ap.add_argument("--json", help="also write the raw rows to this JSON file")
    args = ap.parse_args(argv)
    solvers = args.solvers.split(",")
    rows = []
    for n, m, mp, ma, seed in INSTANCE_SET:
        if n > args.max_n:
            continue
        inst = uniform_instance(seed, n, m, max_prompt=mp, max_arrival=ma)
        row = {"n": n, "M": m, "seed": seed}
        for s in solvers:
            t0 = time.perf_counter()
            res = solve(inst, s, time_limit=args.time_limit, threads=1, seed=0,
                        method=args.method)
            row[s] = {"status": res.status.value, "time": time.perf_counter() - t0,
                      "objective": res.objective, "bound": res.bound, "gap": res.gap}
            print(f"n={n:3d} {s:6s} {res.status.value:8s} {row[s]['time']:7.2f}s "
                  f"obj={res.objective} bound={res.bound}", file=sys.stderr, flush=True)
        rows.append(row)
    print(render(rows, solvers, args.time_limit))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


def render(rows: list[dict], solvers: list[str], limit: float) -> str:
    """Markdown table: one line per instance, status/time/obj/bound/gap per solver."""
    head = ["n", "M"]
    for s in solvers:
        head += [f"{s} status", f"{s} time (s)", f"{s} obj", f"{s} bound", f"{s} gap"]
    if "cpsat" in solvers:
        head += [f"{s}/cpsat time" for s in solvers if s != "cpsat"]
    lines = [f"time limit {limit:g} s per solve, 1 thread",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [str(r["n"]), str(r["M"])]
        for s in solvers:
            x = r[s]
            gap = "-" if x["gap"] is None else f"{x['gap']:.1%}"
            cells += [x["status"], f"{x['time']:.2f}", str(x["objective"]), str(x["bound"]), gap]
        if "cpsat" in solvers:
            cells += [f"{r[s]['time'] / r['cpsat']['time']:.2f}" for s in solvers if s != "cpsat"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
