"""Brute-force oracle for tiny instances: exhaustive depth-first search over start times.

Shares no code with the MILP: its own memory bookkeeping, its own windows, its own incumbent.
Requests are assigned in index order; request i tries every start p >= a_i such that the total
completion time can still beat the best found, i.e. p <= a_i + (best - 1 - LB0) where
LB0 = sum_j (a_j + o_j) and best starts as the value of the sequential schedule (one request at
a time in arrival order, always feasible since s_i + o_i <= M). Partial assignments are pruned
only by this bound and by memory feasibility, so every schedule better than the incumbent is
visited: the result is a proven optimum whenever the search completes.

Two optional accelerations keep that guarantee: a valid ``initial`` schedule replaces the
sequential incumbent when it is better (only strictly better schedules are searched for, so an
optimal initial schedule is returned with the search complete), and a request identical to the
one before it (same a, s, o) starts no earlier than that one: exchanging the start times of two
identical requests changes neither the memory profile nor the objective, so some optimal schedule
has non-decreasing starts along every run of identical requests.

Under a non-SPEC memory convention the search uses the convention's held prompt and held rounds
(:mod:`optsched.model.conventions`) in place of s_i and o_i; nothing else changes.
"""

from __future__ import annotations

import time

from optsched.model.conventions import held_prompt, held_rounds
from optsched.model.instance import Instance
from optsched.model.schedule import Schedule
from optsched.model.validate import validate


class SearchLimitReached(Exception):
    """Raised inside the search when the time limit is hit."""


def sequential_schedule(instance: Instance) -> Schedule:
    """One request at a time in (arrival, id) order: trivially feasible."""
    t = 0
    starts = {}
    for r in sorted(instance.requests, key=lambda r: (r.arrival, r.id)):
        t = max(t, r.arrival)
        starts[r.id] = t
        t += held_rounds(r.output_tokens, instance.memory_convention)
    return Schedule(starts)


def brute_force(instance: Instance, time_limit: float | None = None,
                initial: Schedule | None = None) -> tuple[Schedule, int, bool, int]:
    """Return (best schedule, its value, completed?, nodes visited)."""
    reqs = instance.requests
    n = len(reqs)
    m = instance.memory_limit
    conv = instance.memory_convention
    a = [r.arrival for r in reqs]
    s = [held_prompt(r.prompt_tokens, conv) for r in reqs]
    o = [held_rounds(r.output_tokens, conv) for r in reqs]
    rounds = {r.id: o[k] for k, r in enumerate(reqs)}
    lb0 = sum(a) + sum(o)
    best_sched = sequential_schedule(instance)
    best = best_sched.objective(rounds)
    if initial is not None and validate(instance, initial).valid and \
            initial.objective(rounds) < best:
        best_sched = initial
        best = initial.objective(rounds)
    best_starts = [best_sched.starts[r.id] for r in reqs]
    same_as_prev = [k > 0 and (a[k], s[k], o[k]) == (a[k - 1], s[k - 1], o[k - 1])
                    for k in range(n)]
    size = max(a) + sum(o) + best - lb0 + 2
    mem = [0] * (size + max(o) + 2)
    starts = [0] * n
    nodes = 0
    deadline = None if time_limit is None else time.monotonic() + time_limit

    def fits(i: int, p: int) -> bool:
        return all(mem[p + k] + s[i] + k <= m for k in range(1, o[i] + 1))

    def place(i: int, p: int, sign: int) -> None:
        for k in range(1, o[i] + 1):
            mem[p + k] += sign * (s[i] + k)

    def dfs(i: int, extra: int) -> None:
        # extra = sum over placed j of (p_j - a_j): the delay already committed.
        nonlocal best, best_starts, nodes
        nodes += 1
        if deadline is not None and nodes % 4096 == 0 and time.monotonic() > deadline:
            raise SearchLimitReached
        if i == n:
            value = lb0 + extra
            if value < best:
                best, best_starts = value, list(starts)
            return
        p = starts[i - 1] if same_as_prev[i] else a[i]
        while lb0 + extra + (p - a[i]) < best:
            if fits(i, p):
                place(i, p, 1)
                starts[i] = p
                dfs(i + 1, extra + p - a[i])
                place(i, p, -1)
            p += 1

    completed = True
    try:
        dfs(0, 0)
    except SearchLimitReached:
        completed = False
    schedule = Schedule({r.id: best_starts[k] for k, r in enumerate(reqs)})
    return schedule, best, completed, nodes
