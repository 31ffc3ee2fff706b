"""Volume and epoch bounds: how much memory-time the first k completions need, and the
Lagrangian trade-off between wasted capacity and memory at completions (models/epoch-bound.md)."""

from __future__ import annotations

import numpy as np

from optsched.exact.bounds.lags import (
    _kth_release_bound,
    _machine_completion_bounds,
    _releases,
    machine_lengths,
)
from optsched.model.conventions import require_spec
from optsched.model.instance import Instance

#: Multipliers tried for the epoch bound (any lam >= 0 gives a valid bound; this grid is dense
#: enough that refining it changed the Model 1 bounds by < 0.1%, see docs/exact-performance.md).
DEFAULT_LAMBDAS = np.concatenate([[0.0], np.geomspace(1 / 64, 64, 48)])

#: Exact per-age dynamic program up to this output length (work ~ length^2 per prompt size);
#: longer requests use the closed-form relaxation of :func:`_epoch_costs_relaxed`.
DP_MAX_LENGTH = 512


def trivial_bound(instance: Instance) -> int:
    """sum_i (a_i + o_i): no request completes before it has arrived and run."""
    require_spec(instance, "optsched.exact.bounds.trivial_bound")
    return int(instance.arrival.sum() + instance.output.sum())


def volumes(instance: Instance) -> np.ndarray:
    """Memory-time volume of each request: s o + o (o + 1) / 2 (usage summed over its rounds)."""
    s, o = instance.prompt.astype(np.int64), instance.output.astype(np.int64)
    return s * o + o * (o + 1) // 2


def volume_bound(instance: Instance) -> int:
    """sum_k max(ceil(V_k / M), k-th smallest a + o) (module docstring)."""
    require_spec(instance, "optsched.exact.bounds.volume_bound")
    vk = np.cumsum(np.sort(volumes(instance)))
    m = instance.memory_limit
    return int(np.maximum(-(-vk // m), _kth_release_bound(instance)).sum())


def _epoch_costs_dp(prompt: int, max_len: int, lams: np.ndarray) -> np.ndarray:
    """D[g, l] = min over epoch ages 0 < g_1 < ... < g_m = g of
    sum_r tri(g_r - g_{r-1}) + lam_l * sum_r (prompt + g_r), with g_0 = 0 and tri(d) = d(d-1)/2:
    the least waste plus priced epoch memory of a request of length g (ages 1..g covered)."""
    d = np.zeros((max_len + 1, lams.size))
    tri = np.arange(max_len + 1, dtype=float)
    tri = tri * (tri - 1) / 2
    for g in range(1, max_len + 1):
        prev = d[:g] + tri[g - np.arange(g)][:, None]
        d[g] = prev.min(axis=0) + lams * (prompt + g)
    return d


def _epoch_costs_relaxed(prompt: int, length: int, lams: np.ndarray) -> np.ndarray:
    """A lower bound on the DP value for one long request: with m epochs the gaps sum to
    ``length`` so waste >= m tri(length / m) (tri is convex), and m distinct ages that include
    ``length`` sum to at least length + m (m - 1) / 2."""
    if length <= _RELAXED_DENSE or (lams < 0).any():
        m = np.arange(1, length + 1, dtype=float)[:, None]
        every: np.ndarray = _relaxed_value(prompt, length, lams[None, :], m).min(axis=0)
        return every
    # L^2 / 2m + lam (m s + m^2 / 2) + linear terms is convex in m > 0 for lam >= 0: the least
    # over m = 1..L lies next to the root of its derivative, found by bisection; the same
    # formula is then evaluated at the integers around it (cost independent of L).
    lo = np.ones(lams.size)
    hi = np.full(lams.size, float(length))
    for _ in range(64):
        mid = (lo + hi) / 2
        rising = lams * (prompt + mid - 0.5) >= length * length / (2 * mid * mid)
        hi = np.where(rising, mid, hi)
        lo = np.where(rising, lo, mid)
    near = np.floor(lo)[None, :] + np.arange(-2, 4)[:, None]
    m = np.clip(near, 1, length)
    least: np.ndarray = _relaxed_value(prompt, length, lams[None, :], m).min(axis=0)
    return least


#: Up to this length :func:`_epoch_costs_relaxed` tries every epoch count m (the old way).
_RELAXED_DENSE = 256


def _relaxed_value(prompt: int, length: int, lams: np.ndarray, m: np.ndarray) -> np.ndarray:
    """m tri(length / m) + lam (m prompt + length + m (m - 1) / 2), elementwise."""
    x = length / m
    waste = m * x * (x - 1) / 2
    value: np.ndarray = waste + lams * (m * prompt + length + m * (m - 1) / 2)
    return value


def epoch_costs(instance: Instance, lams: np.ndarray) -> np.ndarray:
    """h[i, l] = v_i + (least waste + lam_l * epoch memory) of request i: shape (n, len(lams))."""
    require_spec(instance, "optsched.exact.bounds.epoch_costs")
    s, o = instance.prompt.astype(np.int64), instance.output.astype(np.int64)
    h = np.empty((instance.n, lams.size))
    for p in np.unique(s):
        sel = np.flatnonzero(s == p)
        lengths = o[sel]
        small = lengths <= DP_MAX_LENGTH
        if small.any():
            table = _epoch_costs_dp(int(p), int(lengths[small].max()), lams)
            h[sel[small]] = table[lengths[small]]
        for i in sel[~small]:
            h[i] = _epoch_costs_relaxed(int(p), int(o[i]), lams)
    out: np.ndarray = h + volumes(instance)[:, None]
    return out


def completion_bounds(instance: Instance, lams: np.ndarray | None = None) -> np.ndarray:
    """A proven lower bound on the k-th smallest completion time, for k = 1..n: the largest of
    the epoch argument, the machine argument and the k-th smallest a + o."""
    require_spec(instance, "optsched.exact.bounds.completion_bounds")
    lams = DEFAULT_LAMBDAS if lams is None else np.asarray(lams, dtype=float)
    if (lams < 0).any():
        raise ValueError("Lagrange multipliers must be >= 0")
    length, after = machine_lengths(instance)
    return _per_k_bounds(epoch_costs(instance, lams), _releases(instance),
                         instance.memory_limit, lams, length, after)


def _completion_bounds_from_costs(h: np.ndarray, release: np.ndarray, m: int,
                                  lams: np.ndarray) -> np.ndarray:
    """Per-k epoch bounds of the requests whose cost rows are ``h`` (rows are per request and
    do not depend on which other requests are present, so any subset can reuse them)."""
    hk = np.cumsum(np.sort(h, axis=0), axis=0)
    k = np.arange(1, h.shape[0] + 1, dtype=float)[:, None]
    best = ((hk - lams[None, :] * m * k) / m).max(axis=1)
    # ceil with a tolerance for float noise (values are sums of integers and halves times lam)
    ck = np.ceil(best - 1e-7).astype(np.int64)
    out: np.ndarray = np.maximum(ck, np.sort(release))
    return out


def _per_k_bounds(h: np.ndarray, release: np.ndarray, m: int, lams: np.ndarray,
                  length: np.ndarray, after: int) -> np.ndarray:
    """Per-k bounds of a set of requests (rows of ``h``, ``release`` and ``length``): the larger
    of the epoch/release bound and the machine bound, for every k."""
    out: np.ndarray = np.maximum(_completion_bounds_from_costs(h, release, m, lams),
                                 _machine_completion_bounds(length, after))
    return out


def epoch_bound(instance: Instance, lams: np.ndarray | None = None) -> int:
    """sum_k of the epoch and release bounds on c_(k) (module docstring; models/epoch-bound.md)."""
    require_spec(instance, "optsched.exact.bounds.epoch_bound")
    lams = DEFAULT_LAMBDAS if lams is None else np.asarray(lams, dtype=float)
    return int(_completion_bounds_from_costs(epoch_costs(instance, lams), _releases(instance),
                                             instance.memory_limit, lams).sum())
