"""Instance families: reproducible from (params, seed, index); hypotheses hold; bad input named."""

from __future__ import annotations

import numpy as np
import pytest

from optsched.data.families import FAMILIES, FamilyError, get_family, parse_param_args, rebuild
from optsched.data.generators import jaillet_model1


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_family_is_reproducible_and_rebuildable(name):
    """Same (seed, index) gives the same instance; the metadata record rebuilds it exactly."""
    fam = get_family(name)
    params = fam.resolve({})
    a = fam.instance(params, 7, 3)
    b = fam.instance(params, 7, 3)
    assert a.content_hash() == b.content_hash()
    assert a.metadata["family"] == {"name": name, "params": params, "seed": 7, "index": 3}
    assert rebuild(a.metadata).content_hash() == a.content_hash()
    others = {fam.instance(params, 7, i).content_hash() for i in range(4)}
    assert len(others) > 1  # different indices draw different instances


def test_index_independent_of_build_order():
    """Instance i does not depend on which other instances were drawn before it."""
    fam = get_family("jaillet-model2")
    p = fam.resolve({})
    first = fam.instance(p, 1, 5).content_hash()
    for i in range(5):
        fam.instance(p, 1, i)
    assert fam.instance(p, 1, 5).content_hash() == first


def test_model1_uses_the_paper_generator():
    """jaillet-model1 is generators.jaillet_model1 with the family's ranges and seed pair."""
    fam = get_family("jaillet-model1")
    p = fam.resolve({"n_min": "40", "n_max": "60", "m_min": 30, "m_max": 50})
    inst = fam.instance(p, 0, 2)
    ref = jaillet_model1(np.random.default_rng([0, 2]), (40, 60), (30, 50), (1, 5))
    assert inst.content_hash() == ref.content_hash()
    assert 40 <= inst.n <= 60
    assert 30 <= inst.memory_limit <= 50
    assert (inst.arrival == 0).all()


def test_theorem2_families_satisfy_their_hypotheses():
    """equal-prompt has one prompt size; monotone-prompt has s non-decreasing in o; both a = 0."""
    eq, mono = get_family("equal-prompt"), get_family("monotone-prompt")
    pe, pm = eq.resolve({"n": 12, "prompt": 3}), mono.resolve({"n": 12, "m": 30})
    for i in range(20):
        e = eq.instance(pe, 0, i)
        assert set(e.prompt.tolist()) == {3}
        assert (e.arrival == 0).all()
        m = mono.instance(pm, 0, i)
        order = np.lexsort((m.prompt, m.output))
        assert (np.diff(m.prompt[order]) >= 0).all()
        for o in set(m.output.tolist()):  # equal outputs, equal prompts (s is a function of o)
            assert len(set(m.prompt[m.output == o].tolist())) == 1
        assert (m.arrival == 0).all()


def test_heavy_tailed_fits_and_has_a_tail():
    """heavy-tailed outputs are truncated to fit M, and long outputs do occur."""
    fam = get_family("heavy-tailed")
    p = fam.resolve({"n": 50, "m": 100, "alpha": 1.0})
    inst = fam.instance(p, 0, 0)
    assert ((inst.prompt + inst.output) <= inst.memory_limit).all()
    assert np.median(inst.output) <= 4
    assert inst.output.max() >= 20


@pytest.mark.parametrize(("overrides", "fragment"), [
    ({"nope": 1}, "has no parameter 'nope'"),
    ({"n_min": "five"}, "'n_min' must be int"),
    ({"n_min": 0}, "'n_min' must be >= 1"),
    ({"n_min": 9, "n_max": 3}, "n_min = 9 exceeds n_max = 3"),
    ({"m_min": 5, "s_max": 5}, "need m_min > s_max"),
])
def test_bad_parameters_are_named(overrides, fragment):
    """Unknown names, wrong types, out-of-range values and impossible combinations are refused."""
    with pytest.raises(FamilyError, match=fragment):
        get_family("jaillet-model1").resolve(overrides)


def test_unknown_family_and_bad_param_syntax():
    """An unknown family lists the known ones; NAME=VALUE syntax is enforced."""
    with pytest.raises(FamilyError, match="available: jaillet-model1"):
        get_family("jaillet-model3")
    with pytest.raises(FamilyError, match="NAME=VALUE"):
        parse_param_args(["n"])
    assert parse_param_args(["n=4", " m = 9 "]) == {"n": "4", "m": "9"}


def test_trace_family_choices_are_checked():
    """Trace families refuse impossible memory and timestamp-less replay."""
    with pytest.raises(FamilyError, match="below one memory unit"):
        get_family("azure-conv").resolve({"memory_tokens": 10})
    with pytest.raises(FamilyError, match="no timestamps"):
        get_family("sharegpt").resolve({"arrival": "trace"})
    with pytest.raises(FamilyError, match="must be one of ceil, round, floor"):
        get_family("arxiv").resolve({"rounding": "up"})
