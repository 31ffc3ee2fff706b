"""Fast lower bounds on the optimal total completion time, for instances too large to certify.

The bounds below are proven in ``models/epoch-bound.md``. Most take O(n log n) time after a
small dynamic program per distinct prompt size; the restriction bound repeats that per split
point (at most 64) and the lag intervals cost O(k^2) for k large requests, so the whole bound
takes at most about 1.5 s on 1,400 requests. The path bound (sets of at most 64 requests) adds
up to about 6 s at the papers' size and the window bound (at most 64) about as much again
(docs/exact-performance.md).

* ``trivial``: sum_i (a_i + o_i).
* ``volume``: the k-th smallest completion time is at least ceil(V_k / M), V_k the sum of the k
  smallest memory-time volumes v_i = s_i o_i + o_i (o_i + 1) / 2 (rounds 1..c_(k) hold at most M
  tokens each and the first k finished requests consumed their whole volume in them).
* ``epoch``: the volume bound ignores that memory peaks at completions. Call every completion
  time an *epoch*. At any round t, each running request keeps growing until the next epoch e(t),
  so memory(t) + |running(t)| (e(t) - t) <= memory(e(t)) <= M: rounds far from the next epoch
  waste capacity. Epochs are scarce (at most k distinct ones up to c_(k)) and each costs memory
  (sum over epochs of memory(e) <= k M). A Lagrange multiplier lam >= 0 joins the two budgets;
  each request's best trade-off between waste and epoch memory is a tiny dynamic program over its
  ages, and the k cheapest requests give a bound on c_(k) for every k. lam = 0 gives back the
  volume bound, so ``epoch`` >= ``volume`` always.

* ``restriction``: deleting requests from a feasible schedule leaves a feasible schedule of
  the rest, so OPT >= LB(S) + LB(R) for any split. Requests sorted by peak s + o; for each split
  point the larger-peak part gets max(epoch, ``core``), the rest its epoch bound. ``core``: the
  last o_j - L_j rounds of each member (L_j from the other members' peaks) never overlap, which
  is a one-machine problem whose preemptive optimum (shortest remaining time first) is a bound.
  ``chain`` (up to 12 requests): pairwise lags between consecutive completions, least total over
  all completion orders by a dynamic program over subsets.

* ``machine``: the pairwise lags give every request with peak above M / 2 an interval around
  its completion, [c_j - before_j, c_j + after_j), and these intervals never overlap: a single
  machine. The first k completions have used sum of their lengths rounds of it, which bounds
  c_(k) (combined per k with the epoch bound); ``interval`` is the preemptive one-machine
  optimum of the intervals of a set, with release dates, for the first part of a split.

* ``path`` (0.5, up to 64 requests): three consecutive completions i, j, k obey
  2 (c_j - c_i) + (c_k - c_j) >= a triple lag (at c_i the next two, if running, share the
  memory left by i's peak). Pair and triple lags price an order; a Lagrangian relaxation over
  walks (dynamic program over the last two members, subgradient on one multiplier per
  request) bounds the least price over all orders. ``restriction`` tries it for the
  larger-peak part of the splits.

* ``window`` (0.6, up to 64 requests): the same relaxation over walks, but the state also
  holds the last gap, and each gap must let the memory at the two completions before it hold
  (Lemma 8): the gaps are exact instead of priced by lags, so it is never below the path bound
  for the same multipliers. ``restriction`` runs it on the path bound's best split.

Arrivals enter only through c_(k) >= the k-th smallest a_i + o_i and the release dates of the
interval bound, so instances with spread-out arrivals get weaker bounds than all-at-zero ones
(measured in docs/exact-performance.md).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from optsched.errors import OptschedError
from optsched.model.conventions import require_spec
from optsched.model.instance import Instance, spec_equivalent

#: Multipliers tried for the epoch bound (any lam >= 0 gives a valid bound; this grid is dense
#: enough that refining it changed the Model 1 bounds by < 0.1%, see docs/exact-performance.md).
DEFAULT_LAMBDAS = np.concatenate([[0.0], np.geomspace(1 / 64, 64, 48)])

#: Exact per-age dynamic program up to this output length (work ~ length^2 per prompt size);
#: longer requests use the closed-form relaxation of :func:`_epoch_costs_relaxed`.
DP_MAX_LENGTH = 512


@dataclass
class BoundReport:
    """A proven lower bound and where it came from."""

    value: int
    method: str
    parts: dict[str, int] = field(default_factory=dict)
    runtime: float = 0.0
    #: the restriction bound's best split: how many largest-peak requests its first part holds
    split: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"value": self.value, "method": self.method, "parts": dict(self.parts),
                "runtime": round(self.runtime, 6), "split": self.split}


def trivial_bound(instance: Instance) -> int:
    """sum_i (a_i + o_i): no request completes before it has arrived and run."""
    require_spec(instance, "optsched.exact.bounds.trivial_bound")
    return int(instance.arrival.sum() + instance.output.sum())


def volumes(instance: Instance) -> np.ndarray:
    """Memory-time volume of each request: s o + o (o + 1) / 2 (usage summed over its rounds)."""
    s, o = instance.prompt.astype(np.int64), instance.output.astype(np.int64)
    return s * o + o * (o + 1) // 2


def _kth_release_bound(instance: Instance) -> np.ndarray:
    """c_(k) >= k-th smallest a_i + o_i (at least k requests have a_i + o_i <= c_(k))."""
    return np.sort(_releases(instance))


def volume_bound(instance: Instance) -> int:
    """sum_k max(ceil(V_k / M), k-th smallest a + o) (module docstring)."""
    require_spec(instance, "optsched.exact.bounds.volume_bound")
    vk = np.cumsum(np.sort(volumes(instance)))
    m = instance.memory_limit
    return int(np.maximum(-(-vk // m), _kth_release_bound(instance)).sum())


def _epoch_costs_dp(prompt: int, max_len: int, lams: np.ndarray) -> np.ndarray:
    """D[g, l] = min over epoch ages 0 < g_1 < ... < g_m = g of
    sum_r tri(g_r - g_{r-1}) + lam_l * sum_r (prompt + g_r), with g_0 = 0 and tri(d) = d(d-1)/2:
    the least waste plus priced epoch memory of a request of length g (ages 1..g covered)."""
    d = np.zeros((max_len + 1, lams.size))
    tri = np.arange(max_len + 1, dtype=float)
    tri = tri * (tri - 1) / 2
    for g in range(1, max_len + 1):
        prev = d[:g] + tri[g - np.arange(g)][:, None]
        d[g] = prev.min(axis=0) + lams * (prompt + g)
    return d


def _epoch_costs_relaxed(prompt: int, length: int, lams: np.ndarray) -> np.ndarray:
    """A lower bound on the DP value for one long request: with m epochs the gaps sum to
    ``length`` so waste >= m tri(length / m) (tri is convex), and m distinct ages that include
    ``length`` sum to at least length + m (m - 1) / 2."""
    m = np.arange(1, length + 1, dtype=float)[:, None]
    x = length / m
    waste = m * x * (x - 1) / 2
    price = lams[None, :] * (m * prompt + length + m * (m - 1) / 2)
    return (waste + price).min(axis=0)


def epoch_costs(instance: Instance, lams: np.ndarray) -> np.ndarray:
    """h[i, l] = v_i + (least waste + lam_l * epoch memory) of request i: shape (n, len(lams))."""
    require_spec(instance, "optsched.exact.bounds.epoch_costs")
    s, o = instance.prompt.astype(np.int64), instance.output.astype(np.int64)
    h = np.empty((instance.n, lams.size))
    for p in np.unique(s):
        sel = np.flatnonzero(s == p)
        lengths = o[sel]
        small = lengths <= DP_MAX_LENGTH
        if small.any():
            table = _epoch_costs_dp(int(p), int(lengths[small].max()), lams)
            h[sel[small]] = table[lengths[small]]
        for i in sel[~small]:
            h[i] = _epoch_costs_relaxed(int(p), int(o[i]), lams)
    return h + volumes(instance)[:, None]


def completion_bounds(instance: Instance, lams: np.ndarray | None = None) -> np.ndarray:
    """A proven lower bound on the k-th smallest completion time, for k = 1..n: the largest of
    the epoch argument, the machine argument and the k-th smallest a + o."""
    require_spec(instance, "optsched.exact.bounds.completion_bounds")
    lams = DEFAULT_LAMBDAS if lams is None else np.asarray(lams, dtype=float)
    if (lams < 0).any():
        raise ValueError("Lagrange multipliers must be >= 0")
    length, after = machine_lengths(instance)
    return _per_k_bounds(epoch_costs(instance, lams), _releases(instance),
                         instance.memory_limit, lams, length, after)


def _releases(instance: Instance) -> np.ndarray:
    return instance.arrival.astype(np.int64) + instance.output.astype(np.int64)


def _completion_bounds_from_costs(h: np.ndarray, release: np.ndarray, m: int,
                                  lams: np.ndarray) -> np.ndarray:
    """Per-k epoch bounds of the requests whose cost rows are ``h`` (rows are per request and
    do not depend on which other requests are present, so any subset can reuse them)."""
    hk = np.cumsum(np.sort(h, axis=0), axis=0)
    k = np.arange(1, h.shape[0] + 1, dtype=float)[:, None]
    best = ((hk - lams[None, :] * m * k) / m).max(axis=1)
    # ceil with a tolerance for float noise (values are sums of integers and halves times lam)
    ck = np.ceil(best - 1e-7).astype(np.int64)
    return np.maximum(ck, np.sort(release))


def _per_k_bounds(h: np.ndarray, release: np.ndarray, m: int, lams: np.ndarray,
                  length: np.ndarray, after: int) -> np.ndarray:
    """Per-k bounds of a set of requests (rows of ``h``, ``release`` and ``length``): the larger
    of the epoch/release bound and the machine bound, for every k."""
    return np.maximum(_completion_bounds_from_costs(h, release, m, lams),
                      _machine_completion_bounds(length, after))


def epoch_bound(instance: Instance, lams: np.ndarray | None = None) -> int:
    """sum_k of the epoch and release bounds on c_(k) (module docstring; models/epoch-bound.md)."""
    require_spec(instance, "optsched.exact.bounds.epoch_bound")
    lams = DEFAULT_LAMBDAS if lams is None else np.asarray(lams, dtype=float)
    return int(_completion_bounds_from_costs(epoch_costs(instance, lams), _releases(instance),
                                             instance.memory_limit, lams).sum())


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
    return lag


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


#: Largest set for which :func:`path_bound` runs (its dynamic program costs about K^4 per
#: iteration: about 14 ms per iteration at 64 members on one core).
PATH_MAX = 64

_INF = 1e18  # an impossible transition in the walks of path_bound (a member twice in a row)

#: Subgradient iterations of :func:`path_bound` (every iteration gives a valid bound; the best
#: is kept, so fewer iterations only weaken it).
PATH_ITERATIONS = 200


def triple_lags(instance: Instance, members: np.ndarray) -> np.ndarray:
    """R[x, y, z] = least 2 (c_j - c_i) + (c_k - c_j) over schedules where i, j, k (members
    x, y, z) complete in this order (models/epoch-bound.md §8).

    At c_i request i holds P_i, and j, k hold P_j - (c_j - c_i) and P_k - (c_k - c_i) if still
    running: either both run (then 2 g1 + g2 >= P_i + P_j + P_k - M), or k has not started
    (g1 + g2 >= o_k), or j has not started (g1 >= o_j); the pairwise lags hold in every case."""
    members = np.asarray(members, dtype=np.int64)
    s, o = (x.astype(np.int64)[members] for x in (instance.prompt, instance.output))
    peak = s + o
    lag = lag_matrix(instance, members)
    both_run = peak[:, None, None] + peak[None, :, None] + peak[None, None, :] \
        - instance.memory_limit
    third_waits = lag[:, :, None] + o[None, None, :]
    second_waits = 2 * o[None, :, None] + lag[None, :, :]
    cases = np.minimum(np.minimum(both_run, third_waits), second_waits)
    return np.maximum(2 * lag[:, :, None] + lag[None, :, :], cases)


def path_bound(instance: Instance, members: np.ndarray, *,
               iterations: int = PATH_ITERATIONS, share: float = 1.0) -> int:
    """A lower bound on sum_{j in members} c_j from the lags of consecutive pairs and triples
    of completions (models/epoch-bound.md §8); 0 (no bound) for sets above :data:`PATH_MAX`.

    Along the completion order pi, sum_j c_j = K c_pi1 + sum_r (K - r + 1) g_r, every gap g_r
    is at least the pair lag and 2 g_r + g_{r+1} at least the triple lag of :func:`triple_lags`.
    Splitting each gap's weight between the two (``share`` of it to the triples) prices an
    order by a sum over consecutive triples. The least price over all orders is bounded from
    below by a Lagrangian relaxation: walks of K positions with no member twice among three
    consecutive ones, each visit of j paying -mu_j; a dynamic program over the last two
    members finds the best walk and subgradient steps on mu raise the bound. Every iterate is
    a valid bound and the best is kept.
    """
    require_spec(instance, "optsched.exact.bounds.path_bound")
    return _path_lagrangian(instance, np.asarray(members, dtype=np.int64), iterations, share)[0]


def _path_lagrangian(instance: Instance, members: np.ndarray, iterations: int,
                     share: float = 1.0, start: np.ndarray | None = None
                     ) -> tuple[int, np.ndarray]:
    """:func:`path_bound` and the multipliers (one per member) of its best iterate; ``start``
    warm-starts the multipliers (restriction_bound reuses them between nested sets)."""
    k = members.size
    if k == 0 or k > PATH_MAX:
        return 0, np.zeros(k)
    release = _releases(instance)[members].astype(float)
    if k == 1:
        return int(release[0]), np.zeros(1)
    if not 0.0 <= share <= 1.0:
        raise ValueError("share must lie in [0, 1]")
    # gap g_r (r = 2..K) weighs w[r] = K - r + 1; triple r (positions r-1, r, r+1) carries
    # z[r] = share (w[r] - 1) / 3, pair r carries y[r] = w[r] - 2 z[r] - z[r-1] >= 0
    w = np.array([k - r + 1 for r in range(k + 2)], dtype=float)
    z = np.zeros(k + 2)
    z[2:k] = share * (w[2:k] - 1) / 3
    y = w - 2 * z - np.roll(z, 1)
    lag = lag_matrix(instance, members).astype(float)
    triple = triple_lags(instance, members).astype(float)
    same = np.eye(k, dtype=bool)
    lag_cost = np.where(same, _INF, lag)
    triple_cost = np.where(same[:, :, None] | same[:, None, :] | same[None, :, :], _INF,
                           triple)

    def price(order: np.ndarray) -> float:
        """The relaxed price of one order (an upper bound on the least price)."""
        value = k * release[order[0]] + sum(y[r] * lag[order[r - 2], order[r - 1]]
                                            for r in range(2, k + 1))
        return value + sum(z[r] * triple[order[r - 2], order[r - 1], order[r]]
                           for r in range(2, k))

    upper = price(np.argsort(instance.prompt[members] + instance.output[members],
                             kind="stable"))
    def evaluate(mu: np.ndarray) -> tuple[float, list[int], np.ndarray]:
        value, walk = _best_walk(k * release, y, z, lag_cost, triple_cost, mu)
        return value + mu.sum(), walk, mu

    best, best_mu = _subgradient_ascent(evaluate, k, iterations, upper, start)
    if best == -np.inf:
        return 0, best_mu
    return int(np.ceil(best - 1e-6 * max(1.0, abs(best)))), best_mu


def _subgradient_ascent(evaluate: Callable[[np.ndarray], tuple[float, list[int], np.ndarray]],
                        k: int, iterations: int, upper: float, start: np.ndarray | None
                        ) -> tuple[float, np.ndarray]:
    """Raise a Lagrangian bound over walks with one multiplier per member (path and window
    bounds): Polyak steps towards ``upper`` (the price of some order) along 1 - visits,
    halved after 10 steps without progress; stops early when the best walk is an order.
    ``evaluate(mu)`` gives the bound at mu, the best walk and the multipliers it actually
    used. Returns the best bound seen (-inf without iterations) and its multipliers."""
    mu = np.zeros(k) if start is None else np.asarray(start, dtype=float).copy()
    best, best_mu, step, stall = -np.inf, mu, 1.0, 0
    for _ in range(iterations):
        value, walk, used = evaluate(mu)
        if value > best + 1e-9:
            best, best_mu, stall = value, used, 0
        else:
            stall += 1
            if stall >= 10:
                step, stall = step / 2, 0
        grad = 1.0 - np.bincount(walk, minlength=k)
        if not grad.any():  # the best walk is an order: the relaxation is solved
            break
        mu = mu + step * max(upper - value, 1.0) / float(grad @ grad) * grad
    return best, best_mu


def _best_walk(first: np.ndarray, y: np.ndarray, z: np.ndarray, lag_cost: np.ndarray,
               triple_cost: np.ndarray, mu: np.ndarray) -> tuple[float, list[int]]:
    """Least price of a walk of len(first) positions (first[j] for starting at j, y[r] * pair
    and z[r] * triple costs, -mu[j] per visit) over states (last two members), and the walk.

    Forward pass over positions keeps only the values per state; the walk is recovered
    backwards from them, so the K^3 step per position is one addition and one minimum."""
    k = first.size
    value = (first - mu)[:, None] + y[2] * lag_cost - mu[None, :]
    values = [value]
    buffer = np.empty_like(triple_cost)
    for r in range(2, k):
        if z[r] > 0:
            np.add((value / z[r])[:, :, None], triple_cost, out=buffer)
            reached = buffer.min(axis=0) * z[r]
        else:  # no triple weight: the triple only forbids repeats (inf entries)
            np.add(value[:, :, None], np.where(triple_cost >= _INF, _INF, 0.0), out=buffer)
            reached = buffer.min(axis=0)
        value = reached + y[r + 1] * lag_cost - mu[None, :]
        values.append(value)
    b, c = (int(v) for v in np.unravel_index(int(value.argmin()), value.shape))
    best = float(value[b, c])
    walk = [int(c), int(b)]
    for r in range(k - 1, 1, -1):
        a = int((values[r - 2][:, b] + z[r] * np.where(triple_cost[:, b, c] >= _INF, _INF,
                                                       triple_cost[:, b, c])).argmin())
        walk.append(a)
        b, c = a, b
    return best, walk[::-1]


#: Sets of at most this many requests get :func:`window_bound`, if their move table is not
#: larger than :data:`WINDOW_MAX_MOVES`.
WINDOW_MAX = 64

#: At most this many entries K^3 G in window_bound's move table for K members with outputs up
#: to G (K = 64 and G = 57 at most; a few hundred MB while the table is built).
WINDOW_MAX_MOVES = 15_000_000

#: Subgradient iterations of :func:`window_bound` (warm-started from the path bound's
#: multipliers by :func:`restriction_bound`; every iterate is a valid bound).
WINDOW_ITERATIONS = 30

#: restriction_bound gives window_bound at most this much work (moves read over all its
#: iterations; one iteration reads about K (partial moves + K^2 G)), but at least
#: :data:`WINDOW_MIN_ITERATIONS` iterations. Deterministic, unlike a time limit: the papers'
#: sets of up to about 45 members get all 30 iterations, 64 members about 8.
WINDOW_WORK = 1_500_000_000
WINDOW_MIN_ITERATIONS = 5

_SCALE = 8  # window_bound rounds its multipliers to 1/8: its dynamic program runs in integers


def window_gaps(instance: Instance, members: np.ndarray) -> np.ndarray:
    """least[x, y, g1, z] = least g2 = c_k - c_j over schedules in which i, j, k (members x, y,
    z) complete in this order with c_j - c_i = g1 (models/epoch-bound.md §9).

    Memory is checked at c_j (k holds P_k - g2 if running, beside P_j: the pair lag) and at
    c_i (j holds P_j - g1 if running, k holds P_k - g1 - g2 if running, beside P_i). Gaps
    g1 >= max o mean nobody is running any more and are not needed. Non-increasing in g1."""
    members = np.asarray(members, dtype=np.int64)
    s, o = (x.astype(np.int32)[members] for x in (instance.prompt, instance.output))
    peak, m = s + o, instance.memory_limit
    g = np.arange(int(o.max()) + 1, dtype=np.int32)
    j_holds = np.where(g[None, :] < o[:, None], peak[:, None] - g[None, :], 0)  # (j, g1)
    at_ci = np.minimum(o[None, None, None, :] - g[None, None, :, None],
                       peak[:, None, None, None] + j_holds[None, :, :, None]
                       + peak[None, None, None, :] - g[None, None, :, None] - m)
    lag = lag_matrix(instance, members).astype(np.int32)
    return np.maximum(np.maximum(at_ci, 0), lag[None, :, None, :])


def window_bound(instance: Instance, members: np.ndarray, *,
                 iterations: int = WINDOW_ITERATIONS, start: np.ndarray | None = None) -> int:
    """A lower bound on sum_{j in members} c_j from the memory at each completion, checked
    against the next two completions exactly (models/epoch-bound.md §9); 0 (no bound) for sets
    above :data:`WINDOW_MAX` members or :data:`WINDOW_MAX_MOVES` moves.

    Like :func:`path_bound` it relaxes the completion order to walks with one multiplier per
    member, but a walk's state also holds the last gap, so the gaps are chosen exactly (each
    >= :func:`window_gaps` of the last two members and gap) instead of being priced by lags.
    For the same multipliers it is never below the path bound's value (every walk costs at
    least its path price). ``start`` warm-starts the multipliers."""
    require_spec(instance, "optsched.exact.bounds.window_bound")
    return _window_lagrangian(instance, np.asarray(members, dtype=np.int64), iterations,
                              start)[0]


def _window_lagrangian(instance: Instance, members: np.ndarray, iterations: int,
                       start: np.ndarray | None = None, work: int | None = None
                       ) -> tuple[int, np.ndarray]:
    """:func:`window_bound` and the multipliers of its best iterate; with ``work``, fewer
    iterations on large move tables (see :data:`WINDOW_WORK`)."""
    k = members.size
    if k == 0 or k > WINDOW_MAX or \
            k**3 * (int(instance.output[members].max()) + 1) > WINDOW_MAX_MOVES:
        return 0, np.zeros(k)
    release = _releases(instance)[members].astype(np.int64)
    if k == 1:
        return int(release[0]), np.zeros(1)
    table = _window_moves(instance, members)
    if work is not None:
        per_iteration = k * (table["partial_flat"].size + k * k * table["least"].shape[2])
        iterations = min(iterations, max(WINDOW_MIN_ITERATIONS, work // per_iteration))
    weight = np.array([k - r + 1 for r in range(k + 1)], dtype=np.int64)  # w_r, r = 0..k

    def evaluate(mu: np.ndarray) -> tuple[float, list[int], np.ndarray]:
        """The bound at mu rounded to 1/_SCALE, exact: integers divided by a power of two."""
        mu_int = np.round(mu * _SCALE).astype(np.int64)
        value, walk = _best_window_walk(table, k * release * _SCALE, weight * _SCALE, mu_int)
        return (value + int(mu_int.sum())) / _SCALE, walk, mu_int / _SCALE

    upper = _greedy_window_price(table, release, weight,
                                 np.argsort(instance.prompt[members] + instance.output[members],
                                            kind="stable"))
    best, best_mu = _subgradient_ascent(evaluate, k, iterations, upper, start)
    return (0 if best == -np.inf else math.ceil(best)), best_mu


def _window_moves(instance: Instance, members: np.ndarray) -> dict:
    """The move table of window_bound's dynamic program, split by how much of the previous
    gap a move allows (models/epoch-bound.md §9).

    A move (x, y, g1) -> (y, z, g2) is allowed for every g1 from first = #{g1: least > g2}
    on (least is non-increasing in g1). Where first = 0 the move takes the whole row (x, y):
    that happens exactly for g2 >= least[x, y, 0, z], so for each (y, z) the members x sorted
    by that threshold and a running minimum serve every g2 at once. Only the partial moves
    (0 < first <= the last gap, about a fifth at the papers' size) are listed one by one,
    sorted by target state for a segmented minimum. Repeats (x, y, z not distinct) are never
    allowed."""
    k = members.size
    least = window_gaps(instance, members)
    gaps = least.shape[2]
    same = np.eye(k, dtype=bool)
    repeat = same[:, :, None] | same[:, None, :] | same[None, :, :]  # (x, y, z)
    whole_from = np.where(repeat, gaps, least[:, :, 0, :])  # (x, y, z): first g2 taking all g1
    by_threshold = np.argsort(whole_from.transpose(1, 2, 0), axis=2, kind="stable")  # (y, z, r)
    thresholds = np.take_along_axis(whole_from.transpose(1, 2, 0), by_threshold, axis=2)
    # whole_count[y, z, g2] = number of x whose whole row is allowed at g2
    whole_count = np.stack([(thresholds <= g2).sum(axis=2) for g2 in range(gaps)], axis=2)
    # first[y, z, g2, x] = #{g1: least[x, y, g1, z] > g2}, from a histogram of least's values
    # (O(K^3 G)); laid out so that the partial moves come out sorted by target (y, z, g2)
    cells = np.arange(k**3).reshape(k, k, k)[:, :, :, None]  # cell (y, z, x)
    values = least.transpose(1, 3, 0, 2)  # (y, z, x, g1)
    histogram = np.bincount((cells * gaps + values).ravel(), minlength=k**3 * gaps)
    first = (gaps - np.cumsum(histogram.reshape(k, k, k, gaps), axis=3)).transpose(0, 1, 3, 2)
    partial = (first > 0) & (first < gaps) & ~repeat.transpose(1, 2, 0)[:, :, None, :]
    y, z, g2, x = np.nonzero(partial)
    flat_all = (x * k + y) * (gaps + 1) + first[y, z, g2, x]
    target_all = (y * k + z) * gaps + g2
    starts = np.flatnonzero(np.r_[True, target_all[1:] != target_all[:-1]]) \
        if target_all.size else np.zeros(0, dtype=np.intp)
    lag = lag_matrix(instance, members)
    return dict(least=least, lag=lag, repeat=repeat,
                by_threshold=by_threshold, whole_count=whole_count,
                partial_flat=flat_all.astype(np.intp), partial_starts=starts,
                partial_target=target_all[starts] if target_all.size else target_all,
                start_ok=(np.arange(gaps)[None, None, :] >= lag[:, :, None]) & ~same[:, :, None])


def _greedy_window_price(table: dict, release: np.ndarray, weight: np.ndarray,
                         order: np.ndarray) -> int:
    """The walk price of one order with each gap as small as allowed (at least the least price
    over orders: the subgradient's target)."""
    least, lag = table["least"], table["lag"]
    total, g1 = order.size * int(release[order[0]]), 0
    for r in range(1, order.size):
        y, z = order[r - 1], order[r]
        g1 = int(lag[y, z]) if r == 1 else int(least[order[r - 2], y, g1, z])
        total += int(weight[r + 1]) * g1
    return total


def _best_window_walk(table: dict, first_cost: np.ndarray, weight: np.ndarray,
                      mu_int: np.ndarray) -> tuple[int, list[int]]:
    """Least integer price of a walk (state: last two members and the gap between them) with
    -mu_int[j] per visit of j, and the walk; costs already scaled by _SCALE.

    Each position takes suffix minima over the previous gap, serves the whole-row moves by a
    running minimum over members sorted by threshold and the partial moves by a segmented
    minimum (:func:`_window_moves`); the walk is recovered backwards from the stored values."""
    k = first_cost.size
    least = table["least"]
    gaps = least.shape[2]
    # every walk's price lies within +-span; int32 (twice as fast) when span + big cannot
    # overflow, else int64; big marks unreachable states and never clips a real price
    span = int(first_cost.max()) + int(weight[2]) * gaps * k + 2 * k * int(np.abs(mu_int).max())
    kind = np.int32 if span < 2**29 else np.int64
    big = kind(2**30 if kind is np.int32 else 2**62)
    g = np.arange(gaps, dtype=kind)
    mu_int = mu_int.astype(kind)
    value = ((first_cost.astype(kind) - mu_int)[:, None, None]
             + kind(weight[2]) * g[None, None, :] - mu_int[None, :, None])
    value = np.where(table["start_ok"], value, big)
    values = [value]
    rows = np.arange(k)[:, None, None]
    for r in range(3, k + 1):
        suffix = np.minimum.accumulate(value[:, :, ::-1], axis=2)[:, :, ::-1]
        whole = suffix[:, :, 0]  # (x, y): best over every previous gap
        running = np.minimum.accumulate(whole[table["by_threshold"], rows], axis=2)
        running = np.concatenate([np.full((k, k, 1), big, dtype=kind), running], axis=2)
        reached = np.take_along_axis(running, table["whole_count"], axis=2).ravel()
        if table["partial_flat"].size:
            padded = np.concatenate([suffix, np.full((k, k, 1), big, dtype=kind)], axis=2)
            part = np.minimum.reduceat(padded.ravel()[table["partial_flat"]],
                                       table["partial_starts"])
            targets = table["partial_target"]
            reached[targets] = np.minimum(reached[targets], part)
        value = np.minimum(reached.reshape(k, k, gaps) + kind(weight[r]) * g[None, None, :]
                           - mu_int[None, :, None], big)
        values.append(value)
    y, z, gap = (int(v) for v in np.unravel_index(int(value.argmin()), value.shape))
    best = int(value[y, z, gap])
    walk = [int(z), int(y)]
    for r in range(k, 2, -1):
        previous = values[r - 3]
        suffix = np.minimum.accumulate(previous[:, y, ::-1], axis=1)[:, ::-1]
        padded = np.concatenate([suffix, np.full((k, 1), big, dtype=kind)], axis=1)
        lo = np.where(table["repeat"][:, y, z], gaps, (least[:, y, :, z] > gap).sum(axis=1))
        x = int(padded[np.arange(k), lo].argmin())
        g1 = int(lo[x]) + int(previous[x, y, lo[x]:].argmin())
        walk.append(x)
        y, z, gap = x, y, g1
    return best, walk[::-1]


#: At most this many split points are tried by :func:`restriction_bound` (evenly spaced).
MAX_SPLITS = 64


#: Subgradient iterations per split point while :func:`restriction_bound` searches for the
#: best split for :func:`path_bound`; the best split found then gets :data:`PATH_ITERATIONS`.
PATH_SEARCH_ITERATIONS = 40


def restriction_bound(instance: Instance, lams: np.ndarray | None = None, *,
                      machine: bool = True, paths: bool = True,
                      windows: bool = True) -> tuple[int, int]:
    """max over k of LB(k largest-peak requests) + epoch bound of the others, and the best k.

    Restricting a schedule to a subset gives a schedule of the sub-instance, so the optimum is
    at least the sum of the sub-optima of any split (models/epoch-bound.md §4). Each part gets
    its per-k epoch and machine bounds; the first part also tries :func:`core_bound`,
    :func:`chain_bound` and :func:`interval_bound`, and (``paths``, 0.5) :func:`path_bound` on
    the split points of :func:`_path_split_points`. Measured: the epoch bound is weakened by
    short requests, so leaving the shortest ones to their own bound helps. ``machine=False``
    leaves out the machine and interval parts (the 0.2 bound, kept for benchmarks);
    ``paths=False`` gives the 0.4 bound. ``windows`` (0.6) then tries :func:`window_bound` on
    the best split point of the path bound, warm-started from its multipliers
    (``windows=False`` gives the 0.5 bound).
    """
    require_spec(instance, "optsched.exact.bounds.restriction_bound")
    lams = DEFAULT_LAMBDAS if lams is None else np.asarray(lams, dtype=float)
    n, m = instance.n, instance.memory_limit
    h, rel = epoch_costs(instance, lams), _releases(instance)
    length, after = machine_lengths(instance)  # valid for every subset (pairwise conditions)
    if not machine:
        length[:] = 0
    order = peak_order(instance)
    cheap: dict[int, tuple[int, int]] = {}  # k -> (bound of the first k, bound of the rest)

    def part(idx: np.ndarray) -> int:
        if idx.size == 0:
            return 0
        return int(_per_k_bounds(h[idx], rel[idx], m, lams, length[idx], after).sum())

    def split(k: int) -> tuple[int, int]:
        if k not in cheap:
            top = order[:k]
            cheap[k] = (max(part(top), core_bound(instance, top), chain_bound(instance, top),
                            interval_bound(instance, top) if machine else 0)
                        if k < n else part(order), part(order[k:]))
        return cheap[k]

    best, best_k = split(n)[0], n
    splits = (range(1, n) if n - 1 <= MAX_SPLITS
              else np.unique(np.linspace(1, n - 1, MAX_SPLITS).astype(int)).tolist())
    for k in splits:
        value = sum(split(int(k)))
        if value > best:
            best, best_k = value, int(k)
    if not paths:
        return best, best_k

    multipliers = np.zeros(n)  # by position in ``order``; warm start between nested sets

    def with_path(k: int, iterations: int) -> int:
        top, rest = split(k)
        value, mu = _path_lagrangian(instance, order[:k], iterations, start=multipliers[:k])
        multipliers[:k] = mu
        return max(top, value) + rest

    tried = {k: with_path(k, PATH_SEARCH_ITERATIONS)
             for k in _path_split_points(n, large_peak_requests(instance).size)}
    if tried:
        around = max(tried, key=lambda k: tried[k])
        for k in range(max(2, around - 2), min(n, PATH_MAX, around + 2) + 1):
            if k not in tried:
                tried[k] = with_path(k, PATH_SEARCH_ITERATIONS)
        top_k = max(tried, key=lambda k: tried[k])
        value = max(tried[top_k], with_path(top_k, PATH_ITERATIONS))
        if windows:
            top, rest = split(top_k)
            window = _window_lagrangian(instance, order[:top_k], WINDOW_ITERATIONS,
                                        start=multipliers[:top_k], work=WINDOW_WORK)[0]
            value = max(value, max(top, window) + rest)
        if value > best:
            best, best_k = value, top_k
    return best, best_k


def _path_split_points(n: int, large: int) -> list[int]:
    """Split points where :func:`restriction_bound` tries :func:`path_bound` first: every 4th
    from a few below the number of large-peak requests up to n (at most :data:`PATH_MAX`).
    Measured at the papers' size: the best split keeps 3-14 requests more than the
    large-peak ones in the first part (docs/exact-performance.md)."""
    lo, hi = max(2, large - 4), min(n, PATH_MAX)
    return sorted(set(range(lo, hi + 1, 4)) | {hi}) if lo <= hi else []


def completion_caps(instance: Instance, upper: int) -> np.ndarray:
    """cap[i] = upper - LB(all requests but i): in every schedule of value <= ``upper``,
    c_i <= cap[i] (models/time_indexed.md, "Windows from the bounds of the others").

    Restricting such a schedule to the other requests leaves a feasible schedule of them, so
    their completions sum to at least their lower bound, and c_i is what is left of ``upper``.
    Costs one :func:`lower_bound` per request (about 0.1 s each at 10-20 requests)."""
    instance = spec_equivalent(instance)
    caps = np.empty(instance.n, dtype=np.int64)
    for i in range(instance.n):
        others = [r for j, r in enumerate(instance.requests) if j != i]
        caps[i] = upper - (lower_bound(instance.with_requests(others)).value if others else 0)
    return caps


#: What :func:`lower_bound` computes: ``"full"``, every bound; ``"fast"``, all but the path
#: and window bounds (the 0.4 bound: at most about 1.5 s even at 1,400 requests, where ``full``
#: can take about 10 s at the papers' size; docs/exact-performance.md).
BOUND_EFFORTS = ("full", "fast")


def lower_bound(instance: Instance, *, effort: str = "full") -> BoundReport:
    """The best of the trivial, volume, epoch, machine and restriction bounds, with each part
    and the time taken; ``effort="fast"`` leaves out the path and window bounds."""
    instance = spec_equivalent(instance)
    check_bound_effort(effort)
    t0 = time.perf_counter()
    restriction, split = restriction_bound(instance, paths=effort == "full")
    parts = {"trivial": trivial_bound(instance), "volume": volume_bound(instance),
             "epoch": epoch_bound(instance), "machine": machine_bound(instance),
             "restriction": restriction}
    method = max(parts, key=lambda name: parts[name])
    return BoundReport(parts[method], method, parts, time.perf_counter() - t0, split)


def check_bound_effort(effort: str) -> None:
    """Refuse an unknown bound effort with a message naming the choices."""
    if effort not in BOUND_EFFORTS:
        raise OptschedError(f"unknown bound effort {effort!r}; choose one of "
                            f"{', '.join(BOUND_EFFORTS)}")
