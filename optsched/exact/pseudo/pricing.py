"""Pricing over pseudo-schedules by a dynamic program on memory profiles (issue 24).

A *pseudo-schedule* is a multiset of n starts (request j at round t, a_j <= t inside j's start
window) that is exactly feasible for the integer memory rows, in which a request may start more
than once and another not at all. Pricing finds the cheapest one for multipliers pi:

    min  sum over starts (j, t) of  t + o_j - pi_j.

The program walks the rounds in order. Its state after the starts of round t is the memory
that the runs started so far will hold at rounds t+1, t+2, ... (the *committed profile*), the
number of starts so far and, for a repeat limit, how often each tracked request started. Two
rules keep the state space small without losing the optimum (proofs in
``models/pseudo-schedule-bound.md``):

* dominance: of two states at the same round with the same start count and tracked counts, one
  whose profile is pointwise no higher and whose cost is no higher is kept and the other dropped;
* item dominance: at a round, a request whose prompt, length and reduced cost are all no smaller
  than those of an untracked request's is never started there (swap it for the other one).

With a ``width``, a layer with more states than that is shrunk: the *relaxed* diagram merges
states by the pointwise minimum of their profiles and costs, so its optimum is a lower bound on
the pricing optimum; the *restricted* one keeps the cheapest states, so it returns a real
pseudo-schedule, usually a good one. Everything here works on SPEC-equivalent numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from optsched.control import Deadline
from optsched.errors import SolverError
from optsched.model.instance import Instance, spec_equivalent

#: Modes of :func:`price`: exact, relaxed (merge beyond width) or restricted (drop beyond width).
MODES = ("exact", "relaxed", "restricted")
#: Cost tolerance of the pruning test (costs are floats when multipliers are).
EPS = 1e-9
#: States compared at once in the dominance test (memory: chunk x layer x profile length).
_CHUNK = 512
#: Largest layer the exact mode compares all pairs of (beyond, the cheapest few, as below).
FULL_DOMINANCE_MAX = 20_000
#: States of a group every state is compared with in the dominance test (the cheapest).
_LEADERS = 32
#: Pseudo-schedules kept in a result's pool (extra columns for the master).
POOL = 20
#: Largest rounding step of the relaxed merge before it falls back to one state per count.
_MAX_Q = 64


class PricingStopped(Exception):
    """A pricing run hit its state budget or its deadline before it finished."""


@dataclass(frozen=True)
class PricingData:
    """The SPEC-equivalent numbers the pricing needs, with the start window of each request."""

    m: int
    s: tuple[int, ...]
    o: tuple[int, ...]
    windows: tuple[tuple[int, int], ...]

    @property
    def n(self) -> int:
        return len(self.s)

    @classmethod
    def of(cls, instance: Instance, windows: Sequence[tuple[int, int]] | None = None
           ) -> PricingData:
        """From an instance (normalised to its SPEC equivalent); default windows are
        [a_j, horizon - o_j], which contain every schedule's starts."""
        inst = spec_equivalent(instance)
        if windows is None:
            windows = [(int(a), inst.horizon - int(o)) for a, o in zip(inst.arrival, inst.output,
                                                                        strict=True)]
        if len(windows) != inst.n:
            raise SolverError(f"{len(windows)} start windows for {inst.n} requests")
        return cls(inst.memory_limit, tuple(int(x) for x in inst.prompt),
                   tuple(int(x) for x in inst.output), tuple((int(lo), int(hi))
                                                             for lo, hi in windows))


@dataclass
class PricingResult:
    """The pricing optimum (a lower bound on it in relaxed mode) and a pseudo-schedule."""

    value: float  #: min reduced cost (relaxed: a lower bound on it; restricted: an upper bound)
    starts: list[tuple[int, int]] | None  #: (request, round) of the best pseudo-schedule found
    exact: bool  #: value is the exact optimum (no state was merged or dropped)
    states: int = 0  #: states created, a measure of the work done
    merged: bool = False  #: some layer was merged (relaxed) or cut (restricted)
    #: the cheapest pseudo-schedules met on the way (each cheaper than all met before it)
    pool: list[list[tuple[int, int]]] = field(default_factory=list)


@dataclass
class _Node:
    cost: float
    profile: tuple[int, ...]
    count: int
    reps: tuple[int, ...]
    parent: _Node | None = field(default=None, repr=False)
    move: tuple[int, int] | None = None


def _ramp(s: int, o: int) -> tuple[int, ...]:
    """Memory a run holds in its rounds 1..o (models/pseudo-schedule-bound.md)."""
    return tuple(s + g for g in range(1, o + 1))


def _add(profile: tuple[int, ...], ramp: tuple[int, ...], m: int) -> tuple[int, ...] | None:
    """The profile with one more run added, or None when some round would exceed m."""
    if len(ramp) > len(profile):
        profile, ramp = ramp, profile
    out = list(profile)
    for d, v in enumerate(ramp):
        out[d] += v
        if out[d] > m:
            return None
    return tuple(out)


def _path(node: _Node | None) -> list[tuple[int, int]]:
    out = []
    while node is not None:
        if node.move is not None:
            out.append(node.move)
        node = node.parent
    return out[::-1]


class _Pricer:
    """One pricing run: the layers of the diagram, round by round."""

    def __init__(self, data: PricingData, duals: Sequence[float], tracked: Sequence[int],
                 repeat_limit: int | None, mode: str, width: int | None,
                 max_states: int | None = None, deadline: Deadline | None = None) -> None:
        if mode not in MODES:
            raise SolverError(f"pricing mode must be one of {', '.join(MODES)}, not {mode!r}")
        if len(duals) != data.n:
            raise SolverError(f"{len(duals)} multipliers for {data.n} requests")
        self.d = data
        self.pi = [float(x) for x in duals]
        self.ramps = [_ramp(s, o) for s, o in zip(data.s, data.o, strict=True)]
        self.limit = repeat_limit
        self.tracked = tuple(sorted(set(tracked))) if repeat_limit is not None else ()
        self.slot = {j: k for k, j in enumerate(self.tracked)}
        self.mode, self.width = mode, width
        self.best = math.inf
        self.best_node: _Node | None = None
        self.states = 0
        self.merged = False
        self.max_states = max_states
        self.deadline = deadline
        self.finished: list[_Node] = []

    def unit(self, j: int, t: int) -> float:
        return t + self.d.o[j] - self.pi[j]

    def eligible(self, t: int) -> list[int]:
        """Requests worth starting at round t (window open, not dominated by an untracked one)."""
        cand = [j for j, (lo, hi) in enumerate(self.d.windows) if lo <= t <= hi]
        keep = []
        for j in cand:
            if not any(self._dominates(i, j) for i in cand if i != j):
                keep.append(j)
        return keep

    def _dominates(self, i: int, j: int) -> bool:
        """Start i instead of j: no more memory at any round and no higher cost (i untracked)."""
        if i in self.slot:
            return False
        d = self.d
        if d.s[i] > d.s[j] or d.o[i] > d.o[j] or d.o[i] - self.pi[i] > d.o[j] - self.pi[j]:
            return False
        tie = (d.s[i], d.o[i], d.o[i] - self.pi[i]) == (d.s[j], d.o[j], d.o[j] - self.pi[j])
        return not tie or i < j

    def future_unit(self, t: int) -> float:
        """Least reduced cost of one start at a round >= t."""
        best = math.inf
        for j, (lo, hi) in enumerate(self.d.windows):
            r = max(t, lo)
            if r <= hi:
                best = min(best, self.unit(j, r))
        return best

    def expand(self, layer: list[_Node], t: int) -> list[_Node]:
        """Every state after the starts of round t (each eligible request, any number of times)."""
        table: dict[tuple[tuple[int, ...], int, tuple[int, ...]], _Node] = {}
        for x in layer:
            key = (x.profile, x.count, x.reps)
            if key not in table or x.cost < table[key].cost:
                table[key] = x
        floor = self.future_unit(t)
        for j in self.eligible(t):
            if self.deadline is not None and self.deadline.expired():
                raise PricingStopped("deadline")
            queue = list(table.values())
            for node in queue:
                child = self._child(node, j, t, floor)
                if child is None:
                    continue
                key = (child.profile, child.count, child.reps)
                old = table.get(key)
                if old is None or child.cost < old.cost - EPS:
                    table[key] = child
                    queue.append(child)
        return list(table.values())

    def _child(self, node: _Node, j: int, t: int, floor: float) -> _Node | None:
        n = self.d.n
        if node.count >= n:
            return None
        reps = node.reps
        if j in self.slot:
            k = self.slot[j]
            assert self.limit is not None
            if reps[k] >= self.limit:
                return None
            reps = reps[:k] + (reps[k] + 1,) + reps[k + 1:]
        cost = node.cost + self.unit(j, t)
        rest = n - node.count - 1
        if cost + (rest * floor if rest else 0.0) >= self.best - EPS:
            return None
        prof = _add(node.profile, self.ramps[j], self.d.m)
        if prof is None:
            return None
        self.states += 1
        return _Node(cost, prof, node.count + 1, reps, node, (j, t))

    def settle(self, layer: list[_Node], t: int) -> list[_Node]:
        """Record finished states, prune by the bound, drop dominated states, apply the width."""
        live = []
        floor_next = self.future_unit(t + 1)
        for x in layer:
            if x.count == self.d.n:
                if x.cost < self.best - EPS:
                    self.best, self.best_node = x.cost, x
                    self.finished.append(x)
            elif floor_next < math.inf and (x.cost + (self.d.n - x.count) * floor_next
                                            < self.best - EPS):
                live.append(_shift(x))
        full = self.mode == "exact" and len(live) <= FULL_DOMINANCE_MAX  # quadratic test
        live = _undominated(live, None if full else _LEADERS)
        if self.width is not None and self.mode != "exact" and len(live) > self.width:
            self.merged = True
            live = (_merge(live, self.width) if self.mode == "relaxed"
                    else _cheapest(live, self.width, self.d.n, floor_next))
        return live

    def run(self, upper: float | None) -> PricingResult:
        if upper is not None:
            self.best = upper + 1e-7
        first = min(lo for lo, _ in self.d.windows)
        last = max(hi for _, hi in self.d.windows)
        layer = [_Node(0.0, (), 0, (0,) * len(self.tracked))]
        for t in range(first, last + 1):
            layer = self.settle(self.expand(layer, t), t)
            if self.max_states is not None and self.states > self.max_states:
                raise PricingStopped(f"more than {self.max_states} states")
            if self.deadline is not None and self.deadline.expired():
                raise PricingStopped("deadline")
            if not layer:
                break
        starts = _path(self.best_node) if self.best_node is not None else None
        value = self.best if upper is None else min(self.best, upper)
        pool = [_path(x) for x in sorted(self.finished, key=lambda x: x.cost)[:POOL]]
        return PricingResult(value, starts, not self.merged, self.states, self.merged, pool)


def _shift(x: _Node) -> _Node:
    """The state seen from the next round: drop the round that just passed (and trailing
    zeros, so equal profiles have equal keys)."""
    prof = x.profile[1:]
    while prof and prof[-1] == 0:
        prof = prof[:-1]
    return _Node(x.cost, prof, x.count, x.reps, x.parent, x.move)


def _undominated(layer: list[_Node], leaders: int | None) -> list[_Node]:
    """Drop every state another state of the same count and tracked counts dominates."""
    unique: dict[tuple[tuple[int, ...], int, tuple[int, ...]], _Node] = {}
    for x in layer:  # equal profiles first: one state per key, the cheapest
        key = (x.profile, x.count, x.reps)
        if key not in unique or x.cost < unique[key].cost:
            unique[key] = x
    groups: dict[tuple[int, tuple[int, ...]], list[_Node]] = {}
    for x in unique.values():
        groups.setdefault((x.count, x.reps), []).append(x)
    out = []
    for members in groups.values():
        out.extend(members if len(members) == 1 else _pareto(members, leaders))
    return out


def _pareto(members: list[_Node], leaders: int | None) -> list[_Node]:
    """The members not dominated by another (profile pointwise <= and cost <=), or with
    ``leaders`` by one of that many cheapest members. Dropping a dominated state never loses
    the optimum; comparing with the cheapest few only keeps the test linear in the layer
    (profiles are distinct, so no two states dominate each other)."""
    members = sorted(members, key=lambda x: x.cost)
    length = max(len(x.profile) for x in members)
    prof = np.zeros((len(members), length), dtype=np.int32)
    for k, x in enumerate(members):
        prof[k, :len(x.profile)] = x.profile
    cost = np.array([x.cost for x in members])
    lead = len(members) if leaders is None else min(len(members), leaders)
    keep = np.ones(len(members), dtype=bool)
    for lo in range(0, len(members), _CHUNK):
        hi = min(lo + _CHUNK, len(members))
        below = (prof[:lead, None, :] <= prof[None, lo:hi, :]).all(axis=2)
        below &= cost[:lead, None] <= cost[None, lo:hi] + EPS
        idx = np.arange(lo, min(hi, lead))
        below[idx, idx - lo] = False
        keep[lo:hi] = ~below.any(axis=0)
    return [x for x, k in zip(members, keep, strict=True) if k]


def _merge(layer: list[_Node], width: int) -> list[_Node]:
    """Relaxed layer of at most ``width`` states: states with the same start count whose
    profiles agree after rounding down to multiples of q are merged into one state holding the
    pointwise minimum of profile, cost and tracked counts (a merged state allows everything each
    member allows); q doubles until the layer fits, so similar shapes merge first."""
    q = 2
    while True:
        groups: dict[tuple[int, tuple[int, ...]], list[_Node]] = {}
        for x in layer:
            groups.setdefault((x.count, tuple(v // q for v in x.profile)), []).append(x)
        if len(groups) <= width or q > 4 * _MAX_Q:
            break
        q *= 2
    if len(groups) > width:  # one state per start count is always few enough in practice
        groups = {}
        for x in layer:
            groups.setdefault((x.count, ()), []).append(x)
    return [_meet(members) for members in groups.values()]


def _cheapest(layer: list[_Node], width: int, n: int, floor: float) -> list[_Node]:
    """Restricted layer: per start count an equal share of ``width``, the states with the least
    cost plus the least cost of the starts still to make (so counts are compared fairly)."""
    groups: dict[int, list[_Node]] = {}
    for x in layer:
        groups.setdefault(x.count, []).append(x)
    share = max(1, width // len(groups))
    out = []
    for count, members in groups.items():
        members.sort(key=lambda x: x.cost + (n - count) * floor)
        out.extend(members[:share])
    return out


def _meet(members: list[_Node]) -> _Node:
    if len(members) == 1:
        return members[0]
    length = max(len(x.profile) for x in members)
    prof = tuple(min((x.profile[d] if d < len(x.profile) else 0) for x in members)
                 for d in range(length))
    reps = tuple(min(col) for col in zip(*(x.reps for x in members), strict=True))
    best = min(members, key=lambda x: x.cost)
    return _Node(best.cost, prof, best.count, reps, best.parent, best.move)


def price(data: PricingData, duals: Sequence[float], *, mode: str = "exact",
          width: int | None = None, repeat_limit: int | None = None,
          tracked: Sequence[int] = (), upper: float | None = None,
          max_states: int | None = None, deadline: Deadline | None = None) -> PricingResult:
    """Cheapest pseudo-schedule for multipliers ``duals`` (module doc).

    ``repeat_limit`` r: each request in ``tracked`` starts at most r times (the others are
    unlimited, a relaxation of the limit). ``upper``: the reduced cost of a known
    pseudo-schedule; only cheaper ones are searched for (the value is ``upper`` if none is).
    Raises :class:`PricingStopped` past ``max_states`` created states or the ``deadline``."""
    if repeat_limit is not None and repeat_limit < 1:
        raise SolverError(f"repeat limit must be >= 1, not {repeat_limit}")
    if width is not None and width < 1:
        raise SolverError(f"pricing width must be >= 1, not {width}")
    return _Pricer(data, duals, tracked, repeat_limit, mode, width, max_states,
                   deadline).run(upper)


def reduced_cost(data: PricingData, duals: Sequence[float] | np.ndarray,
                 starts: Sequence[tuple[int, int]]) -> float:
    """sum (t + o_j - pi_j) over the starts of a pseudo-schedule."""
    return float(sum(t + data.o[j] - duals[j] for j, t in starts))


def is_pseudo_schedule(data: PricingData, starts: Sequence[tuple[int, int]]) -> bool:
    """n starts inside their windows and memory <= M at every round (own bookkeeping)."""
    if len(starts) != data.n:
        return False
    mem: dict[int, int] = {}
    for j, t in starts:
        lo, hi = data.windows[j]
        if not lo <= t <= hi:
            return False
        for g in range(1, data.o[j] + 1):
            mem[t + g] = mem.get(t + g, 0) + data.s[j] + g
    return all(v <= data.m for v in mem.values())
