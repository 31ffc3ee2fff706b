"""The column-generation LP bound: valid (never above a proven optimum), equal to the
time-indexed LP with blocks of one, at least that LP with pairs."""

from __future__ import annotations

import pytest
from test_bounds import PEAK
from test_core_exact import FAMILIES

from optsched.data.generators import jaillet_model1, jaillet_model2
from optsched.errors import SolverError
from optsched.exact import solve
from optsched.exact.colgen import colgen_bound, pair_blocks, time_indexed_lp
from optsched.exact.solve import best_incumbent
from optsched.model.schedule import Schedule

SMALL = [jaillet_model1(0, n_range=(8, 8)), jaillet_model1(1, n_range=(7, 7)),
         jaillet_model2(0, horizon_range=(6, 6))]


@pytest.mark.parametrize("block_size", [1, 2])
def test_bound_never_exceeds_the_oracle_optimum(block_size):
    """On tiny exhaustive and peak instances the bound is <= the brute-force optimum."""
    insts = [*FAMILIES["a0-n4"][::25], *FAMILIES["spread-n3"][::25], *PEAK[::10]]
    for inst in insts:
        want = solve(inst, "bruteforce").objective
        got = colgen_bound(inst, best_incumbent(inst), block_size=block_size)
        assert got.converged, inst.to_dict()
        assert got.bound <= want, inst.to_dict()


def test_bound_below_proven_optimum_on_small_instances():
    """At 6-8 requests the pair bound (converged, and stopped after one round) is <= the
    optimum that CP-SAT proves."""
    for inst in SMALL:
        res = solve(inst, "cpsat", time_limit=20)
        assert res.status == "optimal"
        inc = best_incumbent(inst)
        full = colgen_bound(inst, inc)
        early = colgen_bound(inst, inc, max_iterations=1)
        assert full.bound <= res.objective
        assert early.bound <= full.bound


def test_blocks_of_one_give_the_time_indexed_lp():
    """With single-request blocks the converged master is the time-indexed LP relaxation."""
    for inst in SMALL:
        inc = best_incumbent(inst)
        lp, _ = time_indexed_lp(inst, inc)
        cg = colgen_bound(inst, inc, block_size=1)
        assert cg.converged
        assert cg.lagrangian == pytest.approx(lp, rel=1e-6)
        assert cg.lp_value == pytest.approx(lp, rel=1e-6)


def test_pairs_are_at_least_the_time_indexed_lp():
    """Pair columns only remove fractional overlaps: the converged pair LP is >= the
    time-indexed LP (and strictly above it on at least one instance here)."""
    above = 0
    for inst in SMALL:
        inc = best_incumbent(inst)
        lp, _ = time_indexed_lp(inst, inc)
        cg = colgen_bound(inst, inc, block_size=2)
        assert cg.converged
        assert cg.lagrangian >= lp - 1e-6 * lp
        above += cg.lagrangian > lp + 1e-6
    assert above >= 1


def test_pair_blocks_cover_every_request_once():
    """Blocks partition the requests, largest peaks first."""
    inst = jaillet_model1(2, n_range=(9, 9))
    blocks = pair_blocks(inst)
    assert sorted(i for b in blocks for i in b) == list(range(inst.n))
    assert [len(b) for b in blocks] == [2, 2, 2, 2, 1]
    with pytest.raises(SolverError, match="block size"):
        pair_blocks(inst, 3)


def test_bad_input_is_refused():
    """An invalid incumbent or another memory convention is refused with a clear error."""
    inst = SMALL[0]
    bad = Schedule({r.id: 0 for r in inst.requests})
    with pytest.raises(SolverError, match="valid incumbent"):
        colgen_bound(inst, bad)
    inst = jaillet_model1(0, n_range=(5, 5)).with_convention("last-token-free")
    with pytest.raises(SolverError, match="memory"):
        colgen_bound(inst, best_incumbent(inst))
