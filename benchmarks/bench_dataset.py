"""Dataset throughput: certified instances per minute, sequential vs local pool vs Ray-local.

Builds the same dataset (family, seed, count, time limit) once per backend into fresh temporary
folders, in one run on the same machine, and prints wall time, certified (proven optimal)
instances per minute and the speed-up over sequential. It also checks that every backend
produced the same table (timing columns aside). Ray's start-up is inside the measured time
(that is what a user pays); the ``excl. start`` column subtracts it. Not a test: timings are
noisy.

    python benchmarks/bench_dataset.py --family jaillet-model1 --count 40 --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from optsched.studies.dataset import TIMING_COLUMNS, BuildConfig, build, load_rows
from optsched.studies.execution import available_cores
from optsched.studies.formatting import table


def _ray_start_seconds(workers: int) -> float | None:
    """Time to start and stop a local Ray runtime (the fixed cost of the Ray backend)."""
    try:
        import ray
    except ImportError:
        return None
    t0 = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    ray.shutdown()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--family", default="jaillet-model1")
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=2, help="workers for local and Ray")
    ap.add_argument("--backends", default="sequential,local,ray")
    ap.add_argument("--json", help="also write the measurements to this JSON file")
    args = ap.parse_args(argv)
    backends = args.backends.split(",")
    print(f"family {args.family}, {args.count} instances, seed {args.seed}, time limit "
          f"{args.time_limit:g} s, {available_cores()} cores available, workers {args.workers}, "
          f"load average before {os.getloadavg()[0]:.1f}")
    results, tables = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            if backend == "ray":
                try:
                    import ray  # noqa: F401
                except ImportError:
                    print("ray not installed: skipped", file=sys.stderr)
                    continue
            out = Path(tmp) / backend
            cfg = BuildConfig(family=args.family, count=args.count, seed=args.seed,
                              time_limit=args.time_limit)
            t0 = time.perf_counter()
            rep = build(out, cfg, backend=backend,
                        workers=None if backend == "sequential" else args.workers,
                        progress=False, command="bench_dataset")
            wall = time.perf_counter() - t0
            rows = load_rows(out)
            certified = sum(1 for r in rows if r["status"] == "optimal")
            tables[backend] = [{k: v for k, v in r.items() if k not in TIMING_COLUMNS}
                               for r in rows]
            start = _ray_start_seconds(args.workers) if backend == "ray" else 0.0
            results.append({"backend": backend, "workers": rep.workers, "wall_s": wall,
                            "certified": certified, "instances": len(rows),
                            "solve_s_sum": sum(r["solve_time"] for r in rows),
                            "start_s": start})
    base = next((r for r in results if r["backend"] == "sequential"), None)
    out_rows = []
    for r in results:
        per_min = 60 * r["certified"] / r["wall_s"]
        excl = 60 * r["certified"] / max(r["wall_s"] - (r["start_s"] or 0.0), 1e-9)
        r["certified_per_min"] = per_min
        r["speedup"] = None if base is None else base["wall_s"] / r["wall_s"]
        out_rows.append([r["backend"], r["workers"], f"{r['certified']}/{r['instances']}",
                         round(r["wall_s"], 1), round(per_min, 1), round(excl, 1),
                         None if r["speedup"] is None else round(r["speedup"], 2),
                         round(r["solve_s_sum"], 1)])
    print(table(out_rows, ["backend", "workers", "certified", "wall s", "cert./min",
                           "excl. start", "vs sequential", "sum of solve s"]))
    print(f"load average after {os.getloadavg()[0]:.1f} (a sum of solve times above the "
          "sequential one means the cores were shared with other work)")
    ref = next(iter(tables.values()), None)
    same = all(t == ref for t in tables.values())
    print(f"\nidentical tables across backends (timing columns aside): {same}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
