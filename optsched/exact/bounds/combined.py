"""The bounds put together: the restriction bound over splits by peak, completion caps and
:func:`lower_bound`, the one call the solve paths use (models/epoch-bound.md)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from optsched.control import Deadline
from optsched.errors import OptschedError
from optsched.exact.bounds.epoch import (
    DEFAULT_LAMBDAS,
    _per_k_bounds,
    epoch_bound,
    epoch_costs,
    trivial_bound,
    volume_bound,
)
from optsched.exact.bounds.lags import (
    _releases,
    chain_bound,
    core_bound,
    interval_bound,
    large_peak_requests,
    machine_bound,
    machine_lengths,
    peak_order,
)
from optsched.exact.bounds.walks import (
    PATH_ITERATIONS,
    PATH_MAX,
    WINDOW_ITERATIONS,
    WINDOW_WORK,
    _path_lagrangian,
    _window_lagrangian,
)
from optsched.model.conventions import require_spec
from optsched.model.instance import Instance, spec_equivalent


@dataclass
class BoundReport:
    """A proven lower bound and where it came from."""

    value: int
    method: str
    parts: dict[str, int] = field(default_factory=dict)
    runtime: float = 0.0
    #: the restriction bound's best split: how many largest-peak requests its first part holds
    split: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"value": self.value, "method": self.method, "parts": dict(self.parts),
                "runtime": round(self.runtime, 6), "split": self.split}


#: At most this many split points are tried by :func:`restriction_bound` (evenly spaced).
MAX_SPLITS = 64


#: Subgradient iterations per split point while :func:`restriction_bound` searches for the
#: best split for :func:`path_bound`; the best split found then gets :data:`PATH_ITERATIONS`.
PATH_SEARCH_ITERATIONS = 40


def restriction_bound(instance: Instance, lams: np.ndarray | None = None, *,
                      machine: bool = True, paths: bool = True,
                      windows: bool = True, deadline: Deadline | None = None
                      ) -> tuple[int, int]:
    """max over k of LB(k largest-peak requests) + epoch bound of the others, and the best k.

    Restricting a schedule to a subset gives a schedule of the sub-instance, so the optimum is
    at least the sum of the sub-optima of any split (models/epoch-bound.md §4). Each part gets
    its per-k epoch and machine bounds; the first part also tries :func:`core_bound`,
    :func:`chain_bound` and :func:`interval_bound`, and (``paths``, 0.5) :func:`path_bound` on
    the split points of :func:`_path_split_points`. Measured: the epoch bound is weakened by
    short requests, so leaving the shortest ones to their own bound helps. ``machine=False``
    leaves out the machine and interval parts (the 0.2 bound, kept for benchmarks);
    ``paths=False`` gives the 0.4 bound. ``windows`` (0.6) then tries :func:`window_bound` on
    the best split point of the path bound, warm-started from its multipliers
    (``windows=False`` gives the 0.5 bound). Once ``deadline`` expires (time or a stop
    request) the path and window stages are cut short: every split tried so far is a valid
    bound on its own, so the best of them is returned.
    """
    require_spec(instance, "optsched.exact.bounds.restriction_bound")
    clock = Deadline(None) if deadline is None else deadline
    lams = DEFAULT_LAMBDAS if lams is None else np.asarray(lams, dtype=float)
    n, m = instance.n, instance.memory_limit
    h, rel = epoch_costs(instance, lams), _releases(instance)
    length, after = machine_lengths(instance)  # valid for every subset (pairwise conditions)
    if not machine:
        length[:] = 0
    order = peak_order(instance)
    cheap: dict[int, tuple[int, int]] = {}  # k -> (bound of the first k, bound of the rest)

    def part(idx: np.ndarray) -> int:
        if idx.size == 0:
            return 0
        return int(_per_k_bounds(h[idx], rel[idx], m, lams, length[idx], after).sum())

    def split(k: int) -> tuple[int, int]:
        if k not in cheap:
            top = order[:k]
            cheap[k] = (max(part(top), core_bound(instance, top), chain_bound(instance, top),
                            interval_bound(instance, top) if machine else 0)
                        if k < n else part(order), part(order[k:]))
        return cheap[k]

    best, best_k = split(n)[0], n
    splits = (range(1, n) if n - 1 <= MAX_SPLITS
              else np.unique(np.linspace(1, n - 1, MAX_SPLITS).astype(int)).tolist())
    for k in splits:
        value = sum(split(int(k)))
        if value > best:
            best, best_k = value, int(k)
    if not paths or clock.expired():
        return best, best_k
    value, k = _path_stage(instance, order, split, clock, windows)
    return (value, k) if value > best else (best, best_k)


def _path_stage(instance: Instance, order: np.ndarray,
                split: Callable[[int], tuple[int, int]], clock: Deadline,
                windows: bool) -> tuple[int, int]:
    """The path (and window) stage of :func:`restriction_bound`: the best (value, k) over the
    split points it tries, or (-1, 0) when it tries none. Cut short once ``clock`` expires;
    every split tried is a valid bound on its own."""
    n = instance.n
    multipliers = np.zeros(n)  # by position in ``order``; warm start between nested sets

    def with_path(k: int, iterations: int) -> int:
        top, rest = split(k)
        value, mu = _path_lagrangian(instance, order[:k], iterations, start=multipliers[:k])
        multipliers[:k] = mu
        return max(top, value) + rest

    tried: dict[int, int] = {}
    for k in _path_split_points(n, large_peak_requests(instance).size):
        if clock.expired():
            break
        tried[k] = with_path(k, PATH_SEARCH_ITERATIONS)
    if not tried:
        return -1, 0
    if clock.expired():
        top_k = max(tried, key=lambda k: tried[k])
        return tried[top_k], top_k
    around = max(tried, key=lambda k: tried[k])
    for k in range(max(2, around - 2), min(n, PATH_MAX, around + 2) + 1):
        if k not in tried:
            tried[k] = with_path(k, PATH_SEARCH_ITERATIONS)
    top_k = max(tried, key=lambda k: tried[k])
    value = max(tried[top_k], with_path(top_k, PATH_ITERATIONS))
    if windows:
        top, rest = split(top_k)
        window = _window_lagrangian(instance, order[:top_k], WINDOW_ITERATIONS,
                                    start=multipliers[:top_k], work=WINDOW_WORK)[0]
        value = max(value, max(top, window) + rest)
    return value, top_k


def _path_split_points(n: int, large: int) -> list[int]:
    """Split points where :func:`restriction_bound` tries :func:`path_bound` first: every 4th
    from a few below the number of large-peak requests up to n (at most :data:`PATH_MAX`).
    Measured at the papers' size: the best split keeps 3-14 requests more than the
    large-peak ones in the first part (docs/exact-performance.md)."""
    lo, hi = max(2, large - 4), min(n, PATH_MAX)
    return sorted(set(range(lo, hi + 1, 4)) | {hi}) if lo <= hi else []


def completion_caps(instance: Instance, upper: int) -> np.ndarray:
    """cap[i] = upper - LB(all requests but i): in every schedule of value <= ``upper``,
    c_i <= cap[i] (models/time_indexed.md, "Windows from the bounds of the others").

    Restricting such a schedule to the other requests leaves a feasible schedule of them, so
    their completions sum to at least their lower bound, and c_i is what is left of ``upper``.
    Costs one :func:`lower_bound` per request (about 0.1 s each at 10-20 requests)."""
    instance = spec_equivalent(instance)
    caps = np.empty(instance.n, dtype=np.int64)
    for i in range(instance.n):
        others = [r for j, r in enumerate(instance.requests) if j != i]
        caps[i] = upper - (lower_bound(instance.with_requests(others)).value if others else 0)
    return caps


#: What :func:`lower_bound` computes: ``"full"``, every bound; ``"fast"``, all but the path
#: and window bounds (the 0.4 bound: at most about 1.5 s even at 1,400 requests, where ``full``
#: can take about 10 s at the papers' size; docs/exact-performance.md).
BOUND_EFFORTS = ("full", "fast")


def lower_bound(instance: Instance, *, effort: str = "full",
                deadline: Deadline | None = None) -> BoundReport:
    """The best of the trivial, volume, epoch, machine and restriction bounds, with each part
    and the time taken; ``effort="fast"`` leaves out the path and window bounds, and so does
    an expired ``deadline`` (the slow part: seconds at the papers' size; see
    :func:`restriction_bound`)."""
    instance = spec_equivalent(instance)
    check_bound_effort(effort)
    t0 = time.perf_counter()
    restriction, split = restriction_bound(instance, paths=effort == "full", deadline=deadline)
    parts = {"trivial": trivial_bound(instance), "volume": volume_bound(instance),
             "epoch": epoch_bound(instance), "machine": machine_bound(instance),
             "restriction": restriction}
    method = max(parts, key=lambda name: parts[name])
    return BoundReport(parts[method], method, parts, time.perf_counter() - t0, split)


def check_bound_effort(effort: str) -> None:
    """Refuse an unknown bound effort with a message naming the choices."""
    if effort not in BOUND_EFFORTS:
        raise OptschedError(f"unknown bound effort {effort!r}; choose one of "
                            f"{', '.join(BOUND_EFFORTS)}")
