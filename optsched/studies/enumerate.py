"""Instance families for certification: exhaustive (every instance within bounds), seeded random,
and instance files.

A family yields *specs* ``(M, ((a, s, o), ...))``: the memory limit and the requests in the order
the policy sees them (ids ``r0, r1, ...`` follow that order). Specs are small and picklable, so a
family of hundreds of thousands of instances can be listed up front and farmed out to workers.

Symmetry (exhaustive families). The optimum depends only on M and the *multiset* of requests
(a_i, s_i, o_i), and it shifts by n·d when every arrival moves by d. So the exhaustive family lists
each multiset once, with min a_i = 0. The policy is a different matter: MC-SF sorts waiting requests
by output length and breaks ties **by position**, so two requests with the same o but different
(s, a) can be taken in either order, and the two orders can give different schedules. Order between
requests of different o never matters to it. Hence two tie modes:

* ``canonical``: one order per multiset, sorted by (o, s, a): among equal output lengths the smaller
  prompt (then the earlier arrival) comes first. This is a choice, and reports say so.
* ``all``: every distinct order of every group of equal-o requests (the rest of the order is
  irrelevant to MC-SF), so a counterexample that depends on the tie order is not missed.

Trivial memory limits are skipped, and counted: if starting every request at its arrival fits in M,
that schedule has the smallest possible value sum(a_i + o_i) and MC-SF finds it (at each round the
running requests plus every arrived one are a subset of that feasible schedule, so every check
passes). Only M below that "all at arrival" peak is enumerated.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from optsched.errors import OptschedError
from optsched.model.instance import Instance, instance_from_dict, make_instance, read_json_file

#: (a, s, o) of one request.
Req = tuple[int, int, int]
#: (M, requests in policy order).
Spec = tuple[int, tuple[Req, ...]]

PROMPT_RULES = ("any", "equal", "monotone")
TIE_MODES = ("canonical", "all")


# -- hypotheses of the poster's Theorem 2 ----------------------------------------------------------
def equal_prompts(reqs: Sequence[Req]) -> bool:
    """All prompts the same size."""
    return len({s for _, s, _ in reqs}) <= 1


def monotone_prompts(reqs: Sequence[Req]) -> bool:
    """Prompt size non-decreasing in output length: o_i < o_j implies s_i <= s_j (requests with
    equal o may have different prompts; the broadest reading of the poster's hypothesis)."""
    by_o: dict[int, list[int]] = {}
    for _, s, o in reqs:
        by_o.setdefault(o, []).append(s)
    lens = sorted(by_o)
    return all(max(by_o[lo]) <= min(by_o[hi]) for lo, hi in itertools.pairwise(lens))


def strictly_monotone_prompts(reqs: Sequence[Req]) -> bool:
    """o_i <= o_j implies s_i <= s_j: monotone, and equal outputs have equal prompts."""
    return monotone_prompts(reqs) and all(
        len({s for _, s, o in reqs if o == o0}) == 1 for o0 in {o for _, _, o in reqs})


def arrivals_zero(reqs: Sequence[Req]) -> bool:
    return all(a == 0 for a, _, _ in reqs)


def hypothesis_flags(reqs: Sequence[Req]) -> dict[str, bool]:
    """Which of the poster's hypotheses an instance satisfies (reported with every result)."""
    flags = {"arrivals_zero": arrivals_zero(reqs), "equal_prompts": equal_prompts(reqs),
             "monotone_prompts": monotone_prompts(reqs),
             "strictly_monotone_prompts": strictly_monotone_prompts(reqs)}
    flags["theorem2"] = flags["arrivals_zero"] and flags["monotone_prompts"]
    return flags


def satisfies(reqs: Sequence[Req], prompts: str, a_max: int | None = None) -> bool:
    """True if the requests obey the prompt rule (any/equal/monotone) and arrivals <= a_max."""
    if a_max is not None and any(a > a_max for a, _, _ in reqs):
        return False
    if prompts == "equal":
        return equal_prompts(reqs)
    if prompts == "monotone":
        return monotone_prompts(reqs)
    return True


# -- small helpers ---------------------------------------------------------------------------------
def requests_of(instance: Instance) -> tuple[Req, ...]:
    """The (a, s, o) triples of an instance in its order."""
    return tuple((r.arrival, r.prompt_tokens, r.output_tokens) for r in instance.requests)


def all_at_arrival_peak(reqs: Sequence[Req]) -> int:
    """Peak memory when every request starts at its arrival (M >= this is trivial)."""
    end = max(a + o for a, _, o in reqs)
    return max(sum(s + t - a for a, s, o in reqs if a < t <= a + o) for t in range(1, end + 1))


def spec_instance(spec: Spec, metadata: dict[str, Any] | None = None) -> Instance:
    """Build the instance of a spec (ids r0, r1, ... in spec order)."""
    m, reqs = spec
    return make_instance(m, [o for _, _, o in reqs], [s for _, s, _ in reqs],
                         [a for a, _, _ in reqs], metadata=metadata)


def _distinct_permutations(items: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
    """Every distinct ordering of a multiset (in lexicographic order of the sorted items)."""
    pool = sorted(items)
    counts: dict[Any, int] = {}
    for x in pool:
        counts[x] = counts.get(x, 0) + 1
    keys = sorted(counts)
    out: list[Any] = []

    def rec() -> Iterator[tuple[Any, ...]]:
        if len(out) == len(pool):
            yield tuple(out)
            return
        for k in keys:
            if counts[k]:
                counts[k] -= 1
                out.append(k)
                yield from rec()
                out.pop()
                counts[k] += 1

    yield from rec()


def tie_orders(reqs: tuple[Req, ...]) -> Iterator[tuple[Req, ...]]:
    """Every order of ``reqs`` that MC-SF can tell apart: distinct orders within each group of
    equal output length, groups by ascending o (``reqs`` must be sorted by o)."""
    groups = [list(g) for _, g in itertools.groupby(reqs, key=lambda r: r[2])]
    for combo in itertools.product(*(_distinct_permutations(g) for g in groups)):
        yield tuple(r for g in combo for r in g)


# -- exhaustive family -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Bounds:
    """Bounds of an exhaustive (or random) family. ``m_max=None`` means every non-trivial M."""

    n_min: int = 1
    n_max: int = 4
    o_max: int = 4
    s_min: int = 0
    s_max: int = 2
    a_max: int = 0
    m_min: int | None = None
    m_max: int | None = None
    prompts: str = "monotone"
    ties: str = "canonical"

    def __post_init__(self) -> None:
        checks = [(self.n_min >= 1, "n-min must be >= 1"),
                  (self.n_max >= self.n_min, "n-max must be >= n-min"),
                  (self.o_max >= 1, "o-max must be >= 1"),
                  (self.s_min >= 0, "s-min must be >= 0"),
                  (self.s_max >= self.s_min, "s-max must be >= s-min"),
                  (self.a_max >= 0, "a-max must be >= 0"),
                  (self.m_min is None or self.m_min >= 1, "m-min must be >= 1"),
                  (self.m_max is None or self.m_max >= (self.m_min or 1),
                   "m-max must be >= m-min"),
                  (self.prompts in PROMPT_RULES, f"prompts must be one of {PROMPT_RULES}"),
                  (self.ties in TIE_MODES, f"ties must be one of {TIE_MODES}")]
        for ok, msg in checks:
            if not ok:
                raise OptschedError(f"family bounds: {msg}")

    def describe(self) -> str:
        m = (f"M {self.m_min or 'min'}..{self.m_max}" if self.m_max is not None
             else f"every non-trivial M >= {self.m_min or 'max(s+o)'}")
        return (f"n {self.n_min}..{self.n_max}, o 1..{self.o_max}, s {self.s_min}..{self.s_max} "
                f"(prompts: {self.prompts}), a 0..{self.a_max}, {m}; ties: {self.ties}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FamilyStats:
    """What an exhaustive enumeration covered besides the specs it yields."""

    multisets: int = 0
    trivial_skipped: int = 0
    specs: int = 0


def _memory_range(reqs: Sequence[Req], b: Bounds) -> tuple[range, int]:
    """Non-trivial memory limits for these requests, and how many trivial ones were skipped."""
    lo = max(b.m_min or 1, max(s + o for _, s, o in reqs))
    peak = all_at_arrival_peak(reqs)
    hi = peak - 1 if b.m_max is None else min(b.m_max, peak - 1)
    trivial = 0 if b.m_max is None else max(0, b.m_max - max(lo, peak) + 1)
    return range(lo, hi + 1), trivial


def exhaustive(b: Bounds, stats: FamilyStats | None = None) -> Iterator[Spec]:
    """Every instance within the bounds, one per multiset (and per tie order in ``all`` mode),
    smallest n first. See the module doc for the symmetry argument and the trivial-M skip."""
    stats = stats if stats is not None else FamilyStats()
    types = sorted(((a, s, o) for a in range(b.a_max + 1) for s in range(b.s_min, b.s_max + 1)
                    for o in range(1, b.o_max + 1)), key=lambda r: (r[2], r[1], r[0]))
    for n in range(b.n_min, b.n_max + 1):
        for reqs in itertools.combinations_with_replacement(types, n):
            if min(a for a, _, _ in reqs) != 0 or not satisfies(reqs, b.prompts):
                continue
            stats.multisets += 1
            mems, trivial = _memory_range(reqs, b)
            orders = list(tie_orders(reqs)) if b.ties == "all" else [reqs]
            stats.trivial_skipped += trivial * len(orders)
            for m in mems:
                for order in orders:
                    stats.specs += 1
                    yield (m, order)


def count_multisets(b: Bounds) -> int:
    """Number of request multisets before filters (a quick size estimate)."""
    types = b.o_max * (b.s_max - b.s_min + 1) * (b.a_max + 1)
    return sum(math.comb(types + n - 1, n) for n in range(b.n_min, b.n_max + 1))


# -- random family ---------------------------------------------------------------------------------
def random_family(count: int, seed: int, b: Bounds, max_tries: int = 1000) -> Iterator[Spec]:
    """``count`` seeded random instances within the bounds (n, o, s, a uniform; M uniform over
    the non-trivial range), in random request order. Draws that break the prompt rule or have
    only trivial M are redrawn (up to ``max_tries`` times per instance)."""
    if count < 0:
        raise OptschedError("random family: count must be >= 0")
    rng = np.random.default_rng(seed)
    for k in range(count):
        for _ in range(max_tries):
            n = int(rng.integers(b.n_min, b.n_max + 1))
            o = rng.integers(1, b.o_max + 1, size=n)
            if b.prompts == "equal":
                s = np.full(n, int(rng.integers(b.s_min, b.s_max + 1)))
            else:
                s = rng.integers(b.s_min, b.s_max + 1, size=n)
                if b.prompts == "monotone":  # sort prompts along output lengths
                    s = np.sort(s)[np.argsort(np.argsort(o, kind="stable"), kind="stable")]
            a = rng.integers(0, b.a_max + 1, size=n)
            a -= a.min()
            reqs = tuple((int(x), int(y), int(z)) for x, y, z in zip(a, s, o, strict=True))
            mems, _ = _memory_range(reqs, b)
            if len(mems) and satisfies(reqs, b.prompts):
                yield (int(rng.choice(np.array(mems))), reqs)
                break
        else:
            raise OptschedError(f"random family: no non-trivial instance found for draw {k} "
                                f"after {max_tries} tries; widen the bounds")


# -- instance files --------------------------------------------------------------------------------
def file_family(paths: Iterable[str | Path]) -> tuple[list[Instance], list[str], int]:
    """Instances from files and directories (searched recursively for ``*.json``).

    A named file must be an instance. Inside directories, JSON files that are not instances
    (certificates, schedules, summaries) are skipped and counted. Returns (instances, their
    paths, skipped count)."""
    instances: list[Instance] = []
    names: list[str] = []
    skipped = 0
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for f in sorted(p.rglob("*.json")):
                data = read_json_file(f, "instance")
                if isinstance(data, dict) and "memory_limit" in data and "requests" in data:
                    instances.append(_load(data, f))
                    names.append(str(f))
                else:
                    skipped += 1
        else:
            instances.append(_load(read_json_file(p, "instance"), p))
            names.append(str(p))
    if not instances:
        raise OptschedError("files family: no instance files found in "
                            + ", ".join(str(p) for p in paths))
    return instances, names, skipped


def _load(data: Any, path: Path) -> Instance:
    from optsched.errors import InstanceError

    try:
        return instance_from_dict(data)
    except InstanceError as exc:
        raise InstanceError(f"{path}: {exc}") from None


def peak_family() -> Iterator[Instance]:
    """Every multiset of 2..4 requests with s in {0, 2}, o in {1, 3, 5}, a in {0, 1}, M in
    {6, 8} (2,797 instances): lengths comparable to M, where memory peaks and the epoch bound
    matter. The bounds' tests and benchmarks check every bound against the oracle on it."""
    kinds = [(a, s, o) for a in (0, 1) for s in (0, 2) for o in (1, 3, 5)]
    for m in (6, 8):
        for n in (2, 3, 4):
            for combo in itertools.combinations_with_replacement(kinds, n):
                if all(s + o <= m for _, s, o in combo):
                    yield make_instance(m, [o for *_, o in combo], [s for _, s, _ in combo],
                                        [a for a, *_ in combo])
