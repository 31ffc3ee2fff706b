"""Instance families: exhaustive enumeration is complete and duplicate-free, the symmetry and
trivial-M arguments it relies on hold for MC-SF, and random/file families behave."""

from __future__ import annotations

import itertools
import json
import random

import pytest

from optsched.errors import OptschedError
from optsched.policies.mcsf import mcsf_reference
from optsched.studies.enumerate import (
    Bounds,
    FamilyStats,
    all_at_arrival_peak,
    equal_prompts,
    exhaustive,
    file_family,
    monotone_prompts,
    random_family,
    spec_instance,
    strictly_monotone_prompts,
    tie_orders,
)


def _value(spec) -> int:
    inst = spec_instance(spec)
    sched = mcsf_reference(inst)
    return sum(sched.starts[r.id] + r.output_tokens for r in inst.requests)


def test_exhaustive_lists_every_multiset_once():
    """Canonical family == all ordered tuples within bounds, reduced to multisets, shifted to
    min a = 0, with only non-trivial M kept."""
    b = Bounds(n_max=3, o_max=2, s_max=1, a_max=1, prompts="any")
    got = [(m, tuple(sorted(reqs))) for m, reqs in exhaustive(b)]
    assert len(got) == len(set(got))
    types = [(a, s, o) for a in range(2) for s in range(2) for o in range(1, 3)]
    want = set()
    for n in range(1, 4):
        for seq in itertools.product(types, repeat=n):
            if min(a for a, _, _ in seq) != 0:
                continue
            for m in range(max(s + o for _, s, o in seq), all_at_arrival_peak(seq)):
                want.add((m, tuple(sorted(seq))))
    assert set(got) == want


def test_prompt_rules_filter_as_documented():
    """equal / monotone filters keep exactly the multisets obeying the rule."""
    for rule, pred in (("equal", equal_prompts), ("monotone", monotone_prompts)):
        b = Bounds(n_max=3, o_max=3, s_max=2, prompts=rule)
        specs = list(exhaustive(b))
        assert specs
        assert all(pred(reqs) for _, reqs in specs)
        everything = {(m, r) for m, r in exhaustive(Bounds(n_max=3, o_max=3, s_max=2,
                                                           prompts="any")) if pred(r)}
        assert set(specs) == everything


def test_hypothesis_predicates():
    """monotone allows different prompts for equal outputs; strictly monotone does not."""
    assert monotone_prompts([(0, 1, 2), (0, 3, 2), (0, 3, 5)])
    assert not strictly_monotone_prompts([(0, 1, 2), (0, 3, 2), (0, 3, 5)])
    assert not monotone_prompts([(0, 2, 1), (0, 1, 3)])
    assert equal_prompts([(0, 2, 1), (0, 2, 3)])
    assert not equal_prompts([(0, 2, 1), (0, 1, 3)])


def test_mcsf_value_depends_only_on_order_within_equal_outputs():
    """Re-interleaving requests of different output lengths, while keeping the order inside each
    equal-o group, never changes MC-SF's value: only tie orders need enumerating."""
    rng = random.Random(5)
    for _ in range(200):
        n = rng.randint(2, 6)
        reqs = [(rng.randint(0, 2), rng.randint(0, 2), rng.randint(1, 3)) for _ in range(n)]
        m = rng.randint(max(s + o for _, s, o in reqs), 12)
        rng.shuffle(reqs)
        labels = [o for _, _, o in reqs]
        rng.shuffle(labels)
        groups = {o: iter([r for r in reqs if r[2] == o]) for o in set(labels)}
        other = tuple(next(groups[o]) for o in labels)
        assert _value((m, other)) == _value((m, tuple(reqs)))


def test_tie_orders_enumerates_distinct_group_orders():
    """Two equal-o requests with different prompts give two orders; identical ones give one."""
    assert len(list(tie_orders(((0, 0, 2), (0, 1, 2), (0, 0, 3))))) == 2
    assert len(list(tie_orders(((0, 1, 2), (0, 1, 2))))) == 1
    b = Bounds(n_max=3, o_max=2, s_max=1, ties="all")
    assert len(list(exhaustive(b))) > len(list(exhaustive(Bounds(n_max=3, o_max=2, s_max=1))))


def test_trivial_memory_limits_are_optimal_for_mcsf():
    """At M >= the all-at-arrival peak MC-SF starts everything at its arrival (value sum(a+o)),
    which is why those M are skipped."""
    rng = random.Random(2)
    for _ in range(100):
        n = rng.randint(1, 5)
        reqs = tuple((rng.randint(0, 3), rng.randint(0, 3), rng.randint(1, 4)) for _ in range(n))
        m = all_at_arrival_peak(reqs) + rng.randint(0, 2)
        assert _value((m, reqs)) == sum(a + o for a, _, o in reqs)


def test_trivial_count_with_explicit_m_max():
    """With --m-max the skipped trivial instances are counted."""
    stats = FamilyStats()
    specs = list(exhaustive(Bounds(n_max=2, o_max=2, s_max=0, m_max=8), stats))
    assert stats.specs == len(specs)
    assert stats.trivial_skipped > 0
    assert all(m <= 8 for m, _ in specs)


def test_random_family_is_seeded_and_within_bounds():
    """Same seed, same instances; every draw obeys bounds and the prompt rule."""
    b = Bounds(n_min=2, n_max=5, o_max=4, s_max=3, a_max=2, prompts="monotone")
    one, two = list(random_family(30, 7, b)), list(random_family(30, 7, b))
    assert one == two
    assert len(one) == 30
    for m, reqs in one:
        assert 2 <= len(reqs) <= 5
        assert monotone_prompts(reqs)
        assert max(s + o for _, s, o in reqs) <= m < all_at_arrival_peak(reqs)
        assert min(a for a, _, _ in reqs) == 0


def test_bad_bounds_are_user_errors():
    """Inconsistent bounds raise a clear OptschedError."""
    with pytest.raises(OptschedError, match="n-max"):
        Bounds(n_min=3, n_max=2)
    with pytest.raises(OptschedError, match="prompts"):
        Bounds(prompts="growing")


def test_file_family_skips_non_instances_in_directories(tmp_path):
    """Directories are searched recursively; certificates and other JSON are skipped."""
    inst = spec_instance((5, ((0, 1, 1), (0, 1, 3))))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.json").write_text(inst.to_json())
    (tmp_path / "cert.json").write_text(json.dumps({"format": "x"}))
    insts, names, skipped = file_family([tmp_path])
    assert len(insts) == 1
    assert skipped == 1
    assert names[0].endswith("a.json")
    with pytest.raises(OptschedError):
        file_family([tmp_path / "missing.json"])
