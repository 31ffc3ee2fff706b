"""One entry point for exact solving: :func:`solve` (model -> backend -> validated result)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from optsched.control import Deadline, stop_requested
from optsched.errors import SolverError
from optsched.exact.backends import BACKENDS, BackendOutcome, SolveParameters, StopGroup
from optsched.exact.bounds import check_bound_effort, completion_caps, lower_bound
from optsched.exact.bruteforce import brute_force
from optsched.exact.formulation import TimeIndexedModel, build_model, trivial_lower_bound
from optsched.exact.incumbent import earliest_fit_schedule
from optsched.exact.ramp import RampModel, build_ramp_model, solve_ramp_cpsat
from optsched.exact.result import SolveResult, Status, integer_bound
from optsched.model.instance import Instance, spec_equivalent
from optsched.model.schedule import Schedule
from optsched.model.validate import validate

if TYPE_CHECKING:
    from optsched.progress import Progress

SOLVERS = ("cpsat", "highs", "cbc", "bruteforce")

AUTO_PORTFOLIO_MAX_REQUESTS = 20
#: Up to this many requests the model paths (epoch, cumulative, portfolio) shrink the start
#: windows by completion caps from the others' lower bound (optsched.exact.bounds.completion_caps;
#: one bound per request, about 0.1 s each at 10-20 requests). Off (0) by default: on the
#: small set they proved 11 instead of 12 of 20 in 20 s (benchmarks/bench_caps.py,
#: docs/exact-performance.md); set it to 20 to use them.
CAPS_MAX_REQUESTS = 0
#: Above this many requests ``auto`` runs ``lns`` on CP-SAT (docs/exact-performance.md: at 33
#: and at 41-59 requests it found better schedules than ``epoch`` in the same time; at 20-27
#: the two were even, and ``epoch`` can still prove an optimum there).
AUTO_LNS_MIN_REQUESTS = 31

#: The solve paths, each in one line (also the CLI's --method help); docs/exact-performance.md
#: has what each does in full and how they measured.
METHOD_SUMMARIES: dict[str, str] = {
    "auto": f"on CP-SAT 'portfolio' up to {AUTO_PORTFOLIO_MAX_REQUESTS} requests, 'lns' from "
            f"{AUTO_LNS_MIN_REQUESTS}, 'epoch' between and on the other solvers (the best "
            "measured choice in each range); the result records the method it chose",
    "time-indexed": "the plain time-indexed model, earliest-fit (or the given) incumbent, "
                    "solver bound only",
    "epoch": "the time-indexed model, best of MC-SF / spaced MC-SF / earliest-fit as incumbent, "
             "bound raised by the combinatorial bounds of optsched.exact.bounds",
    "cumulative": "CP-SAT only: one start variable per request, memory as a cumulative of "
                  "rectangles (optsched.exact.ramp); incumbent and bound as in 'epoch'",
    "portfolio": "CP-SAT only: 'cumulative' and 'epoch' side by side (threads split; one after "
                 "the other with half the time each on one thread); best of both",
    "lns": "CP-SAT on small windows (large-neighbourhood search, optsched.exact.lns) improves "
           "the 'epoch' incumbent for the whole time limit; combinatorial bound only, so "
           "optimal only when the bound meets the schedule",
    "heuristic": "no solver: the incumbent and the combinatorial bound (large instances)",
    "layered": "CP-SAT only: LNS incumbent for a quarter of the time, then the layered "
               "(ramp-cumulative) model with the combinatorial bound as an objective cut and a "
               "complete hint; worker mix by profile (optsched.exact.layered)",
    "bnb": "problem-specific branch-and-bound over chronological starts "
           "(optsched.exact.branch_bound), node bounds on the remaining requests, dominance "
           "rules of models/branch-and-bound.md; from the 'epoch' incumbent and bound; from 9 "
           "requests on, a tenth of the time first, then LNS, then the search again",
}
METHODS = tuple(METHOD_SUMMARIES)
DEFAULT_METHOD = "auto"


def choose_method(instance: Instance, solver: str) -> str:
    """What ``method="auto"`` runs for this instance and solver."""
    if solver == "cpsat" and instance.n <= AUTO_PORTFOLIO_MAX_REQUESTS:
        return "portfolio"
    if solver == "cpsat" and instance.n >= AUTO_LNS_MIN_REQUESTS:
        return "lns"
    return "epoch"

#: Largest instance the brute-force oracle accepts (it is exponential).
BRUTEFORCE_MAX_REQUESTS = 8


class InvalidSolverSchedule(RuntimeError):
    """A backend returned a schedule the independent validator rejects (a formulation bug)."""


def solve(instance: Instance, solver: str = "cpsat", *, method: str = DEFAULT_METHOD,
          time_limit: float | None = None, threads: int = 1, seed: int = 0,
          initial_solution: Schedule | None = None, use_incumbent: bool = True,
          bound_effort: str = "full", profile: str = "default", log: bool = False,
          progress: Progress | None = None) -> SolveResult:
    """Solve ``instance`` exactly with ``solver`` and return a validated :class:`SolveResult`.

    ``method`` picks one entry of :data:`METHOD_REGISTRY` (the model it builds and how it
    gets an incumbent and a bound; :data:`METHOD_SUMMARIES` has one line each); the default,
    ``"auto"``, picks ``"portfolio"``, ``"epoch"`` or ``"lns"`` by instance size
    (:func:`choose_method`, as measured in docs/exact-performance.md) and the result records
    the method that ran. ``status`` is ``optimal`` only when a proven bound (the backend's
    best bound rounded up, sum(a+o), or optsched.exact.bounds) equals the objective of a
    validated schedule; a solver's "optimal" label alone is never trusted.

    ``time_limit`` holds for the whole call: every stage (heuristics, bounds, LNS, each model
    of a portfolio) takes what is left of one :class:`optsched.control.Deadline`. A stop
    request (:func:`optsched.control.request_stop`; the first Ctrl-C inside
    :func:`optsched.control.interruptible`) ends every stage within about a second, and the
    best validated schedule and bound so far are returned (status ``feasible`` or
    ``unknown``, or ``optimal`` if they met; ``parameters["interrupted"]`` is true).

    An incumbent warm-starts the backend and, with ``use_incumbent``, shrinks the start
    windows. ``initial_solution`` joins the candidate incumbents if it is valid.
    ``bound_effort="fast"`` leaves the path and window bounds out of the combinatorial bound
    (:data:`optsched.exact.bounds.BOUND_EFFORTS`). ``profile`` picks CP-SAT's workers for
    ``"layered"`` (:data:`optsched.exact.layered.PROFILES`). ``log`` shows the backend's log;
    ``progress`` (optsched.progress) hears of every new best schedule and bound.
    The memory convention is normalised once, here: the methods work on the equivalent
    instance in the model's own convention (docs/model.md, "Memory conventions") and the
    schedule is re-validated under the instance's convention before it is returned.
    """
    _check_arguments(solver, method, threads, time_limit, bound_effort, profile)
    params = SolveParameters(time_limit, threads, seed, log, bound_effort=bound_effort,
                             deadline=Deadline(time_limit), progress=progress)
    chosen = method == "auto"
    if chosen:
        method = choose_method(instance, solver)
    equivalent = spec_equivalent(instance)
    run = _Run(equivalent, solver, params, method, initial_solution, use_incumbent, profile,
               auto=chosen)
    result = _dispatch(run)
    if stop_requested():
        result = replace(result, raw_status=result.raw_status + " [stopped: stop request]",
                         parameters={**result.parameters, "interrupted": True})
    return result if equivalent is instance else _back_to_convention(instance, result)


def _check_arguments(solver: str, method: str, threads: int, time_limit: float | None,
                     bound_effort: str, profile: str) -> None:
    """Refuse a bad argument with one line that names it and the choices."""
    if method not in METHODS:
        raise SolverError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if solver not in SOLVERS:
        raise SolverError(f"unknown solver {solver!r}; choose one of {', '.join(SOLVERS)}")
    if threads < 1:
        raise SolverError("threads must be >= 1")
    if time_limit is not None and time_limit <= 0:
        raise SolverError("time limit must be > 0 seconds")
    check_bound_effort(bound_effort)
    if profile != "default" and method != "layered":
        raise SolverError(f"profile {profile!r} applies to method 'layered' only")
    if method == "layered":
        from optsched.exact.layered import check_profile

        check_profile(profile)


def _back_to_convention(instance: Instance, result: SolveResult) -> SolveResult:
    """A result solved on the equivalent instance (docs/model.md, "Memory conventions")
    reported for the original one: same starts and objective (the reduction keeps both), the
    schedule re-validated under the instance's own convention by the independent validator."""
    report = validate(instance, result.schedule) if result.schedule is not None else None
    if report is not None and (not report.valid or report.metrics is None or
                               report.metrics.total_completion_time != result.objective):
        raise InvalidSolverSchedule(
            f"a schedule solved on the equivalent instance does not validate with value "
            f"{result.objective} under memory_convention {instance.memory_convention!r}:\n"
            + (report.summary() if not report.valid else "objective differs"))
    return replace(result, instance=instance, validation=report,
                   parameters={**result.parameters,
                               "memory_convention": instance.memory_convention})


@dataclass
class _Run:
    """One solve once its arguments are checked: the instance (already in the model's own
    convention), the solver, the parameters with the deadline, and the method's options."""

    instance: Instance
    solver: str
    params: SolveParameters
    method: str
    initial_solution: Schedule | None = None
    use_incumbent: bool = True
    profile: str = "default"
    #: completion caps (:func:`_completion_caps`; the portfolio computes them once for both)
    caps: np.ndarray | None = None
    #: the method was chosen by "auto": a model too large to build is an outcome (the
    #: incumbent and bound are returned), not an error
    auto: bool = False
    t0: float = field(default_factory=time.perf_counter)

    @property
    def recorded(self) -> dict[str, Any]:
        """The parameters a result records (``solve --json``'s ``parameters``)."""
        out = {**self.params.to_dict(), "method": self.method,
               "use_incumbent": self.use_incumbent}
        return out | ({"profile": self.profile} if self.method == "layered" else {})

    def value(self, schedule: Schedule) -> int:
        return schedule.objective(_outputs(self.instance))

    def result(self, schedule: Schedule, bound: int, raw_status: str, *,
               solver: str = "none", version: str | None = None,
               source: str = "incumbent") -> SolveResult:
        """A result without a model's outcome: optimal only if ``bound`` meets the schedule."""
        return _heuristic_result(self.instance, self.recorded, schedule, self.value(schedule),
                                 bound, self.t0, raw_status, solver=solver, version=version,
                                 source=source)


@dataclass(frozen=True)
class Method:
    """One solve method: the model it builds, how it finds its incumbent and bound, and
    the function that runs it."""

    name: str
    model: str  # "time-indexed", "cumulative", "both", or "none" (no whole-instance model)
    summary: str
    run: Callable[[_Run], SolveResult]
    cpsat_only: bool = False


def _dispatch(run: _Run) -> SolveResult:
    """Run the method of ``run`` (or the brute-force oracle) from the registry."""
    if run.solver == "bruteforce":
        return _solve_bruteforce(run.instance, run.params, run.initial_solution)
    entry = METHOD_REGISTRY[run.method]
    if entry.cpsat_only and run.solver != "cpsat":
        raise SolverError(f"method {run.method!r} runs on CP-SAT only, not on {run.solver!r}")
    return entry.run(run)


def _first_valid(run: _Run) -> Schedule:
    """The plain method's incumbent: ``initial_solution`` if valid, else earliest-fit."""
    if run.initial_solution is not None and validate(run.instance, run.initial_solution).valid:
        return run.initial_solution
    return earliest_fit_schedule(run.instance)


def _prepare(run: _Run) -> tuple[Schedule, int]:
    """The incumbent (best of the heuristics) and the combinatorial lower bound.

    The bound works against the solve's deadline: once it expires (time or a stop request),
    its slow path and window stages are cut short (optsched.exact.bounds.restriction_bound);
    after a stop request it is not started at all (the trivial bound sum(a+o) stands)."""
    incumbent = best_incumbent(run.instance, run.initial_solution, deadline=run.params.deadline)
    value = run.value(incumbent)
    run.params.report("heuristics", best=value)
    bound = trivial_lower_bound(run.instance)
    run.params.report("computing the lower bound", best=value, bound=bound)
    if not stop_requested():  # epoch and restriction bounds (models/epoch-bound.md)
        bound = max(bound, lower_bound(run.instance, effort=run.params.bound_effort,
                                       deadline=run.params.deadline).value)
    run.params.report("bounds", best=value, bound=bound)
    return incumbent, bound


def _settled(run: _Run, incumbent: Schedule, bound: int) -> SolveResult | None:
    """The result when nothing is left for a solver: the bound meets the incumbent, or the
    user asked to stop before the solver stage began."""
    if bound >= run.value(incumbent):
        return run.result(incumbent, bound, "no solver run: the lower bound meets the incumbent")
    if stop_requested():
        return run.result(incumbent, bound, "no solver run: stopped before the solver stage")
    return None


def _run_time_indexed(run: _Run) -> SolveResult:
    """'time-indexed': the plain model, the first valid incumbent, the solver's bound only."""
    incumbent = _first_valid(run)
    bound = trivial_lower_bound(run.instance)
    return _settled(run, incumbent, bound) or _run_model(run, incumbent, bound, ramp=False)


def _run_epoch(run: _Run) -> SolveResult:
    """'epoch': the time-indexed model with the best incumbent and the combinatorial bound."""
    incumbent, bound = _prepare(run)
    return _settled(run, incumbent, bound) or _run_model(run, incumbent, bound, ramp=False)


def _run_cumulative(run: _Run) -> SolveResult:
    """'cumulative': the ramp-cumulative model, incumbent and bound as in 'epoch'."""
    incumbent, bound = _prepare(run)
    return _settled(run, incumbent, bound) or _run_model(run, incumbent, bound, ramp=True)


def _run_heuristic(run: _Run) -> SolveResult:
    """'heuristic': no solver, the incumbent and the combinatorial bound."""
    incumbent, bound = _prepare(run)
    return run.result(incumbent, bound,
                      "no solver run (heuristic incumbent + combinatorial bound)")


def _run_lns(run: _Run) -> SolveResult:
    """'lns': large-neighbourhood search from the incumbent for the rest of the deadline."""
    incumbent, bound = _prepare(run)
    return _settled(run, incumbent, bound) or _solve_lns(run, incumbent, bound)


def _run_bnb(run: _Run) -> SolveResult:
    """'bnb': the problem-specific branch-and-bound from the incumbent and bound."""
    incumbent, bound = _prepare(run)
    return _settled(run, incumbent, bound) or _solve_bnb(run, incumbent, bound)


def _run_layered(run: _Run) -> SolveResult:
    """'layered': LNS for a quarter of the time, then the layered CP-SAT model with the
    bound as an objective cut (optsched.exact.layered)."""
    from optsched.exact.layered import run_layered

    incumbent, bound = _prepare(run)
    settled = _settled(run, incumbent, bound)
    if settled is not None:
        return settled
    model, out, improved, note = run_layered(run.instance, run.params, incumbent, bound,
                                             run.profile, use_incumbent=run.use_incumbent)
    source = "solver" if run.value(improved) < run.value(incumbent) else "incumbent"
    if out is None or model is None:
        return run.result(improved, bound, note, solver="cpsat", source=source)
    out.raw_status = note
    return _model_result(run, model, out, out.schedule, improved, bound)


def _run_model(run: _Run, incumbent: Schedule, bound: int, *, ramp: bool) -> SolveResult:
    """Build one whole-instance model (time-indexed or ramp-cumulative), hand it to the
    backend for what is left of the deadline and combine its outcome with the incumbent.
    Under "auto" a model over the size limits gives the incumbent and bound instead."""
    try:
        return _build_and_run(run, incumbent, bound, ramp=ramp)
    except SolverError as exc:
        if not run.auto or "too large" not in str(exc):
            raise
        return run.result(incumbent, bound, f"no solver run: {exc}")


def _build_and_run(run: _Run, incumbent: Schedule, bound: int, *, ramp: bool) -> SolveResult:
    """:func:`_run_model` without the size fallback."""
    window_value = run.value(incumbent) if run.use_incumbent else None
    caps = run.caps
    if caps is None and run.method in ("epoch", "cumulative"):
        caps = _completion_caps(run.instance, window_value)
    if ramp:
        ramp_model = build_ramp_model(run.instance, window_value, caps=caps)
        out = solve_ramp_cpsat(ramp_model, run.params, incumbent)
        return _model_result(run, ramp_model, out, out.schedule, incumbent, bound)
    indexed = build_model(run.instance, window_value, caps if run.method == "epoch" else None)
    out = BACKENDS[run.solver].run(indexed, run.params, indexed.values_from_schedule(incumbent))
    schedule = indexed.schedule_from_values(out.values) if out.values is not None else None
    return _model_result(run, indexed, out, schedule, incumbent, bound)


def _model_result(run: _Run, model: RampModel | TimeIndexedModel, out: BackendOutcome,
                  schedule: Schedule | None, incumbent: Schedule, lb0: int) -> SolveResult:
    """The backend's schedule (validated) or the incumbent, whichever is better, with the
    larger of the backend's bound and ``lb0``; the status from those two numbers alone."""
    instance, solver = run.instance, run.solver
    bound = integer_bound(out.bound)
    bound = lb0 if bound is None else max(bound, lb0)
    best, objective, source = incumbent, run.value(incumbent), "incumbent"
    if schedule is not None:
        report = validate(instance, schedule)
        if not report.valid:
            raise InvalidSolverSchedule(
                f"{solver} returned a schedule that fails validation:\n{report.summary()}")
        if run.value(schedule) <= objective:  # a tie goes to the solver's schedule
            best, objective, source = schedule, run.value(schedule), "solver"
    raw_status = out.raw_status
    if out.proven_infeasible:
        # Every valid instance has a schedule (run requests one at a time) and we hold a
        # validated one, so the solver's infeasibility claim is wrong (seen with CBC when a time
        # limit interrupts its preprocessing): keep the schedule, ignore the claim.
        raw_status += " [claim refused: a validated schedule exists]"
    if bound > objective:
        raise InvalidSolverSchedule(f"{solver} bound {bound} exceeds a valid schedule's value "
                                    f"{objective}: the formulation or backend is wrong")
    run.params.report(f"{solver}, {run.method}", best=objective, bound=bound)
    return SolveResult(
        instance=instance, solver=solver, status=_status(objective, bound),
        objective=objective, bound=bound, schedule=best, raw_status=raw_status,
        runtime=time.perf_counter() - run.t0, solver_version=out.version,
        parameters=run.recorded, validation=validate(instance, best),
        model_size=model.size(), schedule_source=source)


def _status(objective: int | None, bound: int | None) -> Status:
    """Optimal when a proven bound meets a validated schedule's value, whatever label the
    solver (or its wrapper) attached; feasible with a schedule; unknown without."""
    if objective is None:
        return Status.UNKNOWN
    return Status.OPTIMAL if bound is not None and bound >= objective else Status.FEASIBLE


def _run_portfolio(run: _Run) -> SolveResult:
    """'portfolio': the ramp-cumulative and the time-indexed ("epoch") model, combined.

    They are strong at different things (docs/exact-performance.md): the cumulative model finds
    better schedules and proves many small instances by search, the time-indexed model has the
    better LP bound. Both results are validated; a bound of one above the other's validated
    value means a formulation is wrong and raises :class:`InvalidSolverSchedule`. Side by side
    (two threads or more), the first run to prove optimality stops the other; on one thread
    the cumulative model gets half of what is left of the deadline and 'epoch' the rest.
    """
    if run.use_incumbent and run.instance.n <= CAPS_MAX_REQUESTS:  # once for both models
        upper = run.value(best_incumbent(run.instance, run.initial_solution))
        run = replace(run, caps=_completion_caps(run.instance, upper))
    if run.params.threads >= 2:
        first, second = _portfolio_parallel(run)
    else:
        first = _dispatch(replace(run, method="cumulative", params=replace(
            run.params, deadline=_deadline(run.params).share(0.5))))
        second = first
        if first.status != Status.OPTIMAL and not stop_requested():
            later = run.initial_solution if first.schedule is None else first.schedule
            second = _dispatch(replace(run, method="epoch", initial_solution=later))
    return _combine(run, first, second)


def _deadline(params: SolveParameters) -> Deadline:
    assert params.deadline is not None  # SolveParameters sets one
    return params.deadline


def _portfolio_parallel(run: _Run) -> tuple[SolveResult, SolveResult]:
    """Both models side by side (CP-SAT releases the GIL while it solves), threads split."""
    from concurrent.futures import ThreadPoolExecutor

    group = StopGroup()
    threads = run.params.threads
    share = {"cumulative": threads // 2, "epoch": threads - threads // 2}

    def one(method: str) -> SolveResult:
        sub = replace(run.params, threads=share[method], stop_group=group)
        res = _dispatch(replace(run, method=method, params=sub))
        if res.status == Status.OPTIMAL:
            group.stop_all()
        return res

    with ThreadPoolExecutor(2) as pool:
        try:
            first, second = pool.map(one, ("cumulative", "epoch"))
        except BaseException:  # e.g. KeyboardInterrupt: do not wait for both time limits
            group.stop_all()
            raise
    return first, second


def _combine(run: _Run, first: SolveResult, second: SolveResult) -> SolveResult:
    """One result from the portfolio's two: the better schedule, the higher bound."""
    parts = (first, second)
    with_schedule = [r for r in parts if r.objective is not None]
    best = min(with_schedule, key=lambda r: cast(int, r.objective)) if with_schedule else first
    bound = max(r.bound for r in parts if r.bound is not None)
    if best.objective is not None and bound > best.objective:
        raise InvalidSolverSchedule(f"a proven bound {bound} exceeds a validated schedule's "
                                    f"value {best.objective}: the two models disagree")
    why = ("not run (stopped)" if first.status != Status.OPTIMAL else "not needed (the bound "
           "met the incumbent)" if first.solver == "none" else
           "not run (cumulative proved optimality)")
    raw = f"cumulative: {first.raw_status}; time-indexed: " + (
        second.raw_status if second is not first else why)
    ran = "cpsat" if "cpsat" in (first.solver, second.solver) else "none"
    return SolveResult(
        instance=run.instance, solver=ran, status=_status(best.objective, bound),
        objective=best.objective, bound=bound, schedule=best.schedule, raw_status=raw,
        runtime=time.perf_counter() - run.t0, solver_version=first.solver_version,
        parameters=run.recorded, validation=best.validation,
        model_size={f"cumulative_{k}": v for k, v in first.model_size.items()}
        | ({} if second is first
           else {f"time_indexed_{k}": v for k, v in second.model_size.items()}),
        schedule_source=best.schedule_source)


#: Up to this many requests the incumbent search also tries MC-SF with start spacing
#: (optsched.exact.heuristics; about 0.5 s at 50 requests, 1-3% better than MC-SF there).
SPACED_MAX_REQUESTS = 300


def _completion_caps(instance: Instance, upper: int | None) -> np.ndarray | None:
    """Completion caps for schedules of value <= ``upper`` (None above
    :data:`CAPS_MAX_REQUESTS` requests or without an incumbent)."""
    if upper is None or instance.n > CAPS_MAX_REQUESTS:
        return None
    return completion_caps(instance, upper)


def best_incumbent(instance: Instance, initial_solution: Schedule | None = None,
                   deadline: Deadline | None = None) -> Schedule:
    """The best valid schedule among ``initial_solution``, MC-SF (with start spacing up to
    :data:`SPACED_MAX_REQUESTS` requests) and earliest-fit (never None: earliest-fit always
    succeeds). With ``deadline`` (the solve's; also a stop request) the spacing grid and
    earliest-fit stop early and return what they have (still valid)."""
    from optsched.exact.heuristics import best_spaced_schedule
    from optsched.policies import mcsf_fast  # same schedule as mcsf_reference (tested), faster

    outputs = _outputs(instance)
    cands = [c for c in (initial_solution, mcsf_fast(instance),
                         earliest_fit_schedule(instance, deadline=deadline)) if c is not None]
    if instance.n <= SPACED_MAX_REQUESTS:
        cands.append(best_spaced_schedule(instance, deadline=deadline)[0])
    valid = [c for c in cands if validate(instance, c).valid]
    return min(valid, key=lambda c: c.objective(outputs))


def _ortools_version() -> str:
    import ortools

    return f"ortools {ortools.__version__}"  # type: ignore[attr-defined]


def _solve_lns(run: _Run, incumbent: Schedule, bound: int) -> SolveResult:
    """The "lns" path: improve the incumbent by large-neighbourhood search for the rest of the
    deadline (or its default iteration count without one), stopping early if it meets the
    combinatorial bound or on a stop request."""
    from optsched.exact.lns import improve_schedule

    params = run.params
    out = improve_schedule(run.instance, incumbent, seed=params.seed, workers=params.threads,
                           target=bound, deadline=params.deadline, progress=params.progress)
    raw = (f"LNS: {out.iterations} sub-solves, {out.improvements} improvements, "
           f"{out.initial_value} -> {out.value} (no proof; bound from optsched.exact.bounds)")
    return run.result(out.schedule, bound, raw, solver="cpsat", version=_ortools_version(),
                      source="solver" if out.value < out.initial_value else "incumbent")


def _solve_bnb(run: _Run, incumbent: Schedule, bound: int) -> SolveResult:
    """The "bnb" path: the branch-and-bound of :mod:`optsched.exact.branch_bound` from the
    incumbent and the combinatorial bound, for the rest of the deadline. From 9 requests on
    a short first search (a tenth of the time) returns at once if it completes; otherwise LNS
    improves the incumbent for a quarter of the time and the search starts again from it,
    keeping the first search's proven bound."""
    from optsched.exact.branch_bound import (
        BNB_LNS_SHARE,
        BNB_PROBE_SHARE,
        STRONG_DEPTH,
        BnbOutcome,
        branch_and_bound,
    )
    from optsched.exact.lns import DEFAULT_SIZES, improve_schedule

    params, clock = run.params, _deadline(run.params)

    def search(start: Schedule, lower: int, deadline: Deadline) -> BnbOutcome:
        return branch_and_bound(run.instance, start, lower=lower, deadline=deadline,
                                strong_depth=STRONG_DEPTH, effort=params.bound_effort)

    # Up to the smallest neighbourhood, "LNS" would re-solve the whole instance with CP-SAT
    # again and again: the search alone handles those sizes.
    use_lns = run.instance.n > min(DEFAULT_SIZES)
    first = search(incumbent, bound, clock.share(BNB_PROBE_SHARE) if use_lns else clock)
    raw, out = first.summary(), first
    if use_lns and not first.complete and not clock.expired():
        timed = clock.remaining() is not None
        lns = improve_schedule(run.instance, first.schedule, seed=params.seed,
                               workers=params.threads, target=first.bound,
                               deadline=clock.share(BNB_LNS_SHARE),
                               iterations=None if timed else 50, progress=params.progress)
        out = search(lns.schedule, first.bound, clock)
        raw = (f"first search: {first.summary()}; LNS {lns.initial_value} -> {lns.value} "
               f"({lns.iterations} sub-solves); second {out.summary()}")
    source = "solver" if out.value < run.value(incumbent) else "incumbent"
    return run.result(out.schedule, out.bound, raw, solver="cpsat", version=_ortools_version(),
                      source=source)


def _heuristic_result(instance: Instance, parameters: dict, incumbent: Schedule,
                      value: int, bound: int, t0: float, raw_status: str, *,
                      solver: str = "none", version: str | None = None,
                      source: str = "incumbent") -> SolveResult:
    """The paths without an exact model ("heuristic", "lns"): optimal only if the lower bound
    meets the schedule's value."""
    from optsched.version import __version__

    if bound > value:
        raise InvalidSolverSchedule(f"lower bound {bound} exceeds a valid schedule's value "
                                    f"{value}: a bound in optsched.exact.bounds is wrong")
    return SolveResult(
        instance=instance, solver=solver, status=Status.OPTIMAL if bound == value
        else Status.FEASIBLE, objective=value, bound=bound, schedule=incumbent,
        raw_status=raw_status, runtime=time.perf_counter() - t0,
        solver_version=version or f"optsched {__version__}", parameters=parameters,
        validation=validate(instance, incumbent), schedule_source=source)


def _outputs(instance: Instance) -> dict[str, int]:
    return {r.id: r.output_tokens for r in instance.requests}


def _solve_bruteforce(instance: Instance, params: SolveParameters,
                      initial_solution: Schedule | None = None) -> SolveResult:
    if instance.n > BRUTEFORCE_MAX_REQUESTS:
        raise SolverError(f"the brute-force oracle is for tiny instances (at most "
                          f"{BRUTEFORCE_MAX_REQUESTS} requests); this one has {instance.n}")
    t0 = time.perf_counter()
    schedule, value, completed, nodes = brute_force(instance, params.time_limit,
                                                    initial_solution)
    report = validate(instance, schedule)
    if not report.valid:
        raise InvalidSolverSchedule(f"bruteforce schedule fails validation:\n{report.summary()}")
    status = Status.OPTIMAL if completed else Status.FEASIBLE
    from optsched.version import __version__

    return SolveResult(
        instance=instance, solver="bruteforce", status=status, objective=value,
        bound=value if completed else trivial_lower_bound(instance), schedule=schedule,
        raw_status=("search complete" if completed else "time limit") + f" ({nodes} nodes)",
        runtime=time.perf_counter() - t0, solver_version=f"optsched {__version__}",
        parameters=params.to_dict(), validation=report, schedule_source="solver")


#: The solve methods by name: each builds one model (or none) and runs one strategy. The
#: names are the ones of ``solve --method`` and, prefixed by the solver, of ``bench exact``
#: (docs/choose-an-exact-method.md).
METHOD_REGISTRY: dict[str, Method] = {m.name: m for m in (
    Method("time-indexed", "time-indexed", METHOD_SUMMARIES["time-indexed"], _run_time_indexed),
    Method("epoch", "time-indexed", METHOD_SUMMARIES["epoch"], _run_epoch),
    Method("cumulative", "cumulative", METHOD_SUMMARIES["cumulative"], _run_cumulative, True),
    Method("portfolio", "both", METHOD_SUMMARIES["portfolio"], _run_portfolio, True),
    Method("lns", "none", METHOD_SUMMARIES["lns"], _run_lns, True),
    Method("heuristic", "none", METHOD_SUMMARIES["heuristic"], _run_heuristic),
    Method("layered", "cumulative", METHOD_SUMMARIES["layered"], _run_layered, True),
    Method("bnb", "none", METHOD_SUMMARIES["bnb"], _run_bnb, True),
)}
