"""The outcome of an exact solve, with statuses mapped faithfully and the bound always kept."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from optsched.model.instance import Instance
from optsched.model.schedule import Schedule
from optsched.model.validate import ValidationReport


class Status(StrEnum):
    """optimal: proven (bound == objective); feasible: a valid schedule without proof;
    infeasible: proven that no schedule exists; unknown: neither a schedule nor a proof."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"


#: Tolerance for reading a floating-point bound of an integer objective.
BOUND_EPS = 1e-6


def integer_bound(value: float | None) -> int | None:
    """Round a solver's bound on an integer objective up, tolerating float noise."""
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return int(math.ceil(value - BOUND_EPS))


@dataclass
class SolveResult:
    """What a solve found: status, objective (total completion time), bound, schedule, timings.

    ``objective`` and ``schedule`` come from the best *validated* schedule; ``bound`` is a proven
    lower bound on the optimal total completion time (never above ``objective``).
    """

    instance: Instance
    solver: str
    status: Status
    objective: int | None
    bound: int | None
    schedule: Schedule | None
    raw_status: str
    runtime: float
    solver_version: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    validation: ValidationReport | None = None
    model_size: dict[str, int] = field(default_factory=dict)
    schedule_source: str | None = None  # "solver" or "incumbent" (warm start kept as best)

    @property
    def total_latency(self) -> int | None:
        return None if self.objective is None else self.objective - self.instance.total_arrival

    @property
    def gap(self) -> float | None:
        """Relative gap (objective - bound) / objective; 0 when proven optimal."""
        if self.objective is None or self.bound is None:
            return None
        return (self.objective - self.bound) / max(self.objective, 1)

    @property
    def proven_optimal(self) -> bool:
        return self.status is Status.OPTIMAL

    def to_dict(self) -> dict[str, Any]:
        """The ``solve --json`` object (a stable contract for scripts)."""
        return {
            "status": self.status.value,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "total_latency": self.total_latency,
            "total_arrival": self.instance.total_arrival,
            "solver": self.solver,
            "solver_version": self.solver_version,
            "raw_status": self.raw_status,
            "runtime": round(self.runtime, 6),
            "parameters": self.parameters,
            "model_size": self.model_size,
            "schedule_source": self.schedule_source,
            "instance_hash": self.instance.content_hash(),
            "n": self.instance.n,
            "memory_limit": self.instance.memory_limit,
            "schedule": None if self.schedule is None else self.schedule.to_dict(),
            "validation": None if self.validation is None else self.validation.to_dict(),
        }
