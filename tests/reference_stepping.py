"""The round-by-round versions of the heuristics and of the engine as they were before they
became event-driven (commit f980af8): kept here only as the reference that the event-driven
ones must reproduce exactly. Not product code."""

# ruff: noqa
# mypy: ignore-errors

from __future__ import annotations

import heapq
import time

import numpy as np

from optsched.model.conventions import require_spec
from optsched.model.instance import Instance, spec_equivalent
from optsched.model.schedule import AbortedRun, Schedule
from optsched.policies.engine import EngineResult, EngineView, NoProgressError, PolicyError, _State
from optsched.policies.mcsf import fits_at_all_completions
from optsched.policies.predictions import parse_predictions


def stepping_spaced_mcsf(instance: Instance, spacing: int = 0, cap: int | None = None) -> Schedule:
    """MC-SF (SPEC section 4) with at most ``cap`` starts per round and, while requests are
    running, no start within ``spacing`` rounds of the last start. spacing=0, cap=None is MC-SF
    with true lengths (same tie-breaking: length, then position)."""
    instance = spec_equivalent(instance)
    if spacing < 0 or (cap is not None and cap < 1):
        raise ValueError("spacing must be >= 0 and cap >= 1 (or None)")
    n, m = instance.n, instance.memory_limit
    a = [int(x) for x in instance.arrival]
    s = [int(x) for x in instance.prompt]
    o = [int(x) for x in instance.output]
    start: list[int | None] = [None] * n
    t, last = 0, None
    while any(p is None for p in start):
        running = [(p, s[i], o[i]) for i, p in enumerate(start) if p is not None and p + o[i] > t]
        waiting = sorted((i for i in range(n) if start[i] is None and a[i] <= t),
                         key=lambda i: (o[i], i))
        if not running and not waiting:
            t = min(a[i] for i in range(n) if start[i] is None)
            continue
        if not running or last is None or t - last >= spacing:
            batch, added = list(running), 0
            for i in waiting:
                if cap is not None and added >= cap:
                    break
                cand = batch + [(t, s[i], o[i])]
                if not fits_at_all_completions(cand, m):
                    break
                batch, start[i], added, last = cand, t, added + 1, t
        t += 1
    return Schedule({rid: int(p) for rid, p in zip(instance.ids, start, strict=True)
                     if p is not None})


def default_stall_limit(instance: Instance) -> int:
    """Rounds without a completion or arrival after which a run counts as stuck: generous (every
    running request finishes within max o rounds unless evicted), so that randomized clearing
    rules get many retries before the engine gives up."""
    return 20 * (int(instance.output.max()) + 1)


def stepping_simulate(instance: Instance, policy: Policy, predictions: Predictions | str | None = None,
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
                              sum(prompt[i] for i in fresh), len(fresh), bound)
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
