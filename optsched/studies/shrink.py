"""Shrink a counterexample to a minimal one (the account of where the policy loses is in
:mod:`optsched.studies.explain`).

A *counterexample* is an instance on which the policy's total completion time exceeds the
*proven* optimum. Shrinking applies single reduction steps -- drop a request, lower M, shorten an
output, shrink a prompt (one, or all at once), move an arrival earlier -- and keeps a step whenever
the result is still a counterexample, until no single step is. Steps that would leave the class
being tested (e.g. the poster's hypotheses: all arrivals 0 and equal or monotone prompts) are not
taken, so a counterexample to Theorem 2 shrinks to a smaller counterexample to Theorem 2.

A step whose optimum the solver could not prove is not taken and is counted; the result is only
called minimal when every step was decided.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from optsched.errors import InstanceError, OptschedError
from optsched.model.instance import Instance, Request
from optsched.studies.certify import CertifyConfig, Outcome, certify_instance
from optsched.studies.enumerate import (
    equal_prompts,
    monotone_prompts,
    requests_of,
    strictly_monotone_prompts,
)

#: Classes a shrink can be kept inside, strongest first (each contains the ones before it).
KEEP_CLASSES = ("equal", "strict", "monotone", "none")


def instance_class(instance: Instance) -> str:
    """The strongest hypothesis class of the poster's Theorem 2 that ``instance`` is in, all with
    a = 0: 'equal' (equal prompts), 'strict' (o_i <= o_j implies s_i <= s_j), 'monotone'
    (o_i < o_j implies s_i <= s_j); else 'none'."""
    reqs = requests_of(instance)
    if any(a for a, _, _ in reqs):
        return "none"
    if equal_prompts(reqs):
        return "equal"
    if strictly_monotone_prompts(reqs):
        return "strict"
    return "monotone" if monotone_prompts(reqs) else "none"


def _in_class(instance: Instance, keep: str) -> bool:
    return keep == "none" or KEEP_CLASSES.index(instance_class(instance)) <= \
        KEEP_CLASSES.index(keep)


def reductions(instance: Instance) -> Iterator[tuple[str, Instance]]:
    """Every single reduction step that gives a valid instance, biggest first."""
    reqs = list(instance.requests)
    m = instance.memory_limit

    def make(new: list[Request], memory: int = m) -> Instance | None:
        try:
            return instance.with_requests(new, memory_limit=memory)
        except InstanceError:
            return None

    def edit(r: Request, **kw: int) -> Request:
        return Request(r.id, kw.get("a", r.arrival), kw.get("s", r.prompt_tokens),
                       kw.get("o", r.output_tokens), None, r.metadata)

    candidates: list[tuple[str, Instance | None]] = []
    low = min(r.arrival for r in reqs)
    if low > 0:
        candidates.append((f"shift every arrival earlier by {low}",
                           make([edit(r, a=r.arrival - low) for r in reqs])))
    if len(reqs) > 1:
        candidates += [(f"drop {r.id}", make(reqs[:k] + reqs[k + 1:]))
                       for k, r in enumerate(reqs)]
    candidates.append((f"lower M to {m - 1}", make(reqs, m - 1)))
    candidates += [(f"shorten {r.id} output to {r.output_tokens - 1}",
                    make(reqs[:k] + [edit(r, o=r.output_tokens - 1)] + reqs[k + 1:]))
                   for k, r in enumerate(reqs) if r.output_tokens > 1]
    if len(reqs) > 1 and all(r.prompt_tokens > 0 for r in reqs):
        candidates.append(("shrink every prompt by 1",
                           make([edit(r, s=r.prompt_tokens - 1) for r in reqs])))
    candidates += [(f"shrink {r.id} prompt to {r.prompt_tokens - 1}",
                    make(reqs[:k] + [edit(r, s=r.prompt_tokens - 1)] + reqs[k + 1:]))
                   for k, r in enumerate(reqs) if r.prompt_tokens > 0]
    candidates += [(f"move {r.id} arrival to {r.arrival - 1}",
                    make(reqs[:k] + [edit(r, a=r.arrival - 1)] + reqs[k + 1:]))
                   for k, r in enumerate(reqs) if r.arrival > 0]
    for desc, inst in candidates:
        if inst is not None:
            yield desc, inst


@dataclass
class ShrinkResult:
    """The minimal counterexample reached, the steps taken and how sure we are."""

    original: Instance
    minimal: Instance
    outcome: Outcome
    keep: str
    steps: list[str] = field(default_factory=list)
    checks: int = 0
    undecided: int = 0

    @property
    def proven_minimal(self) -> bool:
        """No single step keeps a counterexample, and every step's optimum was proven."""
        return self.undecided == 0

    def to_dict(self) -> dict[str, Any]:
        rec = self.outcome.record
        assert self.outcome.artifacts is not None  # a counterexample always has its files
        return {"minimal": self.minimal.to_dict(), "original": self.original.to_dict(),
                "keep": self.keep, "steps": self.steps, "checks": self.checks,
                "undecided_steps": self.undecided, "proven_minimal": self.proven_minimal,
                "policy": rec["policy"], "policy_objective": rec["policy_objective"],
                "optimal_objective": rec["optimum"], "ratio": rec.get("ratio"),
                "hypotheses": rec["hypotheses"], "crosscheck": rec.get("crosscheck"),
                "explanation": self.outcome.artifacts["explanation"]}


def shrink(instance: Instance, cfg: CertifyConfig, keep: str = "auto",
           max_checks: int = 100_000) -> ShrinkResult:
    """Greedily shrink the counterexample ``instance`` (see the module doc)."""
    keep = _checked_keep(instance, keep)
    cache: dict[str, Outcome] = {}
    counter = {"checks": 0}

    def judge(inst: Instance) -> Outcome:
        key = inst.content_hash()
        if key not in cache:
            if counter["checks"] >= max_checks:
                raise OptschedError(f"shrink stopped after {max_checks} checks")
            counter["checks"] += 1
            cache[key] = certify_instance(inst, cfg)
        return cache[key]

    current = judge(instance)
    _require_counterexample(current.record)
    inst, steps = instance, []
    while True:
        found, undecided = _first_smaller_counterexample(inst, keep, judge)
        if found is None:
            break
        desc, inst, current = found
        steps.append(desc)
    return ShrinkResult(instance, inst, current, keep, steps, counter["checks"], undecided)


def _checked_keep(instance: Instance, keep: str) -> str:
    """The class to keep ('auto': the instance's own), refused when the instance is not in it."""
    if keep == "auto":
        keep = instance_class(instance)
    if keep not in KEEP_CLASSES:
        raise OptschedError(f"keep must be auto or one of {', '.join(KEEP_CLASSES)}")
    if not _in_class(instance, keep):
        raise OptschedError(f"the instance is not in class {keep!r} (it is "
                            f"{instance_class(instance)!r}); use --keep none")
    return keep


def _require_counterexample(rec: dict[str, Any]) -> None:
    """Shrinking starts from a proven counterexample only; say why this one is not."""
    if rec["verdict"] != "suboptimal":
        what = {"optimal": f"the policy is optimal here (value {rec.get('policy_objective')})",
                "unproven": "its optimum could not be proven within the time limit",
                "policy_invalid": "the policy's schedule is invalid"}[rec["verdict"]]
        raise OptschedError(f"not a proven counterexample: {what}")


def _first_smaller_counterexample(
        inst: Instance, keep: str, judge: Callable[[Instance], Outcome],
) -> tuple[tuple[str, Instance, Outcome] | None, int]:
    """The first one-step reduction of ``inst`` (in the class) that is still a proven
    counterexample, if any, and how many reductions tried before it stayed undecided."""
    undecided = 0
    for desc, cand in reductions(inst):
        if not _in_class(cand, keep):
            continue
        out = judge(cand)
        if out.record["verdict"] == "suboptimal":
            return (desc, cand, out), undecided
        undecided += out.record["verdict"] == "unproven"
    return None, undecided


# -- explanation -----------------------------------------------------------------------------------
