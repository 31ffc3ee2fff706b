"""WAIT and Nested WAIT (Ao, Luo, Simchi-Levi, Wang, arXiv 2504.11320): threshold batching.

The paper's idea: requests of one *type* accumulate in a queue and are released to the batch as
a cohort once the queue holds a threshold number of them ("Waiting for Accumulated Inference
Threshold"), which keeps the batch near the load balance of its fluid model; Nested WAIT, for
unknown output lengths, lets every request start in the first *segment* of decode steps and
advance to later segments only if it has not finished, with thresholds per segment.

The reading implemented here (the paper's types, rates and thresholds are not those of our
instances; every choice is written down in docs/policies.md):

* **types**: requests are classed by the length the policy plans with, class k holding lengths
  in [2^(k-1), 2^k) (WAIT: the prediction, exact = known lengths; Nested WAIT: the segment
  boundary, below);
* **release**: a class is released when it holds ``threshold`` waiting requests (default 4, our
  choice), when its oldest waiting request has waited 2^k rounds (the class's length bound, so
  no request waits longer than a long request's run; our choice, needed because finite
  instances end), or for every class when nothing runs;
* **admission**: the released requests, in arrival order, pass MC-SF's future-memory check with
  the planned lengths; the largest feasible prefix starts (so WAIT never overflows with exact
  lengths);
* **Nested WAIT**: no prediction is used. A request is planned to the end of its segment: the
  first boundary b, 2b, 4b, ... (b = ``first_segment``, default 16) at or above what it is
  known to need, capped at M - s; a running request that passes its boundary is re-planned to
  the next one. The engine has no pause, so a request moves to its next segment at once instead
  of waiting for that segment's threshold; the paper's separate safety buffer is not modelled
  (planning to segment ends already over-provisions). On an overflow the newest runs are
  evicted first and re-enter with what they are known to need.

Both run on unit rounds (one round = one decode step whatever the batch): optsched's engine has
no batch-time model, so the paper's gain from larger batches under linear iteration times is not
represented, only the cost of waiting.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

from optsched.policies.engine import EngineView
from optsched.policies.online import LookaheadPolicy


class WAIT(LookaheadPolicy):
    """WAIT for known (predicted) lengths: cohorts per length class released at a threshold,
    admitted in arrival order under MC-SF's future-memory check (see the module doc)."""

    name = "wait"

    def __init__(self, threshold: int = 4) -> None:
        if isinstance(threshold, bool) or int(threshold) != threshold or threshold < 1:
            raise ValueError(f"threshold must be an integer >= 1, got {threshold!r}")
        self.threshold = int(threshold)

    def reset(self, view: EngineView, rng: np.random.Generator) -> None:
        super().reset(view, rng)
        self.klass: dict[int, int] = {}  # waiting request -> class
        self.count: dict[int, int] = {}  # class -> waiting requests
        self.fifo: dict[int, deque[tuple[int, int]]] = {}  # class -> (queued at, i), lazy

    def priority(self, i: int) -> tuple[int, ...]:
        return (self.view.arrival[i],)

    def _queue(self, i: int, t: int) -> None:
        k = self.planned[i].bit_length()
        self.klass[i] = k
        self.count[k] = self.count.get(k, 0) + 1
        self.fifo.setdefault(k, deque()).append((t, i))

    def on_arrival(self, i: int, t: int) -> None:
        super().on_arrival(i, t)
        self._queue(i, t)

    def on_evict(self, i: int, t: int) -> None:
        super().on_evict(i, t)
        self._queue(i, t)

    def on_start(self, i: int, t: int) -> None:
        super().on_start(i, t)
        self.count[self.klass.pop(i)] -= 1

    def _released(self, t: int) -> set[int] | None:
        """Classes whose cohort may start at t (None = all: nothing runs)."""
        if not self.running:
            return None
        out = set()
        for k, q in self.fifo.items():
            while q and self.klass.get(q[0][1]) != k:  # started (or re-queued) since
                q.popleft()
            if q and (self.count[k] >= self.threshold or t - q[0][0] >= 1 << k):
                out.add(k)
        return out

    def select(self, t: int) -> Sequence[int]:
        self.refresh(t)
        released = self._released(t)
        if released is not None and not released:
            return []
        cands = [key[-1] for key in self.waiting
                 if released is None or self.klass[key[-1]] in released]

        def prefix(k: int) -> tuple[list[int], list[int]]:
            return [self.prompt[i] for i in cands[:k]], [self.planned[i] for i in cands[:k]]

        return cands[:self.core.largest_prefix(t, len(cands), prefix)]


class NestedWAIT(WAIT):
    """Nested WAIT for unknown lengths: planned to the end of the current segment (b, 2b, 4b,
    ... capped at M - s), cohorts per segment released at a threshold (see the module doc)."""

    name = "nested-wait"

    def __init__(self, threshold: int = 4, first_segment: int = 16) -> None:
        super().__init__(threshold)
        if isinstance(first_segment, bool) or int(first_segment) != first_segment \
                or first_segment < 1:
            raise ValueError(f"first_segment must be an integer >= 1, got {first_segment!r}")
        self.first_segment = int(first_segment)

    def _segment_end(self, i: int, need: int) -> int:
        end = self.first_segment
        while end < need:
            end *= 2
        return min(end, self.view.memory_limit - self.prompt[i])

    def plan(self, i: int) -> int:
        return self._segment_end(i, self.known_min[i])

    def replan(self, i: int, t: int) -> int:
        return self.running[i] + self._segment_end(i, self.known_min[i])
