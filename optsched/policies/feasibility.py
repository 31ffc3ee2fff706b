"""Fast form of MC-SF's future-memory test (SPEC §4), shared by every look-ahead policy.

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


class FutureMemory:
    """The running set's planned memory at its future completion times."""

    def __init__(self, memory_limit: int) -> None:
        self.memory_limit = int(memory_limit)
        self.runs: dict[int, tuple[int, int, int]] = {}  # i -> (start p, prompt s, completion c)
        self._heap: list[tuple[int, int]] = []  # (c, i), stale entries skipped lazily
        self._dirty = True
        self._c_list: list[int] = []
        self._gmin: list[int] = []
        self._bsuf: list[int] = []
        self._c_arr = np.zeros(0, dtype=np.int64)
        self._bsuf_arr = np.zeros(1, dtype=np.int64)
        self._running_ok = True  # planned memory of R alone <= M at all its completion points

    def __len__(self) -> int:
        return len(self.runs)

    def add(self, i: int, start: int, prompt: int, completion: int) -> None:
        """Plan request i as running from ``start`` to ``completion`` (= start + planned o)."""
        self.runs[i] = (start, prompt, completion)
        heapq.heappush(self._heap, (completion, i))
        self._dirty = True

    def remove(self, i: int) -> None:
        del self.runs[i]
        self._dirty = True

    def expired(self, t: int) -> list[int]:
        """Requests whose planned completion is <= t (done, or running past their plan)."""
        out = []
        heap, runs = self._heap, self.runs
        while heap and heap[0][0] <= t:
            c, i = heapq.heappop(heap)
            run = runs.get(i)
            if run is not None and run[2] == c:
                out.append(i)
        return out

    def _build(self) -> None:
        m = len(self.runs)
        if m == 0:
            self._c_list, self._gmin, self._bsuf = [], [], [0]
            self._c_arr = np.zeros(0, dtype=np.int64)
            self._bsuf_arr = np.zeros(1, dtype=np.int64)
            self._running_ok = True
            self._dirty = False
            return
        arr = np.fromiter((x for run in self.runs.values() for x in run), dtype=np.int64,
                          count=3 * m).reshape(m, 3)
        order = np.argsort(arr[:, 2], kind="stable")
        c = arr[order, 2]
        b = arr[order, 1] - arr[order, 0]  # s_i - p_i
        bsuf = np.zeros(m + 1, dtype=np.int64)
        bsuf[:m] = np.cumsum(b[::-1])[::-1]
        first = np.searchsorted(c, c, side="left")  # F counts every i with c_i >= c
        f = (m - first) * c + bsuf[first]
        g = self.memory_limit - f - c
        self._running_ok = bool((f <= self.memory_limit).all())
        self._c_arr, self._bsuf_arr = c, bsuf
        self._c_list = c.tolist()
        self._bsuf = bsuf.tolist()
        self._gmin = np.minimum.accumulate(g).tolist()
        self._dirty = False

    def fits_one(self, t: int, prompt: int, length: int) -> bool:
        """Can a request (prompt, planned length) start at t next to the running set?"""
        if self._dirty:
            self._build()
        if not self._running_ok:  # (only with wrong predictions) nothing can be added
            return False
        end = t + length
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
        c = self._c_arr
        points = np.concatenate([c, cu])
        kr = np.searchsorted(c, points, side="left")
        used = (c.size - kr) * points + self._bsuf_arr[kr]
        ku = np.searchsorted(cu_sorted, points, side="left")
        used += (k - ku) * (points - t) + ssuf[ku]
        return bool((used <= self.memory_limit).all())

    def largest_prefix(self, t: int, count: int,
                       prefix: Callable[[int], tuple[Sequence[int], Sequence[int]]]) -> int:
        """Length of the largest feasible prefix of a candidate order (SPEC §4 step 3).

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
