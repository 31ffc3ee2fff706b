"""Fast lower bounds on the optimal total completion time, for instances too large to certify.

The bounds below are proven in ``models/epoch-bound.md``. Most take O(n log n) time after a
small dynamic program per distinct prompt size; the restriction bound repeats that per split
point (at most 64) and the lag intervals cost O(k^2) for k large requests, so the whole bound
takes at most about 1.5 s on 1,400 requests. The path bound (sets of at most 64 requests) adds
up to about 6 s at the papers' size and the window bound (at most 64) about as much again
(docs/exact-performance.md).

* ``trivial``: sum_i (a_i + o_i).
* ``volume``: the k-th smallest completion time is at least ceil(V_k / M), V_k the sum of the k
  smallest memory-time volumes v_i = s_i o_i + o_i (o_i + 1) / 2 (rounds 1..c_(k) hold at most M
  tokens each and the first k finished requests consumed their whole volume in them).
* ``epoch``: the volume bound ignores that memory peaks at completions. Call every completion
  time an *epoch*. At any round t, each running request keeps growing until the next epoch e(t),
  so memory(t) + |running(t)| (e(t) - t) <= memory(e(t)) <= M: rounds far from the next epoch
  waste capacity. Epochs are scarce (at most k distinct ones up to c_(k)) and each costs memory
  (sum over epochs of memory(e) <= k M). A Lagrange multiplier lam >= 0 joins the two budgets;
  each request's best trade-off between waste and epoch memory is a tiny dynamic program over its
  ages, and the k cheapest requests give a bound on c_(k) for every k. lam = 0 gives back the
  volume bound, so ``epoch`` >= ``volume`` always.

* ``restriction``: deleting requests from a feasible schedule leaves a feasible schedule of
  the rest, so OPT >= LB(S) + LB(R) for any split. Requests sorted by peak s + o; for each split
  point the larger-peak part gets max(epoch, ``core``), the rest its epoch bound. ``core``: the
  last o_j - L_j rounds of each member (L_j from the other members' peaks) never overlap, which
  is a one-machine problem whose preemptive optimum (shortest remaining time first) is a bound.
  ``chain`` (up to 12 requests): pairwise lags between consecutive completions, least total over
  all completion orders by a dynamic program over subsets.

* ``machine``: the pairwise lags give every request with peak above M / 2 an interval around
  its completion, [c_j - before_j, c_j + after_j), and these intervals never overlap: a single
  machine. The first k completions have used sum of their lengths rounds of it, which bounds
  c_(k) (combined per k with the epoch bound); ``interval`` is the preemptive one-machine
  optimum of the intervals of a set, with release dates, for the first part of a split.

* ``path`` (0.5, up to 64 requests): three consecutive completions i, j, k obey
  2 (c_j - c_i) + (c_k - c_j) >= a triple lag (at c_i the next two, if running, share the
  memory left by i's peak). Pair and triple lags price an order; a Lagrangian relaxation over
  walks (dynamic program over the last two members, subgradient on one multiplier per
  request) bounds the least price over all orders. ``restriction`` tries it for the
  larger-peak part of the splits.

* ``window`` (0.6, up to 64 requests): the same relaxation over walks, but the state also
  holds the last gap, and each gap must let the memory at the two completions before it hold
  (Lemma 8): the gaps are exact instead of priced by lags, so it is never below the path bound
  for the same multipliers. ``restriction`` runs it on the path bound's best split.

Arrivals enter only through c_(k) >= the k-th smallest a_i + o_i and the release dates of the
interval bound, so instances with spread-out arrivals get weaker bounds than all-at-zero ones
(measured in docs/exact-performance.md).

The bounds live in four modules by family: :mod:`.epoch` (trivial, volume, epoch),
:mod:`.lags` (machine, interval, core, chain), :mod:`.walks` (path, window) and
:mod:`.combined` (restriction, completion caps, :func:`lower_bound`); every name is importable
from this package.
"""

from __future__ import annotations

from optsched.exact.bounds.combined import (
    BOUND_EFFORTS,
    MAX_SPLITS,
    PATH_SEARCH_ITERATIONS,
    BoundReport,
    _path_split_points,
    check_bound_effort,
    completion_caps,
    lower_bound,
    restriction_bound,
)
from optsched.exact.bounds.epoch import (
    DEFAULT_LAMBDAS,
    DP_MAX_LENGTH,
    _completion_bounds_from_costs,
    _epoch_costs_dp,
    _epoch_costs_relaxed,
    _per_k_bounds,
    completion_bounds,
    epoch_bound,
    epoch_costs,
    trivial_bound,
    volume_bound,
    volumes,
)
from optsched.exact.bounds.lags import (
    CHAIN_MAX,
    _kth_release_bound,
    _machine_completion_bounds,
    _releases,
    _srpt_total,
    chain_bound,
    core_bound,
    interval_bound,
    lag_intervals,
    lag_matrix,
    large_peak_requests,
    machine_bound,
    machine_lengths,
    peak_order,
)
from optsched.exact.bounds.walks import (
    _INF,
    _SCALE,
    PATH_ITERATIONS,
    PATH_MAX,
    WINDOW_ITERATIONS,
    WINDOW_MAX,
    WINDOW_MAX_MOVES,
    WINDOW_MIN_ITERATIONS,
    WINDOW_WORK,
    _best_walk,
    _best_window_walk,
    _greedy_window_price,
    _path_lagrangian,
    _subgradient_ascent,
    _window_lagrangian,
    _window_moves,
    path_bound,
    triple_lags,
    window_bound,
    window_gaps,
)

__all__ = [
    "BOUND_EFFORTS",
    "BoundReport",
    "CHAIN_MAX",
    "DEFAULT_LAMBDAS",
    "DP_MAX_LENGTH",
    "MAX_SPLITS",
    "PATH_ITERATIONS",
    "PATH_MAX",
    "PATH_SEARCH_ITERATIONS",
    "WINDOW_ITERATIONS",
    "WINDOW_MAX",
    "WINDOW_MAX_MOVES",
    "WINDOW_MIN_ITERATIONS",
    "WINDOW_WORK",
    "_INF",
    "_SCALE",
    "_best_walk",
    "_best_window_walk",
    "_completion_bounds_from_costs",
    "_epoch_costs_dp",
    "_epoch_costs_relaxed",
    "_greedy_window_price",
    "_kth_release_bound",
    "_machine_completion_bounds",
    "_path_lagrangian",
    "_path_split_points",
    "_per_k_bounds",
    "_releases",
    "_srpt_total",
    "_subgradient_ascent",
    "_window_lagrangian",
    "_window_moves",
    "chain_bound",
    "check_bound_effort",
    "completion_bounds",
    "completion_caps",
    "core_bound",
    "epoch_bound",
    "epoch_costs",
    "interval_bound",
    "lag_intervals",
    "lag_matrix",
    "large_peak_requests",
    "lower_bound",
    "machine_bound",
    "machine_lengths",
    "path_bound",
    "peak_order",
    "restriction_bound",
    "triple_lags",
    "trivial_bound",
    "volume_bound",
    "volumes",
    "window_bound",
    "window_gaps",
]
