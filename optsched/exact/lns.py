"""Large-neighbourhood search (LNS): better schedules by re-solving small windows exactly.

At the papers' size the lower bounds are far from the schedules, so nothing is proven there
(docs/exact-performance.md); what a user still needs is the best schedule that can be had in the
time given, because it is the upper end of every ratio interval. Whole-instance CP-SAT models
improve schedules slowly at that size (the time-indexed one needed 600 s to gain 4% over the
heuristic incumbents on Model 1 seed 0). LNS works on small pieces instead:

1. pick a time ``anchor`` and free the ``k`` requests whose starts lie nearest to it;
2. keep every other request where it is; its memory is a fixed background profile;
3. re-place the freed requests with CP-SAT (one start variable each, memory as a cumulative of
   rectangles as in :mod:`optsched.exact.ramp`, capacity M over the background), minimising the
   sum of their starts, with the current starts as a complete hint;
4. keep the new schedule when its value is lower, then move every request to its earliest
   feasible start within ``2 max_o`` rounds before its own (a left shift, in start order: the
   memory a move frees can pull later requests forward, which one window cannot see).

The freed requests may start anywhere in ``[max(a_i, lo - max_o), hi]`` where ``lo`` and ``hi``
are the earliest and latest current start among them; the background is modelled over every
round those starts can touch, so each accepted move is feasible for the whole instance. The
memory profile is rechecked after every accepted move and the final schedule goes through
:func:`optsched.model.validate.validate`. Nothing here proves optimality: the result is an upper
bound only.

Reproducibility: each sub-solve is limited by CP-SAT's *deterministic* time, and several
workers run in synchronous *rounds*: each improves its own copy of the same best schedule by
:data:`ROUND_SUB_SOLVES` sub-solves, and when all are back their results are merged in a fixed
order (:meth:`_Search.merge`). So a
run with ``iterations`` set and ``time_limit=None`` gives the same schedule every time and on
any machine, for a given number of workers (one worker and two follow different sequences); a
wall time limit only decides where that sequence of rounds stops (the last round may be cut
short).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from optsched.control import Deadline
from optsched.errors import SolverError
from optsched.exact.backends import run_stoppable
from optsched.exact.ramp import staircase_rectangles
from optsched.model.instance import Instance, spec_equivalent
from optsched.model.schedule import Schedule
from optsched.model.validate import validate

if TYPE_CHECKING:
    from optsched.progress import Progress

#: Neighbourhood sizes tried (one drawn per iteration).
DEFAULT_SIZES: tuple[int, ...] = (8, 12, 16, 24)
#: CP-SAT deterministic time per sub-solve (about 0.2-0.4 s of wall time on the papers'
#: instances here; 0.1 took about 0.75 s and found less in a minute).
DEFAULT_SUB_LIMIT = 0.04
#: Iterations when neither a time limit nor an iteration count is given.
DEFAULT_ITERATIONS = 300
#: Sub-solves per worker per round when several workers run: each worker improves its own copy
#: of the best schedule that often before the round's merge (1 made the workers wait for each
#: other after every sub-solve: 14-25% fewer sub-solves in 60 s, docs/exact-performance.md).
ROUND_SUB_SOLVES = 4


@dataclass
class LnsOutcome:
    """What a search found: the best schedule, its value and how the value fell over time."""

    schedule: Schedule
    value: int
    initial_value: int
    iterations: int
    improvements: int
    runtime: float
    #: (seconds since start, value) at the start and after every improvement
    history: list[tuple[float, int]] = field(default_factory=list)


class _Search:
    """State shared by the workers of one search: the best starts and their memory profile."""

    def __init__(self, instance: Instance, starts: np.ndarray) -> None:
        self.inst = instance
        self.s = instance.prompt.astype(np.int64)
        self.o = instance.output.astype(np.int64)
        self.a = instance.arrival.astype(np.int64)
        self.m = instance.memory_limit
        self.max_o = int(self.o.max())
        self.starts = starts.copy()
        self.profile = self._profile(self.starts)
        self.iterations = 0
        self.improvements = 0
        self.history: list[tuple[float, int]] = []

    def _ramp(self, i: int) -> np.ndarray:
        return np.asarray(self.s[i] + np.arange(1, self.o[i] + 1, dtype=np.int64))

    def _profile(self, starts: np.ndarray) -> np.ndarray:
        """Memory at rounds 0 .. max completion + max_o (padding keeps slices in range)."""
        end = int((starts + self.o).max()) + self.max_o + 2
        mem = np.zeros(end, dtype=np.int64)
        for i in range(self.inst.n):
            mem[starts[i] + 1: starts[i] + self.o[i] + 1] += self._ramp(i)
        return mem

    def value(self, starts: np.ndarray) -> int:
        return int(starts.sum() + self.o.sum())

    def neighbourhood(self, rng: random.Random, sizes: tuple[int, ...],
                      starts: np.ndarray) -> np.ndarray:
        """The requests to free: the ``k`` starts nearest a random anchor (k from ``sizes``)."""
        k = min(rng.choice(sizes), self.inst.n)
        anchor = rng.randrange(0, int(starts.max()) + 1)
        # nearest starts to the anchor; ties broken at random so repeated anchors differ
        keys = np.abs(starts - anchor) + np.array([rng.random() for _ in range(self.inst.n)])
        return np.argsort(keys, kind="stable")[:k]

    def resolve(self, free: np.ndarray, starts: np.ndarray, profile: np.ndarray,
                sub_limit: float, seed: int, wall_left: float | None) -> np.ndarray | None:
        """New starts for ``free`` (the rest fixed; the best CP-SAT found, which may be the
        same), or None when the sub-solve found no schedule in its budget."""
        from ortools.sat.python import cp_model

        lo, hi = int(starts[free].min()), int(starts[free].max())
        first = max(0, lo - self.max_o)
        last = hi + self.max_o + 1  # the freed requests cannot touch a later round
        background = profile.copy()
        for i in free:
            background[starts[i] + 1: starts[i] + self.o[i] + 1] -= self._ramp(i)
        cp = cp_model.CpModel()
        intervals, heights = [], []
        x = {}
        for i in free.tolist():
            x[i] = cp.new_int_var(max(int(self.a[i]), first), hi, f"p_{i}")
            r, h = staircase_rectangles(cp, x[i], int(self.s[i]), int(self.o[i]))
            intervals += r
            heights += h
        t = first + 1
        while t <= last:  # the background as constant runs
            u = t
            while u + 1 <= last and background[u + 1] == background[t]:
                u += 1
            if background[t] > 0:
                intervals.append(cp.new_fixed_size_interval_var(t, u - t + 1, ""))
                heights.append(int(background[t]))
            t = u + 1
        cp.add_cumulative(intervals, heights, self.m)
        cp.minimize(sum(x.values()))
        for i, var in x.items():
            cp.add_hint(var, int(starts[i]))
        solver = cp_model.CpSolver()
        prm = solver.parameters
        prm.num_workers = 1
        prm.catch_sigint_signal = False  # a Ctrl-C is a stop request (optsched.control)
        prm.random_seed = seed
        prm.max_deterministic_time = sub_limit
        if wall_left is not None:
            prm.max_time_in_seconds = max(wall_left, 0.01)
        status = run_stoppable(lambda: solver.solve(cp), solver.stop_search)  # Ctrl-C at once
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        new = starts.copy()
        for i, var in x.items():
            new[i] = solver.value(var)
        return new

    def left_shift(self, starts: np.ndarray, since: int) -> np.ndarray:
        """Move every request that starts at or after ``since`` to the earliest feasible start
        within ``2 max_o`` rounds before its own (in start order; a move frees memory that a
        later request may use). Cheap and local; the CP-SAT sub-solves do the rest."""
        from numpy.lib.stride_tricks import sliding_window_view

        starts = starts.copy()
        mem = self._profile(starts)
        for i in sorted(np.flatnonzero(starts >= since).tolist(), key=lambda i: starts[i]):
            oi, pi = int(self.o[i]), int(starts[i])
            earliest = max(int(self.a[i]), pi - 2 * self.max_o)
            if earliest >= pi:
                continue
            need = self._ramp(i)
            mem[pi + 1: pi + oi + 1] -= need
            # windows[q - earliest] = memory at rounds q+1 .. q+o, for q = earliest .. pi
            windows = sliding_window_view(mem[earliest + 1: pi + oi + 1], oi)
            fits = np.flatnonzero((windows + need <= self.m).all(axis=1))
            q = earliest + int(fits[0])  # pi itself always fits
            starts[i] = q
            mem[q + 1: q + oi + 1] += need
        return starts

    def improved(self, current: np.ndarray, new: np.ndarray) -> np.ndarray | None:
        """``new`` after a left shift if it beats ``current``, else None (the memory profile
        of every accepted schedule is checked; a failure is a bug and raises)."""
        if self.value(new) >= self.value(current):
            return None
        new = self.left_shift(new, 0)
        if self._profile(new).max() > self.m or (new < self.a).any():
            raise SolverError("LNS produced an infeasible schedule (a bug in the "
                              "neighbourhood model)")
        return new

    def install(self, starts: np.ndarray, accepted: int, elapsed: float) -> None:
        """Make ``starts`` the best schedule (``accepted`` improving sub-solves led to it)."""
        self.starts, self.profile = starts, self._profile(starts)
        self.improvements += accepted
        self.history.append((elapsed, self.value(starts)))

    def merge(self, base: np.ndarray, results: list[np.ndarray]) -> np.ndarray:
        """The best of one round's worker results, all grown from ``base`` (ties: lower
        worker), with each other result's moved requests put on top of it when that fits in
        M and lowers the total. Deterministic in the results, whatever the threads' timing."""
        ranked = sorted(results, key=self.value)  # stable: worker order breaks ties
        best = ranked[0]
        for other in ranked[1:]:
            moved = np.flatnonzero(other != base)
            trial = best.copy()
            trial[moved] = other[moved]
            if self._profile(trial).max() <= self.m:
                shifted = self.improved(best, trial)
                best = best if shifted is None else shifted
        return best


def _check_arguments(time_limit: float | None, iterations: int | None, workers: int,
                     sizes: tuple[int, ...]) -> None:
    """Refuse arguments that would make the search meaningless, naming the argument."""
    if time_limit is not None and time_limit <= 0:
        raise SolverError("time limit must be > 0 seconds")
    if iterations is not None and iterations < 0:
        raise SolverError("iterations must be >= 0")
    if workers < 1:
        raise SolverError("workers must be >= 1")
    if not sizes or min(sizes) < 1:
        raise SolverError("neighbourhood sizes must be >= 1")


@dataclass
class _Budget:
    """When the search stops: the deadline (time limit or stop request), the sub-solve count,
    or the target value (a proven bound: nothing better exists)."""

    clock: Deadline
    iterations: int | None
    target: int | None
    numbered: int = 0  # sub-solves numbered so far (their seeds), whether or not they ran

    def reached(self, value: int) -> bool:
        return self.target is not None and value <= self.target

    def left(self, search: _Search) -> bool:
        if self.clock.expired() or self.reached(search.value(search.starts)):
            return False
        return self.iterations is None or self.numbered < self.iterations

    def take(self, batch: int) -> list[int]:
        """The numbers of the next (at most) ``batch`` sub-solves of one worker."""
        take = batch if self.iterations is None else min(batch, self.iterations - self.numbered)
        numbers = list(range(self.numbered, self.numbered + max(take, 0)))
        self.numbered += len(numbers)
        return numbers


def _worker_round(search: _Search, rng: random.Random, numbers: list[int], starts: np.ndarray,
                  profile: np.ndarray, budget: _Budget, sizes: tuple[int, ...],
                  sub_limit: float, seed: int) -> tuple[np.ndarray, int, int]:
    """One worker's part of a round: sub-solves numbered ``numbers``, each on the worker's own
    best so far (which starts as the round's base). Returns that best, the improving
    sub-solves and the sub-solves run (fewer when time or the target ran out)."""
    accepted = ran = 0
    for k in numbers:
        if budget.clock.expired() or budget.reached(search.value(starts)):
            break
        free = search.neighbourhood(rng, sizes, starts)
        new = search.resolve(free, starts, profile, sub_limit,
                             seed=(seed * 1_000_003 + k) % 2**31,
                             wall_left=budget.clock.remaining())
        ran += 1
        better = None if new is None else search.improved(starts, new)
        if better is not None:
            starts, profile, accepted = better, search._profile(better), accepted + 1
    return starts, accepted, ran


def improve_schedule(instance: Instance, schedule: Schedule, *, time_limit: float | None = None,
                     iterations: int | None = None, seed: int = 0, workers: int = 1,
                     sizes: tuple[int, ...] = DEFAULT_SIZES,
                     sub_limit: float = DEFAULT_SUB_LIMIT,
                     target: int | None = None, deadline: Deadline | None = None,
                     progress: Progress | None = None) -> LnsOutcome:
    """Improve a valid ``schedule`` by LNS until ``time_limit`` seconds or ``iterations``
    sub-solves (whichever comes first; :data:`DEFAULT_ITERATIONS` when neither is given), or
    until the value reaches ``target`` (a proven lower bound: nothing better exists).

    ``deadline`` (optsched.control) ends the search too, at its time or at a stop request
    (Ctrl-C): the best schedule so far is returned, within one sub-solve (about 0.2-0.4 s).
    ``progress`` hears of every improvement. ``workers`` sub-solves run side by side in
    threads (CP-SAT releases the GIL while it solves), in synchronous rounds on the same best
    schedule (module docstring: with a given number of workers, the same ``iterations`` give
    the same schedule on any machine). The result is validated; it is never worse than the
    input. An instance under another memory convention is searched as its equivalent in the
    model's own convention (docs/model.md, "Memory conventions"): same schedules, same value.
    """
    instance = spec_equivalent(instance)
    report = validate(instance, schedule)
    if not report.valid:
        raise SolverError("LNS needs a valid schedule to start from:\n" + report.summary())
    _check_arguments(time_limit, iterations, workers, sizes)
    if time_limit is None and iterations is None and (deadline is None or
                                                      deadline.remaining() is None):
        iterations = DEFAULT_ITERATIONS
    t0 = time.perf_counter()
    budget = _Budget((deadline or Deadline(None)).capped(time_limit), iterations, target)
    search = _Search(instance, np.array([schedule.starts[r] for r in instance.ids],
                                        dtype=np.int64))
    initial = search.value(search.starts)
    search.history.append((0.0, initial))
    first = search.improved(search.starts, search.left_shift(search.starts, 0))
    if first is not None:
        search.install(first, 1, 0.0)
    rngs = [random.Random(f"{seed}-{w}") for w in range(workers)]
    if search.inst.n <= min(sizes):
        rngs = rngs[:1]  # one neighbourhood holds every request: more workers add nothing
    _run_rounds(search, rngs, budget, sizes, sub_limit, seed, progress, t0)
    schedule = Schedule({rid: int(search.starts[i]) for i, rid in enumerate(instance.ids)})
    final = validate(instance, schedule)
    if not final.valid or final.metrics is None:
        raise SolverError("LNS schedule fails validation:\n" + final.summary())
    return LnsOutcome(schedule, final.metrics.total_completion_time, initial, search.iterations,
                      search.improvements, time.perf_counter() - t0, search.history)


def _run_rounds(search: _Search, rngs: list[random.Random], budget: _Budget,
                sizes: tuple[int, ...], sub_limit: float, seed: int,
                progress: Progress | None, t0: float) -> None:
    """Synchronous rounds until the budget is spent: every worker improves its copy of the
    best, then the results are merged in a fixed order (:meth:`_Search.merge`)."""
    batch = 1 if len(rngs) == 1 else ROUND_SUB_SOLVES
    pool = None
    if len(rngs) > 1:
        from concurrent.futures import ThreadPoolExecutor  # CP-SAT releases the GIL

        pool = ThreadPoolExecutor(len(rngs))
    try:
        while budget.left(search):
            base = search.starts.copy()
            plan = [(w, numbers) for w in range(len(rngs)) if (numbers := budget.take(batch))]

            def job(plan_item: tuple[int, list[int]], base: np.ndarray = base
                    ) -> tuple[np.ndarray, int, int]:
                w, numbers = plan_item
                return _worker_round(search, rngs[w], numbers, base, search.profile, budget,
                                     sizes, sub_limit, seed)

            done = list(pool.map(job, plan)) if pool else [job(item) for item in plan]
            search.iterations += sum(ran for _, _, ran in done)
            best = search.merge(base, [starts for starts, _, _ in done])
            if search.value(best) < search.value(base):
                search.install(best, sum(accepted for _, accepted, _ in done),
                               time.perf_counter() - t0)
            if progress is not None:
                progress.report("LNS", best=search.value(search.starts), bound=budget.target,
                                detail=f"{search.iterations} sub-solves, "
                                f"{search.improvements} improvements")
    finally:
        if pool is not None:
            pool.shutdown()
