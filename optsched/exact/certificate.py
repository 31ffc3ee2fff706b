"""Optimality certificates: a solve saved as JSON that anyone can re-check without a solver.

A certificate embeds the instance (and its content hash), the solver with its version and
parameters, the status, objective, bound, the schedule, the validator's verdict and timings.
:func:`verify_certificate` re-validates the schedule from scratch, recomputes the objective and
checks that the claims are consistent (bound <= objective; "optimal" only with bound ==
objective). The bound itself is the solver's claim; ``optsched verify --resolve SOLVER`` re-proves
it with an independent solve.
"""

from __future__ import annotations

import datetime as _dt
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optsched.errors import CertificateError, InstanceError, ScheduleError
from optsched.exact.formulation import trivial_lower_bound
from optsched.exact.result import SolveResult
from optsched.model.instance import Instance, instance_from_dict, read_json_file
from optsched.model.io import atomic_write_json
from optsched.model.schedule import schedule_from_dict
from optsched.model.validate import validate

FORMAT = "optsched-certificate/1"


def certificate_dict(result: SolveResult) -> dict[str, Any]:
    """The certificate of a solve, as a JSON-ready dict."""
    from optsched.version import __version__

    return {
        "format": FORMAT,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "optsched_version": __version__,
        "python": platform.python_version(),
        "instance_hash": result.instance.content_hash(),
        "instance": result.instance.to_dict(),
        "solver": {"name": result.solver, "version": result.solver_version,
                   "parameters": result.parameters, "raw_status": result.raw_status},
        "status": result.status.value,
        "objective": result.objective,
        "total_latency": result.total_latency,
        "bound": result.bound,
        "schedule": None if result.schedule is None else result.schedule.to_dict(),
        "schedule_source": result.schedule_source,
        "validation": None if result.validation is None else result.validation.to_dict(),
        "model_size": result.model_size,
        "timings": {"runtime_seconds": round(result.runtime, 6)},
    }


def save_certificate(result: SolveResult, path: str | Path) -> None:
    """Write the certificate atomically."""
    atomic_write_json(path, certificate_dict(result))


@dataclass
class CertificateCheck:
    """Outcome of re-checking a certificate."""

    ok: bool
    status: str
    objective: int | None
    bound: int | None
    instance: Instance
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "status": self.status, "objective": self.objective,
                "bound": self.bound, "instance_hash": self.instance.content_hash(),
                "problems": self.problems}


def load_certificate(path: str | Path) -> dict[str, Any]:
    data = read_json_file(path, "certificate")
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CertificateError(f"{path}: not an optsched certificate (expected \"format\": "
                               f"\"{FORMAT}\")")
    for key in ("instance", "instance_hash", "status", "objective", "bound", "schedule"):
        if key not in data:
            raise CertificateError(f"{path}: certificate is missing field {key!r}")
    return data


def _schedule_problems(inst: Instance, schedule: Any, status: str,
                       objective: int | None) -> list[str]:
    """What is wrong with the certificate's schedule: missing where the status needs one,
    present where it must not be, invalid, or of another value than the stated objective."""
    problems: list[str] = []
    if schedule is None:
        if status in ("optimal", "feasible"):
            problems.append(f"status {status!r} but no schedule")
        if objective is not None:
            problems.append("objective given without a schedule")
        return problems
    try:
        sched = schedule_from_dict(schedule)
    except ScheduleError as exc:
        raise CertificateError(f"certificate schedule is malformed: {exc}") from None
    report = validate(inst, sched)
    if not report.valid or report.metrics is None:
        problems.append("schedule fails validation: " + report.summary(limit=5))
    elif objective != report.metrics.total_completion_time:
        problems.append(f"objective {objective} but the schedule's total completion "
                        f"time is {report.metrics.total_completion_time}")
    if status in ("infeasible", "unknown"):
        problems.append(f"status {status!r} but a schedule is given")
    return problems


def _status_problems(status: str, objective: int | None, bound: int | None) -> list[str]:
    """The status must follow from the objective and the bound: optimal iff they meet."""
    if objective is None or bound is None:
        return []
    problems: list[str] = []
    if bound > objective:
        problems.append(f"bound {bound} exceeds objective {objective}")
    if status == "optimal" and bound != objective:
        problems.append(f"status 'optimal' but bound {bound} != objective {objective}")
    if status == "feasible" and bound == objective:
        problems.append("bound equals objective but status is only 'feasible'")
    return problems


def verify_certificate(data: dict[str, Any], instance: Instance | None = None) -> CertificateCheck:
    """Re-check a certificate dict (see module doc). ``instance``, if given, must match it."""
    try:
        inst = instance_from_dict(data["instance"])
    except InstanceError as exc:
        raise CertificateError(f"certificate instance is invalid: {exc}") from None
    problems: list[str] = []
    if inst.content_hash() != data["instance_hash"]:
        problems.append("instance_hash does not match the embedded instance")
    if instance is not None and instance.content_hash() != inst.content_hash():
        problems.append("the certificate is for a different instance than the one given")
    status, objective, bound = data["status"], data["objective"], data["bound"]
    if status not in ("optimal", "feasible", "infeasible", "unknown"):
        problems.append(f"unknown status {status!r}")
    if bound is not None and bound < trivial_lower_bound(inst):
        problems.append(f"bound {bound} is below the trivial bound sum(a+o) = "
                        f"{trivial_lower_bound(inst)} (harmless but suspicious)")
    problems += _schedule_problems(inst, data["schedule"], status, objective)
    problems += _status_problems(status, objective, bound)
    return CertificateCheck(not problems, status, objective, bound, inst, problems)
