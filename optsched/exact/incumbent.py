"""A quick feasible schedule used as warm start and to shrink the MILP's start windows.

Earliest-fit list scheduling: take requests by (arrival, output, id) and start each at the earliest
time >= its arrival at which adding it keeps memory <= M at every round, given the requests
already placed. It always succeeds because s_i + o_i <= M (at worst the request runs alone after
every placed request has finished). Its value is only an upper bound, never claimed optimal.
"""

from __future__ import annotations

import numpy as np

from optsched.model.instance import Instance, spec_equivalent
from optsched.model.schedule import Schedule


def earliest_fit_schedule(instance: Instance, order: list[int] | None = None) -> Schedule:
    """Place requests one by one at their earliest memory-feasible start (any convention: it
    works on the SPEC-equivalent instance, optsched.model.conventions)."""
    instance = spec_equivalent(instance)
    a, s, o, m = instance.arrival, instance.prompt, instance.output, instance.memory_limit
    if order is None:
        order = sorted(range(instance.n), key=lambda i: (a[i], o[i], instance.ids[i]))
    horizon = instance.horizon + 1
    mem = np.zeros(horizon + 1, dtype=np.int64)
    starts: dict[str, int] = {}
    for i in order:
        need = s[i] + np.arange(1, o[i] + 1, dtype=np.int64)
        p = int(a[i])
        while True:
            window = mem[p + 1: p + 1 + o[i]]
            over = np.flatnonzero(window + need > m)
            if over.size == 0:
                break
            p += int(over[0]) + 1  # the run must start after the first conflicting round
        mem[p + 1: p + 1 + o[i]] += need
        starts[instance.ids[i]] = p
    return Schedule(starts)
