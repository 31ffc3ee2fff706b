"""A quick feasible schedule used as warm start and to shrink the MILP's start windows.

Earliest-fit list scheduling: take requests by (arrival, output, id) and start each at the earliest
time >= its arrival at which adding it keeps memory <= M at every round, given the requests
already placed. It always succeeds because s_i + o_i <= M (at worst the request runs alone after
every placed request has finished). Its value is only an upper bound, never claimed optimal.

The earliest start is found from the placed runs' breakpoints
(:func:`optsched.model.profile.earliest_start`; why that is exact is derived there), so the cost
grows with the number of requests, not with their lengths. Up to 0.9 it scanned a dense memory
array and, after a conflict at some round, jumped past it; since a later start holds fewer
tokens in that round, that skipped feasible starts (M = 8, prompts 1/1, outputs 7/4, arrivals
2/1: start 5 where 3 fits).
"""

from __future__ import annotations

import numpy as np

from optsched.control import Deadline
from optsched.model.instance import Instance, spec_equivalent
from optsched.model.profile import earliest_start
from optsched.model.schedule import Schedule


def earliest_fit_schedule(instance: Instance, order: list[int] | None = None,
                          deadline: Deadline | None = None) -> Schedule:
    """Place requests one by one at their earliest memory-feasible start (any convention: it
    works on the instance's SPEC-equivalent form, see ``spec_equivalent`` in
    optsched.model.instance). When ``deadline`` expires, the requests not yet placed run one
    after another after everything placed (valid, poorer)."""
    instance = spec_equivalent(instance)
    a, s, o, m = instance.arrival, instance.prompt, instance.output, instance.memory_limit
    if order is None:
        order = sorted(range(instance.n), key=lambda i: (a[i], o[i], instance.ids[i]))
    starts: dict[str, int] = {}
    placed_p = np.zeros(instance.n, dtype=np.int64)
    placed_s = np.zeros(instance.n, dtype=np.int64)
    placed_c = np.zeros(instance.n, dtype=np.int64)
    for k, i in enumerate(order):
        if deadline is not None and deadline.expired():
            p = max(int(a[i]), int(placed_c[:k].max(initial=0)))  # alone, after all placed
        else:
            x = earliest_start(placed_p[:k], placed_s[:k], placed_c[:k], int(s[i]), int(o[i]),
                               m, int(a[i]))
            assert x is not None  # s_i + o_i <= M: it fits once every placed run is over
            p = x
        placed_p[k], placed_s[k], placed_c[k] = p, s[i], p + o[i]
        starts[instance.ids[i]] = p
    return Schedule(starts)
