"""The pseudo-schedule Lagrangian bound: multipliers by stabilised column generation.

For any multipliers pi (one per request, any sign), relaxing "each request starts once" gives

    L(pi) = sum_j pi_j + min over pseudo-schedules P of sum_{(j,t) in P} (t + o_j - pi_j)

which is at most the optimum, because every schedule of value at most the incumbent's is a
pseudo-schedule whose reduced cost is its value minus sum pi (models/pseudo-schedule-bound.md).
A lower bound on the pricing minimum (the relaxed decision diagram) keeps L valid.

Multipliers come from a column-generation master (HiGHS): a convex combination of
pseudo-schedules starting each request once on average. Its columns come from the *restricted*
diagram (fast, a real pseudo-schedule, not always the cheapest), and the duals are smoothed
towards the best multipliers so far (Wentges). The bound itself is evaluated with the exact or
the relaxed program at the most promising multipliers. Every stage works against one
:class:`optsched.control.Deadline`; the best valid bound so far is returned when it expires.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optsched.control import Deadline
from optsched.errors import SolverError
from optsched.exact.pseudo.pricing import (
    PricingData,
    PricingResult,
    PricingStopped,
    price,
    reduced_cost,
)
from optsched.model.instance import Instance, spec_equivalent
from optsched.model.schedule import Schedule

#: How the bound's pricing is solved: exactly, or by the relaxed decision diagram.
BOUND_PRICINGS = ("exact", "relaxed")
#: Relative tolerance when rounding the Lagrangian value up to an integer.
ROUND_TOL = 1e-9
#: State budget of the exact column search in relaxed mode (beyond it, restricted columns).
EXACT_COLUMN_STATES = 300_000
#: A column enters the master when its reduced cost is below minus this.
PRICE_EPS = 1e-6


@dataclass
class PseudoBound:
    """What one run proved and how far it got."""

    bound: int  #: proven lower bound on the optimal total completion time
    lagrangian: float  #: best Lagrangian value L(pi) (before rounding up)
    lp_value: float  #: last restricted master LP value
    incumbent: int  #: value of the validated schedule the windows come from
    pricing: str  #: "exact" or "relaxed": how the bound's pricing was solved
    exact_evaluations: int  #: bound evaluations that used the exact program
    iterations: int
    columns: int
    #: "proven" (bound meets the incumbent), "converged" (exact pricing: LP optimum reached),
    #: "stalled" (restricted pricing found no new column), "deadline" or "iterations"
    stopped: str
    runtime: float
    repeat_limit: int | None = None
    duals: list[float] = field(default_factory=list)  #: multipliers of the best bound


@dataclass
class _Master:
    """The restricted master LP: coverage rows sum_q y_jq lambda_q = 1, one per request."""

    n: int
    highs: Any  # a highspy.Highs (no type stubs)
    columns: set[tuple[tuple[int, int], ...]] = field(default_factory=set)
    starts: list[tuple[tuple[int, int], ...]] = field(default_factory=list)

    def add(self, data: PricingData, starts: Sequence[tuple[int, int]]) -> bool:
        key = tuple(sorted(starts))
        if key in self.columns:
            return False
        self.columns.add(key)
        self.starts.append(key)
        counts = np.zeros(self.n, dtype=np.float64)
        for j, _ in starts:
            counts[j] += 1
        rows = np.flatnonzero(counts).astype(np.int32)
        cost = float(sum(t + data.o[j] for j, t in starts))
        self.highs.addCol(cost, 0.0, 1.0, rows.size, rows, counts[rows])
        return True

    def solve(self) -> tuple[float, np.ndarray]:
        self.highs.run()
        value = float(self.highs.getInfo().objective_function_value)
        duals = np.array(self.highs.getSolution().row_dual, dtype=float)
        return value, duals


def _new_master(n: int) -> _Master:
    from optsched.exact.backends import new_highs

    h = new_highs()
    for _ in range(n):
        h.addRow(1.0, 1.0, 0, np.array([], dtype=np.int32), np.array([]))
    return _Master(n, h)


def _schedule_columns(instance: Instance, schedules: Sequence[Schedule]
                      ) -> list[list[tuple[int, int]]]:
    return [[(k, int(sch.starts[r.id])) for k, r in enumerate(instance.requests)]
            for sch in schedules]


def _incumbents(instance: Instance, incumbent: Schedule | None) -> tuple[list[Schedule], int]:
    """Validated schedules to start the master with, and the best value among them."""
    from optsched.exact.heuristics import DEFAULT_GRID, best_spaced_schedule, spaced_mcsf
    from optsched.exact.incumbent import earliest_fit_schedule
    from optsched.model.validate import validate

    found = [earliest_fit_schedule(instance), best_spaced_schedule(instance)[0]]
    found += [spaced_mcsf(instance, spacing, cap) for cap, spacing in DEFAULT_GRID]
    if incumbent is not None:
        found.insert(0, incumbent)
    good, best = [], math.inf
    for sch in found:
        rep = validate(instance, sch)
        if rep.valid and rep.metrics is not None:
            good.append(sch)
            best = min(best, rep.metrics.total_completion_time)
    if not good:
        raise SolverError("the pseudo-schedule bound needs a valid incumbent schedule")
    return good, int(best)


class _Run:
    """State of one bound computation (multipliers, columns, best bound so far)."""

    def __init__(self, instance: Instance, data: PricingData, upper: int, trivial: int,
                 deadline: Deadline, pricing: str, width: int, repeat_limit: int | None) -> None:
        self.inst, self.data, self.upper, self.trivial = instance, data, upper, trivial
        self.deadline, self.pricing, self.width = deadline, pricing, width
        self.limit = repeat_limit
        self.tracked: set[int] = set()
        self.best_l = -math.inf
        self.best_pi: list[float] = []
        self.exact_evaluations = 0
        #: state budget of one exact column search (None: only the deadline stops it)
        self.max_states: int | None = None if pricing == "exact" else EXACT_COLUMN_STATES
        self.priced: dict[tuple[float, ...], float] = {}

    def proven(self) -> bool:
        return self.rounded() >= self.upper

    def rounded(self) -> int:
        if self.best_l == -math.inf:
            return self.trivial
        return max(self.trivial, math.ceil(self.best_l - ROUND_TOL * max(1.0, abs(self.best_l))))

    def column(self, pi: Sequence[float], deadline: Deadline,
               known: Sequence[Sequence[tuple[int, int]]] = ()) -> PricingResult:
        """A good pseudo-schedule for ``pi`` from the restricted diagram; its value is an upper
        estimate of the pricing minimum, never above the best of the ``known`` columns."""
        upper = min((reduced_cost(self.data, pi, c) for c in known), default=None)
        res = price(self.data, pi, mode="restricted", width=self.width, repeat_limit=self.limit,
                    tracked=sorted(self.tracked), deadline=deadline, upper=upper)
        if res.starts is not None and self.limit is not None:
            self._track(res.starts)
        return res

    def _track(self, starts: Sequence[tuple[int, int]]) -> None:
        """Requests a column repeats beyond the limit are tracked from now on (ng-style)."""
        assert self.limit is not None
        counts: dict[int, int] = {}
        for j, _ in starts:
            counts[j] = counts.get(j, 0) + 1
        self.tracked |= {j for j, c in counts.items() if c > self.limit}

    def evaluate(self, pi: Sequence[float], upper: float | None) -> float | None:
        """L(pi) with the bound's pricing (exact, or relaxed when exact did not finish); None
        when the deadline came first. The best value and its multipliers are kept."""
        key = tuple(round(float(x), 9) for x in pi)
        if key in self.priced:
            return self.priced[key]
        res = None
        if self.pricing == "exact":
            try:
                res = price(self.data, pi, repeat_limit=self.limit,
                            tracked=sorted(self.tracked), upper=upper,
                            deadline=self.deadline.share(0.7))
                self.exact_evaluations += 1
            except PricingStopped:
                res = None
        if res is None:
            try:
                res = price(self.data, pi, mode="relaxed", width=self.width,
                            repeat_limit=self.limit, tracked=sorted(self.tracked), upper=upper,
                            deadline=self.deadline)
            except PricingStopped:
                return None
        value = float(sum(pi)) + res.value
        self.priced[key] = value
        self.note(pi, value)
        return value

    def note(self, pi: Sequence[float] | np.ndarray, value: float) -> None:
        """Keep a proven Lagrangian value L(pi) if it is the best so far."""
        if value > self.best_l:
            self.best_l, self.best_pi = value, [float(x) for x in pi]


def pseudo_schedule_bound(instance: Instance, incumbent: Schedule | None = None, *,
                          deadline: Deadline | None = None, pricing: str = "relaxed",
                          width: int = 300, repeat_limit: int | None = None,
                          max_iterations: int | None = None, alpha: float = 0.5,
                          bound_every: int = 5, shrink: bool = True) -> PseudoBound:
    """The pseudo-schedule Lagrangian bound (module doc) on ``instance``.

    ``pricing``: "exact" evaluates L with the exact program (falling back to the relaxed one if
    the deadline stops it), "relaxed" with the relaxed diagram of ``width`` states per round.
    ``repeat_limit`` r: at most r starts of a tracked request per pseudo-schedule. The bound is
    evaluated every ``bound_every`` iterations and at the end; it is valid whenever it stops.
    ``shrink``: start windows from the incumbent and the completion caps (every schedule of
    value at most the incumbent's starts inside them); False keeps [a_j, horizon - o_j]."""
    if pricing not in BOUND_PRICINGS:
        raise SolverError(f"pricing must be one of {', '.join(BOUND_PRICINGS)}, not {pricing!r}")
    if not 0.0 <= alpha < 1.0:
        raise SolverError(f"smoothing alpha must be in [0, 1), not {alpha}")
    from optsched.exact.bounds import completion_caps
    from optsched.exact.formulation import start_windows, trivial_lower_bound

    t0 = time.perf_counter()
    deadline = deadline if deadline is not None else Deadline(None)
    inst = spec_equivalent(instance)
    schedules, upper = _incumbents(inst, incumbent)
    windows = start_windows(inst, upper, completion_caps(inst, upper))[1] if shrink else None
    data = PricingData.of(inst, windows)
    run = _Run(inst, data, upper, int(trivial_lower_bound(inst)), deadline, pricing, width,
               repeat_limit)
    master = _new_master(inst.n)
    for col in _schedule_columns(inst, schedules):
        master.add(data, col)
    best = min(schedules, key=lambda sch: sch.objective(dict(zip(inst.ids, data.o, strict=True))))
    start = np.array([best.starts[r.id] + r.output_tokens for r in inst.requests], dtype=float)
    stats = _column_generation(run, master, max_iterations, alpha, bound_every, start)
    if run.proven():
        stats["stopped"] = "proven"
    bound = run.rounded()
    if bound > upper:
        raise SolverError(f"pseudo-schedule bound {bound} exceeds the incumbent's value {upper}: "
                          "the pricing is wrong")
    return PseudoBound(bound, run.best_l, stats["lp"], upper, pricing, run.exact_evaluations,
                       stats["iterations"], len(master.columns), stats["stopped"],
                       time.perf_counter() - t0, repeat_limit, run.best_pi)


class _Smoother:
    """Wentges smoothing: price at alpha * center + (1 - alpha) * duals, where the center is
    the multiplier vector with the best estimated Lagrangian value so far."""

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha
        self.center: np.ndarray | None = None
        self.estimate = -math.inf

    def point(self, duals: np.ndarray) -> np.ndarray:
        if self.center is None or self.alpha == 0.0:
            return duals
        return self.alpha * self.center + (1 - self.alpha) * duals

    def update(self, pi: np.ndarray, estimate: float) -> None:
        if estimate > self.estimate:
            self.center, self.estimate = np.array(pi), estimate


def _entering(run: _Run, master: _Master, res: PricingResult, duals: np.ndarray) -> bool:
    """Add the priced pseudo-schedules (the best and its pool; relaxed paths are not real,
    only exact and restricted results come here) whose reduced cost at the duals is negative.
    True when at least one entered."""
    found = ([res.starts] if res.starts is not None else []) + res.pool
    added = False
    for starts in found:
        if reduced_cost(run.data, duals, starts) < -PRICE_EPS:
            added = master.add(run.data, starts) or added
    return added


def _price_round(run: _Run, master: _Master, smooth: _Smoother, duals: np.ndarray,
                 stage: Deadline) -> str:
    """One pricing round: the restricted diagram at the smoothed point, then the exact program
    at the master duals (only pseudo-schedules of negative reduced cost are searched for, and
    what it finds gives the exact L at the duals), then, if that ran out of states, the
    restricted diagram at the duals. Returns "column", "converged" or "stalled"."""
    sep = smooth.point(duals)
    if sep is not duals:
        res = run.column(list(sep), stage, master.starts)
        smooth.update(sep, float(sep.sum()) + res.value)
        if _entering(run, master, res, duals):
            return "column"
    try:
        res = price(run.data, list(duals), repeat_limit=run.limit, tracked=sorted(run.tracked),
                    upper=0.0, deadline=stage, max_states=run.max_states)
    except PricingStopped:
        if stage.expired():
            raise
        res = run.column(list(duals), stage, master.starts)
        smooth.update(duals, float(duals.sum()) + res.value)
        return "column" if _entering(run, master, res, duals) else "stalled"
    run.exact_evaluations += 1
    value = float(duals.sum()) + res.value
    run.note(duals, value)
    smooth.update(duals, value)
    if res.starts is not None and run.limit is not None:
        run._track(res.starts)
    return "column" if _entering(run, master, res, duals) else "converged"


def _column_generation(run: _Run, master: _Master, max_iterations: int | None, alpha: float,
                       bound_every: int, start: np.ndarray | None = None) -> dict:
    """Wentges-smoothed column generation; returns the last LP value, the iteration count and
    why it stopped. The bound is evaluated along the way and at the end."""
    lp, it, stopped = math.inf, 0, "iterations"
    smooth = _Smoother(alpha)
    stage = run.deadline.share(0.6)  # the rest is for the final bound evaluations
    duals = np.zeros(master.n)
    if start is not None:  # the incumbent's completion times: a good first center
        try:
            res = run.column(list(start), stage, master.starts)
            smooth.update(start, float(start.sum()) + res.value)
            _entering(run, master, res, start)
        except PricingStopped:
            pass
    while (max_iterations is None or it < max_iterations) and not run.proven():
        if stage.expired():
            stopped = "deadline"
            break
        lp, duals = master.solve()
        it += 1
        try:
            outcome = _price_round(run, master, smooth, duals, stage)
            if outcome != "column":
                stopped = outcome
                break
        except PricingStopped:
            stopped = "deadline"
            break
        if it % bound_every == 0 and smooth.center is not None:
            run.evaluate(list(smooth.center), None)
    for pi in ([] if smooth.center is None else [smooth.center]) + [duals]:
        if not run.proven():
            run.evaluate(list(pi), None)
    return {"lp": lp, "iterations": it, "stopped": stopped}
