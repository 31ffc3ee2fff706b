"""Run a named policy through the engine and validate what it did: :func:`run_policy`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from optsched.control import Deadline
from optsched.errors import OptschedError, SolverError
from optsched.model.instance import Instance, spec_equivalent
from optsched.model.schedule import Schedule
from optsched.model.validate import ValidationReport, validate
from optsched.policies.base import Policy
from optsched.policies.clock import RoundClock
from optsched.policies.engine import EngineResult, simulate
from optsched.policies.online import (
    FCFS,
    MCSF,
    AlphaBetaClearing,
    AlphaBetaClearingRecheck,
    AlphaGreedy,
    AlphaGreedyRecheck,
    AMax,
    AMin,
    MCBenchmark,
    ShortestFirst,
    SmallestVolumeFirst,
    SortedF,
)
from optsched.policies.predictions import Predictions
from optsched.policies.published import AlphaBetaClearingAsPublished, AlphaGreedyAsPublished
from optsched.policies.timemodel import BatchTimeModel, TimeModelError, get_time_model
from optsched.policies.vllm import VLLM, VLLMToken
from optsched.policies.wait import WAIT, NestedWAIT
from optsched.progress import Progress

#: name -> factory (keyword arguments are the policy's parameters, e.g. alpha, beta)
POLICIES: dict[str, Callable[..., Policy]] = {
    "algorithm1": MCSF,
    "mcsf": MCSF,
    "mc-benchmark": MCBenchmark,
    "alpha-greedy": AlphaGreedy,
    "alpha-beta-clearing": AlphaBetaClearing,
    "alpha-greedy-recheck": AlphaGreedyRecheck,
    "alpha-beta-clearing-recheck": AlphaBetaClearingRecheck,
    "alpha-greedy-published": AlphaGreedyAsPublished,
    "alpha-beta-clearing-published": AlphaBetaClearingAsPublished,
    "fcfs": FCFS,
    "shortest-first": ShortestFirst,
    "smallest-volume-first": SmallestVolumeFirst,
    "sorted-f": SortedF,
    "a-max": AMax,
    "a-min": AMin,
    "vllm": VLLM,
    "vllm-token": VLLMToken,
    "wait": WAIT,
    "nested-wait": NestedWAIT,
}

#: Policy attributes reported as the run's parameters.
PARAMETERS = ("alpha", "beta", "block_size", "threshold", "first_segment", "batch_cap")

#: Policies reported by default (compare, datasets, reproduce).
STANDARD_POLICIES: tuple[str, ...] = ("algorithm1", "mc-benchmark", "alpha-greedy",
                                      "alpha-beta-clearing")

#: Aliases that name the same policy (listed once in help texts).
ALIASES = {"mcsf": "algorithm1"}


class UnknownPolicyError(OptschedError, KeyError):
    """No policy by that name."""

    def __str__(self) -> str:
        return str(self.args[0])


class InvalidPolicySchedule(RuntimeError):
    """The engine produced a run the independent validator rejects (an engine bug)."""


def make_policy(name: str, **kwargs: Any) -> Policy:
    """Instantiate a policy by name, with its parameters."""
    if name not in POLICIES:
        raise UnknownPolicyError(f"unknown policy {name!r}; choose one of "
                                 f"{', '.join(sorted(POLICIES))}")
    try:
        return POLICIES[name](**kwargs)
    except (TypeError, ValueError) as exc:
        raise OptschedError(f"policy {name!r}: {exc}") from None


@dataclass
class PolicyRun:
    """One validated policy run: the schedule (with aborted runs) and its measures."""

    policy: str
    schedule: Schedule
    objective: int  # total completion time of the final runs
    total_latency: int
    validation: ValidationReport
    overflows: int
    evictions: int
    wasted_tokens: int
    runtime: float
    metrics: dict[str, Any] = field(default_factory=dict)
    predictions: str = "exact"
    seed: int = 0
    parameters: dict[str, Any] = field(default_factory=dict)
    memory_limit: int = 0  # M, to turn utilisation into mean memory
    #: with a batch-time model: per request (instance order) arrival_s, ttft_s, tpot_s,
    #: latency_s and the arrival round the clock revealed
    request_seconds: dict[str, Any] | None = None
    #: with a batch-time model: start of every round t in seconds (index = round)
    round_start_s: list[float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``schedule --json`` object (a stable contract)."""
        m = self.validation.metrics
        assert m is not None  # a PolicyRun holds a validated schedule
        return {
            "policy": self.policy,
            "parameters": self.parameters,
            "predictions": self.predictions,
            "seed": self.seed,
            "objective": self.objective,
            "total_latency": self.total_latency,
            "overflows": self.overflows,
            "evictions": self.evictions,
            "wasted_tokens": self.wasted_tokens,
            "runtime": round(self.runtime, 6),
            "metrics": {**self.metrics,
                        "peak_memory": m.peak_memory,
                        "mean_memory": m.memory_utilisation * self.memory_limit,
                        "memory_utilisation": m.memory_utilisation},
            "schedule": self.schedule.to_dict(),
            "validation": self.validation.to_dict(),
        }


def run_policy(instance: Instance, policy: str | Policy, *,
               predictions: Predictions | str | None = None, seed: int = 0,
               stall_limit: int | None = None,
               time_model: str | BatchTimeModel | None = None,
               arrival_seconds: Any = None, deadline: Deadline | None = None,
               progress: Progress | None = None, **policy_kwargs: Any) -> PolicyRun:
    """Run ``policy`` (a name from :data:`POLICIES` or a policy object) through the engine.

    ``predictions``: None = the instance's own ``predicted_output_tokens`` (true lengths where
    absent), a spec string (``exact``, ``noisy:0.2``, ``interval:0.5``) or a
    :class:`~optsched.policies.predictions.Predictions`. The run is validated with the independent
    validator (aborted runs included); an invalid run raises :class:`InvalidPolicySchedule`.

    ``time_model``: ``unit``/None (default: unit rounds, unchanged), a preset name, ``fixed:S``
    or a :class:`~optsched.policies.timemodel.BatchTimeModel`; it needs ``arrival_seconds`` (one per
    request), and the round schedule is then validated against the arrival rounds the clock
    revealed (see :mod:`optsched.policies.clock`). The policy sees nothing of the time model.

    A non-SPEC instance runs in the engine as its SPEC equivalent (optsched.model.conventions:
    the same memory in every round) with exact predictions only, and is validated under its own
    convention.

    ``deadline`` (optsched.control): the engine raises
    :class:`~optsched.policies.engine.EngineStopped` when it expires or a stop is requested.
    """
    t0 = time.perf_counter()
    engine_instance = spec_equivalent(instance)
    if engine_instance is not instance and predictions not in (None, "exact"):
        raise SolverError(f"predictions {predictions!r}: a memory_convention other than 'spec' "
                          "runs with exact predictions only")
    if isinstance(policy, str):
        pol = make_policy(policy, **policy_kwargs)
        name = policy
    else:
        if policy_kwargs:
            raise TypeError("policy parameters can only be given with a policy name")
        pol, name = policy, policy.name
    model = get_time_model(time_model)
    clock = None
    if model is not None:
        if arrival_seconds is None:
            raise TimeModelError(f"time model {model.name!r} needs the arrival time of every "
                                 "request in seconds (arrival_seconds)")
        clock = RoundClock(model, arrival_seconds)
    elif arrival_seconds is not None:
        raise TimeModelError("arrival_seconds given without a time model (unit rounds use the "
                             "instance's arrival rounds)")
    res: EngineResult = simulate(engine_instance, pol, predictions, seed=seed,
                                 stall_limit=stall_limit, clock=clock, deadline=deadline,
                                 progress=progress)
    checked = instance if clock is None else clock.round_instance(instance)
    report = validate(checked, res.schedule)
    if not report.valid:
        raise InvalidPolicySchedule(f"policy {name!r} produced an invalid run:\n"
                                    f"{report.summary()}")
    if clock is not None and (problems := clock.check()):
        raise InvalidPolicySchedule(f"policy {name!r}: the clock is inconsistent: "
                                    + "; ".join(problems))
    metrics = res.metrics(engine_instance)
    per_request = None
    if clock is not None:
        ids = instance.ids
        per_request = dict(clock.request_seconds([res.first_start[i] for i in ids],
                                                 [res.completion[i] for i in ids],
                                                 instance.output.tolist()),
                           arrival_round=list(clock.arrival))
    params = {k: v for k, v in vars(pol).items()
              if k in PARAMETERS and isinstance(v, int | float)}
    return PolicyRun(
        policy=name, schedule=res.schedule, objective=metrics["total_completion_time"],
        total_latency=metrics["total_latency"], validation=report, overflows=res.overflows,
        evictions=res.evictions, wasted_tokens=res.wasted_tokens,
        runtime=time.perf_counter() - t0, metrics=metrics,
        predictions=res.predictions.describe(), seed=seed, parameters=params,
        memory_limit=instance.memory_limit, request_seconds=per_request,
        round_start_s=None if clock is None else clock.now)
