"""Fast Algorithm 1 / MC-SF: the same schedule as :func:`mcsf_reference`, with less work per round.

What makes it fast (see :mod:`optsched.policies.feasibility` for the test itself):

* the arrived waiting requests live in one sorted list keyed (planned length, position), so a
  round never re-sorts;
* the running set's memory at its future completion points is rebuilt only when the set changes
  (a start or a completion), and a round in which the shortest waiting request does not fit costs
  O(log |R|);
* the largest feasible prefix is found by galloping + bisection over vectorised batch checks,
  instead of re-checking the whole batch for every added request;
* rounds in which nothing is waiting are skipped (no start can happen before the next arrival),
  and so are rounds in which the shortest waiting request does not fit: the run jumps to the
  first round at which it fits (:func:`optsched.model.profile.earliest_start`), the next
  completion or the next arrival, so long outputs cost no more than short ones.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Sequence

from optsched.errors import InstanceError
from optsched.model.instance import Instance, planned_lengths_under, spec_equivalent
from optsched.model.profile import STEP_BELOW, earliest_start
from optsched.model.schedule import Schedule
from optsched.policies.feasibility import FutureMemory


def planned_lengths(instance: Instance, lengths: Sequence[int] | None) -> list[int]:
    """The lengths MC-SF plans with, checked: one per request, >= 1 and s_i + L_i <= M (a longer
    plan could never be admitted and the round loop would never end)."""
    plan = [int(x) for x in (instance.output if lengths is None else lengths)]
    if len(plan) != instance.n:
        raise InstanceError(f"lengths: got {len(plan)} values for {instance.n} requests")
    for r, length in zip(instance.requests, plan, strict=True):
        if length < 1 or r.prompt_tokens + length > instance.memory_limit:
            raise InstanceError(f"lengths: request {r.id!r} has planned length {length}; it must "
                                f"be in [1, M - prompt_tokens] = [1, "
                                f"{instance.memory_limit - r.prompt_tokens}]")
    return plan


def mcsf_fast(instance: Instance, lengths: Sequence[int] | None = None) -> Schedule:
    """MC-SF offline or with arrivals; returns exactly :func:`mcsf_reference`'s schedule.

    ``lengths`` are the output lengths the policy plans with (default: the true ones); ties in
    planned length are broken by position in the instance, as in the reference. Under a
    non-SPEC memory convention it plans on the SPEC-equivalent instance (optsched.model.conventions;
    lengths become held rounds, which keeps their order).
    """
    lengths = planned_lengths_under(instance, None if lengths is None else list(lengths))
    instance = spec_equivalent(instance)
    n = instance.n
    plan = planned_lengths(instance, lengths)
    arrival = instance.arrival.tolist()
    prompt = instance.prompt.tolist()
    by_arrival = sorted(range(n), key=lambda i: (arrival[i], i))
    core = FutureMemory(instance.memory_limit)
    waiting: list[tuple[int, int]] = []  # (planned length, position), sorted
    start = [0] * n

    def prefix(k: int) -> tuple[list[int], list[int]]:
        head = waiting[:k]
        return [prompt[i] for _, i in head], [length for length, _ in head]

    t = arrival[by_arrival[0]]
    nxt = started = 0
    while started < n:
        while nxt < n and arrival[by_arrival[nxt]] <= t:
            i = by_arrival[nxt]
            insort(waiting, (plan[i], i))
            nxt += 1
        for i in core.expired(t):
            core.complete(i)
        k = core.largest_prefix(t, len(waiting), prefix) if waiting else 0
        for length, i in waiting[:k]:
            start[i] = t
            core.add(i, t, prompt[i], t + length)
        del waiting[:k]
        started += k
        if waiting and k == 0:  # nothing fits: jump to where the head fits or an event
            t = _next_change(core, t, prompt[waiting[0][1]], waiting[0][0],
                             arrival[by_arrival[nxt]] if nxt < n else None)
        elif waiting or nxt >= n:
            t += 1
        else:
            t = max(t + 1, arrival[by_arrival[nxt]])
    return Schedule({instance.ids[i]: start[i] for i in range(n)})


def _next_change(core: FutureMemory, t: int, prompt: int, length: int,
                 arrival: int | None) -> int:
    """The first round after t at which a start can happen, when the head (prompt, length) did
    not fit at t: the running set is fixed until its next completion and the waiting set until
    the next arrival, and in between the head fits exactly from the round earliest_start finds
    (and, fitting, it starts: the prefix test is monotone)."""
    runs = list(core.runs.values())
    ends = [c for _, _, c in runs] + ([] if arrival is None else [arrival])
    hi = min(ends) if ends else None
    if hi is not None and hi <= t + STEP_BELOW:
        return t + 1  # stepping a few rounds is cheaper than the breakpoint search
    x = earliest_start([r[0] for r in runs], [r[1] for r in runs], [r[2] for r in runs],
                       prompt, length, core.memory_limit, t + 1, hi)
    if x is not None:
        return x
    return t + 1 if hi is None else max(hi, t + 1)
