"""A column-generation LP bound (issue 17, design 2): requests grouped in blocks of one or two,
one column per memory-feasible joint schedule of a block, priced exactly by enumeration.

Master LP (models/column-generation.md): for each block b a convex combination of its
columns (joint start times of its requests, each within the start windows of
:func:`optsched.exact.formulation.start_windows`), minimising total completion time subject to
the memory rows sum(memory of the chosen columns at round t) <= M for every round t. With
blocks of one request this is exactly the LP relaxation of the time-indexed model
(docs/model.md#the-time-indexed-milp). With a block {i, j} its columns are only the pairs of
starts that fit *together*
(i and j never exceed M between them), so the master is at least as strong as the
time-indexed LP: every master solution maps to a time-indexed LP solution of the same value
(sum the pair's columns per start of i and per start of j), not conversely.

Pricing: with memory duals pi_t <= 0, a request's reduced cost at start p is
rc_i(p) = p + o_i - sum_g pi_{p+g} (s_i + g); a pair column's is rc_i(p_i) + rc_j(p_j) (memory is
additive), minimised over the pairs that fit together. Two requests active together hold the
most at the earlier completion, so (p_i, p_j) fits iff they share no round or
s_i + s_j + 2 min(c_i, c_j) - p_i - p_j <= M.

The bound reported is a *Lagrangian* bound, valid after every pricing round whether or not the
LP has converged: for any pi <= 0,
L(pi) = M sum_t pi_t + sum_b min over b's columns of (cost - pi . memory)
is at most the master LP optimum (relax the memory rows with multipliers -pi >= 0), which is
at most the integer optimum (each block's part of a feasible schedule is one of its columns).
The best L over the rounds, rounded up with a relative tolerance, is the bound; when no column
prices out, L equals the LP optimum.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from optsched.errors import SolverError
from optsched.exact.formulation import start_windows
from optsched.model.instance import Instance
from optsched.model.schedule import Schedule

#: A column prices out when its reduced cost is below this.
PRICE_EPS = 1e-7
#: Relative tolerance when rounding a floating-point Lagrangian bound up to an integer.
ROUND_TOL = 1e-9
#: Largest start grid (window_i x window_j) a pair block may have.
MAX_PAIR_GRID = 4_000_000


@dataclass
class ColgenBound:
    """What one column-generation run proved and how far it got."""

    bound: int  #: proven lower bound on the optimal total completion time
    lagrangian: float  #: best Lagrangian value (the bound before rounding up)
    lp_value: float  #: last restricted master LP value (the LP optimum when converged)
    converged: bool  #: no column priced out: lagrangian == LP optimum (up to tolerance)
    iterations: int
    columns: int
    blocks: list[tuple[int, ...]]
    runtime: float


def pair_blocks(instance: Instance, block_size: int = 2) -> list[tuple[int, ...]]:
    """Blocks of ``block_size`` (1 or 2) requests: largest peak s + o first, each paired with
    the next largest (large requests are the ones that cannot share memory)."""
    if block_size not in (1, 2):
        raise SolverError(f"block size must be 1 or 2, not {block_size}")
    order = sorted(range(instance.n), key=lambda i: (-int(instance.prompt[i]
                                                          + instance.output[i]), i))
    return [tuple(order[k:k + block_size]) for k in range(0, len(order), block_size)]


class _Pricer:
    """Reduced costs of every block's columns for given memory duals."""

    def __init__(self, instance: Instance, windows: list[tuple[int, int]],
                 blocks: list[tuple[int, ...]], horizon: int) -> None:
        self.s = instance.prompt.astype(np.int64)
        self.o = instance.output.astype(np.int64)
        self.m = instance.memory_limit
        self.windows = windows
        self.blocks = blocks
        self.horizon = horizon
        self.starts = [np.arange(lo, hi + 1, dtype=np.int64) for lo, hi in windows]
        self.fits: list[np.ndarray | None] = []
        for b in blocks:
            if len(b) == 1:
                self.fits.append(None)
                continue
            i, j = b
            pi, pj = self.starts[i][:, None], self.starts[j][None, :]
            if pi.size * pj.size > MAX_PAIR_GRID:
                raise SolverError(f"pair ({instance.ids[i]}, {instance.ids[j]}) has "
                                  f"{pi.size * pj.size:,} joint starts (limit {MAX_PAIR_GRID:,})")
            ci, cj = pi + self.o[i], pj + self.o[j]
            share = np.maximum(pi, pj) < np.minimum(ci, cj)
            peak = self.s[i] + self.s[j] + 2 * np.minimum(ci, cj) - pi - pj
            self.fits.append(~share | (peak <= self.m))

    def request_costs(self, i: int, pi: np.ndarray) -> np.ndarray:
        """rc_i(p) for every start p in i's window (``pi`` indexed by round, 0..horizon)."""
        ages = np.arange(1, self.o[i] + 1, dtype=np.int64)
        rounds = self.starts[i][:, None] + ages[None, :]
        costs: np.ndarray = self.starts[i] + self.o[i] - (
            pi[rounds] * (self.s[i] + ages)[None, :]).sum(1)
        return costs

    def best(self, k: int, pi: np.ndarray) -> tuple[float, tuple[int, ...]]:
        """Block ``k``'s cheapest column for duals ``pi``: (cost - pi . memory, its starts)."""
        b = self.blocks[k]
        costs = [self.request_costs(i, pi) for i in b]
        if len(b) == 1:
            x = int(np.argmin(costs[0]))
            return float(costs[0][x]), (int(self.starts[b[0]][x]),)
        fits = self.fits[k]
        assert fits is not None  # blocks of two always have their fit table
        grid = np.where(fits, costs[0][:, None] + costs[1][None, :], np.inf)
        xi, yi = (int(v) for v in np.unravel_index(int(np.argmin(grid)), grid.shape))
        return float(grid[xi, yi]), (int(self.starts[b[0]][xi]), int(self.starts[b[1]][yi]))

    def column(self, k: int, starts: tuple[int, ...]) -> tuple[float, np.ndarray, np.ndarray]:
        """(cost, memory-row indices, memory values) of block ``k`` at ``starts`` (row t-1
        holds round t)."""
        mem = np.zeros(self.horizon, dtype=np.float64)
        cost = 0.0
        for i, p in zip(self.blocks[k], starts, strict=True):
            mem[p:p + self.o[i]] += self.s[i] + np.arange(1, self.o[i] + 1)
            cost += p + self.o[i]
        idx = np.flatnonzero(mem)
        return cost, idx.astype(np.int32), mem[idx]


def colgen_bound(instance: Instance, incumbent: Schedule, *, block_size: int = 2,
                 time_limit: float | None = 60.0, max_iterations: int | None = None
                 ) -> ColgenBound:
    """The column-generation Lagrangian bound (module docstring) with start windows from the
    valid ``incumbent`` (its columns also start the master, so it is feasible at once).

    Stops when no column prices out (LP optimum reached), at ``time_limit`` seconds or after
    ``max_iterations`` pricing rounds; the bound is valid in every case."""
    import highspy

    from optsched.exact.backends import new_highs
    from optsched.model.validate import validate

    if getattr(instance, "memory_convention", "spec") != "spec":
        raise SolverError("the column-generation bound supports only the default memory "
                          f"convention ('spec'), not {instance.memory_convention!r}")
    if not validate(instance, incumbent).valid:
        raise SolverError("the column-generation bound needs a valid incumbent schedule")
    t0 = time.perf_counter()
    value = int(sum(incumbent.starts[r.id] + r.output_tokens for r in instance.requests))
    horizon, windows = start_windows(instance, value)
    blocks = pair_blocks(instance, block_size)
    pricer = _Pricer(instance, windows, blocks, horizon)
    m = float(instance.memory_limit)

    h = new_highs()
    inf = highspy.kHighsInf
    nb = len(blocks)
    for _ in range(nb):  # convexity rows 0..nb-1, then memory rows nb..nb+horizon-1
        h.addRow(1.0, 1.0, 0, np.array([], dtype=np.int32), np.array([]))
    for _ in range(horizon):
        h.addRow(-inf, m, 0, np.array([], dtype=np.int32), np.array([]))
    columns = 0

    def add(k: int, starts: tuple[int, ...]) -> None:
        nonlocal columns
        cost, idx, val = pricer.column(k, starts)
        rows = np.concatenate([[k], nb + idx]).astype(np.int32)
        h.addCol(cost, 0.0, inf, rows.size, rows, np.concatenate([[1.0], val]))
        columns += 1

    start = {r.id: incumbent.starts[r.id] for r in instance.requests}
    ids = instance.ids
    for k, b in enumerate(blocks):
        add(k, tuple(int(start[ids[i]]) for i in b))

    best_l, lp_value, converged, iterations = -math.inf, math.inf, False, 0
    pad = int(instance.output.max()) + 1
    while True:
        h.run()
        lp_value = h.getInfo().objective_function_value
        dual = np.array(h.getSolution().row_dual)
        mu = dual[:nb]
        pi = np.zeros(horizon + 1 + pad)
        pi[1:horizon + 1] = np.minimum(dual[nb:], 0.0)  # a valid multiplier must be <= 0
        priced = [pricer.best(k, pi) for k in range(nb)]
        lag = m * float(pi.sum()) + sum(c for c, _ in priced)
        best_l = max(best_l, lag)
        iterations += 1
        new = [(k, st) for k, (c, st) in enumerate(priced) if c - mu[k] < -PRICE_EPS]
        if not new:
            converged = True
            break
        if (time_limit is not None and time.perf_counter() - t0 >= time_limit) or (
                max_iterations is not None and iterations >= max_iterations):
            break
        for k, st in new:
            add(k, st)
    trivial = int(instance.arrival.sum() + instance.output.sum())
    bound = max(trivial, math.ceil(best_l - ROUND_TOL * max(1.0, abs(best_l))))
    if bound > value:
        raise SolverError(f"column-generation bound {bound} exceeds the incumbent's value "
                          f"{value}: the master or the pricing is wrong")
    return ColgenBound(bound, best_l, lp_value, converged, iterations, columns, blocks,
                       time.perf_counter() - t0)


def time_indexed_lp(instance: Instance, incumbent: Schedule) -> tuple[float, float]:
    """The LP relaxation of the time-indexed model with the same windows as
    :func:`colgen_bound` (HiGHS, solved to optimality): (LP value, seconds)."""
    from optsched.exact.backends import add_time_indexed, new_highs
    from optsched.exact.formulation import build_model

    value = int(sum(incumbent.starts[r.id] + r.output_tokens for r in instance.requests))
    t0 = time.perf_counter()
    h = new_highs()
    add_time_indexed(h, build_model(instance, value), integer=False)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    if status != "Optimal":
        raise SolverError(f"the time-indexed LP ended {status!r}, not optimal")
    return h.getInfo().objective_function_value, time.perf_counter() - t0
