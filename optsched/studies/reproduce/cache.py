"""Exact solves of the reproduction, cached per instance (append-only JSON lines), so an
interrupted run resumes and a stronger later run re-solves only what is still unproven."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from optsched.errors import OptschedError
from optsched.exact import solve
from optsched.exact.bounds import lower_bound
from optsched.exact.solve import choose_method
from optsched.model.instance import Instance
from optsched.model.io import (
    append_jsonl,
    jsonl_appender,
    read_jsonl,
)
from optsched.model.schedule import Schedule
from optsched.model.validate import validate
from optsched.version import __version__


# --------------------------------------------------------------------------------------------
# exact solves, cached per instance
# --------------------------------------------------------------------------------------------
@dataclass
class OptEntry:
    """What is known about one instance's hindsight optimum (total completion time)."""

    instance_hash: str
    solver: str
    time_limit: float | None
    status: str
    upper: int  # value of the best validated schedule
    lower: int  # proven lower bound
    runtime: float
    raw_status: str
    starts: dict[str, int]
    solver_version: str = ""
    method: str = "time-indexed"  # the method that ran: "auto" is resolved before solving
    optsched_version: str = ""  # empty in caches written before 0.5

    @property
    def proven(self) -> bool:
        return self.status == "optimal" and self.upper == self.lower


class SolveCache:
    """Append-only JSON-lines store of exact solves keyed by instance content hash.

    A partially written last line (a run killed mid-write) is ignored on reading. Entries are
    re-validated against their instance before use, so a stale or edited cache cannot smuggle in
    a wrong optimum.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, list[OptEntry]] = {}
        for obj in read_jsonl(path):
            try:
                e = OptEntry(**obj)
            except TypeError:
                continue
            self.entries.setdefault(e.instance_hash, []).append(e)

    def lookup(self, instance: Instance, solver: str, time_limit: float | None,
               method: str = "time-indexed") -> OptEntry | None:
        """A cached answer good enough for this request: a proven optimum from any solver, or
        a run of the same solver and method with at least this time limit."""
        best = None
        for e in self.entries.get(instance.content_hash(), []):
            if not _entry_valid(instance, e):
                continue
            # A run with no limit, or a longer one, of the same method answers this request.
            same = e.solver == solver and e.method == method and (
                e.time_limit is None or (time_limit is not None and e.time_limit >= time_limit))
            better = best is None or ((e.proven, -e.upper, e.lower)
                                      > (best.proven, -best.upper, best.lower))
            if (e.proven or same) and better:
                best = e
        return best

    def best_schedule(self, instance: Instance) -> Schedule | None:
        """The best validated schedule any cached run found (a warm start for a new solve)."""
        good = [e for e in self.entries.get(instance.content_hash(), [])
                if _entry_valid(instance, e)]
        return Schedule(dict(min(good, key=lambda e: e.upper).starts)) if good else None

    def add(self, entry: OptEntry) -> None:
        with jsonl_appender(self.path) as fh:
            append_jsonl(fh, asdict(entry))
        self.entries.setdefault(entry.instance_hash, []).append(entry)


def _entry_valid(instance: Instance, e: OptEntry) -> bool:
    sched = Schedule(dict(e.starts))
    report = validate(instance, sched)
    return (report.valid and report.metrics is not None
            and report.metrics.total_completion_time == e.upper and e.lower <= e.upper)


_BOUNDS: dict[tuple[str, str], int] = {}


def combinatorial_bound(instance: Instance, effort: str = "full") -> int:
    """The lower bound of :mod:`optsched.exact.bounds` for ``instance`` (memoised by content hash
    and effort: the report asks again for trials already solved)."""
    key = (instance.content_hash(), effort)
    if key not in _BOUNDS:
        _BOUNDS[key] = lower_bound(instance, effort=effort).value
    return _BOUNDS[key]


def _with_current_bound(instance: Instance, entry: OptEntry, cache: SolveCache,
                        effort: str = "full") -> OptEntry:
    """A cached unproven answer with its lower end raised to this version's combinatorial bound
    (bounds improve between versions and need no new solve); the raised entry is appended to
    the cache, so the record says which version proved what."""
    if entry.proven:
        return entry
    bound = combinatorial_bound(instance, effort)
    if bound <= entry.lower:
        return entry
    if bound > entry.upper:
        raise OptschedError(f"lower bound {bound} exceeds the validated schedule's value "
                            f"{entry.upper} for instance {entry.instance_hash}: a bound bug")
    raised = dataclasses.replace(
        entry, lower=bound, status="optimal" if bound == entry.upper else entry.status,
        raw_status=f"{entry.raw_status}; lower end raised to {bound} by optsched "
                   f"{__version__}'s bound", optsched_version=__version__)
    cache.add(raised)
    return raised


def hindsight_optimum(instance: Instance, solver: str, time_limit: float | None, threads: int,
                      cache: SolveCache | None, warm: Iterable[Schedule] = (),
                      method: str = "time-indexed", bound_effort: str = "full") -> OptEntry:
    """Solve (or fetch from ``cache``) the hindsight optimum with ``solver`` and ``method`` (see
    :data:`optsched.exact.solve.METHODS`), warm-started with the best of the ``warm`` schedules
    and any cached schedule. ``"auto"`` is resolved first (:func:`choose_method`), so the entry
    records the method that ran and an ``auto`` run reuses cached runs of that method."""
    if method == "auto":
        method = choose_method(instance, solver)
    if cache is not None:
        hit = cache.lookup(instance, solver, time_limit, method)
        if hit is not None:
            return _with_current_bound(instance, hit, cache, bound_effort)
    candidates = [s for s in warm if validate(instance, s).valid]
    if cache is not None and (c := cache.best_schedule(instance)) is not None:
        candidates.append(c)
    outputs = {r.id: r.output_tokens for r in instance.requests}
    initial = min(candidates, key=lambda s: s.objective(outputs)) if candidates else None
    res = solve(instance, solver, time_limit=time_limit, threads=threads,
                initial_solution=initial, method=method, bound_effort=bound_effort)
    if res.schedule is None or res.objective is None:
        raise OptschedError(f"{solver} found no schedule for instance {instance.content_hash()}")
    entry = OptEntry(instance.content_hash(), solver, time_limit, res.status.value,
                     int(res.objective), int(res.bound if res.bound is not None else 0),
                     round(res.runtime, 3), res.raw_status, dict(res.schedule.starts),
                     res.solver_version, method, __version__)
    if method in ("heuristic", "lns"):  # their bound is the combinatorial one: no recompute
        _BOUNDS.setdefault((entry.instance_hash, bound_effort), entry.lower)
    if cache is not None:
        cache.add(entry)
    return entry
