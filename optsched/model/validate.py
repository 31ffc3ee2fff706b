"""The independent validator: recomputes memory from a schedule alone and lists every violation.

It shares no code with any solver or policy: it reads only the instance's numbers and the start
times, rebuilds the memory profile round by round (docs/model.md: request i holds s_i + (t - p_i)
tokens at t = p_i+1 .. p_i+o_i; under another declared memory convention the held prompt and
the number of held rounds come from :mod:`optsched.model.conventions`), and checks every rule. Every
schedule that optsched reports passes through :func:`validate` first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from optsched.errors import ScheduleError
from optsched.model.conventions import completion_time, held_prompt, held_rounds
from optsched.model.instance import Instance, Request
from optsched.model.schedule import Schedule

#: Longest span of rounds the validator will expand densely.
MAX_DENSE_SPAN = 200_000_000


@dataclass(frozen=True)
class Violation:
    """One broken rule. ``kind`` is one of: missing, unknown, before_arrival, memory,
    aborted_run."""

    kind: str
    message: str
    request: str | None = None
    time: int | None = None
    amount: int | None = None


@dataclass(frozen=True)
class Metrics:
    """Schedule quality measures (all times in rounds, memory in tokens)."""

    total_completion_time: int
    total_latency: int
    mean_latency: float
    makespan: int
    peak_memory: int
    memory_utilisation: float
    wasted_tokens: int = 0
    restarts: int = 0


@dataclass
class ValidationReport:
    """The validator's verdict; ``metrics`` is set only when every request has a start."""

    valid: bool
    violations: list[Violation] = field(default_factory=list)
    metrics: Metrics | None = None
    memory_profile: np.ndarray | None = None  # memory at t = 0..makespan

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid,
                "violations": [asdict(v) for v in self.violations],
                "metrics": None if self.metrics is None else asdict(self.metrics)}

    def summary(self, limit: int = 20) -> str:
        if self.valid:
            return "valid"
        lines = [f"INVALID: {len(self.violations)} violation(s)"]
        lines += ["  " + v.message for v in self.violations[:limit]]
        if len(self.violations) > limit:
            lines.append(f"  ... and {len(self.violations) - limit} more")
        return "\n".join(lines)


def validate(instance: Instance, schedule: Schedule) -> ValidationReport:
    """Check ``schedule`` against ``instance``: arrivals, completeness, memory <= M at every t."""
    violations: list[Violation] = []
    reqs = {r.id: r for r in instance.requests}
    conv = instance.memory_convention
    for rid in schedule.starts:
        if rid not in reqs:
            violations.append(Violation("unknown", f"request {rid!r} is not in the instance", rid))
    for r in instance.requests:
        if r.id not in schedule.starts:
            violations.append(Violation("missing", f"request {r.id!r} has no start time", r.id))
    # runs: (id, start, rounds held)
    runs: list[tuple[str, int, int]] = []
    for rid, p in schedule.starts.items():
        found = reqs.get(rid)
        if found is None:
            continue
        r = found
        if p < r.arrival:
            violations.append(Violation(
                "before_arrival", f"request {rid!r} starts at {p} before its arrival {r.arrival}",
                rid, p))
        runs.append((rid, int(p), held_rounds(r.output_tokens, conv)))
    runs += _aborted_runs(schedule, reqs, conv, violations)

    profile = _memory_profile(instance, runs)
    for t in np.flatnonzero(profile > instance.memory_limit):
        used = int(profile[t])
        violations.append(Violation(
            "memory", f"memory {used} exceeds M = {instance.memory_limit} at time {int(t)} "
            f"(over by {used - instance.memory_limit})", None, int(t),
            used - instance.memory_limit))

    metrics = (_metrics(instance, schedule, profile)
               if all(r.id in schedule.starts for r in instance.requests) else None)
    return ValidationReport(not violations, violations, metrics, profile)


def _aborted_runs(schedule: Schedule, reqs: dict[str, Request], conv: str,
                  violations: list[Violation]) -> list[tuple[str, int, int]]:
    """The evicted runs as (id, start, rounds held until the eviction), each checked (known
    request, after its arrival, ended inside its run, before its final start); what is wrong
    goes to ``violations``."""
    runs: list[tuple[str, int, int]] = []
    for a in schedule.aborted:
        r = reqs.get(a.id)
        if r is None:
            violations.append(Violation("unknown", f"aborted run of unknown request {a.id!r}",
                                        a.id))
            continue
        problems = []
        if a.start < r.arrival:
            problems.append(f"starts at {a.start} before arrival {r.arrival}")
        rounds = held_rounds(r.output_tokens, conv)
        if not a.start <= a.end < a.start + rounds:
            problems.append(f"end {a.end} must lie in [start, start + held rounds - 1] = "
                            f"[{a.start}, {a.start + rounds - 1}]")
        final = schedule.starts.get(a.id)
        if final is not None and final < a.end:
            problems.append(f"final start {final} is before the eviction at {a.end}")
        for msg in problems:
            violations.append(Violation("aborted_run", f"aborted run of {a.id!r}: {msg}", a.id,
                                        a.start))
        if a.end > a.start:
            runs.append((a.id, a.start, a.end - a.start))
    return runs


def _metrics(instance: Instance, schedule: Schedule, profile: np.ndarray) -> Metrics:
    """Objective, latency, makespan and memory use of a schedule that starts every request."""
    conv = instance.memory_convention
    comp = [completion_time(schedule.starts[r.id], r.output_tokens, conv)
            for r in instance.requests]
    total = int(sum(comp))
    latency = total - instance.total_arrival
    makespan = int(max(comp))
    busy = profile[1:makespan + 1] if makespan >= 1 else profile[:0]
    return Metrics(
        total_completion_time=total,
        total_latency=int(latency),
        mean_latency=latency / instance.n,
        makespan=makespan,
        peak_memory=int(profile.max()) if profile.size else 0,
        memory_utilisation=(float(busy.sum()) / (instance.memory_limit * makespan)
                            if makespan > 0 else 0.0),
        wasted_tokens=sum(a.wasted_tokens for a in schedule.aborted),
        restarts=len(schedule.aborted),
    )


def _memory_profile(instance: Instance, runs: list[tuple[str, int, int]]) -> np.ndarray:
    """Memory at every t = 0..last round, rebuilt from the runs with difference arrays.

    A run of request i started at p lasting L rounds adds h_i + (t - p) at t = p+1..p+L, i.e.
    ``count * t + offset`` with count 1 and offset h_i - p on that range (h_i = s_i under
    docs/model.md, the convention's held prompt otherwise).
    """
    if not runs:
        return np.zeros(1, dtype=np.int64)
    last = max(p + length for _, p, length in runs)
    first = min(p for _, p, _ in runs)
    if last - min(first, 0) > MAX_DENSE_SPAN:
        raise ScheduleError(f"schedule spans {last} rounds; the validator expands at most "
                            f"{MAX_DENSE_SPAN}")
    size = last + 2
    count = np.zeros(size, dtype=np.int64)
    offset = np.zeros(size, dtype=np.int64)
    index = instance.index
    for rid, p, length in runs:
        s = held_prompt(instance.requests[index[rid]].prompt_tokens, instance.memory_convention)
        lo = max(p + 1, 0)
        hi = p + length + 1
        if hi <= lo:
            continue
        count[lo] += 1
        count[hi] -= 1
        offset[lo] += s - p
        offset[hi] -= s - p
    t = np.arange(size, dtype=np.int64)
    mem = np.cumsum(count) * t + np.cumsum(offset)
    return mem[: last + 1]
