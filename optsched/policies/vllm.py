"""vLLM-style scheduling: paged KV cache, FCFS admission, recompute preemption.

What a production engine does (the reading is written down in docs/policies.md):

* memory is allocated in **blocks** of B tokens (B = 16 by default; B = 1 is the token model of
  docs/model.md). A request holding k tokens occupies ceil(k / B) blocks; the pool has floor(M / B)
  blocks, so block accounting that fits implies token memory <= M (the engine never overflows);
* **admission**: first come, first served; the head of the queue is admitted while the free
  blocks for the next round cover its prompt plus one block, ceil(s / B) + 1; the first request
  that does not fit stops admission (no skipping ahead) and nothing looks at future growth;
* **preemption**: before memory for the next round is charged, if the running requests need
  more blocks than the pool holds, the most recently admitted running request is preempted
  (recompute: it loses its cache, its generated tokens are wasted, and it rejoins the *front* of
  the queue), repeatedly until the rest fit. A round with a preemption admits nobody.

The oldest running request is never preempted, so it always progresses and the family never
stalls; a request that cannot fit in whole blocks (its prompt plus one block, or its whole run,
above the pool) is reported as not applicable (:class:`NotApplicableError`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

from optsched.policies.base import BasePolicy, NotApplicableError
from optsched.policies.engine import EngineView


class VLLM(BasePolicy):
    """vLLM-style FCFS with block allocation and recompute preemption (see the module doc).

    Bookkeeping is O(1) per round: request i needs (s_i + t - p_i) // B + 1 blocks for round
    t + 1, which grows by one exactly when (s_i - p_i + t) % B == 0, so counting the running
    requests by the residue (s_i - p_i) mod B gives the growth of every round."""

    name = "vllm"

    def __init__(self, block_size: int = 16) -> None:
        if isinstance(block_size, bool) or int(block_size) != block_size or block_size < 1:
            raise ValueError(f"block_size must be an integer >= 1, got {block_size!r}")
        self.block_size = int(block_size)

    def reset(self, view: EngineView, rng: np.random.Generator) -> None:
        super().reset(view, rng)
        b = self.block_size
        self.pool = view.memory_limit // b
        for i in range(view.n):
            if -(-self.prompt[i] // b) + 1 > self.pool:
                raise NotApplicableError(
                    f"policy {self.name!r}: request {view.ids[i]!r} (prompt {self.prompt[i]}) "
                    f"needs {-(-self.prompt[i] // b) + 1} blocks of {b} to be admitted, the pool "
                    f"holds {self.pool} (M = {view.memory_limit})")
        self.queue: deque[int] = deque()
        self.residue = [0] * b  # running requests by (s_i - p_i) mod B
        self.used = 0  # blocks the running requests hold in round now + 1
        self.now = -1
        self.just_preempted = False

    def _blocks(self, i: int, t: int) -> int:
        """Blocks request i (running since running[i]) holds in round t + 1."""
        return (self.prompt[i] + t - self.running[i]) // self.block_size + 1

    def _advance(self, t: int) -> None:
        if self.running and t > self.now:
            b, gap = self.block_size, t - self.now
            self.used += (gap // b) * len(self.running)
            for u in range(t - gap % b + 1, t + 1):
                self.used += self.residue[-u % b]
        self.now = max(self.now, t)

    def on_arrival(self, i: int, t: int) -> None:
        self.queue.append(i)

    def on_start(self, i: int, t: int) -> None:
        self._advance(t)
        self.running[i] = t
        self.residue[(self.prompt[i] - t) % self.block_size] += 1
        self.used += self._blocks(i, t)

    def _drop(self, i: int) -> None:
        self.used -= self._blocks(i, self.now)
        self.residue[(self.prompt[i] - self.running[i]) % self.block_size] -= 1
        del self.running[i]

    def on_complete(self, i: int, t: int) -> None:
        self._drop(i)  # its blocks are counted at the last decision time, self.now

    def on_evict(self, i: int, t: int) -> None:
        self._advance(t)
        self._drop(i)
        self.queue.appendleft(i)  # newest first, so the oldest preempted ends at the front

    def preempt(self, t: int) -> Sequence[int]:
        self._advance(t)
        self.just_preempted = False
        if self.used <= self.pool:
            return []
        victims, need = [], self.used
        order = list(self.running)
        for i in reversed(order[1:]):  # most recently admitted first; never the oldest
            victims.append(i)
            need -= self._blocks(i, t)
            if need <= self.pool:
                break
        if need > self.pool:
            i = order[0]
            raise NotApplicableError(
                f"policy {self.name!r}: request {self.view.ids[i]!r} alone needs {need} blocks "
                f"of {self.block_size} at t = {t + 1}, the pool holds {self.pool}")
        self.just_preempted = True
        return victims

    def select(self, t: int) -> Sequence[int]:
        self._advance(t)
        if self.just_preempted:
            self.just_preempted = False
            return []
        b, used, chosen = self.block_size, self.used, []
        while self.queue:
            s = self.prompt[self.queue[0]]
            if used + -(-s // b) + 1 > self.pool:
                break
            used += s // b + 1  # blocks it holds in round t + 1 (s + 1 tokens)
            chosen.append(self.queue.popleft())
        return chosen


class VLLMToken(VLLM):
    """The vLLM family with B = 1: block accounting is the token model of docs/model.md (for the
    synthetic families, whose M of 30-50 units would hold only 1-3 blocks of 16)."""

    name = "vllm-token"

    def __init__(self, block_size: int = 1) -> None:
        super().__init__(block_size)
