"""Fast form of MC-SF's future-memory test (docs/model.md#mc-sf-algorithm-1), shared by every
look-ahead policy.

The running set R (start p_i, prompt s_i, planned completion c_i) defines, for every future time
c, F(c) = sum over i in R with c_i >= c of (s_i + c - p_i). Adding one request (s, L) at round t
is feasible iff at every completion point c of R with c <= t + L: F(c) + s + c - t <= M, at
its own completion t + L: F(t + L) + s + L <= M, and R alone fits at its later points (always
true when R was built by feasible additions; with wrong predictions a re-planned R may not).
With G(c) = M - F(c) - c the first part reads
min_{c <= t+L} G(c) >= s - t, a prefix minimum over R's sorted completion points. F and G do not
depend on t, so they are rebuilt (O(|R| log |R|), numpy) only when R changes, and a single
admission test costs O(log |R|).

Several requests at once (the prefix of a priority order) are checked with one vectorised pass
over all completion points, O((|R| + k) log(|R| + k)). The largest feasible prefix is found by
galloping and bisection; that is valid because feasibility is monotone in the prefix (dropping a
request never raises memory at any time). Work per round is therefore O((|R| + k) log^2 n) in
the worst case and O(log |R|) when nothing new fits, against O(k |R|^2) for the definition.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence

import numpy as np

#: Running sets up to this size are rebuilt in plain Python (numpy's per-call overhead dominates).
SMALL = 48


class FutureMemory:
    """The running set's planned memory at its future completion times."""

    def __init__(self, memory_limit: int) -> None:
        self.memory_limit = int(memory_limit)
        # planned runs of the running set, three parallel dicts keyed by request position
        self._start: dict[int, int] = {}
        self._prompt: dict[int, int] = {}
        self._comp: dict[int, int] = {}
        self._heap: list[tuple[int, int]] = []  # (c, i), stale entries skipped lazily
        self._dirty = True
        self._stale = False  # arrays still hold points of runs completed since the last build
        self._c_list: list[int] = []
        self._gmin: list[int] = []
        self._bsuf: list[int] = []
        self._c_arr = np.zeros(0, dtype=np.int64)
        self._bsuf_arr = np.zeros(1, dtype=np.int64)
        self._running_ok = True  # planned memory of R alone <= M at all its completion points
        self._arrays_ok = True

    def __len__(self) -> int:
        return len(self._comp)

    @property
    def runs(self) -> dict[int, tuple[int, int, int]]:
        """i -> (start, prompt, planned completion) of every planned run."""
        return {i: (self._start[i], self._prompt[i], c) for i, c in self._comp.items()}

    def add(self, i: int, start: int, prompt: int, completion: int) -> None:
        """Plan request i as running from ``start`` to ``completion`` (= start + planned o)."""
        self._start[i], self._prompt[i], self._comp[i] = start, prompt, completion
        heapq.heappush(self._heap, (completion, i))
        self._dirty = True

    def remove(self, i: int) -> None:
        """Drop a run whose planned completion is still ahead (eviction, early finish)."""
        del self._start[i], self._prompt[i], self._comp[i]
        self._dirty = True

    def complete(self, i: int) -> None:
        """Drop a run whose planned completion c_i <= now. Its point lies before every future
        time, so F at later points is unchanged and no rebuild is needed; only prefix minima
        may be too pessimistic, which :meth:`fits_one` resolves by rebuilding before it says no."""
        del self._start[i], self._prompt[i], self._comp[i]
        self._stale = True

    def planned_completion(self, i: int) -> int:
        return self._comp[i]

    def expired(self, t: int) -> list[int]:
        """Requests whose planned completion is <= t (done, or running past their plan)."""
        out = []
        heap, comp = self._heap, self._comp
        while heap and heap[0][0] <= t:
            c, i = heapq.heappop(heap)
            if comp.get(i) == c:
                out.append(i)
        return out

    def _build(self) -> None:
        m = len(self._comp)
        self._dirty = self._stale = False
        self._arrays_ok = False
        if m <= SMALL:
            self._build_small(m)
            return
        comp = np.fromiter(self._comp.values(), dtype=np.int64, count=m)
        b = (np.fromiter(self._prompt.values(), dtype=np.int64, count=m)
             - np.fromiter(self._start.values(), dtype=np.int64, count=m))  # s_i - p_i
        order = np.argsort(comp, kind="stable")
        c = comp[order]
        b = b[order]
        bsuf = np.zeros(m + 1, dtype=np.int64)
        bsuf[:m] = np.cumsum(b[::-1])[::-1]
        first = np.searchsorted(c, c, side="left")  # F counts every i with c_i >= c
        f = (m - first) * c + bsuf[first]
        g = self.memory_limit - f - c
        self._running_ok = bool((f <= self.memory_limit).all())
        self._c_arr, self._bsuf_arr, self._arrays_ok = c, bsuf, True
        self._c_list = c.tolist()
        self._bsuf = bsuf.tolist()
        self._gmin = np.minimum.accumulate(g).tolist()

    def _build_small(self, m: int) -> None:
        """The same arrays in plain Python: cheaper than numpy's call overhead for small R."""
        start, prompt = self._start, self._prompt
        pts = sorted((c, prompt[i] - start[i]) for i, c in self._comp.items())
        c_list = [c for c, _ in pts]
        bsuf = [0] * (m + 1)
        acc = 0
        for k in range(m - 1, -1, -1):
            acc += pts[k][1]
            bsuf[k] = acc
        limit = self.memory_limit
        gmin: list[int] = []
        cur = limit
        ok = True
        first = 0
        for k, c in enumerate(c_list):
            if k and c != c_list[k - 1]:
                first = k
            f = (m - first) * c + bsuf[first]
            ok = ok and f <= limit
            g = limit - f - c
            cur = g if g < cur else cur
            gmin.append(cur)
        self._c_list, self._bsuf, self._gmin, self._running_ok = c_list, bsuf, gmin, ok

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if not self._arrays_ok:
            self._c_arr = np.array(self._c_list, dtype=np.int64)
            self._bsuf_arr = np.array(self._bsuf, dtype=np.int64)
            self._arrays_ok = True
        return self._c_arr, self._bsuf_arr

    def fits_one(self, t: int, prompt: int, length: int) -> bool:
        """Can a request (prompt, planned length) start at t next to the running set?"""
        if self._dirty or (self._stale and not self._running_ok):
            self._build()  # (a completed run's point may be what made R look over M)
        if not self._running_ok:  # (only with wrong predictions) nothing can be added
            return False
        end = t + length
        j = bisect_right(self._c_list, end)
        if j and self._gmin[j - 1] + t < prompt:
            if not self._stale:
                return False
            self._build()  # the minimum may come from a completed run's point: recheck
            j = bisect_right(self._c_list, end)
            if j and self._gmin[j - 1] + t < prompt:
                return False
        k = bisect_left(self._c_list, end)
        used = (len(self._c_list) - k) * end + self._bsuf[k]
        return used + prompt + length <= self.memory_limit

    def fits_batch(self, t: int, prompts: Sequence[int], lengths: Sequence[int]) -> bool:
        """Can all these requests start together at t next to the running set?"""
        if self._dirty:
            self._build()
        s = np.asarray(prompts, dtype=np.int64)
        cu = t + np.asarray(lengths, dtype=np.int64)
        order = np.argsort(cu, kind="stable")
        cu_sorted, s_sorted = cu[order], s[order]
        k = cu.size
        ssuf = np.zeros(k + 1, dtype=np.int64)
        ssuf[:k] = np.cumsum(s_sorted[::-1])[::-1]
        c, bsuf = self._arrays()
        points = np.concatenate([c[np.searchsorted(c, t, side="right"):], cu])
        kr = np.searchsorted(c, points, side="left")
        used = (c.size - kr) * points + bsuf[kr]
        ku = np.searchsorted(cu_sorted, points, side="left")
        used += (k - ku) * (points - t) + ssuf[ku]
        return bool((used <= self.memory_limit).all())

    def largest_prefix(self, t: int, count: int,
                       prefix: Callable[[int], tuple[Sequence[int], Sequence[int]]]) -> int:
        """Length of the largest feasible prefix of a candidate order (MC-SF's step 3,
        docs/model.md#mc-sf-algorithm-1).

        ``prefix(k)`` returns (prompts, planned lengths) of the first k candidates.
        """
        if count == 0:
            return 0
        s1, l1 = prefix(1)
        if not self.fits_one(t, s1[0], l1[0]):
            return 0
        good, bad = 1, count + 1
        k = 2
        while k <= count:  # gallop: 2, 4, 8, ...
            if self.fits_batch(t, *prefix(k)):
                good, k = k, 2 * k
            else:
                bad = k
                break
        if bad == count + 1 and good < count:
            if self.fits_batch(t, *prefix(count)):
                return count
            bad = count
        while bad - good > 1:
            mid = (good + bad) // 2
            if self.fits_batch(t, *prefix(mid)):
                good = mid
            else:
                bad = mid
        return good
