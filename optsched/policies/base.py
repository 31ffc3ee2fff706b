"""The policy protocol of the online engine, and a base class that keeps the bookkeeping.

The engine (:mod:`optsched.policies.engine`) calls, at each decision time t: ``on_complete`` for
finished requests, ``on_arrival`` for new ones, then ``select(t)`` (which waiting requests start
now), ``on_start`` for each, and on an overflow ``evict(t, excess)`` (which running requests to
clear) followed by ``on_evict`` for each. A policy sees only
:class:`optsched.policies.engine.EngineView`: predicted lengths, never the true ones. Both the
protocol and the view are declared in :mod:`optsched.policies.engine` (the side that calls them),
so the import runs one way: policies -> engine.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Sequence

import numpy as np

from optsched.errors import OptschedError
from optsched.policies.engine import EngineView, Policy


class NotApplicableError(OptschedError):
    """The policy cannot serve this instance by its own rules (e.g. a request that does not fit
    in whole KV blocks). ``compare`` reports it as "n/a", never as a ratio."""

#: ``Policy`` (the protocol) is declared by the engine, which calls it; it is re-exported here
#: because every policy implements it.
__all__ = ["BasePolicy", "EngineView", "Policy"]


class BasePolicy:
    """Keeps the waiting requests sorted by :meth:`priority` and the running ones with their start.

    ``known_min[i]`` is what the policy has *observed* about request i's length: a run of i that
    was still going at round t after starting at p proves o_i >= t - p + 1. Subclasses plan with
    max(prediction, known_min). The default clearing rule evicts the most recently started
    requests first (fewest generated tokens lost) until the excess is covered.
    """

    name = "base"
    #: which prediction the policy plans with: "point", "lower" or "upper"
    estimate = "point"

    def reset(self, view: EngineView, rng: np.random.Generator) -> None:
        self.view = view
        self.rng = rng
        self.prompt = view.prompt
        self.base = getattr(view, self.estimate)
        self.known_min = [1] * view.n
        self.waiting: list[tuple[int, ...]] = []
        self.key: dict[int, tuple[int, ...]] = {}
        self.running: dict[int, int] = {}

    def plan(self, i: int) -> int:
        """Length the policy currently plans with for request i."""
        return int(max(self.base[i], self.known_min[i]))

    def priority(self, i: int) -> tuple[int, ...]:
        """Sort key of a waiting request (smaller first); the position i breaks ties."""
        raise NotImplementedError

    def _push(self, i: int) -> None:
        k = (*self.priority(i), i)
        self.key[i] = k
        insort(self.waiting, k)

    def on_arrival(self, i: int, t: int) -> None:
        self._push(i)

    def on_start(self, i: int, t: int) -> None:
        k = self.key.pop(i, None)
        if k is not None:
            pos = bisect_left(self.waiting, k)
            del self.waiting[pos]
        self.running[i] = t

    def on_complete(self, i: int, t: int) -> None:
        del self.running[i]

    def on_evict(self, i: int, t: int) -> None:
        p = self.running.pop(i)
        self.known_min[i] = max(self.known_min[i], t - p + 1)
        self._push(i)

    def take(self, k: int) -> list[int]:
        """Remove and return the first k waiting requests."""
        head = [key[-1] for key in self.waiting[:k]]
        for i in head:
            del self.key[i]
        del self.waiting[:k]
        return head

    def evict(self, t: int, excess: int) -> Sequence[int]:
        """Newest runs first (ties: higher position) until their memory at t + 1 covers excess."""
        victims, freed = [], 0
        for i, p in sorted(self.running.items(), key=lambda x: (-x[1], -x[0])):
            victims.append(i)
            freed += self.prompt[i] + t + 1 - p
            if freed >= excess:
                break
        return victims
