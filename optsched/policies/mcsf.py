"""Algorithm 1 of the poster / MC-SF (memory-constrained shortest first),
docs/model.md#mc-sf-algorithm-1.

This module holds the *reference* implementation: it follows the definition line by line and is
meant to be read, not to be fast.
"""

from __future__ import annotations

from collections.abc import Sequence

from optsched.model.instance import Instance, planned_lengths_under, spec_equivalent
from optsched.model.schedule import Schedule


def fits_at_all_completions(batch: Sequence[tuple[int, int, int]], memory_limit: int) -> bool:
    """MC-SF's feasibility test (docs/model.md#mc-sf-algorithm-1). ``batch`` holds (start p,
    prompt s, length o) of every request running or about to start. Between two completion
    times memory only grows, so checking the memory at each completion time c_j = p_j + o_j
    suffices:
    sum over i with c_i >= c_j of (s_i + c_j - p_i) <= M."""
    for p_j, _, o_j in batch:
        c_j = p_j + o_j
        used = sum(s_i + c_j - p_i for p_i, s_i, o_i in batch if p_i + o_i >= c_j)
        if used > memory_limit:
            return False
    return True


def mcsf_reference(instance: Instance, lengths: Sequence[int] | None = None) -> Schedule:
    """Run MC-SF round by round and return the start times it chooses.

    ``lengths`` are the output lengths the policy plans with (default: the true ones). Ties in
    output length are broken by position in the instance (the papers' "by id", ids being 1..n).
    At every round t: keep the running requests; sort the arrived waiting requests by planned
    length; add them in that order while :func:`fits_at_all_completions` holds, stopping at the
    first that does not fit; start the added ones at t. A non-SPEC instance is planned as its
    SPEC equivalent (optsched.model.conventions).
    """
    lengths = planned_lengths_under(instance, None if lengths is None else list(lengths))
    instance = spec_equivalent(instance)
    n = instance.n
    plan = list(instance.output if lengths is None else lengths)
    arrival = [int(x) for x in instance.arrival]
    prompt = [int(x) for x in instance.prompt]
    start: list[int | None] = [None] * n
    t = 0
    while any(p is None for p in start):
        running = [(p, prompt[i], plan[i]) for i, p in enumerate(start)
                   if p is not None and p + plan[i] > t]
        waiting = sorted((i for i in range(n) if start[i] is None and arrival[i] <= t),
                         key=lambda i: (plan[i], i))
        batch = list(running)
        for i in waiting:
            candidate = batch + [(t, prompt[i], plan[i])]
            if not fits_at_all_completions(candidate, instance.memory_limit):
                break
            batch = candidate
            start[i] = t
        if not running and not waiting:
            # Idle: nothing runs and nothing has arrived; jump to the next arrival.
            t = min(arrival[i] for i in range(n) if start[i] is None)
        else:
            t += 1
    return Schedule({rid: int(p) for rid, p in zip(instance.ids, start, strict=True)
                     if p is not None})
