"""Shrinking: a known counterexample shrinks to one that no single step can reduce (checked with
an independent solver), inside its hypothesis class, with an explanation; CLI behaviour."""

from __future__ import annotations

import pytest

from optsched.errors import OptschedError
from optsched.exact.certificate import load_certificate, verify_certificate
from optsched.model.instance import load_instance, make_instance, save_instance
from optsched.studies.certify import CertifyConfig, certify_instance
from optsched.studies.explain import explain
from optsched.studies.shrink import KEEP_CLASSES, instance_class, reductions, shrink

#: A Theorem 2 counterexample (a = 0, o_i <= o_j implies s_i <= s_j) with 6 requests.
MONOTONE_CX = make_instance(9, [2, 2, 4, 5, 5, 3], [1, 1, 2, 2, 2, 2], 0)


@pytest.fixture(scope="module")
def shrunk():
    return shrink(MONOTONE_CX, CertifyConfig())


def test_shrink_reaches_a_minimal_counterexample(shrunk):
    """The result is a proven counterexample, and no single reduction that stays in its class
    is one -- re-judged here with CP-SAT instead of the brute-force oracle."""
    assert shrunk.proven_minimal
    assert shrunk.steps
    assert shrunk.minimal.n < MONOTONE_CX.n
    rec = shrunk.outcome.record
    assert rec["verdict"] == "suboptimal"
    assert rec["policy_objective"] > rec["optimum"]
    cfg = CertifyConfig(solver="cpsat")
    assert certify_instance(shrunk.minimal, cfg).record["verdict"] == "suboptimal"
    for desc, cand in reductions(shrunk.minimal):
        if instance_class(cand) in KEEP_CLASSES[:KEEP_CLASSES.index(shrunk.keep) + 1]:
            verdict = certify_instance(cand, cfg).record["verdict"]
            assert verdict == "optimal", desc


def test_shrink_stays_in_the_theorem2_class(shrunk):
    """Shrinking a Theorem 2 counterexample yields a Theorem 2 counterexample."""
    assert shrunk.keep == "strict"
    assert instance_class(shrunk.minimal) in ("equal", "strict")
    assert all(r.arrival == 0 for r in shrunk.minimal.requests)


def test_equal_prompt_class_shrinks_all_prompts_together():
    """In the equal-prompt class prompts only shrink all at once, so they stay equal."""
    inst = make_instance(7, [1, 1, 3, 3], 2, 0)
    res = shrink(inst, CertifyConfig())
    assert res.keep == "equal"
    assert instance_class(res.minimal) == "equal"
    assert res.outcome.record["verdict"] == "suboptimal"


def test_explanation_names_the_first_difference_and_the_memory():
    """The explanation gives both values, the first differing round and the blocking memory."""
    inst = make_instance(5, [1, 1, 3, 3], 1, 0)
    out = certify_instance(inst, CertifyConfig())
    text = out.artifacts["explanation"]
    assert "total completion time 13; optimum 12" in text
    assert "First difference at t = 0" in text
    assert "would be 6 > M = 5" in text
    from optsched.model.schedule import Schedule

    same = Schedule({"r0": 0, "r1": 0, "r2": 1, "r3": 4})
    assert "nothing" in explain(inst, "x", same, same)


def test_not_a_counterexample_is_refused():
    """Shrinking an instance the policy solves optimally is a user error."""
    with pytest.raises(OptschedError, match="not a proven counterexample"):
        shrink(make_instance(10, [1, 2], 1, 0), CertifyConfig())


def test_cli_shrink_writes_files_that_verify(tmp_path, run_cli):
    """`optsched shrink --json --out` reports the minimal instance and writes verifiable files."""
    save_instance(make_instance(6, [1, 1, 1, 3, 3], 1, 0), tmp_path / "cx.json")
    res = run_cli("shrink", tmp_path / "cx.json", "--json", "--out", tmp_path / "min")
    assert res.code == 0, res.err
    out = res.json()
    assert out["proven_minimal"]
    assert out["policy_objective"] > out["optimal_objective"]
    inst = load_instance(out["files"]["instance"])
    check = verify_certificate(load_certificate(out["files"]["certificate"]), inst)
    assert check.ok
    assert check.objective == out["optimal_objective"]
    human = run_cli("shrink", tmp_path / "cx.json")
    assert human.code == 0
    assert "minimal: no single reduction step" in human.out


def test_cli_shrink_of_optimal_instance_exits_2(tmp_path, run_cli):
    """A non-counterexample gives exit 2 and one clear line."""
    save_instance(make_instance(10, [1, 2], 1, 0), tmp_path / "ok.json")
    res = run_cli("shrink", tmp_path / "ok.json")
    assert res.code == 2
    assert "not a proven counterexample" in res.err
