"""Running a named policy inside a study: the registry lookup, exact predictions and the
independent validation of its schedule (:func:`run_one_policy`), shared by every study."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from optsched.errors import OptschedError
from optsched.model.instance import Instance
from optsched.model.schedule import Schedule
from optsched.model.validate import validate

#: Policies compared by default: MC-SF and the paper's baselines (when the policy registry has
#: them; see :func:`available_policies`).
PAPER_POLICIES = ("mcsf", "mc-benchmark", "alpha-greedy", "alpha-beta-clearing")


# --------------------------------------------------------------------------------------------
# policies: the registry of the policies package when present, else the MC-SF reference
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PolicyOutcome:
    """A policy's run on one instance, after independent validation."""

    policy: str
    schedule: Schedule
    completion: int
    latency: int
    overflows: int
    evictions: int
    wasted_tokens: int
    valid: bool
    problems: str = ""


def _registry() -> tuple[Callable[..., Any] | None, Sequence[str]]:
    try:
        from optsched.policies import POLICIES, run_policy
    except ImportError:
        return None, ("mcsf",)
    return run_policy, tuple(POLICIES)


def available_policies() -> tuple[str, ...]:
    """Names the policy registry knows (just ``mcsf`` if the policies package has none)."""
    return tuple(_registry()[1])


def default_policies() -> tuple[str, ...]:
    """The paper's policies that are available here, MC-SF first."""
    known = available_policies()
    return tuple(p for p in PAPER_POLICIES if p in known) or ("mcsf",)


def run_one_policy(instance: Instance, name: str, seed: int = 0) -> PolicyOutcome:
    """Run policy ``name`` with exact predictions and validate its schedule independently.

    A policy that fails (e.g. a baseline that stops making progress) gives an outcome with
    ``valid=False`` and the reason, instead of ending the study."""
    run_policy, known = _registry()
    if name not in known:
        raise OptschedError(f"unknown policy {name!r}; available: {', '.join(known)}")
    if run_policy is None:
        from optsched.policies.mcsf import mcsf_reference

        schedule, overflows, evictions = mcsf_reference(instance), 0, 0
    else:
        try:
            run = run_policy(instance, name, seed=seed)
        except (OptschedError, RuntimeError) as exc:
            return PolicyOutcome(name, Schedule({}), -1, -1, 0, 0, 0, False,
                                 f"{type(exc).__name__}: {exc}"[:300])
        schedule, overflows, evictions = run.schedule, run.overflows, run.evictions
    report = validate(instance, schedule)
    if not report.valid or report.metrics is None:
        return PolicyOutcome(name, schedule, -1, -1, overflows, evictions, 0, False,
                             report.summary(limit=3))
    m = report.metrics
    return PolicyOutcome(name, schedule, m.total_completion_time, m.total_latency, overflows,
                         evictions, m.wasted_tokens, True)


def final_runs_only(schedule: Schedule) -> Schedule:
    """The schedule without its evicted runs: removing runs only lowers memory, so a valid
    online schedule's final starts are a valid offline schedule (an upper bound on OPT)."""
    return Schedule(dict(schedule.starts))
