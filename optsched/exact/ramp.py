"""The ramp-cumulative model on CP-SAT: one start variable per request, memory as a cumulative.

A request started at p holds s + g tokens at age g = 1..o (round p + g). That staircase is the
sum of o rectangles that all end with the request: one of height s + 1 over rounds p+1..p+o and,
for h = 1..o-1, one of height 1 over rounds p+1+h..p+o. A single cumulative constraint of
capacity M over all rectangles is therefore exactly the memory constraint of docs/model.md, with n
integer variables instead of n x T binaries (models/ramp_cumulative.md has the full statement).

Redundant constraints, each valid for every feasible schedule (proofs in the same page):

* conflict cliques: two requests i, j with s_i + o_i + s_j + 1 > M and s_j + o_j + s_i + 1 > M
  can never be active in the same round, so a clique of such requests is a no-overlap set;
* identical requests (same arrival, prompt and output) start in index order (swapping two of
  them maps a schedule to one with the same memory profile and value);
* lag disjunctions: two requests with peaks s + o above M / 2 complete at least
  lag_ij = min(o_j, P_i + P_j - M) rounds apart, whichever completes first
  (:func:`optsched.exact.bounds.lag_matrix`). Measured: 12 of 20 small instances proven in 20 s with
  one worker against 8 without them (benchmarks/bench_ramp_rows.py).

Measured against the time-indexed model in docs/exact-performance.md.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from optsched.errors import SolverError
from optsched.exact.backends import (
    BackendOutcome,
    SolveParameters,
    new_cpsat_solver,
    run_cpsat,
)
from optsched.exact.bounds import lag_matrix, large_peak_requests
from optsched.exact.formulation import start_windows
from optsched.model.instance import Instance, spec_equivalent
from optsched.model.schedule import Schedule

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

#: Refuse models with more rectangles than this (sum of output lengths).
MAX_RECTANGLES = 400_000


@dataclass(frozen=True)
class RampModel:
    """Start windows plus the redundant structure the CP-SAT model adds."""

    instance: Instance
    horizon: int
    windows: list[tuple[int, int]]
    cliques: list[list[int]]
    identical: list[list[int]]
    #: (i, j, lag_ij, lag_ji): c_j >= c_i + lag_ij or c_i >= c_j + lag_ji
    lag_pairs: list[tuple[int, int, int, int]]

    def size(self) -> dict[str, int]:
        return {"variables": self.instance.n, "rectangles": int(self.instance.output.sum()),
                "no_overlap_cliques": len(self.cliques), "lag_pairs": len(self.lag_pairs),
                "horizon": self.horizon}


def never_together(instance: Instance, i: int, j: int) -> bool:
    """True when requests i and j can never be active in the same round.

    If they share a round, both are active at the earlier completion, say c_i, where i holds
    s_i + o_i and j at least s_j + 1.
    """
    s, o, m = instance.prompt, instance.output, instance.memory_limit
    return bool(s[i] + o[i] + s[j] + 1 > m and s[j] + o[j] + s[i] + 1 > m)


def conflict_cliques(instance: Instance) -> list[list[int]]:
    """A greedy cover of the never-together pairs by cliques of size >= 2 (largest peak first)."""
    n = instance.n
    peak = instance.prompt + instance.output
    order = sorted(range(n), key=lambda i: (-int(peak[i]), i))
    rank = {i: r for r, i in enumerate(order)}
    uncovered = {(i, j) for a, i in enumerate(order) for j in order[a + 1:]
                 if never_together(instance, i, j)}
    cliques: list[list[int]] = []
    while uncovered:
        i, j = min(uncovered, key=lambda e: (rank[e[0]], rank[e[1]]))
        clique = [i, j]
        for k in order:
            if k not in clique and all(never_together(instance, k, q) for q in clique):
                clique.append(k)
        cliques.append(sorted(clique))
        uncovered -= {(a, b) for a in clique for b in clique}
    return cliques


def identical_groups(instance: Instance) -> list[list[int]]:
    """Requests with equal (arrival, prompt, output), in index order, groups of size >= 2."""
    groups: dict[tuple[int, int, int], list[int]] = {}
    for i in range(instance.n):
        key = (int(instance.arrival[i]), int(instance.prompt[i]), int(instance.output[i]))
        groups.setdefault(key, []).append(i)
    return [g for g in groups.values() if len(g) > 1]


def lag_pairs(instance: Instance) -> list[tuple[int, int, int, int]]:
    """Pairs of :func:`~optsched.exact.bounds.large_peak_requests` and their lags both ways (all
    positive)."""
    large = large_peak_requests(instance)
    lag = lag_matrix(instance, large)
    return [(int(large[x]), int(large[y]), int(lag[x, y]), int(lag[y, x]))
            for x, y in itertools.combinations(range(large.size), 2)]


def build_ramp_model(instance: Instance, incumbent_value: int | None = None, *,
                     with_lags: bool = True, caps: np.ndarray | None = None) -> RampModel:
    """The model's data; windows as in the time-indexed model (same proofs). ``with_lags=False``
    leaves out the lag disjunctions (for benchmarks/bench_ramp_rows.py). A non-SPEC instance is
    modelled as its SPEC equivalent (optsched.model.conventions)."""
    instance = spec_equivalent(instance)
    if int(instance.output.sum()) > MAX_RECTANGLES:
        raise SolverError(f"the ramp-cumulative model would have {int(instance.output.sum()):,} "
                          f"rectangles (limit {MAX_RECTANGLES:,}); too large for exact solving")
    horizon, windows = start_windows(instance, incumbent_value, caps)
    return RampModel(instance, horizon, windows, conflict_cliques(instance),
                     identical_groups(instance), lag_pairs(instance) if with_lags else [])


def staircase_rectangles(cp: cp_model.CpModel, start: cp_model.LinearExprT, prompt: int,
                         output: int) -> tuple[list[cp_model.IntervalVar], list[int]]:
    """The ``output`` CP-SAT intervals (with their heights) whose sum is a request's usage
    prompt + g at age g = 1..output when it starts at ``start`` (a variable or an expression):
    height prompt + 1 over rounds start+1..start+output, then height 1 from each later round on
    (module docstring)."""
    intervals = [cp.new_fixed_size_interval_var(start + 1 + h, output - h, "")
                 for h in range(output)]
    return intervals, [prompt + 1] + [1] * (output - 1)


def _add_hint(cp: Any, model: RampModel, p: list[Any], order_vars: list[tuple[int, int, Any]],
              hint: Schedule) -> None:
    """A complete CP-SAT hint from a schedule: every start (reordered within groups of
    identical requests, to respect the symmetry order) and who completes first in each
    ordered pair."""
    o = model.instance.output
    starts = [int(hint.starts[rid]) for rid in model.instance.ids]
    for group in model.identical:
        for i, v in zip(group, sorted(starts[i] for i in group), strict=True):
            starts[i] = v
    for i, v in enumerate(starts):
        cp.add_hint(p[i], v)
    for i, j, i_first in order_vars:
        cp.add_hint(i_first, starts[i] + int(o[i]) <= starts[j] + int(o[j]))


def solve_ramp_cpsat(model: RampModel, params: SolveParameters,
                     hint: Schedule | None, *, objective_cut: int | None = None,
                     configure: Callable[[Any], None] | None = None) -> BackendOutcome:
    """Build the CP-SAT model, solve it, and return the raw outcome with its schedule.

    ``objective_cut`` (a proven lower bound) is posted as the row objective >= cut, and
    ``configure`` may change the solver's parameters before the solve (both used by
    :mod:`optsched.exact.layered`)."""
    import ortools
    from ortools.sat.python import cp_model

    inst = model.instance
    s, o = inst.prompt, inst.output
    cp = cp_model.CpModel()
    p = [cp.new_int_var(lo, hi, f"p_{i}") for i, (lo, hi) in enumerate(model.windows)]
    rects, heights = [], []
    for i in range(inst.n):
        r, h = staircase_rectangles(cp, p[i], int(s[i]), int(o[i]))
        rects += r
        heights += h
    cp.add_cumulative(rects, heights, inst.memory_limit)
    for clique in model.cliques:
        cp.add_no_overlap([cp.new_fixed_size_interval_var(p[i] + 1, int(o[i]), f"life_{i}")
                           for i in clique])
    for group in model.identical:
        for i, j in itertools.pairwise(group):
            cp.add(p[i] <= p[j])
    order_vars = []
    for i, j, lag_ij, lag_ji in model.lag_pairs:
        i_first = cp.new_bool_var(f"first_{i}_{j}")
        order_vars.append((i, j, i_first))
        cp.add(p[j] + int(o[j]) >= p[i] + int(o[i]) + lag_ij).only_enforce_if(i_first)
        cp.add(p[i] + int(o[i]) >= p[j] + int(o[j]) + lag_ji).only_enforce_if(~i_first)
    cp.minimize(sum(p) + int(o.sum()))
    if objective_cut is not None:
        cp.add(sum(p) + int(o.sum()) >= int(objective_cut))
    if hint is not None:
        _add_hint(cp, model, p, order_vars, hint)

    solver = new_cpsat_solver(params)
    if configure is not None:
        configure(solver.parameters)
    t0 = time.perf_counter()
    status = run_cpsat(solver, cp, params, "CP-SAT, cumulative model")
    runtime = time.perf_counter() - t0
    has_sol = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    schedule = (Schedule({rid: int(solver.value(p[i])) for i, rid in enumerate(inst.ids)})
                if has_sol else None)
    bound = solver.best_objective_bound if status != cp_model.INFEASIBLE else None
    if bound is not None and status == cp_model.UNKNOWN and abs(bound) == float("inf"):
        bound = None
    return BackendOutcome(solver.status_name(status), status == cp_model.OPTIMAL,
                          status == cp_model.INFEASIBLE, None, bound,
                          f"ortools {ortools.__version__}",  # type: ignore[attr-defined]
                          runtime, schedule)
