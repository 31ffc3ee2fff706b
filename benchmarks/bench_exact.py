"""Before/after benchmark for exact solving (issue 6), all in one run.

Runs the fixed seeded instance sets of :mod:`optsched.studies.benchmark` with the baseline
(time-indexed CP-SAT, earliest-fit incumbent) and the other variants, same time limit and threads
per solve, and prints the summary table plus per-family before/after ratios. Rows go to Parquet,
the cactus plot to PNG, so later versions can be compared against these files.

    python benchmarks/bench_exact.py --set small --time-limit 30 --out runs/
    python benchmarks/bench_exact.py --set paper --limit 5 --time-limit 60 --out runs/

Each solve uses --threads threads (default 2, the protocol of docs/exact-performance.md: one
solve at a time with both cores); keep jobs x threads <= cores.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from optsched.studies.benchmark import (
    INSTANCE_SETS,
    cactus_plot,
    disagreements,
    instance_set,
    parse_variants,
    resolve_variant,
    run_benchmark,
    summary_table,
    write_parquet,
)


def before_after(rows: list[dict], before: str, after: str) -> list[str]:
    """Per family: proven counts and the ratio of final gaps / bounds, after vs before."""
    lines = []
    for fam in dict.fromkeys(r["family"] for r in rows):
        b = {r["instance"]: r for r in rows if r["family"] == fam and r["variant"] == before}
        a = {r["instance"]: r for r in rows if r["family"] == fam and r["variant"] == after}
        common = sorted(set(a) & set(b))
        if not common:
            continue
        ratios = [a[k]["bound"] / b[k]["bound"] for k in common if b[k]["bound"]]
        gaps_b = [b[k]["gap"] for k in common if b[k]["gap"] is not None]
        gaps_a = [a[k]["gap"] for k in common if a[k]["gap"] is not None]
        lines.append(
            f"{fam}: proven {sum(b[k]['status'] == 'optimal' for k in common)} -> "
            f"{sum(a[k]['status'] == 'optimal' for k in common)} of {len(common)}; "
            f"mean gap {_pct(gaps_b)} -> {_pct(gaps_a)}; "
            f"bound ratio after/before: median {statistics.median(ratios):.3f}")
    return lines


def _pct(xs: list[float]) -> str:
    return f"{100 * statistics.fmean(xs):.2f}%" if xs else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="paper", choices=list(INSTANCE_SETS))
    ap.add_argument("--variants",
                    default="cpsat:time-indexed,cpsat:epoch,cpsat:portfolio,cpsat:lns")
    ap.add_argument("--before", default="cpsat:time-indexed",
                    help="variant taken as the baseline")
    ap.add_argument("--after", default="cpsat:portfolio", help="variant compared against it")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--limit", type=int, default=None, help="first K seeds of each family")
    ap.add_argument("--out", type=Path, default=Path("bench-exact-out"))
    args = ap.parse_args()

    cases = instance_set(args.set)
    if args.limit is not None:
        cases = [c for c in cases if c.seed < args.limit]
    rows = run_benchmark(cases, parse_variants(args.variants), args.time_limit, args.threads,
                         jobs=args.jobs)
    args.out.mkdir(parents=True, exist_ok=True)
    write_parquet(rows, args.out / f"exact-{args.set}.parquet")
    cactus_plot(rows, args.out / f"exact-{args.set}.png",
                f"set {args.set}, {args.time_limit:g} s, {args.threads} thread(s)")
    print(f"set {args.set}: {len(cases)} instances, {args.time_limit:g} s per solve, "
          f"{args.threads} thread(s), {args.jobs} job(s)")
    print(summary_table(rows))
    names = {r["variant"] for r in rows}
    before, after = resolve_variant(args.before).name, resolve_variant(args.after).name
    if {before, after} <= names:
        print("\n".join(before_after(rows, before, after)))
    for p in disagreements(rows):
        print("DISAGREEMENT:", p)


if __name__ == "__main__":
    main()
