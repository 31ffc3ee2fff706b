"""The time-indexed MILP (docs/model.md#the-time-indexed-milp), built once in a solver-neutral
form.

Variables x_{i,t} (binary) = 1 iff request i starts at t, for t in its start window W_i.

    min   sum_i sum_{t in W_i} (t + o_i) x_{i,t}
    s.t.  sum_{t in W_i} x_{i,t} = 1                                          (assignment)
          sum_i sum_{k in W_i, t-o_i <= k <= t-1} (s_i + t - k) x_{i,k} <= M  (memory at t)

Start windows W_i = [a_i, min(T - o_i, a_i + UB - LB0)] where
  * T = max_j a_j + sum_j o_j (after the last arrival an optimal schedule never leaves a round
    with nothing running; see models/time_indexed.md for the exchange argument), and
  * UB is the value of a validated incumbent, LB0 = sum_j (a_j + o_j): every c_j >= a_j + o_j, so
    a schedule of value <= UB has c_i <= UB - sum_{j != i}(a_j + o_j), i.e. p_i <= a_i + UB - LB0.
  * optionally (0.5) c_i <= cap_i = UB - LB(all requests but i) from
    :func:`optsched.exact.bounds.completion_caps`, i.e. p_i <= cap_i - o_i.
All keep at least one optimal schedule, so the optimum is unchanged. A memory row whose
left-hand side cannot exceed M for any choice is dropped (it is implied).

Under a non-SPEC memory convention the model is built for
:func:`optsched.model.instance.spec_equivalent` (s_i and o_i replaced by the held prompt and the
held rounds; models/time_indexed.md writes the rows out per convention).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optsched.errors import SolverError
from optsched.model.instance import Instance, spec_equivalent
from optsched.model.schedule import Schedule

#: Refuse to build models with more nonzeros than this (the solvers would not cope anyway).
MAX_NONZEROS = 30_000_000


@dataclass(frozen=True)
class MemoryRow:
    """sum(coef * x[var]) <= M at time ``time``."""

    time: int
    vars: np.ndarray
    coefs: np.ndarray


@dataclass(frozen=True)
class TimeIndexedModel:
    """Solver-neutral time-indexed model; backends translate it one to one."""

    instance: Instance
    horizon: int
    windows: list[tuple[int, int]]
    var_request: np.ndarray  # request index of each variable
    var_start: np.ndarray  # start time of each variable
    cost: np.ndarray  # t + o_i
    request_vars: list[np.ndarray]  # variable indices of each request (assignment rows)
    rows: list[MemoryRow]
    incumbent_value: int | None

    @property
    def num_vars(self) -> int:
        return int(self.var_request.size)

    @property
    def num_nonzeros(self) -> int:
        return int(sum(r.vars.size for r in self.rows)) + self.num_vars

    def size(self) -> dict[str, int]:
        return {"variables": self.num_vars, "memory_rows": len(self.rows),
                "assignment_rows": self.instance.n, "nonzeros": self.num_nonzeros,
                "horizon": self.horizon}

    def var_name(self, v: int) -> str:
        return f"x_{int(self.var_request[v])}_{int(self.var_start[v])}"

    def schedule_from_values(self, values: np.ndarray) -> Schedule:
        """Read a 0/1 solution vector (rounded) back into start times."""
        starts: dict[str, int] = {}
        for i, idx in enumerate(self.request_vars):
            chosen = idx[np.asarray(values)[idx] > 0.5]
            if chosen.size != 1:
                raise SolverError(f"solver solution gives request {self.instance.ids[i]!r} "
                                  f"{chosen.size} start times")
            starts[self.instance.ids[i]] = int(self.var_start[chosen[0]])
        return Schedule(starts)

    def values_from_schedule(self, schedule: Schedule) -> np.ndarray | None:
        """0/1 vector of a schedule, or None when a start lies outside its window."""
        values = np.zeros(self.num_vars)
        for i, idx in enumerate(self.request_vars):
            p = schedule.starts[self.instance.ids[i]]
            hit = idx[self.var_start[idx] == p]
            if hit.size != 1:
                return None
            values[hit[0]] = 1.0
        return values


def trivial_lower_bound(instance: Instance) -> int:
    """LB0 = sum_i (a_i + o_i): no request completes before it has arrived and run (held rounds
    instead of o_i under another memory convention)."""
    instance = spec_equivalent(instance)
    return int(instance.arrival.sum() + instance.output.sum())


def start_windows(instance: Instance, incumbent_value: int | None,
                  caps: np.ndarray | None = None) -> tuple[int, list[tuple[int, int]]]:
    """The horizon T and the window [earliest, latest] start of each request (module doc);
    ``caps`` (completion caps valid for schedules of value <= ``incumbent_value``) shrink the
    windows further."""
    instance = spec_equivalent(instance)
    a, o = instance.arrival, instance.output
    horizon = instance.horizon
    slack = None if incumbent_value is None else incumbent_value - trivial_lower_bound(instance)
    windows = []
    for i in range(instance.n):
        latest = horizon - int(o[i])
        if slack is not None:
            latest = min(latest, int(a[i]) + slack)
        if caps is not None:
            latest = min(latest, int(caps[i]) - int(o[i]))
        if latest < a[i]:
            raise SolverError(f"request {instance.ids[i]}: its start window is empty (cap "
                              f"{latest + int(o[i])} < a + o); the incumbent or the caps are wrong")
        windows.append((int(a[i]), latest))
    return horizon, windows


def build_model(instance: Instance, incumbent_value: int | None = None,
                caps: np.ndarray | None = None) -> TimeIndexedModel:
    """Build the time-indexed model, windows shrunk by ``incumbent_value`` (and ``caps``, see
    :func:`start_windows`) if given. A non-SPEC instance is built as its SPEC equivalent."""
    instance = spec_equivalent(instance)
    horizon, windows = start_windows(instance, incumbent_value, caps)
    s, o, m = instance.prompt, instance.output, instance.memory_limit
    nnz = sum((hi - lo + 1) * (int(o[i]) + 1) for i, (lo, hi) in enumerate(windows))
    if nnz > MAX_NONZEROS:
        raise SolverError(f"the time-indexed model would have about {nnz:,} nonzeros (limit "
                          f"{MAX_NONZEROS:,}); this instance is too large for exact solving")
    var_request, var_start, request_vars = [], [], []
    count = 0
    for i, (lo, hi) in enumerate(windows):
        ts = np.arange(lo, hi + 1, dtype=np.int64)
        var_request.append(np.full(ts.size, i, dtype=np.int64))
        var_start.append(ts)
        request_vars.append(np.arange(count, count + ts.size, dtype=np.int64))
        count += ts.size
    vr = np.concatenate(var_request)
    vs = np.concatenate(var_start)
    cost = vs + o[vr]
    # Memory rows: variable (i, k) contributes s_i + (t - k) to every row t in [k+1, k+o_i].
    lens = o[vr]
    total = int(lens.sum())
    rep_var = np.repeat(np.arange(count, dtype=np.int64), lens)
    step = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lens) - lens, lens) + 1
    row_t = vs[rep_var] + step
    coef = s[vr][rep_var] + step
    order = np.argsort(row_t, kind="stable")
    row_t, rep_var, coef = row_t[order], rep_var[order], coef[order]
    times, first = np.unique(row_t, return_index=True)
    bounds = np.append(first, row_t.size)
    rows = []
    for j, t in enumerate(times):
        sl = slice(bounds[j], bounds[j + 1])
        vars_, coefs = rep_var[sl], coef[sl]
        # Implied row: even taking each request's largest coefficient it cannot exceed M.
        worst = np.zeros(instance.n, dtype=np.int64)
        np.maximum.at(worst, vr[vars_], coefs)
        if worst.sum() <= m:
            continue
        rows.append(MemoryRow(int(t), vars_, coefs))
    return TimeIndexedModel(instance, horizon, windows, vr, vs, cost, request_vars, rows,
                            incumbent_value)
