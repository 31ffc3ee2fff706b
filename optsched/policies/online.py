"""The online policies (docs/model.md#online-setting). Each docstring names its source and the
reading implemented where the source leaves room. All plan with predicted lengths (see
:class:`BasePolicy.plan`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from optsched.model.profile import earliest_start, memory_at
from optsched.policies.base import BasePolicy
from optsched.policies.engine import EngineView
from optsched.policies.feasibility import FutureMemory

# --- look-ahead policies: largest feasible prefix under MC-SF's future-memory check ----------


class LookaheadPolicy(BasePolicy):
    """Walk the waiting requests in :meth:`priority` order and start the largest prefix that keeps
    the *planned* memory <= M at every future completion time (docs/model.md#mc-sf-algorithm-1),
    using the fast test of :mod:`optsched.policies.feasibility`.

    A running request that outlives its planned length is re-planned to end one round later each
    round (it is known to need at least that). With exact predictions no overflow can happen; with
    wrong ones the default clearing rule applies (newest runs first).
    """

    def reset(self, view: EngineView, rng: np.random.Generator) -> None:
        super().reset(view, rng)
        self.core = FutureMemory(view.memory_limit)
        self.planned: dict[int, int] = {}

    def priority(self, i: int) -> tuple[int, ...]:
        return (self.plan(i),)

    def _push(self, i: int) -> None:
        self.planned[i] = self.plan(i)
        super()._push(i)

    def _prefix(self, k: int) -> tuple[list[int], list[int]]:
        head = [key[-1] for key in self.waiting[:k]]
        return [self.prompt[i] for i in head], [self.planned[i] for i in head]

    def choose(self, t: int, feasible: int) -> int:
        """How many of the ``feasible`` first waiting requests to start (all, by default)."""
        return feasible

    def replan(self, i: int, t: int) -> int:
        """New planned completion of running request i, still running at t past its plan (it
        is known to need at least one more round)."""
        return t + 1

    def refresh(self, t: int) -> None:
        """Re-plan the running requests that are still running past their plan at t."""
        core = self.core
        for i in core.expired(t):
            p = self.running[i]
            self.known_min[i] = max(self.known_min[i], t - p + 1)
            core.add(i, p, self.prompt[i], self.replan(i, t))

    def select(self, t: int) -> Sequence[int]:
        self.refresh(t)
        k = self.choose(t, self.core.largest_prefix(t, len(self.waiting), self._prefix))
        return self.take(k)

    def idle_until(self, t: int) -> int | None:
        """After a round t that started nothing: the first round at which the head of the queue
        fits next to the planned running set (the prefix test fails exactly when the head does
        not fit), capped by the first planned completion (where :meth:`refresh` re-plans). A
        subclass that changes ``select`` or ``choose`` is asked every round (t + 1)."""
        if type(self).select is not LookaheadPolicy.select or \
                type(self).choose not in _PREFIX_CHOOSERS:
            return t + 1
        runs = list(self.core.runs.values())
        p, q, c = (np.array([r[k] for r in runs], dtype=np.int64) for k in range(3))
        hi = int(c.min()) if c.size else None
        if (memory_at(p, q, c, c) > self.view.memory_limit).any():
            return hi  # the plan alone is over M: nothing fits until it changes
        head = self.waiting[0][-1]
        x = earliest_start(p, q, c, self.prompt[head], self.planned[head],
                           self.view.memory_limit, t + 1, hi)
        return hi if x is None else x

    def on_start(self, i: int, t: int) -> None:
        super().on_start(i, t)
        self.core.add(i, t, self.prompt[i], t + self.planned[i])

    def on_complete(self, i: int, t: int) -> None:
        super().on_complete(i, t)
        if self.core.planned_completion(i) <= t:
            self.core.complete(i)
        else:  # finished earlier than planned (over-predicted)
            self.core.remove(i)

    def on_evict(self, i: int, t: int) -> None:
        self.core.remove(i)
        super().on_evict(i, t)


class MCSF(LookaheadPolicy):
    """Algorithm 1 of the poster = MC-SF (Jaillet, Jiang, Mellou, Molinaro, Podimata, Zhou,
    arXiv 2502.07115). Order: predicted output length ascending, ties by position (the papers'
    id). Online reading: plans with the point prediction (raised to the observed minimum when a
    request outlives it); with exact predictions it reproduces
    :func:`optsched.policies.mcsf.mcsf_reference` exactly. On an overflow (possible only with
    wrong predictions; the paper does not define one) it evicts the newest runs first."""

    name = "algorithm1"


class MCBenchmark(LookaheadPolicy):
    """MC-Benchmark (arXiv 2502.07115, experiments): MC-SF's future-memory check in arrival
    (FCFS) order, ties by position. Reading: like MC-SF it stops at the first request that does
    not fit (head-of-line blocking), it does not skip ahead. An evicted request keeps its arrival
    rank."""

    name = "mc-benchmark"

    def priority(self, i: int) -> tuple[int, ...]:
        return (self.view.arrival[i],)


class SmallestVolumeFirst(LookaheadPolicy):
    """Smallest volume first (docs/model.md#online-setting): rank by the memory-time area a
    request will occupy, s*L + L(L+1)/2 with L the planned length, ties by position; admission
    by MC-SF's largest-feasible-prefix check (so it never overflows with exact predictions)."""

    name = "smallest-volume-first"

    def priority(self, i: int) -> tuple[int, ...]:
        length = self.plan(i)
        return (self.prompt[i] * length + length * (length + 1) // 2,)


class SortedF(LookaheadPolicy):
    """Sorted-F (Wang, Ye, Zhou, arXiv 2508.06133), built for unequal prompt sizes: batches are
    chosen by the metric F(X) = sum_{i in X} o_i / |X|^2 (small F = many requests, little decode
    work). The paper's algorithm is offline (all requests at 0) and batch-based; the reading
    implemented here is its online round-by-round form: sort the waiting requests by planned
    length (ties by position), compute the largest prefix that passes MC-SF's future-memory check
    next to the running requests, and start the prefix X_k (1 <= k <= that size) with the smallest
    F(X_k); ties go to the larger k. It is therefore MC-SF that declines to add a long request to
    a batch of short ones when that raises F."""

    name = "sorted-f"

    def choose(self, t: int, feasible: int) -> int:
        if feasible <= 1:
            return feasible
        lengths = np.array([self.planned[key[-1]] for key in self.waiting[:feasible]], float)
        k = np.arange(1, feasible + 1, dtype=float)
        f = np.cumsum(lengths) / k**2
        best = f.min()
        return int(np.flatnonzero(f <= best * (1 + 1e-12))[-1]) + 1


#: ``choose`` rules that start at least one request whenever one fits (idle_until relies on it).
_PREFIX_CHOOSERS = (LookaheadPolicy.choose, SortedF.choose)


class AMax(LookaheadPolicy):
    """A_max (Chen, Ye, Zhou, arXiv 2508.14544) for interval predictions [l, u]: MC-SF planned
    with the upper ends u (order by u, ties by position). Since o <= u, it never overflows; the
    price is conservatism when intervals are wide."""

    name = "a-max"
    estimate = "upper"


class AMin(LookaheadPolicy):
    """A_min (Chen, Ye, Zhou, arXiv 2508.14544) for interval predictions [l, u]: start from the
    lower ends l and raise each running request's estimate as its tokens appear (a request still
    running after g tokens needs at least g + 1); admission by MC-SF's check with these estimates,
    order by the current estimate. On an overflow it evicts in ascending order of tokens generated
    so far (the newest runs, least work lost) until memory fits; an evicted request re-enters with
    its estimate raised to what it had generated + 1. Reading: the order on generated length is
    taken ascending; ties by higher position first."""

    name = "a-min"
    estimate = "lower"


# --- admission without look-ahead ------------------------------------------------------------


class GreedyAdmission(BasePolicy):
    """Admit waiting requests in priority order while the memory of the *next* round (running
    requests plus s_i + 1 for each newly admitted one) stays within ``fraction`` * M; stop at the
    first that does not fit. No look-ahead at future growth, so overflows happen; the default
    clearing rule evicts the newest runs first (what vLLM-style recompute preemption does)."""

    fraction = 1.0
    #: admit the head of the queue even above the budget when nothing runs (it fits alone)
    force_head = False

    def charge(self, i: int) -> int:
        """Memory a newly admitted request is counted with: its prompt and first token."""
        return self.prompt[i] + 1

    def running_memory(self, t: int) -> int:
        """Memory the running requests are counted with: what they hold next round."""
        return self.view.next_memory(t)

    def select(self, t: int) -> Sequence[int]:
        budget = int(self.fraction * self.view.memory_limit)
        mem = self.running_memory(t)
        k = 0
        for key in self.waiting:
            need = self.charge(key[-1])
            if mem + need > budget and not (self.force_head and k == 0 and not self.running):
                break
            mem += need
            k += 1
        return self.take(k)

    def idle_until(self, t: int) -> int | None:
        """After a round t that started nothing: None, since the counted memory of the running
        requests never falls between events (it grows one token per request and round; the
        learned-length debt of :class:`_Recheck` falls exactly as fast as the true memory of
        those requests grows) and the budget is fixed, so the head stays refused until an
        arrival, completion or eviction. Subclasses that change the rule are asked every round."""
        cls = type(self)
        if cls.select is not GreedyAdmission.select or \
                cls.running_memory not in _MONOTONE_MEMORY or cls.charge not in _FIXED_CHARGE:
            return t + 1
        return None


class FCFS(GreedyAdmission):
    """Plain first-come-first-served without look-ahead: arrival order (ties by position), admit
    while next-round memory <= M, evict newest runs first on overflow."""

    name = "fcfs"

    def priority(self, i: int) -> tuple[int, ...]:
        return (self.view.arrival[i],)


class ShortestFirst(GreedyAdmission):
    """Shortest predicted output first without look-ahead: admit while next-round memory <= M,
    evict newest runs first on overflow (no future-memory check, unlike MC-SF)."""

    name = "shortest-first"

    def priority(self, i: int) -> tuple[int, ...]:
        return (self.plan(i),)


class AlphaGreedy(FCFS):
    """alpha-protection greedy (arXiv 2502.07115, experiments): FCFS, admit while the memory of
    the next round stays <= (1 - alpha) M (reading of "current memory <= (1 - alpha) M": the
    admitted request's prompt and first token are counted), no look-ahead; on an overflow clear
    *all* running requests. alpha defaults to 0.2 (our choice). This rule can livelock (the same
    batch regrowing into the same overflow, with nothing left to arrive); the engine then stops
    with a no-progress error instead of looping."""

    name = "alpha-greedy"

    def __init__(self, alpha: float = 0.2) -> None:
        if not 0 <= alpha < 1:
            raise ValueError(f"alpha must be in [0, 1), got {alpha}")
        self.alpha = float(alpha)
        self.fraction = 1.0 - self.alpha

    def evict(self, t: int, excess: int) -> Sequence[int]:
        return list(self.running)


class AlphaBetaClearing(AlphaGreedy):
    """alpha-protection beta-clearing (arXiv 2502.07115, experiments): as alpha-protection greedy,
    but on an overflow each running request is evicted independently with probability beta
    (seeded). Reading: if a pass evicts nobody, or not enough, passes are repeated over the
    remaining requests until memory fits. Defaults alpha = 0.2, beta = 0.5 (our choice)."""

    name = "alpha-beta-clearing"

    def __init__(self, alpha: float = 0.2, beta: float = 0.5) -> None:
        super().__init__(alpha)
        if not 0 < beta <= 1:
            raise ValueError(f"beta must be in (0, 1], got {beta}")
        self.beta = float(beta)

    def evict(self, t: int, excess: int) -> Sequence[int]:
        running = sorted(self.running)
        while True:
            hit = self.rng.random(len(running)) < self.beta
            victims = [i for i, h in zip(running, hit, strict=True) if h]
            if victims:
                return victims


class _Recheck(GreedyAdmission):
    """The alpha-protection reading that makes progress (mixin for both baselines): admission
    is re-checked against the reserve with what a clearing taught. A request cleared after
    generating g tokens is counted with s + g + 1 (the memory it held when cleared, the least it
    will hold again) instead of s + 1, both when it is admitted and, while it has not regained
    that progress, as a running request; a fresh request is counted as in the literal reading.
    When nothing runs, the head of the queue is admitted even above (1 - alpha) M (s + o <= M, so
    it fits alone). Why it progresses: every member of a batch that overflows at t was admitted
    with the batch's counted memory <= (1 - alpha) M < the true memory at t + 1, so some member
    has generated more than it was counted with, and its learned minimum length grows; learned
    minima never exceed the true lengths, so overflows are finitely many."""

    force_head = True

    def reset(self, view: EngineView, rng: np.random.Generator) -> None:
        super().reset(view, rng)
        self.restarted: set[int] = set()  # running requests cleared before (learned minimum > 1)

    def charge(self, i: int) -> int:
        return self.prompt[i] + self.known_min[i]

    def running_memory(self, t: int) -> int:
        debt = sum(max(0, self.known_min[i] - (t + 1 - self.running[i])) for i in self.restarted)
        return self.view.next_memory(t) + debt

    def on_start(self, i: int, t: int) -> None:
        super().on_start(i, t)
        if self.known_min[i] > 1:
            self.restarted.add(i)

    def on_complete(self, i: int, t: int) -> None:
        super().on_complete(i, t)
        self.restarted.discard(i)

    def on_evict(self, i: int, t: int) -> None:
        super().on_evict(i, t)
        self.restarted.discard(i)


#: Counted-memory and charge rules for which :meth:`GreedyAdmission.idle_until` is proven.
_MONOTONE_MEMORY = (GreedyAdmission.running_memory, _Recheck.running_memory)
_FIXED_CHARGE = (GreedyAdmission.charge, _Recheck.charge)


class AlphaGreedyRecheck(_Recheck, AlphaGreedy):
    """alpha-protection greedy, the reading that makes progress (see :class:`_Recheck`): FCFS,
    reserve alpha M, clear all on an overflow, admission re-checked with learned lengths."""

    name = "alpha-greedy-recheck"


class AlphaBetaClearingRecheck(_Recheck, AlphaBetaClearing):
    """alpha-protection beta-clearing, the reading that makes progress (see :class:`_Recheck`)."""

    name = "alpha-beta-clearing-recheck"
