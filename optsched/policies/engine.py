"""The online engine (SPEC §5): requests arrive, a policy decides from predictions, the engine
runs the true lengths and enforces the memory limit.

Round structure at each decision time t (memory at t is already known to be <= M):

1. requests whose true completion p_i + o_i <= t are done and free their memory;
2. requests with a_i <= t arrive and are shown to the policy (with predicted lengths only);
   a policy with a ``preempt(t)`` method (optional; e.g. vLLM-style recompute preemption) may
   then name running requests to **preempt** before memory for t + 1 is charged: they are
   cleared exactly like evicted ones (aborted run, wasted tokens) but counted as preemptions.
   While such a policy has running requests, no round is skipped (it is asked every round);
3. the policy names waiting requests to start at t;
4. the engine computes the true memory at t + 1. If it exceeds M, that is an **overflow**: the
   policy's clearing rule names running requests to evict (asked again until memory fits; a rule
   that evicts nothing while memory is over M is an error, never a silent excess). An evicted run
   of request i started at p held memory in rounds p+1..t; its p..t tokens are wasted, it is
   recorded as an :class:`~optsched.model.schedule.AbortedRun` and i waits again (it may restart at
   t + 1 or later). A request started at t and evicted at t held no memory and leaves no
   aborted run (it still counts as an eviction);
5. time advances to t + 1, or, when nothing waits, straight to the next arrival, completion or
   overflow, whichever is first (nothing can be decided in between).

A policy that makes no progress (nothing completes and nothing arrives for ``stall_limit``
rounds, or nothing runs while requests wait and none will ever arrive) stops the run with a
:class:`NoProgressError` naming the state. The result's schedule (final starts + aborted runs)
is what :func:`optsched.model.validate.validate` checks.

Every round lasts one unit unless a :class:`optsched.policies.clock.RoundClock` is passed:
then rounds last what its batch-time model says, requests arrive at their arrival *seconds*
(revealed at the first round starting at or after them) and the result also reports latencies
in seconds. The clock only maps rounds to seconds; the rules above are unchanged.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from optsched.errors import OptschedError
from optsched.model.conventions import require_spec
from optsched.model.instance import Instance
from optsched.model.schedule import AbortedRun, Schedule
from optsched.policies.predictions import Predictions, parse_predictions

if TYPE_CHECKING:
    from optsched.policies.clock import RoundClock


class PolicyError(OptschedError, RuntimeError):
    """A policy broke the protocol (started a request that is not waiting, evicted nothing on an
    overflow, ...)."""


class NoProgressError(PolicyError):
    """A policy stopped making progress (it would run forever)."""


@dataclass
class EngineView:
    """What a policy may see: M, the requests' arrivals, prompts and *predicted* lengths, and the
    true memory the running requests will hold next round (observable, no future knowledge).
    True output lengths are not part of the view."""

    memory_limit: int
    n: int
    ids: list[str]
    arrival: list[int]
    prompt: list[int]
    point: list[int]
    lower: list[int]
    upper: list[int]
    _engine: _State = field(repr=False)

    def next_memory(self, t: int) -> int:
        """Memory the running requests hold at t + 1 if nothing starts or is evicted."""
        return self._engine.count * (t + 1) + self._engine.offset


@dataclass
class _State:
    count: int = 0  # running requests
    offset: int = 0  # sum over running of (s_i - p_i): memory at t' is count * t' + offset
    prompts: int = 0  # sum over running of s_i (a batch-time model may price context apart)


@runtime_checkable
class Policy(Protocol):
    """What the engine needs from a policy."""

    name: str

    def reset(self, view: EngineView, rng: np.random.Generator) -> None: ...
    def on_arrival(self, i: int, t: int) -> None: ...
    def on_start(self, i: int, t: int) -> None: ...
    def on_complete(self, i: int, t: int) -> None: ...
    def on_evict(self, i: int, t: int) -> None: ...
    def select(self, t: int) -> Sequence[int]: ...
    def evict(self, t: int, excess: int) -> Sequence[int]: ...


@dataclass
class EngineResult:
    """Everything a run produced: the schedule with restarts plus counters and timings."""

    schedule: Schedule
    completion: dict[str, int]
    first_start: dict[str, int]
    overflows: int
    evictions: int
    wasted_tokens: int
    decision_rounds: int
    runtime: float
    predictions: Predictions
    clock: RoundClock | None = None  # set when the run had a batch-time model
    preemptions: int = 0  # runs cleared by the policy's preempt(t) hook (not by an overflow)
    recomputed_tokens: int = 0  # cache lost by evicted or preempted runs: s_i + generated tokens

    def metrics(self, instance: Instance) -> dict[str, Any]:
        """Latency, TTFT, makespan and throughput (times in rounds). TTFT counts from arrival to
        the first token of the request's *first* run (first start + 1). With a clock, the
        arrival rounds are the ones it revealed, and the same measures follow in seconds."""
        if self.clock is not None:
            instance = self.clock.round_instance(instance)
        comp = np.array([self.completion[r.id] for r in instance.requests], dtype=np.int64)
        a = instance.arrival
        ttft = np.array([self.first_start[r.id] + 1 for r in instance.requests]) - a
        makespan = int(comp.max())
        span = max(makespan - int(a.min()), 1)
        lat = comp - a
        p50, p95, p99 = (float(x) for x in np.percentile(lat, [50, 95, 99]))
        return {
            "total_completion_time": int(comp.sum()),
            "total_latency": int(lat.sum()),
            "mean_latency": float(lat.mean()),
            "max_latency": int(lat.max()),
            "p50_latency": p50,
            "p95_latency": p95,
            "p99_latency": p99,
            "mean_ttft": float(ttft.mean()),
            "max_ttft": int(ttft.max()),
            "makespan": makespan,
            "throughput_tokens_per_round": float(instance.output.sum() / span),
            "throughput_requests_per_round": float(instance.n / span),
            "overflows": self.overflows,
            "evictions": self.evictions,
            "preemptions": self.preemptions,
            "wasted_tokens": self.wasted_tokens,
            "recomputed_tokens": self.recomputed_tokens,
        } | (self._seconds(instance) if self.clock is not None else {})

    def _seconds(self, instance: Instance) -> dict[str, Any]:
        assert self.clock is not None
        ids = instance.ids
        return self.clock.metrics([self.first_start[i] for i in ids],
                                  [self.completion[i] for i in ids], instance.output.tolist())


def default_stall_limit(instance: Instance) -> int:
    """Rounds without a completion or arrival after which a run counts as stuck: generous (every
    running request finishes within max o rounds unless evicted), so that randomized clearing
    rules get many retries before the engine gives up."""
    return 20 * (int(instance.output.max()) + 1)


def simulate(instance: Instance, policy: Policy, predictions: Predictions | str | None = None,
             *, seed: int = 0, stall_limit: int | None = None,
             clock: RoundClock | None = None) -> EngineResult:
    """Run ``policy`` on ``instance`` round by round (see the module doc for the rules).

    With a ``clock`` (:class:`optsched.policies.clock.RoundClock`) rounds last what its batch-time
    model says and requests arrive at its arrival seconds (the instance's arrival rounds are
    ignored); without one, every round is one unit, exactly as before."""
    require_spec(instance, "the online engine")
    t0 = time.perf_counter()
    pred = parse_predictions(predictions, instance, seed)
    n, M = instance.n, instance.memory_limit
    arrival = instance.arrival.tolist()
    if clock is not None:
        arrival, clock_order = clock.bind(n)
    prompt = instance.prompt.tolist()
    output = instance.output.tolist()
    ids = instance.ids
    limit = default_stall_limit(instance) if stall_limit is None else int(stall_limit)
    state = _State()
    view = EngineView(M, n, ids, arrival, prompt, pred.point.tolist(), pred.lower.tolist(),
                      pred.upper.tolist(), state)
    policy.reset(view, np.random.default_rng([seed, 7]))

    by_arrival = sorted(range(n), key=lambda i: (arrival[i], i)) if clock is None else clock_order
    WAITING, RUNNING, DONE, FUTURE = 1, 2, 3, 0
    status = [FUTURE] * n
    start = [-1] * n
    first_start = [-1] * n
    completion = [0] * n
    version = [0] * n
    heap: list[tuple[int, int, int]] = []  # (true completion, i, version)
    aborted: list[AbortedRun] = []
    n_waiting = done = nxt = 0
    overflows = evictions = wasted = rounds = preemptions = recomputed = 0
    t = arrival[by_arrival[0]]
    last_progress = t
    preempt = getattr(policy, "preempt", None)

    def describe(t: int) -> str:
        return (f"t = {t}: {state.count} running, {n_waiting} waiting, {done} of {n} done, "
                f"{n - nxt} not yet arrived")

    def clear(i: int, t: int, what: str) -> None:
        """Evict or preempt running request i at t: it loses its cache and waits again."""
        nonlocal n_waiting, wasted, recomputed
        if not 0 <= i < n or status[i] != RUNNING:
            raise PolicyError(f"policy {policy.name!r} {what} request #{i} at t = {t}, but it "
                              "is not running")
        status[i] = WAITING
        n_waiting += 1
        version[i] += 1
        state.count -= 1
        state.offset -= prompt[i] - start[i]
        state.prompts -= prompt[i]
        if t > start[i]:
            aborted.append(AbortedRun(ids[i], start[i], t))
            wasted += t - start[i]
            recomputed += prompt[i] + t - start[i]
        policy.on_evict(i, t)

    while done < n:
        rounds += 1
        # 1. completions at or before t
        while heap and heap[0][0] <= t:
            c, i, v = heapq.heappop(heap)
            if v != version[i] or status[i] != RUNNING:
                continue
            status[i] = DONE
            completion[i] = c
            state.count -= 1
            state.offset -= prompt[i] - start[i]
            state.prompts -= prompt[i]
            done += 1
            last_progress = t
            policy.on_complete(i, c)
        if done == n:
            break
        # 2. arrivals
        while nxt < n and arrival[by_arrival[nxt]] <= t:
            i = by_arrival[nxt]
            status[i] = WAITING
            n_waiting += 1
            nxt += 1
            last_progress = t
            policy.on_arrival(i, t)
        # 2b. preemptions named by the policy before memory for t + 1 is charged
        if preempt is not None and state.count:
            for i in [int(i) for i in preempt(t)]:
                clear(i, t, "preempted")
                preemptions += 1
        # 3. starts
        idle_refusal = False
        chosen: list[int] = []
        if n_waiting:
            chosen = [int(i) for i in policy.select(t)]
            idle_refusal = state.count == 0 and not chosen
            for i in chosen:
                if not 0 <= i < n or status[i] != WAITING:
                    raise PolicyError(f"policy {policy.name!r} started request #{i} at t = {t}, "
                                      "but it is not an arrived waiting request")
                status[i] = RUNNING
                start[i] = t
                if first_start[i] < 0:
                    first_start[i] = t
                version[i] += 1
                heapq.heappush(heap, (t + output[i], i, version[i]))
                state.count += 1
                state.offset += prompt[i] - t
                state.prompts += prompt[i]
                n_waiting -= 1
                policy.on_start(i, t)
        # 4. overflow: true memory at t + 1
        excess = state.count * (t + 1) + state.offset - M
        if excess > 0:
            overflows += 1
            while excess > 0:
                victims = [int(i) for i in policy.evict(t, excess)]
                if not victims:
                    raise PolicyError(f"policy {policy.name!r}: memory at t = {t + 1} would "
                                      f"exceed M = {M} by {excess}, and its clearing rule "
                                      "evicted nothing")
                for i in victims:
                    clear(i, t, "evicted")
                    evictions += 1
                excess = state.count * (t + 1) + state.offset - M
        # 5. progress and the next decision time
        if idle_refusal and nxt >= n:
            raise NoProgressError(f"policy {policy.name!r} makes no progress: nothing runs and "
                                  f"no request will arrive, but it starts none of the waiting "
                                  f"requests ({describe(t)})")
        if t - last_progress > limit:
            raise NoProgressError(f"policy {policy.name!r} made no progress for {limit} rounds "
                                  f"(no completion or arrival; {overflows} overflows, "
                                  f"{evictions} evictions so far; {describe(t)})")
        # a policy with a preemption hook is asked every round while something runs
        step_next = bool(n_waiting) or (preempt is not None and state.count > 0)
        if clock is not None:
            fresh = [i for i in chosen if status[i] == RUNNING and start[i] == t]
            bound = (min(heap[0][0], (M - state.offset) // state.count) if state.count
                     else t + 1)
            t = clock.advance(t, step_next, state.count, state.offset,
                              sum(prompt[i] for i in fresh), len(fresh), bound,
                              running_prompt=state.prompts)
            continue
        if step_next:
            t += 1
            continue
        candidates = []
        if nxt < n:
            candidates.append(arrival[by_arrival[nxt]])
        if heap:
            candidates.append(heap[0][0])
        if state.count:
            candidates.append((M - state.offset) // state.count)  # first overflowing decision time
        t = max(t + 1, min(candidates)) if candidates else t + 1

    sched = Schedule({ids[i]: start[i] for i in range(n)}, tuple(aborted))
    return EngineResult(
        schedule=sched,
        completion={ids[i]: completion[i] for i in range(n)},
        first_start={ids[i]: first_start[i] for i in range(n)},
        overflows=overflows, evictions=evictions, wasted_tokens=wasted, decision_rounds=rounds,
        runtime=time.perf_counter() - t0, predictions=pred, clock=clock, preemptions=preemptions,
        recomputed_tokens=recomputed)
