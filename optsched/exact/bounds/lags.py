"""Bounds from pairwise lags between large requests: the one-machine (machine, interval) and
core bounds, and the chain bound over completion orders (models/epoch-bound.md)."""

from __future__ import annotations

import numpy as np

from optsched.model.conventions import require_spec
from optsched.model.instance import Instance


def _releases(instance: Instance) -> np.ndarray:
    """a_i + o_i: no request completes before it (the release dates of the completions)."""
    return instance.arrival.astype(np.int64) + instance.output.astype(np.int64)


def _kth_release_bound(instance: Instance) -> np.ndarray:
    """c_(k) >= k-th smallest a_i + o_i (at least k requests have a_i + o_i <= c_(k))."""
    return np.sort(_releases(instance))


def lag_matrix(instance: Instance, members: np.ndarray) -> np.ndarray:
    """lag[x, y] = least c_j - c_i over schedules with c_i <= c_j, for i = members[x] and
    j = members[y]: min(o_j, max(0, P_i + P_j - M)) with P = s + o (models/epoch-bound.md §6).
    At c_i request i holds P_i, so j, if still running, has run at most M - P_i - s_j rounds."""
    require_spec(instance, "optsched.exact.bounds.lag_matrix")
    members = np.asarray(members, dtype=np.int64)
    s, o = (x.astype(np.int64)[members] for x in (instance.prompt, instance.output))
    peak = s + o
    lag = np.clip(peak[:, None] + peak[None, :] - instance.memory_limit, 0, o[None, :])
    np.fill_diagonal(lag, 0)
    out: np.ndarray = lag
    return out


def lag_intervals(instance: Instance, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lengths (before, after) such that the intervals [c_j - before_j, c_j + after_j) of the
    members are pairwise disjoint in every feasible schedule (models/epoch-bound.md §7).

    Valid whenever before_j + after_i <= lag[i, j] for all i != j. The choice: after_i =
    P_i - ceil(M / 2) (cut to the smallest lag out of i), then each before_j as large as those
    allow; for members with peaks above M / 2 both are about P - M / 2, so consecutive large
    requests are kept about P_i + P_j - M apart, as in the best schedules."""
    members = np.asarray(members, dtype=np.int64)
    o = instance.output.astype(np.int64)[members]
    if members.size < 2:
        return np.zeros(members.size, dtype=np.int64), np.zeros(members.size, dtype=np.int64)
    peak = instance.prompt.astype(np.int64)[members] + o
    lag = lag_matrix(instance, members)
    off = ~np.eye(members.size, dtype=bool)
    big = np.iinfo(np.int64).max // 4
    out_min = np.where(off, lag, big).min(axis=1)
    after = np.clip(peak - (instance.memory_limit + 1) // 2, 0, out_min)
    before = np.where(off, lag - after[:, None], big).min(axis=0)
    return np.clip(before, 0, o), after


def large_peak_requests(instance: Instance) -> np.ndarray:
    """Indices of the requests with peak s + o above M / 2: any two of them have positive lags
    both ways (P_i + P_j - M >= 1), so they complete in some order, apart."""
    peak = instance.prompt.astype(np.int64) + instance.output.astype(np.int64)
    return np.flatnonzero(peak > instance.memory_limit // 2)


def machine_lengths(instance: Instance) -> tuple[np.ndarray, int]:
    """Interval lengths q_j = before_j + after_j of :func:`lag_intervals` over the
    :func:`large_peak_requests` (0 for the others), and the largest ``after``."""
    big = large_peak_requests(instance)
    length = np.zeros(instance.n, dtype=np.int64)
    before, after = lag_intervals(instance, big)
    length[big] = before + after
    return length, int(after.max()) if after.size else 0


def _machine_completion_bounds(length: np.ndarray, after: int) -> np.ndarray:
    """c_(k) >= (sum of the k smallest interval lengths) - after: the intervals of the first k
    completed requests are disjoint and lie in rounds 0 .. c_(k) + after - 1."""
    return np.cumsum(np.sort(length)) - after


def machine_bound(instance: Instance) -> int:
    """sum_k max(machine bound on c_(k), k-th smallest a + o) (models/epoch-bound.md §7)."""
    require_spec(instance, "optsched.exact.bounds.machine_bound")
    length, after = machine_lengths(instance)
    return int(np.maximum(_machine_completion_bounds(length, after),
                          _kth_release_bound(instance)).sum())


def interval_bound(instance: Instance, members: np.ndarray) -> int:
    """A lower bound on sum_{j in members} c_j: the members' :func:`lag_intervals` form a one-
    machine problem (interval j cannot start before a_j + o_j - before_j), whose preemptive
    optimum (shortest remaining time first) bounds the sum of the interval ends c_j + after_j
    (models/epoch-bound.md §7)."""
    require_spec(instance, "optsched.exact.bounds.interval_bound")
    members = np.asarray(members, dtype=np.int64)
    before, after = lag_intervals(instance, members)
    release = _releases(instance)[members]
    length = before + after
    busy = length > 0
    jobs = sorted(zip((release - before)[busy].tolist(), length[busy].tolist(), strict=True))
    return _srpt_total(jobs) - int(after[busy].sum()) + int(release[~busy].sum())


def peak_order(instance: Instance) -> np.ndarray:
    """Request indices by peak s + o descending, then o descending, then position."""
    s, o = instance.prompt.astype(np.int64), instance.output.astype(np.int64)
    return np.lexsort((np.arange(instance.n), -o, -(s + o)))


def core_bound(instance: Instance, members: np.ndarray) -> int:
    """A lower bound on sum_{j in members} c_j from disjoint *cores* (models/epoch-bound.md §5).

    Core of j: its last o_j - L_j rounds, L_j = max over other members i of max(0, M - s_i - o_i
    - s_j). Cores of members never share a round, so their completions are those of a single
    machine with release a_j + L_j and length o_j - L_j; preemptive shortest-remaining-time
    (optimal for that relaxation) bounds the sum. Members with an empty core count a_j + o_j.
    """
    require_spec(instance, "optsched.exact.bounds.core_bound")
    members = np.asarray(members, dtype=np.int64)
    if members.size == 0:
        return 0
    a, s, o = (x.astype(np.int64)[members] for x in (instance.arrival, instance.prompt,
                                                     instance.output))
    free = instance.memory_limit - (s + o)  # M - peak of each member
    if members.size == 1:
        return int(a[0] + o[0])
    # the largest M - peak among the *other* members: the overall largest, except for the
    # member holding it, whose others' largest is the largest of the rest
    top = int(np.argmax(free))
    other_max = np.full(free.size, free[top])
    other_max[top] = np.delete(free, top).max()
    lead = np.maximum(0, other_max - s)
    core = o - lead
    has_core = core > 0
    jobs = sorted(zip((a + lead)[has_core].tolist(), core[has_core].tolist(), strict=True))
    return _srpt_total(jobs) + int((a + o)[~has_core].sum())


def _srpt_total(jobs: list[tuple[int, int]]) -> int:
    """Least sum of completion times of (release, length) jobs on one preemptive machine (job
    occupies rounds after its release); shortest remaining processing time is optimal."""
    import heapq

    t, i, total = 0, 0, 0
    heap: list[int] = []
    while i < len(jobs) or heap:
        if not heap:
            t = max(t, jobs[i][0])
        while i < len(jobs) and jobs[i][0] <= t:
            heapq.heappush(heap, jobs[i][1])
            i += 1
        rem = heapq.heappop(heap)
        nxt = jobs[i][0] if i < len(jobs) else None
        if nxt is None or t + rem <= nxt:
            t += rem
            total += t
        else:
            heapq.heappush(heap, rem - (nxt - t))
            t = nxt
    return total


#: Largest set for which :func:`chain_bound` runs its exact dynamic program (2^K K^2 work).
CHAIN_MAX = 12


def chain_bound(instance: Instance, members: np.ndarray) -> int:
    """A lower bound on sum_{j in members} c_j from pairwise lags (models/epoch-bound.md §6).

    If c_i <= c_j then c_j >= c_i + d_ij with d_ij from :func:`lag_matrix`: j can have run at
    most M - (s_i + o_i) - s_j rounds when i completes. Along the completion
    order every consecutive pair obeys this and the first member completes no earlier than
    a + o, so the least total over all orders (exact DP over subsets) is a bound. Up to
    :data:`CHAIN_MAX` members; larger sets return 0 (no bound).
    """
    require_spec(instance, "optsched.exact.bounds.chain_bound")
    members = np.asarray(members, dtype=np.int64)
    k = members.size
    if k == 0 or k > CHAIN_MAX:
        return 0
    a, o = (x.astype(np.int64)[members] for x in (instance.arrival, instance.output))
    d = lag_matrix(instance, members)
    inf = np.iinfo(np.int64).max // 4
    best = np.full((1 << k, k), inf, dtype=np.int64)
    best[1 << np.arange(k), np.arange(k)] = k * (a + o)  # the first completion counts k times
    for subset in range(1, 1 << k):  # numeric order visits every subset before its supersets
        row = best[subset]
        if row.min() >= inf:
            continue
        weight = k - bin(subset).count("1")
        if weight == 0:
            continue
        cand = (row[:, None] + weight * d).min(axis=0)
        for j in range(k):
            if not subset >> j & 1:
                nxt = subset | (1 << j)
                if cand[j] < best[nxt, j]:
                    best[nxt, j] = cand[j]
    return int(best[-1].min())
