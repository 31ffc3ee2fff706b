"""The counterexamples shipped in instances/algorithm1/ hold: certificates verify, both schedules
are valid with the stated values, the policy really produces its schedule, and an independent
solver proves the same optimum."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from optsched.exact.certificate import load_certificate, verify_certificate
from optsched.exact.solve import solve
from optsched.model.instance import instance_from_dict, load_instance
from optsched.model.schedule import load_schedule
from optsched.model.validate import validate
from optsched.studies.certify import independent_solver, policy_schedule
from optsched.studies.shrink import instance_class

ROOT = Path(__file__).resolve().parents[1] / "instances" / "algorithm1"
CASES = sorted(p.parent for p in ROOT.glob("minimal/*/certificate.json"))


def test_there_are_shipped_counterexamples():
    """The published minimal counterexamples exist (the docs page points at them)."""
    assert len(CASES) >= 3


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_shipped_counterexample_verifies(case):
    """Certificate OK and optimal; policy schedule is what algorithm1 does today and is worse;
    an independent solver proves the same optimum; the stated hypothesis class holds."""
    inst = load_instance(case / "instance.json")
    cert = load_certificate(case / "certificate.json")
    check = verify_certificate(cert, inst)
    assert check.ok, check.problems
    assert check.status == "optimal", check.problems
    pol = load_schedule(case / "policy-schedule.json")
    opt = load_schedule(case / "optimal-schedule.json")
    assert pol.starts == policy_schedule(inst, "algorithm1").starts
    rp, ro = validate(inst, pol), validate(inst, opt)
    assert rp.valid
    assert ro.valid
    assert ro.metrics.total_completion_time == check.objective
    assert rp.metrics.total_completion_time > check.objective
    other = solve(inst, independent_solver(cert["solver"]["name"], inst.n), time_limit=60)
    assert other.status == "optimal"
    assert other.objective == check.objective
    meta = inst.metadata["certify"]
    assert meta["policy_objective"] == rp.metrics.total_completion_time
    assert meta["hypotheses"]["theorem2"] == (instance_class(inst) != "none")


def test_shipped_counterexample_lists_are_consistent():
    """Each run's counterexample list matches its summary's count and every entry is a real
    gap (policy value > optimum) on a well-formed instance."""
    runs = sorted(ROOT.glob("runs/*/summary.json"))
    assert runs
    for path in runs:
        s = json.loads(path.read_text())
        assert s["policy_optimal"] + s["policy_suboptimal"] + s["unproven"] == s["instances"]
        cx_file = path.parent / "counterexamples.jsonl.gz"
        if not s["counterexample_count"]:
            continue
        with gzip.open(cx_file, "rt") as fh:
            lines = [json.loads(line) for line in fh]
        assert len(lines) == s["counterexample_count"]
        for c in lines[:50]:
            inst = instance_from_dict(c["instance"])
            assert c["policy_objective"] > c["optimal_objective"] >= int(
                inst.arrival.sum() + inst.output.sum())
