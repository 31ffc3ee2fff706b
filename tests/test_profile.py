"""The breakpoint search of optsched.model.profile against trying every round."""

from __future__ import annotations

import numpy as np
import pytest

from optsched.model.profile import earliest_start, memory_at


def _load(runs: list[tuple[int, int, int]], r: int) -> int:
    return sum(s + r - p for p, s, c in runs if p < r <= c)


def _fits(runs: list[tuple[int, int, int]], s: int, length: int, limit: int, x: int) -> bool:
    return all(_load(runs, r) + s + r - x <= limit for r in range(x + 1, x + length + 1))


def _random_runs(rng: np.random.Generator, limit: int) -> list[tuple[int, int, int]]:
    """Runs placed one by one at random feasible starts (their memory alone stays <= limit)."""
    runs: list[tuple[int, int, int]] = []
    for _ in range(int(rng.integers(0, 7))):
        s = int(rng.integers(0, min(4, limit - 1)))
        length = int(rng.integers(1, max(2, limit - s)))
        x = int(rng.integers(0, 25))
        while not _fits(runs, s, length, limit, x):
            x += 1
        runs.append((x, s, x + length))
    return runs


def test_memory_at_matches_the_definition() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        runs = _random_runs(rng, int(rng.integers(4, 20)))
        p, s, c = (np.array([r[k] for r in runs], dtype=np.int64) for k in range(3))
        rounds = np.arange(0, 70)
        assert memory_at(p, s, c, rounds).tolist() == [_load(runs, int(r)) for r in rounds]


@pytest.mark.parametrize("seed", range(4))
def test_earliest_start_is_the_first_round_that_fits(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(150):
        limit = int(rng.integers(3, 18))
        runs = _random_runs(rng, limit)
        s = int(rng.integers(0, 3))
        length = int(rng.integers(1, limit - s + 1))
        lo = int(rng.integers(0, 30))
        hi = None if rng.random() < 0.5 else lo + int(rng.integers(0, 30))
        stop = 200 if hi is None else hi
        expect = next((x for x in range(lo, stop) if _fits(runs, s, length, limit, x)), None)
        got = earliest_start([r[0] for r in runs], [r[1] for r in runs], [r[2] for r in runs],
                             s, length, limit, lo, hi)
        assert got == expect, (runs, s, length, limit, lo, hi)


def test_issue_27_case_start_three_not_five() -> None:
    """M = 8, r1 (s 1, o 4) placed at 1; r0 (s 1, o 7) arriving at 2 fits at 3 (not 5)."""
    assert earliest_start([1], [1], [5], 1, 7, 8, 2) == 3


def test_large_lengths_cost_nothing() -> None:
    """Two runs of a billion rounds: the answer comes from breakpoints, not from stepping."""
    o = 10**9
    assert earliest_start([0], [0], [o], 0, o, o + 1, 1) == o - 1  # o + 1 tokens at round o
