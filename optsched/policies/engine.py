"""The online engine (docs/model.md#online-setting): requests arrive, a policy decides from
predictions, the engine runs the true lengths and enforces the memory limit.

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
   overflow, whichever is first (nothing can be decided in between). While requests wait, a
   policy that started nothing at t may say, through an optional ``idle_until(t)`` method, the
   first later round at which it could start something or change its state if no event came
   first (None: only an arrival, completion or eviction can change its answer); the engine then
   jumps to that round or the next event, and to the round the no-progress check below would
   fire at, whichever is first. The policy must guarantee that ``select`` at every skipped
   round would have started nothing and changed nothing, so a run is the same as round by
   round (tests/test_event_driven.py checks this against the round-by-round engine). This is
   what makes the cost of a run follow the number of requests instead of their lengths.

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

from optsched.control import Deadline
from optsched.errors import OptschedError
from optsched.model.conventions import require_spec
from optsched.model.instance import Instance
from optsched.model.profile import STEP_BELOW
from optsched.model.schedule import AbortedRun, Schedule
from optsched.policies.predictions import Predictions, parse_predictions

if TYPE_CHECKING:
    from optsched.policies.clock import RoundClock
    from optsched.progress import Progress


class PolicyError(OptschedError, RuntimeError):
    """A policy broke the protocol (started a request that is not waiting, evicted nothing on an
    overflow, ...)."""


class NoProgressError(PolicyError):
    """A policy stopped making progress (it would run forever).

    ``partial`` holds where the run stood (rounds, requests done, overflows, ...), so a caller
    can report the stalled run as a result rather than as an error."""

    def __init__(self, message: str, partial: dict[str, int] | None = None) -> None:
        super().__init__(message)
        self.partial = dict(partial or {})


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


class EngineStopped(OptschedError):
    """The run was stopped (deadline or Ctrl-C) before every request completed; ``t``,
    ``done`` and ``rounds`` say how far it got (a policy run has no partial schedule to give)."""

    def __init__(self, policy: str, t: int, done: int, n: int, rounds: int) -> None:
        super().__init__(f"policy {policy!r} stopped at t = {t} ({done} of {n} requests done, "
                         f"{rounds} decision rounds simulated)")
        self.t, self.done, self.n, self.rounds = t, done, n, rounds


def simulate(instance: Instance, policy: Policy, predictions: Predictions | str | None = None,
             *, seed: int = 0, stall_limit: int | None = None,
             clock: RoundClock | None = None, deadline: Deadline | None = None,
             progress: Progress | None = None) -> EngineResult:
    """Run ``policy`` on ``instance`` (see the module doc for the rules).

    With a ``clock`` (:class:`optsched.policies.clock.RoundClock`) rounds last what its batch-time
    model says and requests arrive at its arrival seconds (the instance's arrival rounds are
    ignored); without one, every round is one unit, exactly as before. When ``deadline``
    (optsched.control) expires or a stop is requested, :class:`EngineStopped` is raised.
    ``progress`` (optsched.progress) hears where the run is every
    :data:`PROGRESS_EVERY` decision times (a live line for long traces)."""
    require_spec(instance, "the online engine")
    t0 = time.perf_counter()
    pred = parse_predictions(predictions, instance, seed)
    run = _Run(instance, policy, pred, seed, stall_limit, clock)
    while run.done < run.n:
        if deadline is not None and deadline.expired():
            raise EngineStopped(policy.name, run.t, run.done, run.n, run.rounds)
        run.decide()
        if progress is not None and run.rounds % PROGRESS_EVERY == 0:
            progress.report("engine", detail=f"t = {run.t}, {run.done} of {run.n} requests "
                            f"done, {run.rounds:,} decision times")
    return run.result(time.perf_counter() - t0, pred)


#: Decision times between two progress reports of :func:`simulate`.
PROGRESS_EVERY = 1024


_FUTURE, _WAITING, _RUNNING, _DONE = 0, 1, 2, 3


class _Run:
    """The state of one engine run; :meth:`decide` is one decision time (module doc, 1-5)."""

    def __init__(self, instance: Instance, policy: Policy, pred: Predictions, seed: int,
                 stall_limit: int | None, clock: RoundClock | None) -> None:
        n = self.n = instance.n
        self.M = instance.memory_limit
        self.policy, self.clock = policy, clock
        self.arrival = instance.arrival.tolist()
        order = sorted(range(n), key=lambda i: (self.arrival[i], i))
        if clock is not None:
            self.arrival, order = clock.bind(n)
        self.by_arrival = order
        self.prompt = instance.prompt.tolist()
        self.output = instance.output.tolist()
        self.ids = instance.ids
        self.limit = default_stall_limit(instance) if stall_limit is None else int(stall_limit)
        self.state = _State()
        view = EngineView(self.M, n, self.ids, self.arrival, self.prompt, pred.point.tolist(),
                          pred.lower.tolist(), pred.upper.tolist(), self.state)
        policy.reset(view, np.random.default_rng([seed, 7]))
        self.status = [_FUTURE] * n
        self.start = [-1] * n
        self.first_start = [-1] * n
        self.completion = [0] * n
        self.version = [0] * n
        self.heap: list[tuple[int, int, int]] = []  # (true completion, i, version)
        self.aborted: list[AbortedRun] = []
        self.n_waiting = self.done = self.nxt = 0
        self.overflows = self.evictions = self.wasted = self.rounds = 0
        self.preemptions = self.recomputed = 0
        self.cleared = -1  # last decision time at which a run was evicted or preempted
        self.t = self.arrival[order[0]]
        self.last_progress = self.t
        self.preempt = getattr(policy, "preempt", None)
        self.idle_until = getattr(policy, "idle_until", None)

    def partial(self, t: int) -> dict[str, int]:
        """Where a stalled run stands (reported with :class:`NoProgressError`)."""
        return {"stopped_at_round": t, "decision_rounds": self.rounds, "completed": self.done,
                "running": self.state.count, "waiting": self.n_waiting,
                "not_arrived": self.n - self.nxt, "overflows": self.overflows,
                "evictions": self.evictions, "preemptions": self.preemptions,
                "wasted_tokens": self.wasted, "recomputed_tokens": self.recomputed,
                "completed_total_completion_time": sum(
                    c for c, s in zip(self.completion, self.status, strict=True)
                    if s == _DONE)}

    def describe(self, t: int) -> str:
        return (f"t = {t}: {self.state.count} running, {self.n_waiting} waiting, {self.done} of "
                f"{self.n} done, {self.n - self.nxt} not yet arrived")

    def decide(self) -> None:
        """One decision time t: completions, arrivals, preemptions, starts, overflow, then the
        next decision time."""
        t = self.t
        self.rounds += 1
        self._complete(t)
        if self.done == self.n:
            return
        self._arrive(t)
        if self.preempt is not None and self.state.count:
            for i in [int(i) for i in self.preempt(t)]:
                self._clear(i, t, "preempted")
                self.preemptions += 1
        chosen: list[int] = []
        idle_refusal = False
        if self.n_waiting:
            chosen = self._start(t)
            idle_refusal = self.state.count == 0 and not chosen
        self._overflow(t)
        self._check_progress(t, idle_refusal)
        self.t = self._next_time(t, chosen)

    def _complete(self, t: int) -> None:
        heap, state = self.heap, self.state
        while heap and heap[0][0] <= t:
            c, i, v = heapq.heappop(heap)
            if v != self.version[i] or self.status[i] != _RUNNING:
                continue
            self.status[i] = _DONE
            self.completion[i] = c
            state.count -= 1
            state.offset -= self.prompt[i] - self.start[i]
            state.prompts -= self.prompt[i]
            self.done += 1
            self.last_progress = t
            self.policy.on_complete(i, c)

    def _arrive(self, t: int) -> None:
        n, arrival, order = self.n, self.arrival, self.by_arrival
        while self.nxt < n and arrival[order[self.nxt]] <= t:
            i = order[self.nxt]
            self.status[i] = _WAITING
            self.n_waiting += 1
            self.nxt += 1
            self.last_progress = t
            self.policy.on_arrival(i, t)

    def _start(self, t: int) -> list[int]:
        chosen = [int(i) for i in self.policy.select(t)]
        state = self.state
        for i in chosen:
            if not 0 <= i < self.n or self.status[i] != _WAITING:
                raise PolicyError(f"policy {self.policy.name!r} started request #{i} at t = {t}, "
                                  "but it is not an arrived waiting request")
            self.status[i] = _RUNNING
            self.start[i] = t
            if self.first_start[i] < 0:
                self.first_start[i] = t
            self.version[i] += 1
            heapq.heappush(self.heap, (t + self.output[i], i, self.version[i]))
            state.count += 1
            state.offset += self.prompt[i] - t
            state.prompts += self.prompt[i]
            self.n_waiting -= 1
            self.policy.on_start(i, t)
        return chosen

    def _clear(self, i: int, t: int, what: str) -> None:
        """Evict or preempt running request i at t: it loses its cache and waits again."""
        if not 0 <= i < self.n or self.status[i] != _RUNNING:
            raise PolicyError(f"policy {self.policy.name!r} {what} request #{i} at t = {t}, but "
                              "it is not running")
        self.status[i] = _WAITING
        self.n_waiting += 1
        self.cleared = t
        self.version[i] += 1
        self.state.count -= 1
        self.state.offset -= self.prompt[i] - self.start[i]
        self.state.prompts -= self.prompt[i]
        if t > self.start[i]:
            self.aborted.append(AbortedRun(self.ids[i], self.start[i], t))
            self.wasted += t - self.start[i]
            self.recomputed += self.prompt[i] + t - self.start[i]
        self.policy.on_evict(i, t)

    def _excess(self, t: int) -> int:
        return self.state.count * (t + 1) + self.state.offset - self.M

    def _overflow(self, t: int) -> None:
        excess = self._excess(t)
        if excess <= 0:
            return
        self.overflows += 1
        while excess > 0:
            victims = [int(i) for i in self.policy.evict(t, excess)]
            if not victims:
                raise PolicyError(f"policy {self.policy.name!r}: memory at t = {t + 1} would "
                                  f"exceed M = {self.M} by {excess}, and its clearing rule "
                                  "evicted nothing")
            for i in victims:
                self._clear(i, t, "evicted")
                self.evictions += 1
            excess = self._excess(t)

    def _check_progress(self, t: int, idle_refusal: bool) -> None:
        name = self.policy.name
        if idle_refusal and self.nxt >= self.n:
            raise NoProgressError(f"policy {name!r} makes no progress: nothing runs and no "
                                  f"request will arrive, but it starts none of the waiting "
                                  f"requests ({self.describe(t)})", self.partial(t))
        if t - self.last_progress > self.limit:
            raise NoProgressError(f"policy {name!r} made no progress for {self.limit} rounds "
                                  f"(no completion or arrival; {self.overflows} overflows, "
                                  f"{self.evictions} evictions so far; {self.describe(t)})",
                                  self.partial(t))

    def _wake(self, t: int, chosen: list[int]) -> tuple[bool, int | None]:
        """(must the next round be t + 1, the policy's own next decision round if it may
        skip). A policy is asked every round while requests wait unless it declares, through
        ``idle_until(t)`` after a round in which it started nothing, the first later round at
        which it could start something or change its state (None: only an arrival, completion
        or eviction can; after an eviction at t itself it is asked again at t + 1); a policy
        with a preemption hook is asked every round while something runs."""
        if self.preempt is not None and self.state.count > 0:
            return True, None
        if not self.n_waiting:
            return False, None
        if chosen or self.idle_until is None or self.cleared == t:
            return True, None  # (an eviction after select at t changed what select sees)
        if self._event_near(t + STEP_BELOW):
            return True, None  # a few rounds cost less than asking the policy how far to jump
        wake = self.idle_until(t)
        if wake is not None and wake <= t + 1:
            return True, None
        return False, wake

    def _event_near(self, horizon: int) -> bool:
        """Is there a (possibly stale) completion, an arrival or an overflow by ``horizon``?"""
        if self.heap and self.heap[0][0] <= horizon:
            return True
        if self.nxt < self.n and self.arrival[self.by_arrival[self.nxt]] <= horizon:
            return True
        return self.state.count > 0 and self._excess(horizon) > 0

    def _next_time(self, t: int, chosen: list[int]) -> int:
        step, wake = self._wake(t, chosen)
        # rounds skipped while requests wait stop at the round the no-progress check fires
        stall = self.last_progress + self.limit + 1 if self.n_waiting and not step else None
        count, offset = self.state.count, self.state.offset
        if self.clock is not None:
            ends = [self.heap[0][0], (self.M - offset) // count] if count else [t + 1]
            bound = min(x for x in [*ends, wake, stall] if x is not None)
            fresh = [i for i in chosen if self.status[i] == _RUNNING and self.start[i] == t]
            return self.clock.advance(t, step, count, offset,
                                      sum(self.prompt[i] for i in fresh), len(fresh), bound,
                                      running_prompt=self.state.prompts)
        if step:
            return t + 1
        candidates = [x for x in (wake, stall) if x is not None]
        if self.nxt < self.n:
            candidates.append(self.arrival[self.by_arrival[self.nxt]])
        if self.heap:
            candidates.append(self.heap[0][0])
        if count:
            candidates.append((self.M - offset) // count)  # first overflowing decision time
        return max(t + 1, min(candidates)) if candidates else t + 1

    def result(self, runtime: float, pred: Predictions) -> EngineResult:
        ids, n = self.ids, self.n
        sched = Schedule({ids[i]: self.start[i] for i in range(n)}, tuple(self.aborted))
        return EngineResult(
            schedule=sched,
            completion={ids[i]: self.completion[i] for i in range(n)},
            first_start={ids[i]: self.first_start[i] for i in range(n)},
            overflows=self.overflows, evictions=self.evictions, wasted_tokens=self.wasted,
            decision_rounds=self.rounds, runtime=runtime, predictions=pred, clock=self.clock,
            preemptions=self.preemptions, recomputed_tokens=self.recomputed)
