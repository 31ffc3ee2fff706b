"""Shrink a counterexample to a minimal one, and explain where the policy loses.

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

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from optsched.certify import CertifyConfig, Outcome, certify_instance
from optsched.enumerate import (
    equal_prompts,
    monotone_prompts,
    requests_of,
    strictly_monotone_prompts,
)
from optsched.errors import InstanceError, OptschedError
from optsched.instance import Instance, Request
from optsched.schedule import Schedule
from optsched.validate import validate

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
    if keep == "auto":
        keep = instance_class(instance)
    if keep not in KEEP_CLASSES:
        raise OptschedError(f"keep must be auto or one of {', '.join(KEEP_CLASSES)}")
    if not _in_class(instance, keep):
        raise OptschedError(f"the instance is not in class {keep!r} (it is "
                            f"{instance_class(instance)!r}); use --keep none")
    cache: dict[str, Outcome] = {}
    counter = {"checks": 0}

    def judge(inst: Instance) -> Outcome:
        key = inst.content_hash()
        if key not in cache:
            counter["checks"] += 1
            cache[key] = certify_instance(inst, cfg)
        return cache[key]

    current = judge(instance)
    rec = current.record
    if rec["verdict"] != "suboptimal":
        what = {"optimal": f"the policy is optimal here (value {rec.get('policy_objective')})",
                "unproven": "its optimum could not be proven within the time limit",
                "policy_invalid": "the policy's schedule is invalid"}[rec["verdict"]]
        raise OptschedError(f"not a proven counterexample: {what}")
    inst, steps, undecided = instance, [], 0
    while True:
        undecided = 0
        for desc, cand in reductions(inst):
            if not _in_class(cand, keep):
                continue
            if counter["checks"] >= max_checks:
                raise OptschedError(f"shrink stopped after {max_checks} checks")
            out = judge(cand)
            if out.record["verdict"] == "suboptimal":
                inst, current = cand, out
                steps.append(desc)
                break
            if out.record["verdict"] == "unproven":
                undecided += 1
        else:
            break
    return ShrinkResult(instance, inst, current, keep, steps, counter["checks"], undecided)


# -- explanation -----------------------------------------------------------------------------------
def _ids(ids: list[str]) -> str:
    return ", ".join(ids) if ids else "nothing"


def explain(instance: Instance, policy: str, pol: Schedule, opt: Schedule) -> str:
    """A short account of where ``pol`` loses against ``opt``: the first round where they differ,
    what the policy could not add then and why (the memory it would need at which time), the
    memory of both schedules at that critical time, and both schedules side by side."""
    rp, ro = validate(instance, pol), validate(instance, opt)
    if not (rp.valid and ro.valid):
        raise ValueError("explain needs two valid schedules")
    vp, vo = rp.metrics.total_completion_time, ro.metrics.total_completion_time
    m = instance.memory_limit
    reqs = {r.id: r for r in instance.requests}
    order = instance.ids
    lines = [f"{policy}: total completion time {vp}; optimum {vo} "
             f"(+{vp - vo}, ratio {vp / vo:.4f}). M = {m}, {instance.n} requests."]
    diff = [i for i in order if pol.starts[i] != opt.starts[i]]
    if diff:
        t0 = min(min(pol.starts[i], opt.starts[i]) for i in diff)
        started_p = [i for i in order if pol.starts[i] == t0]
        started_o = [i for i in order if opt.starts[i] == t0]
        lines.append(f"First difference at t = {t0}: {policy} starts {_ids(started_p)}; "
                     f"the optimum starts {_ids(started_o)}.")
        extra = [i for i in started_o if i not in started_p]
        if extra:
            lines.append("The optimum starts " + ", ".join(
                f"{i} (s = {reqs[i].prompt_tokens}, o = {reqs[i].output_tokens}; {policy} "
                f"starts it at {pol.starts[i]})" for i in extra) + f" at t = {t0}.")
        # the first round (from t0 on) at which the policy leaves an arrived request waiting
        held = [max(reqs[i].arrival, t0) for i in order
                if pol.starts[i] > max(reqs[i].arrival, t0)]
        if held:
            lines.append(_blocked(instance, policy, pol, opt, rp, ro, min(held)))
    later = [f"{i} (+{pol.starts[i] - opt.starts[i]})" for i in order
             if pol.starts[i] > opt.starts[i]]
    earlier = [f"{i} ({pol.starts[i] - opt.starts[i]})" for i in order
               if pol.starts[i] < opt.starts[i]]
    lines.append(f"Under {policy}, later than in the optimum: {_ids(later)}; earlier: "
                 f"{_ids(earlier)}.")
    lines.append("")
    width = max(len(i) for i in order)
    lines.append(f"{'id':>{width}}  a  s  o | {policy} start-end | optimum start-end")
    for i in order:
        r = reqs[i]
        lines.append(f"{i:>{width}} {r.arrival:>2} {r.prompt_tokens:>2} {r.output_tokens:>2} | "
                     f"{pol.starts[i]:>4}-{pol.starts[i] + r.output_tokens:<4} | "
                     f"{opt.starts[i]:>4}-{opt.starts[i] + r.output_tokens:<4}")
    span = max(len(rp.memory_profile), len(ro.memory_profile))
    prof = [(policy, rp.memory_profile), ("optimum", ro.memory_profile)]
    lines.append("memory at t = 1.." + str(span - 1) + ":")
    for name, p in prof:
        vals = [int(p[t]) if t < len(p) else 0 for t in range(1, span)]
        lines.append(f"  {name}: " + " ".join(str(v) for v in vals))
    return "\n".join(lines) + "\n"


def _blocked(instance: Instance, policy: str, pol: Schedule, opt: Schedule, rp: Any, ro: Any,
             t: int) -> str:
    """Why the policy leaves the shortest waiting request j waiting at round t: the memory the
    batch (running + started at t + j) would need at its first overflowing completion time."""
    m = instance.memory_limit
    reqs = {r.id: r for r in instance.requests}
    order = instance.ids
    running = [i for i in order if pol.starts[i] < t < pol.starts[i] + reqs[i].output_tokens]
    started = [i for i in order if pol.starts[i] == t]
    waiting = sorted((i for i in order if reqs[i].arrival <= t < pol.starts[i]),
                     key=lambda i: (reqs[i].output_tokens, order.index(i)))
    j = waiting[0]
    rj = reqs[j]
    starts = {i: pol.starts[i] for i in running + started}
    starts[j] = t
    use_at = {c: sum(reqs[i].prompt_tokens + c - p for i, p in starts.items()
                     if p < c <= p + reqs[i].output_tokens)
              for c in sorted({p + reqs[i].output_tokens for i, p in starts.items()})}
    bad = [(c, use) for c, use in use_at.items() if use > m]
    head = (f"At t = {t} {policy} leaves {j} (a = {rj.arrival}, s = {rj.prompt_tokens}, "
            f"o = {rj.output_tokens}), the shortest waiting request, waiting")
    if not bad:
        return head + f" although it would fit; it starts {j} at {pol.starts[j]}."
    c, use = bad[0]

    def at(profile: Any, k: int) -> int:
        return int(profile[k]) if k < len(profile) else 0

    return (head + f": with {_ids(running)} running and {_ids(started)} started at t = {t}, "
            f"memory at t = {c} would be {use} > M = {m}. It starts {j} at {pol.starts[j]}, "
            f"the optimum at {opt.starts[j]}. Memory at t = {c}: {policy} "
            f"{at(rp.memory_profile, c)}/{m}, optimum {at(ro.memory_profile, c)}/{m}.")
