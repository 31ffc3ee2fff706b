"""Schedules: a start time per request, plus (for online runs) the runs that were evicted.

JSON format::

    {"starts": {"r1": 0, "r2": 3},
     "aborted": [{"id": "r2", "start": 0, "end": 2}]}

``aborted`` is optional. An aborted run of request i started at ``start`` held memory in rounds
``start+1 .. end`` (``end - start`` tokens generated and then wasted) and was evicted before
round ``end + 1``; the request must start again at or after ``end``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optsched.errors import ScheduleError
from optsched.model.instance import _is_int, read_json_file
from optsched.model.io import atomic_write_json


@dataclass(frozen=True)
class AbortedRun:
    """A run that was evicted: memory held in rounds start+1..end, then lost."""

    id: str
    start: int
    end: int

    @property
    def wasted_tokens(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Schedule:
    """Start time of each request's final (completing) run, and any aborted runs before it."""

    starts: Mapping[str, int]
    aborted: tuple[AbortedRun, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"starts": {k: int(v) for k, v in self.starts.items()}}
        if self.aborted:
            d["aborted"] = [{"id": a.id, "start": a.start, "end": a.end} for a in self.aborted]
        return d

    def objective(self, outputs: Mapping[str, int]) -> int:
        """Total completion time, given each request's output length."""
        return sum(int(p) + int(outputs[k]) for k, p in self.starts.items())


def schedule_from_dict(data: Any) -> Schedule:
    """Parse a schedule object; also accepts any object with a ``schedule`` key (solve output,
    certificates)."""
    if isinstance(data, dict) and "starts" not in data and isinstance(data.get("schedule"), dict):
        data = data["schedule"]
    if not isinstance(data, dict) or "starts" not in data:
        raise ScheduleError("schedule: expected a JSON object with a 'starts' object "
                            "mapping request id to start time")
    extra = set(data) - {"starts", "aborted"}
    if extra:
        raise ScheduleError(f"schedule: unknown field(s) {sorted(extra)}")
    starts = data["starts"]
    if not isinstance(starts, dict):
        raise ScheduleError("schedule: 'starts' must be an object {request id: start time}")
    for rid, t in starts.items():
        if not _is_int(t):
            raise ScheduleError(f"schedule: start of request {rid!r} must be an integer, got {t!r}")
    aborted = []
    for k, a in enumerate(data.get("aborted", []) or []):
        if not isinstance(a, dict) or set(a) != {"id", "start", "end"}:
            raise ScheduleError(f"schedule: aborted run #{k} must be an object with exactly "
                                "'id', 'start' and 'end'")
        if not isinstance(a["id"], str) or not (_is_int(a["start"]) and _is_int(a["end"])):
            raise ScheduleError(f"schedule: aborted run #{k}: 'id' must be a string and "
                                "'start', 'end' integers")
        aborted.append(AbortedRun(a["id"], int(a["start"]), int(a["end"])))
    return Schedule({str(k): int(v) for k, v in starts.items()}, tuple(aborted))


def load_schedule(path: str | Path) -> Schedule:
    """Read a schedule file (or solve/certificate output containing one)."""
    data = read_json_file(path, "schedule")
    try:
        return schedule_from_dict(data)
    except ScheduleError as exc:
        raise ScheduleError(f"{path}: {exc}") from None


def save_schedule(schedule: Schedule, path: str | Path) -> None:
    atomic_write_json(path, schedule.to_dict())
