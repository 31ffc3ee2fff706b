"""How fast Ctrl-C ends ``optsched solve``, per method: SIGINT to a running 60 s solve.

For every method (and solver) one ``optsched solve INSTANCE --time-limit 60 --json --log`` is
started; once its log shows that the main stage has begun (the bound stage is over) and one
more second has passed, SIGINT is sent and the time to exit is measured. The table shows the
exit status (130 expected), that time, the status and gap reported and whether the printed
schedule passed the validator. The instance is Model 1 of arXiv 2502.07115 with 20 requests
(seed 0), which no method proves within a minute.

    nice -n 10 python benchmarks/bench_interrupt.py            # every method on CP-SAT + HiGHS
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from optsched.data.generators import jaillet_model1
from optsched.model.instance import save_instance

RUNS = [("cpsat", m) for m in ("auto", "portfolio", "time-indexed", "epoch", "cumulative",
                               "lns", "layered", "bnb")] + [("highs", "epoch"), ("cbc", "epoch")]


def stop_one(path: Path, solver: str, method: str, log: Path) -> dict:
    """Start one solve, interrupt it once its main stage runs, and measure the exit."""
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "optsched", "solve", str(path), "--solver", solver,
             "--method", method, "--time-limit", "60", "--json", "--log"],
            stdout=subprocess.PIPE, stderr=err, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        end = time.monotonic() + 60
        while time.monotonic() < end and "bounds" not in log.read_text(errors="replace"):
            time.sleep(0.1)
        time.sleep(1.0)
        running = proc.poll() is None
        proc.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        out, _ = proc.communicate(timeout=120)
        took = time.monotonic() - t0
    res = json.loads(out) if out.strip() else {}
    return {"run": f"{solver}:{method}", "running": running, "exit": proc.returncode,
            "seconds": took, "status": res.get("status"), "gap": res.get("gap"),
            "valid": (res.get("validation") or {}).get("valid")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default=None,
                    help="comma-separated SOLVER:METHOD (default: all in RUNS)")
    args = ap.parse_args()
    runs = RUNS if args.runs is None else [tuple(r.split(":")) for r in args.runs.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m1-n20.json"
        save_instance(jaillet_model1(0, n_range=(20, 20)), path)
        print(f"load: {os.getloadavg()[0]:.2f} (1-minute average at the start)")
        print(f"{'run':<20}{'running':>8}{'exit':>6}{'stop (s)':>10}  {'status':<9}"
              f"{'gap':>8}  valid")
        for solver, method in runs:
            r = stop_one(path, solver, method, Path(tmp) / "err.txt")
            gap = "-" if r["gap"] is None else f"{r['gap']:.2%}"
            print(f"{r['run']:<20}{r['running']!s:>8}{r['exit']:>6}{r['seconds']:>10.2f}  "
                  f"{r['status']!s:<9}{gap:>8}  {r['valid']}", flush=True)


if __name__ == "__main__":
    main()
