"""Explain where a policy loses against an optimal schedule, in words.

Kept apart from :mod:`optsched.studies.shrink` (which shrinks counterexamples) so that
:mod:`optsched.studies.certify` can explain a counterexample without importing the shrinker, which
itself builds on certify: the dependency runs one way, shrink -> certify -> explain.
"""

from __future__ import annotations

from typing import Any

from optsched.model.instance import Instance
from optsched.model.schedule import Schedule
from optsched.model.validate import validate


def _ids(ids: list[str]) -> str:
    return ", ".join(ids) if ids else "nothing"


def explain(instance: Instance, policy: str, pol: Schedule, opt: Schedule) -> str:
    """A short account of where ``pol`` loses against ``opt``: the first round where they differ,
    what the policy could not add then and why (the memory it would need at which time), the
    memory of both schedules at that critical time, and both schedules side by side."""
    rp, ro = validate(instance, pol), validate(instance, opt)
    if not (rp.valid and ro.valid):
        raise ValueError("explain needs two valid schedules")
    # a valid report has both its metrics and its memory profile
    assert rp.metrics is not None
    assert ro.metrics is not None
    assert rp.memory_profile is not None
    assert ro.memory_profile is not None
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
