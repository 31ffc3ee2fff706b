"""Run time of the heuristics and the engine against output length and number of requests,
before and after they became event-driven (issue 26), side by side in one run.

Measured, each on the same seeded instance in both versions:

* ``best-spaced``: :func:`optsched.exact.heuristics.best_spaced_schedule` (21 spaced MC-SF
  passes; the pre-solve heuristic of ``solve``);
* ``earliest-fit``: :func:`optsched.exact.incumbent.earliest_fit_schedule` (its schedules
  differ between the versions: the old one skipped feasible starts, issue 27);
* ``mcsf-fast``: :func:`optsched.policies.mcsf_fast`;
* ``engine``: the online engine with the default policy (``algorithm1``) and with ``fcfs``.

Sweeps: ``length``, the issue's instance (two requests of o tokens, M = o + 1) for
o = 10^2 ... 10^8 and 999,999,999; ``requests``, n = 10 ... 3,000 requests with
s ~ U{1..20}, o ~ U{1..200}, M = 1000 and Poisson arrivals that keep memory busy. Every
cell runs in a child process (``PYTHONPATH`` = the version's checkout) under a per-cell cap
(``--cap`` seconds, SIGALRM); after a cell hits the cap, larger cells of that function are
not run for that version. The "before" version is any checkout given by ``--before`` (the
issue's is commit f980af8, e.g. ``git worktree add ../optsched-before f980af8``); without it
only "after" is measured. Run::

    nice -n 10 python benchmarks/bench_scale.py --before ../optsched-before [--cap 10]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = ("best-spaced", "earliest-fit", "mcsf-fast", "engine-algorithm1", "engine-fcfs")
LENGTHS = (*(10**k for k in range(2, 9)), 999_999_999)  # M = o + 1 <= 10^9
SIZES = (10, 30, 100, 300, 1000, 3000)


class CellTimeout(Exception):
    """A cell ran past the cap."""


def _instance(sweep: str, x: int) -> Any:
    import numpy as np

    from optsched.model.instance import make_instance

    if sweep == "length":
        return make_instance(x + 1, [x, x])
    rng = np.random.default_rng([x, 26])
    s = rng.integers(1, 21, size=x)
    o = rng.integers(1, 201, size=x)
    rate = 0.9 * 1000 / float(np.mean(s * o + o * (o + 1) / 2))
    a = np.floor(np.cumsum(rng.exponential(1.0 / rate, size=x))).astype(np.int64)
    return make_instance(1000, o.tolist(), s.tolist(), a.tolist())


def _call(name: str, inst: Any) -> None:
    if name == "best-spaced":
        from optsched.exact.heuristics import best_spaced_schedule
        best_spaced_schedule(inst)
    elif name == "earliest-fit":
        from optsched.exact.incumbent import earliest_fit_schedule
        earliest_fit_schedule(inst)
    elif name == "mcsf-fast":
        from optsched.policies import mcsf_fast
        mcsf_fast(inst)
    else:
        from optsched.policies.engine import simulate
        from optsched.policies.run import make_policy
        simulate(inst, make_policy(name.removeprefix("engine-")))


def _on_alarm(signum: int, frame: Any) -> None:
    raise CellTimeout


def child(sweep: str, points: list[int], cap: float) -> None:
    """Measure every (function, point) cell in this process; one JSON line per cell."""
    signal.signal(signal.SIGALRM, _on_alarm)
    for name in FUNCTIONS:
        _call(name, _instance("requests", 10))  # imports and first-call costs out of the cells
        over = False
        for x in points:
            cell: dict[str, Any] = {"sweep": sweep, "x": x, "function": name}
            if over:
                cell["status"] = "skipped"
            else:
                cell.update(_measure(sweep, x, name, cap))
                over = cell["status"] == "cap"
            print(json.dumps(cell), flush=True)


def _measure(sweep: str, x: int, name: str, cap: float) -> dict[str, Any]:
    try:
        inst = _instance(sweep, x)
    except Exception as exc:  # the after version refuses sizes the validator cannot check
        return {"status": "refused", "detail": str(exc)[:120]}
    signal.setitimer(signal.ITIMER_REAL, cap)
    t0 = time.perf_counter()
    try:
        _call(name, inst)
        return {"status": "ok", "seconds": time.perf_counter() - t0}
    except CellTimeout:
        return {"status": "cap"}
    except MemoryError:
        return {"status": "memory"}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _run_version(root: Path, sweep: str, points: list[int], cap: float) -> dict:
    env = dict(os.environ, PYTHONPATH=str(root))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", sweep, "--cap", str(cap),
           "--points", ",".join(map(str, points))]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return {(c["function"], c["x"]): c for c in map(json.loads, out.stdout.splitlines())}


def _fmt(cell: dict | None, cap: float) -> str:
    if cell is None:
        return "-"
    status = cell["status"]
    if status == "ok":
        return f"{cell['seconds']:.4f}"
    return {"cap": f"> {cap:g}", "skipped": f"> {cap:g}*", "refused": "refused",
            "memory": "out of memory"}[status]


def _ratio(before: dict | None, after: dict | None, cap: float) -> str:
    if before is None or after is None or after["status"] != "ok":
        return ""
    a = max(after["seconds"], 1e-6)
    if before["status"] == "ok":
        return f"{before['seconds'] / a:,.1f}x"
    if before["status"] in ("cap", "skipped"):
        return f"> {cap / a:,.0f}x"
    return ""


def table(sweep: str, before: dict | None, after: dict, points: list[int], cap: float) -> str:
    label = "output length o" if sweep == "length" else "requests n"
    head = [f"| function | {label} | before (s) | after (s) | before / after |",
            "|---|---:|---:|---:|---:|"]
    rows = []
    for name in FUNCTIONS:
        for x in points:
            b = None if before is None else before.get((name, x))
            a = after.get((name, x))
            rows.append(f"| {name} | {x:,} | {_fmt(b, cap)} | {_fmt(a, cap)} | "
                        f"{_ratio(b, a, cap)} |")
    return "\n".join(head + rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", type=Path, default=None,
                    help="checkout of the version to compare with (e.g. commit f980af8)")
    ap.add_argument("--cap", type=float, default=10.0, help="seconds per cell (default 10)")
    ap.add_argument("--quick", action="store_true", help="small points only (a smoke run)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--points", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, [int(x) for x in args.points.split(",")], args.cap)
        return 0
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"machine load before the run: {load}")
    print(f"cap {args.cap:g} s per cell; '> cap*': not run after a smaller cell hit the cap\n")
    for sweep, points in (("length", LENGTHS[:2] if args.quick else LENGTHS),
                          ("requests", SIZES[:2] if args.quick else SIZES)):
        after = _run_version(ROOT, sweep, list(points), args.cap)
        before = (None if args.before is None
                  else _run_version(args.before.resolve(), sweep, list(points), args.cap))
        print(table(sweep, before, after, list(points), args.cap), "\n", flush=True)
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"machine load after the run: {load}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
