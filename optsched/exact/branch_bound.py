"""A problem-specific branch-and-bound over chronological start decisions (issue 17, design 1).

Every schedule is enumerated exactly once, in the canonical order of its starts: a node is a
time ``t`` and the requests started so far; its children start one more arrived request at
``t`` (with a larger index than the last one started at ``t``), or *advance* to the next round
in which some remaining request can start at all. A prefix fixes the memory of the started
requests at every future round exactly, so each node's bound is computed for the remaining
requests against that profile:

* every remaining request starts no earlier than ``e_j``, its earliest start that fits on top of
  the profile (the others only add memory), so the k-th smallest remaining completion is at
  least the k-th smallest ``e_j + o_j``;
* the k remaining requests that finish first use their whole memory-time volume in the rounds
  after ``t``, whose capacity is M minus the profile (*residual volume* bound);
* shifted to start at ``t``, the remaining requests alone form an instance with capacity M, so
  the epoch bound of :mod:`optsched.exact.bounds` (per k, reused from the root's cost rows)
  holds too.

The three per-k bounds are combined by their maximum, summed over k, and added to the fixed
completion times. A child also keeps its parent's bound; the root adds the restriction split
of :meth:`_Tree.split_bound` and the bound it is given, and the root's children (up to
:data:`STRONG_MAX_REQUESTS` requests) the full :func:`optsched.exact.bounds.lower_bound` of the rest
(:meth:`_Tree.strong_bound`).

Three dominance rules prune the tree (proofs in ``models/branch-and-bound.md``): identical
requests (same a, s, o) start in index order; an empty machine is never left idle when every
remaining request has arrived; and two nodes that reach the same round with the same remaining
set and the same future memory profile are equivalent, so only the cheaper one is kept
(memoisation). The search is best-first (ties: deeper first); beyond :data:`MAX_OPEN_NODES`
open nodes new children go to a depth-first stack, so memory stays bounded. When the time
runs out the proven bound is the least bound of an open node.
The search is pure Python and numpy; the schedules it returns are validated by the caller.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import cast

import numpy as np

from optsched.control import Deadline
from optsched.errors import SolverError
from optsched.exact.bounds import (
    DEFAULT_LAMBDAS,
    _completion_bounds_from_costs,
    core_bound,
    epoch_costs,
    volumes,
)
from optsched.model.instance import Instance
from optsched.model.schedule import Schedule

#: Open nodes kept in the best-first heap; beyond it children are explored depth-first (the
#: heap holds a numpy profile per node: about 0.5 kB, so 200,000 nodes stay near 100 MB).
MAX_OPEN_NODES = 200_000
#: States remembered for the memoisation rule (each key holds a short profile).
MAX_MEMO_STATES = 1_000_000
#: The dominance rules of models/branch-and-bound.md (all on by default; switching one off
#: only enlarges the tree, which the tests use to exercise each rule).
RULES = frozenset({"identical", "idle", "memo"})
#: Share of the time limit that LNS (optsched.exact.lns, CP-SAT on small windows) spends
#: improving the incumbent before the search starts (the search itself never used CP-SAT).
BNB_LNS_SHARE = 0.25
#: Share of the time limit for a first search before LNS: small instances are proven within
#: it, and the LNS time is not spent on them.
BNB_PROBE_SHARE = 0.1
#: Children of nodes with at most this many started requests also get the full combinatorial
#: bound of the remaining requests (:meth:`_Tree.strong_bound`, 0.05-0.3 s each).
STRONG_DEPTH = 1
#: ... and only up to this many requests: at 24 the children's full bounds took most of a 20 s
#: budget (docs/exact-designs/branch-and-bound.md); at the papers' size one takes seconds.
STRONG_MAX_REQUESTS = 20


@dataclass
class BnbOutcome:
    """What the search found: the best schedule (the incumbent if nothing better), its value,
    a proven lower bound, whether the search completed, and counters for the record."""

    schedule: Schedule
    value: int
    bound: int
    complete: bool
    nodes: int
    memo_pruned: int
    improvements: int

    def summary(self) -> str:
        """One line for ``raw_status``."""
        how = "search complete" if self.complete else "time limit"
        return (f"branch-and-bound: {how}, {self.nodes} nodes, {self.memo_pruned} pruned by "
                f"memoisation, {self.improvements} improvements; value {self.value}, "
                f"bound {self.bound}")


def check_convention(instance: Instance) -> None:
    """The search models docs/model.md exactly; any other memory convention is refused."""
    convention = getattr(instance, "memory_convention", "spec")
    if convention != "spec":
        raise SolverError(f"method 'bnb' supports only the 'spec' memory convention "
                          "(the default, docs/model.md), "
                          f"not {convention!r}")


class _Tree:
    """The instance's arrays and the node operations (fits, earliest start, bound)."""

    def __init__(self, instance: Instance) -> None:
        self.n = instance.n
        self.m = int(instance.memory_limit)
        self.a = [int(x) for x in instance.arrival]
        self.o = [int(x) for x in instance.output]
        self.o_arr = instance.output.astype(np.int64)
        self.ramps = [int(s) + np.arange(1, o + 1, dtype=np.int64)
                      for s, o in zip(instance.prompt, self.o, strict=True)]
        self.vol = volumes(instance)
        self.lams = DEFAULT_LAMBDAS
        self.h = epoch_costs(instance, self.lams)
        self.prompt = instance.prompt.astype(np.int64)
        self.peak_key = [(-(int(x) + y), -y, j) for j, (x, y) in
                         enumerate(zip(instance.prompt, self.o, strict=True))].__getitem__
        key = list(zip(self.a, instance.prompt.tolist(), self.o, strict=True))
        # pred[j]: the previous request identical to j (rule D1), or n (a bit never set)
        self.effort = "full"  # bound effort of the strong node bound (set by the search)
        self.pred = [max((i for i in range(j) if key[i] == key[j]), default=self.n)
                     for j in range(self.n)]

    def earliest(self, j: int, p: int, t: int, rel: np.ndarray) -> int:
        """Earliest start >= p of request j on top of the profile ``rel`` (rel[k] = memory in
        round t + 1 + k; zero beyond its end), as in earliest-fit list scheduling."""
        ramp = self.ramps[j]
        size = rel.size
        while True:
            k0 = p - t
            if k0 >= size:
                return p
            window = rel[k0:k0 + ramp.size]
            over = np.flatnonzero(window + ramp[:window.size] > self.m)
            if over.size == 0:
                return p
            # In an overfull round u, a start p' leaves j holding s + u - p' tokens, so every
            # fitting start has u - p' <= max(M - profile(u) - s, 0): the least such p'.
            room = np.maximum(self.m - window[over] - (int(ramp[0]) - 1), 0)
            p = int((p + 1 + over - room).max())

    def split_bound(self, t: int, rel: np.ndarray, rem: list[int], e: list[int]) -> int:
        """The restriction argument of :func:`optsched.exact.bounds.restriction_bound` at a node:
        the remaining requests split by peak into the k largest and the rest, each part
        bounded alone (a schedule restricted to a part is one of that part); the first part
        also gets :func:`optsched.exact.bounds.core_bound` with release dates e_j (a request cannot
        start before e_j, so its core cannot begin before e_j + L_j)."""
        order = sorted(rem, key=self.peak_key)
        best = self.rest_bound(t, rel, rem, e)
        if len(order) < 2:
            return best
        view = cast(Instance, _Released(self, e))  # the fields core_bound reads
        for k in range(1, len(order)):
            top = order[:k]
            first = max(self.rest_bound(t, rel, top, e), core_bound(view, np.array(top)))
            best = max(best, first + self.rest_bound(t, rel, order[k:], e))
        return best

    def strong_bound(self, t: int, rem: list[int], e: list[int]) -> int:
        """:func:`optsched.exact.bounds.lower_bound` of the remaining requests alone, released at
        e_j and shifted to start at t (a relaxation: the prefix's memory is dropped, its only
        trace being e_j), plus t per request."""
        from optsched.exact.bounds import lower_bound
        from optsched.model.instance import make_instance

        sub = make_instance(self.m, [self.o[j] for j in rem],
                            [int(self.prompt[j]) for j in rem], [e[j] - t for j in rem])
        return lower_bound(sub, effort=self.effort).value + t * len(rem)

    def rest_bound(self, t: int, rel: np.ndarray, rem: list[int], e: list[int]) -> int:
        """Lower bound on the remaining requests' total completion time, all starting at
        >= t, request j at >= e[j], on top of the profile ``rel`` (module docstring)."""
        idx = np.array(rem, dtype=np.int64)
        release = np.array([e[j] for j in rem], dtype=np.int64) + self.o_arr[idx] - t
        per_k = _completion_bounds_from_costs(self.h[idx], release, self.m, self.lams)
        vk = np.cumsum(np.sort(self.vol[idx]))
        if rel.size:
            cum = np.cumsum(self.m - rel)
            pos = np.searchsorted(cum, vk)  # first round whose cumulative capacity covers V_k
            beyond = rel.size - (-(vk - cum[-1]) // self.m)
            per_k = np.maximum(per_k, np.where(pos < rel.size, pos + 1, beyond))
        else:
            per_k = np.maximum(per_k, -(-vk // self.m))
        return int(per_k.sum()) + t * len(rem)


class _Released:
    """The instance seen by :func:`optsched.exact.bounds.core_bound` at a node: arrivals raised to
    the earliest starts e_j (prompt, output and M unchanged)."""

    def __init__(self, tree: _Tree, e: list[int]) -> None:
        self.arrival = np.array(e, dtype=np.int64)
        self.prompt = tree.prompt
        self.output = tree.o_arr
        self.memory_limit = tree.m


def branch_and_bound(instance: Instance, incumbent: Schedule, *, lower: int = 0,
                     time_limit: float | None = None, rules: frozenset[str] = RULES,
                     strong_depth: int = 0, effort: str = "full",
                     deadline: Deadline | None = None) -> BnbOutcome:
    """Search for a schedule better than the valid ``incumbent``; ``lower`` is a proven lower
    bound already known (e.g. :func:`optsched.exact.bounds.lower_bound`). Returns the best schedule
    and a proven bound: equal to its value when the search completed. ``rules`` selects the
    dominance rules (:data:`RULES`). The search ends at ``time_limit`` seconds or when
    ``deadline`` expires (which a stop request also does), whichever comes first."""
    check_convention(instance)
    if not rules <= RULES:
        raise SolverError(f"unknown dominance rule(s) {sorted(rules - RULES)}; choose from "
                          f"{sorted(RULES)}")
    tree = _Tree(instance)
    tree.effort = effort
    if "identical" not in rules:
        tree.pred = [tree.n] * tree.n
    outputs = {r.id: r.output_tokens for r in instance.requests}
    clock = (Deadline(None) if deadline is None else deadline).capped(time_limit)
    search = _Search(tree, rules, incumbent.objective(outputs), clock,
                     -1 if tree.n > STRONG_MAX_REQUESTS else strong_depth)
    root_lb = search.start(lower)
    complete = search.run()
    # every schedule better than the incumbent lies below an open node (or was pruned by a
    # rule that keeps an equivalent or better one): the least open bound is a proven bound
    open_bounds = [en[0] for en in search.heap] + [en[0] for en in search.stack]
    bound = search.best_value if complete else min(search.best_value,
                                                   max(root_lb, min(open_bounds)))
    schedule = incumbent if search.best_starts is None else Schedule(
        {rid: int(p) for rid, p in zip(instance.ids, search.best_starts, strict=True)})
    return BnbOutcome(schedule, search.best_value, int(bound), complete, search.nodes,
                      search.memo_pruned, search.improvements)


class _Search:
    """The open nodes (best-first heap, depth-first stack beyond :data:`MAX_OPEN_NODES`), the
    best schedule so far and the counters of one :func:`branch_and_bound` run.

    A node is (t, last started at t or -1, profile from t + 1, starts, remaining mask, cost,
    earliest starts, memo key or None)."""

    def __init__(self, tree: _Tree, rules: frozenset[str], best_value: int, clock: Deadline,
                 strong_depth: int) -> None:
        self.tree, self.rules, self.clock = tree, rules, clock
        self.strong_depth = strong_depth
        self.best_value = best_value
        self.best_starts: tuple[int, ...] | None = None
        self.nodes = self.memo_pruned = self.improvements = self.counter = 0
        self.memo: dict[tuple, int] = {}
        self.heap: list[tuple] = []
        self.stack: list[tuple] = []

    def start(self, lower: int) -> int:
        """Open the root node; returns its bound."""
        tree, n = self.tree, self.tree.n
        t0 = min(tree.a)
        rel0 = np.zeros(0, dtype=np.int64)
        e0 = [tree.a[j] for j in range(n)]
        root_lb = max(lower, tree.split_bound(t0, rel0, list(range(n)), e0))
        self.heap.append((root_lb, 0, 0, (t0, -1, rel0, (-1,) * n, (1 << n) - 1, 0, e0, None)))
        return root_lb

    def run(self) -> bool:
        """Expand nodes until none is left (True: the search completed) or time is up."""
        while self.heap or self.stack:
            from_heap = not self.stack
            entry = heapq.heappop(self.heap) if from_heap else self.stack.pop()
            lb, _, _, node = entry
            if lb >= self.best_value:
                if from_heap:  # the heap's least bound reached the incumbent: nothing better
                    self.heap.clear()
                continue
            self.nodes += 1
            if self.clock.expired():
                if from_heap:
                    heapq.heappush(self.heap, entry)
                else:
                    self.stack.append(entry)
                return False
            self.expand(lb, node)
        return True

    def expand(self, lb: int, node: tuple) -> None:
        """Push the children of ``node`` (bound ``lb``): one more start at t, or advance."""
        t, last, rel, starts, mask, cost, e, key = node
        if key is not None and self.memo.get(key, cost) < cost:
            self.memo_pruned += 1  # a cheaper node with the same state was found since (D3)
            return
        rem = [j for j in range(self.tree.n) if mask >> j & 1]
        children = [c for j in rem if (c := self.start_child(lb, node, rem, j)) is not None]
        advance = self.advance_child(lb, node, rem)
        if advance is not None:
            children.append(advance)
        self.push(children, self.tree.n - len(rem) + 1)

    def start_child(self, lb: int, node: tuple, rem: list[int], j: int
                    ) -> tuple[int, tuple] | None:
        """The child that starts request j at t (None when not allowed or not promising; a
        complete schedule better than the best is recorded instead)."""
        tree = self.tree
        t, last, rel, starts, mask, cost, e, _ = node
        if j <= last or tree.a[j] > t or e[j] != t or mask >> tree.pred[j] & 1:
            return None  # canonical order, not arrived, does not fit, or rule D1
        ramp = tree.ramps[j]
        new_rel = np.zeros(max(rel.size, ramp.size), dtype=np.int64)
        new_rel[:rel.size] = rel
        new_rel[:ramp.size] += ramp
        new_cost = cost + t + tree.o[j]
        new_starts = starts[:j] + (t,) + starts[j + 1:]
        new_mask = mask & ~(1 << j)
        if not new_mask:
            if new_cost < self.best_value:
                self.best_value, self.best_starts = new_cost, new_starts
                self.improvements += 1
            return None
        new_rem = [i for i in rem if i != j]
        new_e = list(e)
        for i in new_rem:
            new_e[i] = tree.earliest(i, max(e[i], t if i > j else t + 1), t, new_rel)
        child_lb = self.child_bound(lb, new_cost, t, new_rel, new_rem, new_e)
        if child_lb >= self.best_value:
            return None
        return child_lb, (t, j, new_rel, new_starts, new_mask, new_cost, new_e, None)

    def advance_child(self, lb: int, node: tuple, rem: list[int]) -> tuple[int, tuple] | None:
        """The child that starts nothing more at t and moves to the next round in which some
        remaining request can start (None when rule D2 or D3 prunes it, or not promising)."""
        tree = self.tree
        t, last, rel, starts, mask, cost, e, _ = node
        idle = not rel.any()
        if "idle" in self.rules and last < 0 and idle and all(tree.a[i] <= t for i in rem):
            return None  # rule D2
        new_e = list(e)
        for i in rem:
            new_e[i] = tree.earliest(i, max(e[i], t + 1), t, rel)
        t_next = min(new_e[i] for i in rem)
        new_rel = rel[t_next - t:]
        child_key = (t_next, mask, np.trim_zeros(new_rel, "b").tobytes())
        known = self.memo.get(child_key) if "memo" in self.rules else None
        if known is not None and known <= cost:
            self.memo_pruned += 1
            return None
        child_lb = self.child_bound(lb, cost, t_next, new_rel, rem, new_e)
        if child_lb >= self.best_value:
            return None
        if "memo" in self.rules and (known is not None or len(self.memo) < MAX_MEMO_STATES):
            self.memo[child_key] = cost
        return child_lb, (t_next, -1, new_rel, starts, mask, cost, new_e, child_key)

    def child_bound(self, lb: int, cost: int, t: int, rel: np.ndarray, rem: list[int],
                    e: list[int]) -> int:
        """A child's bound: its parent's, its fixed cost plus the bound of the rest, and near
        the root (``strong_depth``) the full combinatorial bound of the rest."""
        child_lb = max(lb, cost + self.tree.rest_bound(t, rel, rem, e))
        if (child_lb < self.best_value and self.tree.n - len(rem) <= self.strong_depth
                and not self.clock.expired()):
            child_lb = max(child_lb, cost + self.tree.strong_bound(t, rem, e))
        return child_lb

    def push(self, children: list[tuple[int, tuple]], depth: int) -> None:
        """Open the children: on the heap, or depth-first once the heap is full."""
        if self.stack or len(self.heap) >= MAX_OPEN_NODES:
            for child_lb, child in sorted(children, key=lambda c: -c[0]):
                self.counter += 1
                self.stack.append((child_lb, -depth, self.counter, child))
        else:
            for child_lb, child in children:
                self.counter += 1
                heapq.heappush(self.heap, (child_lb, -depth, self.counter, child))
