"""Upper bounds: MC-SF with start spacing, a small search that finds staggered schedules.

MC-SF starts as many short requests as fit at once, so they grow together and peak together.
Spacing their starts can do much better: for 100 identical requests with s = 1, o = 19, M = 40
(all a = 0), MC-SF starts pairs (total completion time 48,450) while starting one request every
7 rounds keeps three in flight and totals 36,550. :func:`spaced_mcsf` is MC-SF with two knobs:
at most ``cap`` starts per round, and no start within ``spacing`` rounds of the previous one
while something is running. :func:`best_spaced_schedule` tries a small grid (which includes
plain MC-SF) and keeps the best validated schedule. These are incumbents only; nothing here
claims optimality.
"""

from __future__ import annotations

from collections.abc import Iterable

from optsched.control import Deadline
from optsched.model.instance import Instance, spec_equivalent
from optsched.model.profile import STEP_BELOW, earliest_start
from optsched.model.schedule import Schedule
from optsched.model.validate import validate
from optsched.policies.mcsf import fits_at_all_completions

#: (cap, spacing) pairs tried by :func:`best_spaced_schedule`; (None, 0) is plain MC-SF.
DEFAULT_GRID: tuple[tuple[int | None, int], ...] = tuple(
    (cap, d) for cap in (None, 1, 2) for d in (0, 1, 2, 3, 5, 7, 10))


def spaced_mcsf(instance: Instance, spacing: int = 0, cap: int | None = None,
                deadline: Deadline | None = None) -> Schedule:
    """MC-SF (docs/model.md) with at most ``cap`` starts per round and, while requests are
    running, no start within ``spacing`` rounds of the last start. spacing=0, cap=None is MC-SF
    with true lengths (same tie-breaking: length, then position).

    Event-driven: after a round that starts nothing, it jumps to the next round at which
    something can change (an arrival, a completion, the spacing gate opening, or the first
    round at which the shortest waiting request fits, found by
    :func:`optsched.model.profile.earliest_start`), so its cost follows the number of requests,
    not their lengths. When ``deadline`` expires, the requests not yet started run one after
    another once everything else is done (a valid, poorer schedule)."""
    instance = spec_equivalent(instance)
    if spacing < 0 or (cap is not None and cap < 1):
        raise ValueError("spacing must be >= 0 and cap >= 1 (or None)")
    run = _SpacedRun(instance, spacing, cap)
    while run.unstarted:
        if deadline is not None and deadline.expired():
            run.finish_serially()
            break
        run.step()
    return Schedule({rid: int(p) for rid, p in zip(instance.ids, run.start, strict=True)
                     if p is not None})


class _SpacedRun:
    """The state of one :func:`spaced_mcsf` run: starts so far, the round t, the last start."""

    def __init__(self, instance: Instance, spacing: int, cap: int | None) -> None:
        self.n, self.m = instance.n, instance.memory_limit
        self.a = [int(x) for x in instance.arrival]
        self.s = [int(x) for x in instance.prompt]
        self.o = [int(x) for x in instance.output]
        self.spacing, self.cap = spacing, cap
        self.start: list[int | None] = [None] * self.n
        self.unstarted = self.n
        self.t = 0
        self.last: int | None = None

    def step(self) -> None:
        """Decide round t as the round-by-round definition does, then move t on."""
        t, s, o = self.t, self.s, self.o
        running = [(p, s[i], o[i]) for i, p in enumerate(self.start)
                   if p is not None and p + o[i] > t]
        waiting = sorted((i for i in range(self.n) if self.start[i] is None and self.a[i] <= t),
                         key=lambda i: (o[i], i))
        if not running and not waiting:
            self.t = min(self.a[i] for i in range(self.n) if self.start[i] is None)
            return
        if self._gate_open(t, running) and self._admit(t, running, waiting):
            self.t = t + 1
            return
        self.t = self._next_change(t, running, waiting)

    def _gate_open(self, t: int, running: list[tuple[int, int, int]]) -> bool:
        return not running or self.last is None or t - self.last >= self.spacing

    def _admit(self, t: int, running: list[tuple[int, int, int]], waiting: list[int]) -> bool:
        """Start waiting requests in order while they fit (at most ``cap``); any started?"""
        batch, added = list(running), 0
        for i in waiting:
            if self.cap is not None and added >= self.cap:
                break
            cand = [*batch, (t, self.s[i], self.o[i])]
            if not fits_at_all_completions(cand, self.m):
                break
            batch, self.start[i], added, self.last = cand, t, added + 1, t
        self.unstarted -= added
        return added > 0

    def _next_change(self, t: int, running: list[tuple[int, int, int]],
                     waiting: list[int]) -> int:
        """The first round after t that can differ from t: nothing started at t, the running
        set is fixed until its next completion and the waiting set until the next arrival, so
        only the spacing gate and the head's fit can change in between."""
        events = [self.a[i] for i in range(self.n) if self.start[i] is None and self.a[i] > t]
        events += [p + o for p, _, o in running]
        hi = min(events)  # running or future arrivals exist: else the head would have started
        if not waiting:
            return hi
        if hi <= t + STEP_BELOW:
            return t + 1  # stepping a few rounds is cheaper than the breakpoint search
        lo = t + 1
        if running and self.last is not None:
            lo = max(lo, self.last + self.spacing)
        head = waiting[0]
        x = earliest_start([r[0] for r in running], [r[1] for r in running],
                           [r[0] + r[2] for r in running], self.s[head], self.o[head], self.m,
                           lo, hi)
        return hi if x is None else x

    def finish_serially(self) -> None:
        """Start every request not yet started alone, one after another, after all the others
        (each fits alone, s + o <= M): a valid schedule however little time is left."""
        end = max([p + self.o[i] for i, p in enumerate(self.start) if p is not None],
                  default=0)
        for i in sorted((i for i in range(self.n) if self.start[i] is None),
                        key=lambda i: (self.a[i], i)):
            p = max(end, self.a[i], self.t)
            self.start[i], end = p, p + self.o[i]
        self.unstarted = 0


def best_spaced_schedule(instance: Instance,
                         grid: Iterable[tuple[int | None, int]] = DEFAULT_GRID,
                         deadline: Deadline | None = None
                         ) -> tuple[Schedule, int, tuple[int | None, int]]:
    """The best validated schedule over ``grid``: (schedule, value, (cap, spacing)); ties go
    to the earlier grid point. When ``deadline`` expires it returns the best so far (the first
    grid point always completes, serially finished if need be, so there is one).

    The candidates are ranked by their total completion time, computed from the starts, and
    validated best first until one passes (the first, since every start passes the MC-SF
    check): one dense validation instead of one per grid point, whose cost grows with the
    schedule's length."""
    instance = spec_equivalent(instance)
    outputs = {r.id: r.output_tokens for r in instance.requests}
    cands: list[tuple[int, int, Schedule, tuple[int | None, int]]] = []
    for k, (cap, spacing) in enumerate(grid):
        if cands and deadline is not None and deadline.expired():
            break
        sched = spaced_mcsf(instance, spacing, cap, deadline)
        cands.append((sched.objective(outputs), k, sched, (cap, spacing)))
    for _, _, sched, choice in sorted(cands, key=lambda c: (c[0], c[1])):
        report = validate(instance, sched)
        if report.valid:  # always the first (every start passes the MC-SF check); be safe
            assert report.metrics is not None  # a valid report has metrics
            return sched, report.metrics.total_completion_time, choice
    raise ValueError("empty grid" if not cands else "no grid point gave a valid schedule")
