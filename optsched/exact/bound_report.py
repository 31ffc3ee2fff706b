"""Every lower-bound family on one instance, side by side (the ``bound`` command's content).

Each row is a bound's value, its gap to the best schedule a quick heuristic finds (validated)
and its time, so what is proven in seconds can be seen without a full solve. The instance is
taken in the model's own convention (``spec_equivalent``), as every bound works there.
"""

from __future__ import annotations

import math
import time
from typing import Any

from optsched.control import Deadline
from optsched.errors import OptschedError, SolverError
from optsched.model.instance import Instance, spec_equivalent
from optsched.model.schedule import Schedule
from optsched.model.validate import validate

#: How the pseudo-schedule bound may price; ``both`` gives one row for each.
PRICINGS = ("relaxed", "exact", "both")


def _row(name: str, value: float | None, best: int, seconds: float, note: str = ""
         ) -> dict[str, Any]:
    gap = None if value is None else (best - value) / best if best else 0.0
    return {"bound": name, "value": value, "gap": gap, "seconds": round(seconds, 3),
            "note": note}


def _lp_row(inst: Instance, incumbent: Schedule, best: int) -> dict[str, Any]:
    from optsched.exact.colgen import time_indexed_lp

    t0 = time.perf_counter()
    try:
        value, _ = time_indexed_lp(inst, incumbent)
    except SolverError as exc:
        return _row("time-indexed LP", None, best, time.perf_counter() - t0, f"skipped: {exc}")
    return _row("time-indexed LP", value, best, time.perf_counter() - t0, "LP value")


def _pseudo_rows(inst: Instance, incumbent: Schedule, best: int, time_limit: float,
                 pricing: str, width: int, repeat_limit: int | None) -> list[dict[str, Any]]:
    from optsched.exact.pseudo.bound import pseudo_schedule_bound

    kinds = ("relaxed", "exact") if pricing == "both" else (pricing,)
    rows = []
    for kind in kinds:
        b = pseudo_schedule_bound(inst, incumbent, deadline=Deadline(time_limit),
                                  pricing=kind, width=width, repeat_limit=repeat_limit)
        label = f"pseudo-schedule ({kind}" + (f", r={repeat_limit})" if repeat_limit else ")")
        rows.append(_row(label, b.bound, best, b.runtime,
                         f"{b.stopped}, {b.iterations} rounds, {b.columns} columns"))
    return rows


def bound_report(instance: Instance, *, time_limit: float = 30.0, pricing: str = "relaxed",
                 width: int = 300, repeat_limit: int | None = None, lp: bool = True
                 ) -> dict[str, Any]:
    """The bounds of ``instance`` with their gaps and times, the best schedule found and the
    best proven bound; ``optimal`` only when that bound meets the validated schedule's value.
    ``time_limit`` holds for each pseudo-schedule bound."""
    from optsched.exact.bounds import lower_bound
    from optsched.exact.solve import best_incumbent

    if pricing not in PRICINGS:
        raise OptschedError(f"pricing must be one of {', '.join(PRICINGS)}, not {pricing!r}")
    inst = spec_equivalent(instance)
    incumbent = best_incumbent(inst)
    report = validate(inst, incumbent)
    if not report.valid or report.metrics is None:  # cannot happen: heuristics are validated
        raise OptschedError("the heuristic schedule failed validation")
    best = report.metrics.total_completion_time
    t0 = time.perf_counter()
    comb = lower_bound(inst)
    rows = [_row("combinatorial", comb.value, best, time.perf_counter() - t0,
                 "optsched.exact.bounds.lower_bound")]
    if lp:
        rows.append(_lp_row(inst, incumbent, best))
    rows += _pseudo_rows(inst, incumbent, best, time_limit, pricing, width, repeat_limit)
    proven = max(math.ceil(r["value"] - 1e-6) for r in rows if r["value"] is not None)
    return {"n": inst.n, "memory_limit": inst.memory_limit, "best_schedule": best,
            "best_bound": proven, "optimal": proven >= best, "bounds": rows}
