"""A slow CP-SAT pricing over pseudo-schedules, kept only as a reference for the tests.

Integer start counts y[j, t] (t in j's window), sum y = n, and the memory row of every round:
sum over (j, t) with t < u <= t + o_j of (s_j + u - t) y[j, t] <= M. The objective
sum (t + o_j - pi_j) y[j, t] needs integer multipliers (CP-SAT has integer coefficients), which
is all the tests use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from optsched.errors import SolverError
from optsched.exact.pseudo.pricing import PricingData


def cpsat_pricing(data: PricingData, duals: Sequence[int], repeat_limit: int | None = None,
                  time_limit: float = 60.0) -> tuple[int, list[tuple[int, int]]]:
    """Proven optimum of the pricing problem and one optimal pseudo-schedule."""
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    cap = data.n if repeat_limit is None else min(data.n, repeat_limit)
    y = {(j, t): model.new_int_var(0, cap, f"y{j}_{t}")
         for j, (lo, hi) in enumerate(data.windows) for t in range(lo, hi + 1)}
    model.add(sum(y.values()) == data.n)
    if repeat_limit is not None:
        for j in range(data.n):
            model.add(sum(v for (i, _), v in y.items() if i == j) <= repeat_limit)
    rows: dict[int, list[tuple[int, Any]]] = {}
    for (j, t), v in y.items():
        for g in range(1, data.o[j] + 1):
            rows.setdefault(t + g, []).append((data.s[j] + g, v))
    for terms in rows.values():
        model.add(sum(c * v for c, v in terms) <= data.m)
    model.minimize(sum((t + data.o[j] - int(duals[j])) * v for (j, t), v in y.items()))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = 1
    status = solver.solve(model)
    if status != cp_model.OPTIMAL:
        raise SolverError(f"reference pricing ended {solver.status_name(status)}, not optimal")
    starts = [(j, t) for (j, t), v in y.items() for _ in range(solver.value(v))]
    return int(round(solver.objective_value)), starts
