"""Lagrangian relaxations over walks of completion orders: the path bound (pair and triple lags)
and the window bound (exact gaps two completions ahead) (models/epoch-bound.md)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from optsched.exact.bounds.lags import _releases, lag_matrix
from optsched.model.conventions import require_spec
from optsched.model.instance import Instance

#: Largest set for which :func:`path_bound` runs (its dynamic program costs about K^4 per
#: iteration: about 14 ms per iteration at 64 members on one core).
PATH_MAX = 64

_INF = 1e18  # an impossible transition in the walks of path_bound (a member twice in a row)

#: Subgradient iterations of :func:`path_bound` (every iteration gives a valid bound; the best
#: is kept, so fewer iterations only weaken it).
PATH_ITERATIONS = 200


def triple_lags(instance: Instance, members: np.ndarray) -> np.ndarray:
    """R[x, y, z] = least 2 (c_j - c_i) + (c_k - c_j) over schedules where i, j, k (members
    x, y, z) complete in this order (models/epoch-bound.md §8).

    At c_i request i holds P_i, and j, k hold P_j - (c_j - c_i) and P_k - (c_k - c_i) if still
    running: either both run (then 2 g1 + g2 >= P_i + P_j + P_k - M), or k has not started
    (g1 + g2 >= o_k), or j has not started (g1 >= o_j); the pairwise lags hold in every case."""
    members = np.asarray(members, dtype=np.int64)
    s, o = (x.astype(np.int64)[members] for x in (instance.prompt, instance.output))
    peak = s + o
    lag = lag_matrix(instance, members)
    both_run = peak[:, None, None] + peak[None, :, None] + peak[None, None, :] \
        - instance.memory_limit
    third_waits = lag[:, :, None] + o[None, None, :]
    second_waits = 2 * o[None, :, None] + lag[None, :, :]
    cases = np.minimum(np.minimum(both_run, third_waits), second_waits)
    out: np.ndarray = np.maximum(2 * lag[:, :, None] + lag[None, :, :], cases)
    return out


def path_bound(instance: Instance, members: np.ndarray, *,
               iterations: int = PATH_ITERATIONS, share: float = 1.0) -> int:
    """A lower bound on sum_{j in members} c_j from the lags of consecutive pairs and triples
    of completions (models/epoch-bound.md §8); 0 (no bound) for sets above :data:`PATH_MAX`.

    Along the completion order pi, sum_j c_j = K c_pi1 + sum_r (K - r + 1) g_r, every gap g_r
    is at least the pair lag and 2 g_r + g_{r+1} at least the triple lag of :func:`triple_lags`.
    Splitting each gap's weight between the two (``share`` of it to the triples) prices an
    order by a sum over consecutive triples. The least price over all orders is bounded from
    below by a Lagrangian relaxation: walks of K positions with no member twice among three
    consecutive ones, each visit of j paying -mu_j; a dynamic program over the last two
    members finds the best walk and subgradient steps on mu raise the bound. Every iterate is
    a valid bound and the best is kept.
    """
    require_spec(instance, "optsched.exact.bounds.path_bound")
    return _path_lagrangian(instance, np.asarray(members, dtype=np.int64), iterations, share)[0]


def _path_lagrangian(instance: Instance, members: np.ndarray, iterations: int,
                     share: float = 1.0, start: np.ndarray | None = None
                     ) -> tuple[int, np.ndarray]:
    """:func:`path_bound` and the multipliers (one per member) of its best iterate; ``start``
    warm-starts the multipliers (restriction_bound reuses them between nested sets)."""
    k = members.size
    if k == 0 or k > PATH_MAX:
        return 0, np.zeros(k)
    release = _releases(instance)[members].astype(float)
    if k == 1:
        return int(release[0]), np.zeros(1)
    if not 0.0 <= share <= 1.0:
        raise ValueError("share must lie in [0, 1]")
    # gap g_r (r = 2..K) weighs w[r] = K - r + 1; triple r (positions r-1, r, r+1) carries
    # z[r] = share (w[r] - 1) / 3, pair r carries y[r] = w[r] - 2 z[r] - z[r-1] >= 0
    w = np.array([k - r + 1 for r in range(k + 2)], dtype=float)
    z = np.zeros(k + 2)
    z[2:k] = share * (w[2:k] - 1) / 3
    y = w - 2 * z - np.roll(z, 1)
    lag = lag_matrix(instance, members).astype(float)
    triple = triple_lags(instance, members).astype(float)
    same = np.eye(k, dtype=bool)
    lag_cost = np.where(same, _INF, lag)
    triple_cost = np.where(same[:, :, None] | same[:, None, :] | same[None, :, :], _INF,
                           triple)

    def price(order: np.ndarray) -> float:
        """The relaxed price of one order (an upper bound on the least price)."""
        value = k * release[order[0]] + sum(y[r] * lag[order[r - 2], order[r - 1]]
                                            for r in range(2, k + 1))
        return float(value + sum(z[r] * triple[order[r - 2], order[r - 1], order[r]]
                                 for r in range(2, k)))

    upper = price(np.argsort(instance.prompt[members] + instance.output[members],
                             kind="stable"))
    def evaluate(mu: np.ndarray) -> tuple[float, list[int], np.ndarray]:
        value, walk = _best_walk(k * release, y, z, lag_cost, triple_cost, mu)
        return value + mu.sum(), walk, mu

    best, best_mu = _subgradient_ascent(evaluate, k, iterations, upper, start)
    if best == -np.inf:
        return 0, best_mu
    return int(np.ceil(best - 1e-6 * max(1.0, abs(best)))), best_mu


def _subgradient_ascent(evaluate: Callable[[np.ndarray], tuple[float, list[int], np.ndarray]],
                        k: int, iterations: int, upper: float, start: np.ndarray | None
                        ) -> tuple[float, np.ndarray]:
    """Raise a Lagrangian bound over walks with one multiplier per member (path and window
    bounds): Polyak steps towards ``upper`` (the price of some order) along 1 - visits,
    halved after 10 steps without progress; stops early when the best walk is an order.
    ``evaluate(mu)`` gives the bound at mu, the best walk and the multipliers it actually
    used. Returns the best bound seen (-inf without iterations) and its multipliers."""
    mu = np.zeros(k) if start is None else np.asarray(start, dtype=float).copy()
    best, best_mu, step, stall = -np.inf, mu, 1.0, 0
    for _ in range(iterations):
        value, walk, used = evaluate(mu)
        if value > best + 1e-9:
            best, best_mu, stall = value, used, 0
        else:
            stall += 1
            if stall >= 10:
                step, stall = step / 2, 0
        grad = 1.0 - np.bincount(walk, minlength=k)
        if not grad.any():  # the best walk is an order: the relaxation is solved
            break
        mu = mu + step * max(upper - value, 1.0) / float(grad @ grad) * grad
    return best, best_mu


def _best_walk(first: np.ndarray, y: np.ndarray, z: np.ndarray, lag_cost: np.ndarray,
               triple_cost: np.ndarray, mu: np.ndarray) -> tuple[float, list[int]]:
    """Least price of a walk of len(first) positions (first[j] for starting at j, y[r] * pair
    and z[r] * triple costs, -mu[j] per visit) over states (last two members), and the walk.

    Forward pass over positions keeps only the values per state; the walk is recovered
    backwards from them, so the K^3 step per position is one addition and one minimum."""
    k = first.size
    value = (first - mu)[:, None] + y[2] * lag_cost - mu[None, :]
    values = [value]
    buffer = np.empty_like(triple_cost)
    for r in range(2, k):
        if z[r] > 0:
            np.add((value / z[r])[:, :, None], triple_cost, out=buffer)
            reached = buffer.min(axis=0) * z[r]
        else:  # no triple weight: the triple only forbids repeats (inf entries)
            np.add(value[:, :, None], np.where(triple_cost >= _INF, _INF, 0.0), out=buffer)
            reached = buffer.min(axis=0)
        value = reached + y[r + 1] * lag_cost - mu[None, :]
        values.append(value)
    b, c = (int(v) for v in np.unravel_index(int(value.argmin()), value.shape))
    best = float(value[b, c])
    walk = [int(c), int(b)]
    for r in range(k - 1, 1, -1):
        a = int((values[r - 2][:, b] + z[r] * np.where(triple_cost[:, b, c] >= _INF, _INF,
                                                       triple_cost[:, b, c])).argmin())
        walk.append(a)
        b, c = a, b
    return best, walk[::-1]


#: Sets of at most this many requests get :func:`window_bound`, if their move table is not
#: larger than :data:`WINDOW_MAX_MOVES`.
WINDOW_MAX = 64

#: At most this many entries K^3 G in window_bound's move table for K members with outputs up
#: to G (K = 64 and G = 57 at most; a few hundred MB while the table is built).
WINDOW_MAX_MOVES = 15_000_000

#: Subgradient iterations of :func:`window_bound` (warm-started from the path bound's
#: multipliers by :func:`restriction_bound`; every iterate is a valid bound).
WINDOW_ITERATIONS = 30

#: restriction_bound gives window_bound at most this much work (moves read over all its
#: iterations; one iteration reads about K (partial moves + K^2 G)), but at least
#: :data:`WINDOW_MIN_ITERATIONS` iterations. Deterministic, unlike a time limit: the papers'
#: sets of up to about 45 members get all 30 iterations, 64 members about 8.
WINDOW_WORK = 1_500_000_000
WINDOW_MIN_ITERATIONS = 5

_SCALE = 8  # window_bound rounds its multipliers to 1/8: its dynamic program runs in integers


def window_gaps(instance: Instance, members: np.ndarray) -> np.ndarray:
    """least[x, y, g1, z] = least g2 = c_k - c_j over schedules in which i, j, k (members x, y,
    z) complete in this order with c_j - c_i = g1 (models/epoch-bound.md §9).

    Memory is checked at c_j (k holds P_k - g2 if running, beside P_j: the pair lag) and at
    c_i (j holds P_j - g1 if running, k holds P_k - g1 - g2 if running, beside P_i). Gaps
    g1 >= max o mean nobody is running any more and are not needed. Non-increasing in g1."""
    members = np.asarray(members, dtype=np.int64)
    s, o = (x.astype(np.int32)[members] for x in (instance.prompt, instance.output))
    peak, m = s + o, instance.memory_limit
    g = np.arange(int(o.max()) + 1, dtype=np.int32)
    j_holds = np.where(g[None, :] < o[:, None], peak[:, None] - g[None, :], 0)  # (j, g1)
    at_ci = np.minimum(o[None, None, None, :] - g[None, None, :, None],
                       peak[:, None, None, None] + j_holds[None, :, :, None]
                       + peak[None, None, None, :] - g[None, None, :, None] - m)
    lag = lag_matrix(instance, members).astype(np.int32)
    out: np.ndarray = np.maximum(np.maximum(at_ci, 0), lag[None, :, None, :])
    return out


def window_bound(instance: Instance, members: np.ndarray, *,
                 iterations: int = WINDOW_ITERATIONS, start: np.ndarray | None = None) -> int:
    """A lower bound on sum_{j in members} c_j from the memory at each completion, checked
    against the next two completions exactly (models/epoch-bound.md §9); 0 (no bound) for sets
    above :data:`WINDOW_MAX` members or :data:`WINDOW_MAX_MOVES` moves.

    Like :func:`path_bound` it relaxes the completion order to walks with one multiplier per
    member, but a walk's state also holds the last gap, so the gaps are chosen exactly (each
    >= :func:`window_gaps` of the last two members and gap) instead of being priced by lags.
    For the same multipliers it is never below the path bound's value (every walk costs at
    least its path price). ``start`` warm-starts the multipliers."""
    require_spec(instance, "optsched.exact.bounds.window_bound")
    return _window_lagrangian(instance, np.asarray(members, dtype=np.int64), iterations,
                              start)[0]


def _window_lagrangian(instance: Instance, members: np.ndarray, iterations: int,
                       start: np.ndarray | None = None, work: int | None = None
                       ) -> tuple[int, np.ndarray]:
    """:func:`window_bound` and the multipliers of its best iterate; with ``work``, fewer
    iterations on large move tables (see :data:`WINDOW_WORK`)."""
    k = members.size
    if k == 0 or k > WINDOW_MAX or \
            k**3 * (int(instance.output[members].max()) + 1) > WINDOW_MAX_MOVES:
        return 0, np.zeros(k)
    release = _releases(instance)[members].astype(np.int64)
    if k == 1:
        return int(release[0]), np.zeros(1)
    table = _window_moves(instance, members)
    if work is not None:
        per_iteration = k * (table["partial_flat"].size + k * k * table["least"].shape[2])
        iterations = min(iterations, max(WINDOW_MIN_ITERATIONS, work // per_iteration))
    weight = np.array([k - r + 1 for r in range(k + 1)], dtype=np.int64)  # w_r, r = 0..k

    def evaluate(mu: np.ndarray) -> tuple[float, list[int], np.ndarray]:
        """The bound at mu rounded to 1/_SCALE, exact: integers divided by a power of two."""
        mu_int = np.round(mu * _SCALE).astype(np.int64)
        value, walk = _best_window_walk(table, k * release * _SCALE, weight * _SCALE, mu_int)
        return (value + int(mu_int.sum())) / _SCALE, walk, mu_int / _SCALE

    upper = _greedy_window_price(table, release, weight,
                                 np.argsort(instance.prompt[members] + instance.output[members],
                                            kind="stable"))
    best, best_mu = _subgradient_ascent(evaluate, k, iterations, upper, start)
    return (0 if best == -np.inf else math.ceil(best)), best_mu


def _window_moves(instance: Instance, members: np.ndarray) -> dict:
    """The move table of window_bound's dynamic program, split by how much of the previous
    gap a move allows (models/epoch-bound.md §9).

    A move (x, y, g1) -> (y, z, g2) is allowed for every g1 from first = #{g1: least > g2}
    on (least is non-increasing in g1). Where first = 0 the move takes the whole row (x, y):
    that happens exactly for g2 >= least[x, y, 0, z], so for each (y, z) the members x sorted
    by that threshold and a running minimum serve every g2 at once. Only the partial moves
    (0 < first <= the last gap, about a fifth at the papers' size) are listed one by one,
    sorted by target state for a segmented minimum. Repeats (x, y, z not distinct) are never
    allowed."""
    k = members.size
    least = window_gaps(instance, members)
    gaps = least.shape[2]
    same = np.eye(k, dtype=bool)
    repeat = same[:, :, None] | same[:, None, :] | same[None, :, :]  # (x, y, z)
    whole_from = np.where(repeat, gaps, least[:, :, 0, :])  # (x, y, z): first g2 taking all g1
    by_threshold = np.argsort(whole_from.transpose(1, 2, 0), axis=2, kind="stable")  # (y, z, r)
    thresholds = np.take_along_axis(whole_from.transpose(1, 2, 0), by_threshold, axis=2)
    # whole_count[y, z, g2] = number of x whose whole row is allowed at g2
    # (a histogram of the thresholds, cumulated over g2: no Python loop over the gaps)
    marks = np.zeros((k, k, gaps + 1), dtype=np.int64)
    np.add.at(marks, (*np.indices(thresholds.shape)[:2], np.minimum(thresholds, gaps)), 1)
    whole_count = np.cumsum(marks, axis=2)[:, :, :gaps]
    # first[y, z, g2, x] = #{g1: least[x, y, g1, z] > g2}, from a histogram of least's values
    # (O(K^3 G)); laid out so that the partial moves come out sorted by target (y, z, g2)
    cells = np.arange(k**3).reshape(k, k, k)[:, :, :, None]  # cell (y, z, x)
    values = least.transpose(1, 3, 0, 2)  # (y, z, x, g1)
    histogram = np.bincount((cells * gaps + values).ravel(), minlength=k**3 * gaps)
    first = (gaps - np.cumsum(histogram.reshape(k, k, k, gaps), axis=3)).transpose(0, 1, 3, 2)
    partial = (first > 0) & (first < gaps) & ~repeat.transpose(1, 2, 0)[:, :, None, :]
    y, z, g2, x = np.nonzero(partial)
    flat_all = (x * k + y) * (gaps + 1) + first[y, z, g2, x]
    target_all = (y * k + z) * gaps + g2
    starts = np.flatnonzero(np.r_[True, target_all[1:] != target_all[:-1]]) \
        if target_all.size else np.zeros(0, dtype=np.intp)
    lag = lag_matrix(instance, members)
    return dict(least=least, lag=lag, repeat=repeat,
                by_threshold=by_threshold, whole_count=whole_count,
                partial_flat=flat_all.astype(np.intp), partial_starts=starts,
                partial_target=target_all[starts] if target_all.size else target_all,
                start_ok=(np.arange(gaps)[None, None, :] >= lag[:, :, None]) & ~same[:, :, None])


def _greedy_window_price(table: dict, release: np.ndarray, weight: np.ndarray,
                         order: np.ndarray) -> int:
    """The walk price of one order with each gap as small as allowed (at least the least price
    over orders: the subgradient's target)."""
    least, lag = table["least"], table["lag"]
    total, g1 = order.size * int(release[order[0]]), 0
    for r in range(1, order.size):
        y, z = order[r - 1], order[r]
        g1 = int(lag[y, z]) if r == 1 else int(least[order[r - 2], y, g1, z])
        total += int(weight[r + 1]) * g1
    return total


def _best_window_walk(table: dict, first_cost: np.ndarray, weight: np.ndarray,
                      mu_int: np.ndarray) -> tuple[int, list[int]]:
    """Least integer price of a walk (state: last two members and the gap between them) with
    -mu_int[j] per visit of j, and the walk; costs already scaled by _SCALE.

    Each position takes suffix minima over the previous gap, serves the whole-row moves by a
    running minimum over members sorted by threshold and the partial moves by a segmented
    minimum (:func:`_window_moves`); the walk is recovered backwards from the stored values."""
    k = first_cost.size
    least = table["least"]
    gaps = least.shape[2]
    # every walk's price lies within +-span; int32 (twice as fast) when span + big cannot
    # overflow, else int64; big marks unreachable states and never clips a real price
    span = int(first_cost.max()) + int(weight[2]) * gaps * k + 2 * k * int(np.abs(mu_int).max())
    kind = np.int32 if span < 2**29 else np.int64
    big = kind(2**30 if kind is np.int32 else 2**62)
    g = np.arange(gaps, dtype=kind)
    mu_int = mu_int.astype(kind)
    value = ((first_cost.astype(kind) - mu_int)[:, None, None]
             + kind(weight[2]) * g[None, None, :] - mu_int[None, :, None])
    value = np.where(table["start_ok"], value, big)
    values = [value]
    rows = np.arange(k)[:, None, None]
    for r in range(3, k + 1):
        suffix = np.minimum.accumulate(value[:, :, ::-1], axis=2)[:, :, ::-1]
        whole = suffix[:, :, 0]  # (x, y): best over every previous gap
        running = np.minimum.accumulate(whole[table["by_threshold"], rows], axis=2)
        running = np.concatenate([np.full((k, k, 1), big, dtype=kind), running], axis=2)
        reached = np.take_along_axis(running, table["whole_count"], axis=2).ravel()
        if table["partial_flat"].size:
            padded = np.concatenate([suffix, np.full((k, k, 1), big, dtype=kind)], axis=2)
            part = np.minimum.reduceat(padded.ravel()[table["partial_flat"]],
                                       table["partial_starts"])
            targets = table["partial_target"]
            reached[targets] = np.minimum(reached[targets], part)
        value = np.minimum(reached.reshape(k, k, gaps) + kind(weight[r]) * g[None, None, :]
                           - mu_int[None, :, None], big)
        values.append(value)
    y, z, gap = (int(v) for v in np.unravel_index(int(value.argmin()), value.shape))
    best = int(value[y, z, gap])
    walk = [int(z), int(y)]
    for r in range(k, 2, -1):
        previous = values[r - 3]
        suffix = np.minimum.accumulate(previous[:, y, ::-1], axis=1)[:, ::-1]
        padded = np.concatenate([suffix, np.full((k, 1), big, dtype=kind)], axis=1)
        lo = np.where(table["repeat"][:, y, z], gaps, (least[:, y, :, z] > gap).sum(axis=1))
        x = int(padded[np.arange(k), lo].argmin())
        g1 = int(lo[x]) + int(previous[x, y, lo[x]:].argmin())
        walk.append(x)
        y, z, gap = x, y, g1
    return best, walk[::-1]
