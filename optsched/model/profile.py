"""Memory of placed runs at chosen rounds, and the earliest round at which one more run fits.

A run (start p, prompt s, completion c) holds s + r - p tokens in rounds p < r <= c. The
heuristics and the engine used to find the next feasible start by trying every round; these
functions answer the same question from the runs' breakpoints, so the cost depends on how many
runs there are, not on how long they last.

**Where the peaks are.** Let ``load(r)`` be the memory of the placed runs in round r and add a
run (s, L) started at x: it holds s + r - x in rounds x < r <= x + L. If r is not the completion
round of a placed run, every run held at r is still held at r + 1 with one more token (and runs
that start at r add memory), so ``load(r) + s + r - x`` grows from r to r + 1. Over the window
(x, x + L] the total is therefore largest at a placed completion round c_k inside the window or
at x + L itself. The start x fits iff

* (A) for every placed run k with x < c_k <= x + L: load(c_k) + s + c_k - x <= M, and
* (B) load(x + L) + s + L <= M,

provided the placed runs alone never exceed M (every caller builds them by feasible additions).

**Where feasibility can switch on.** Going from x - 1 to x, (A) loses a violated constraint only
when c_k leaves the window (x = c_k) or its left side drops to M (x = load(c_k) + s + c_k - M);
a constraint entering the window only adds a condition. (B) changes only through load(x + L),
which can fall only right after a completion round (x + L - 1 = c_k, so x = c_k + 1 - L). So
the earliest feasible start in [lo, hi) is lo or one of those 3 |runs| points: checking them in
order, each in O(log |runs|), finds it exactly. This is the same test as MC-SF's check at all
completion times (``optsched.policies.mcsf.fits_at_all_completions``): memory between two
completion times only grows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Callers step round by round when the next event is at most this many rounds away: a few
#: cheap rounds cost less than one breakpoint search (measured in benchmarks/bench_scale.py).
STEP_BELOW = 32


def _as_array(values: Sequence[int] | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).reshape(-1)


def memory_at(start: np.ndarray, prompt: np.ndarray, completion: np.ndarray,
              rounds: np.ndarray) -> np.ndarray:
    """Memory held by the runs in each of ``rounds`` (vectorised: sorted starts and completions
    with prefix sums, O((runs + rounds) log runs) instead of one pass per round)."""
    return _Held(start, prompt, completion).at(rounds)


class _Held:
    """The runs' starts and completions sorted once, with prefix sums of s - p, so that the
    memory at any set of rounds costs two binary searches per round."""

    def __init__(self, start: np.ndarray, prompt: np.ndarray, completion: np.ndarray) -> None:
        base = prompt - start  # a run holds base + r in its rounds
        by_p = np.argsort(start, kind="stable")
        by_c = np.argsort(completion, kind="stable")
        self.starts, self.ends = start[by_p], completion[by_c]
        self.sum_p = np.concatenate(([0], np.cumsum(base[by_p])))
        self.sum_c = np.concatenate(([0], np.cumsum(base[by_c])))

    def at(self, rounds: np.ndarray) -> np.ndarray:
        rounds = _as_array(rounds)
        begun = np.searchsorted(self.starts, rounds, side="left")  # runs with p < r
        ended = np.searchsorted(self.ends, rounds, side="left")  # runs with c < r (so p < r)
        held: np.ndarray = (begun - ended) * rounds + self.sum_p[begun] - self.sum_c[ended]
        return held


def _range_max(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """max(values[lo:hi]) for each pair (a sparse table); a very negative number for empty ones."""
    floor = -(1 << 62)  # far below any memory, and no overflow when s - x is added
    out = np.full(lo.shape, floor, dtype=np.int64)
    size = hi - lo
    nonempty = size > 0
    if values.size == 0 or not nonempty.any():
        return out
    table = [values]
    width = 1
    while 2 * width <= values.size:
        prev = table[-1]
        table.append(np.maximum(prev[:-width], prev[width:]))
        width *= 2
    a, n = lo[nonempty], size[nonempty]
    level = np.floor(np.log2(n)).astype(np.int64)
    res = np.empty(a.size, dtype=np.int64)
    for k in np.unique(level):
        sel = level == k
        row = table[int(k)]
        res[sel] = np.maximum(row[a[sel]], row[a[sel] + n[sel] - (1 << int(k))])
    out[nonempty] = res
    return out


def earliest_start(start: Sequence[int] | np.ndarray, prompt: Sequence[int] | np.ndarray,
                   completion: Sequence[int] | np.ndarray, s: int, length: int, limit: int,
                   lo: int, hi: int | None = None) -> int | None:
    """The earliest x in [lo, hi) (``hi=None``: unbounded) at which a run of prompt ``s`` and
    ``length`` rounds fits next to the given runs under memory ``limit``; None if there is none.

    Assumes the given runs alone stay within ``limit`` (see the module doc for why checking
    the breakpoints is exact)."""
    if s + length > limit or (hi is not None and lo >= hi):
        return None
    p, q, c = _as_array(start), _as_array(prompt), _as_array(completion)
    keep = c > lo  # a run over by lo is never in a window (x, x + length] with x >= lo
    p, q, c = p[keep], q[keep], c[keep]
    order = np.argsort(c, kind="stable")
    p, q, c = p[order], q[order], c[order]
    held = _Held(p, q, c)
    at_c = held.at(c)
    cand = np.concatenate(([lo], c, c + 1 - length, at_c + s + c - limit))
    cand = cand[cand >= lo] if hi is None else cand[(cand >= lo) & (cand < hi)]
    cand = np.unique(cand)
    if cand.size == 0:
        return None
    ok = held.at(cand + length) + s + length <= limit  # (B)
    first = np.searchsorted(c, cand, side="right")  # window (x, x + length] of completions
    last = np.searchsorted(c, cand + length, side="right")
    ok &= _range_max(at_c + c, first, last) + s - cand <= limit  # (A)
    hit = np.flatnonzero(ok)
    return int(cand[hit[0]]) if hit.size else None
