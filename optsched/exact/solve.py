"""One entry point for exact solving: :func:`solve` (model -> backend -> validated result)."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, cast

import numpy as np

from optsched.control import Deadline
from optsched.errors import SolverError
from optsched.exact.backends import BACKENDS, SolveParameters, StopGroup
from optsched.exact.bounds import check_bound_effort, completion_caps, lower_bound
from optsched.exact.bruteforce import brute_force
from optsched.exact.formulation import TimeIndexedModel, build_model, trivial_lower_bound
from optsched.exact.incumbent import earliest_fit_schedule
from optsched.exact.ramp import RampModel, build_ramp_model, solve_ramp_cpsat
from optsched.exact.result import SolveResult, Status, integer_bound
from optsched.model.instance import Instance, spec_equivalent
from optsched.model.schedule import Schedule
from optsched.model.validate import validate

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


def solve(instance: Instance, solver: str = "cpsat", *, time_limit: float | None = None,
          threads: int = 1, seed: int = 0, initial_solution: Schedule | None = None,
          log: bool = False, use_incumbent: bool = True,
          method: str = DEFAULT_METHOD, bound_effort: str = "full",
          profile: str = "default") -> SolveResult:
    """Solve ``instance`` exactly with ``solver`` and return a validated :class:`SolveResult`.

    An incumbent warm-starts the backend and, with ``use_incumbent``, shrinks the start
    windows: with ``method="time-indexed"`` it is ``initial_solution`` if given and valid, else
    earliest-fit; with ``"epoch"`` (default) and ``"heuristic"`` it is the best valid one of
    ``initial_solution``, MC-SF and earliest-fit, and the lower bound of
    :mod:`optsched.exact.bounds` joins the proven bound (``"heuristic"`` runs no solver).
    ``status`` is ``optimal`` only when the proven bound (the backend's best bound rounded up,
    sum(a+o), or optsched.exact.bounds) equals the objective of a validated schedule; a solver's
    "optimal" label alone is never trusted. ``"cumulative"`` and ``"portfolio"`` (CP-SAT only) use
    the ramp-cumulative model of :mod:`optsched.exact.ramp`, alone or side by side with the
    time-indexed one. ``"lns"`` (CP-SAT only) improves the incumbent by large-neighbourhood search
    (:mod:`optsched.exact.lns`) and proves nothing beyond the combinatorial bound. The default,
    ``"auto"``, picks ``"portfolio"``, ``"epoch"`` or ``"lns"`` by instance size
    (:func:`choose_method`), as measured in docs/exact-performance.md; the result records the
    method that ran. ``bound_effort="fast"`` leaves the path and window bounds out of that
    combinatorial bound (:data:`optsched.exact.bounds.BOUND_EFFORTS`: seconds saved per solve at the
    papers' size, a weaker bound). ``profile`` picks CP-SAT's workers for ``"layered"``
    (:data:`optsched.exact.layered.PROFILES`).
    """
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
    params = SolveParameters(time_limit, threads, seed, log, bound_effort=bound_effort)
    if method == "auto":
        method = choose_method(instance, solver)
    equivalent = spec_equivalent(instance)
    result = _solve(equivalent, solver, params, initial_solution=initial_solution,
                    use_incumbent=use_incumbent, method=method, profile=profile)
    return result if equivalent is instance else _back_to_convention(instance, result)


def _back_to_convention(instance: Instance, result: SolveResult) -> SolveResult:
    """A result solved on :func:`optsched.model.instance.spec_equivalent` reported for the
    original instance: same starts and objective (the reduction keeps both), the schedule
    re-validated under the instance's own convention by the independent validator."""
    report = validate(instance, result.schedule) if result.schedule is not None else None
    if report is not None and (not report.valid or report.metrics is None or
                               report.metrics.total_completion_time != result.objective):
        raise InvalidSolverSchedule(
            f"a schedule solved on the SPEC-equivalent instance does not validate with value "
            f"{result.objective} under memory_convention {instance.memory_convention!r}:\n"
            + (report.summary() if not report.valid else "objective differs"))
    return replace(result, instance=instance, validation=report,
                   parameters={**result.parameters,
                               "memory_convention": instance.memory_convention})


def _solve(instance: Instance, solver: str, params: SolveParameters, *,
           initial_solution: Schedule | None, use_incumbent: bool, method: str,
           caps: np.ndarray | None = None, profile: str = "default") -> SolveResult:
    """:func:`solve` once its arguments are checked; ``caps`` as computed by
    :func:`_completion_caps` (the portfolio computes them once for both its models)."""
    recorded = {**params.to_dict(), "method": method}
    if method == "layered":
        recorded["profile"] = profile
    if solver == "bruteforce":
        return _solve_bruteforce(instance, params, initial_solution)
    if method in ("cumulative", "portfolio", "lns", "layered", "bnb") and solver != "cpsat":
        raise SolverError(f"method {method!r} runs on CP-SAT only, not on {solver!r}")
    if method == "portfolio":
        return _solve_portfolio(instance, params, initial_solution, use_incumbent)

    t0 = time.perf_counter()
    if method == "time-indexed":
        incumbent = None
        for cand in ([initial_solution] if initial_solution is not None else []) + [None]:
            sched = cand if cand is not None else earliest_fit_schedule(instance)
            if validate(instance, sched).valid:
                incumbent = sched
                break
    else:
        incumbent = best_incumbent(instance, initial_solution)
    incumbent_value = incumbent.objective(_outputs(instance)) if incumbent else None
    lb0 = trivial_lower_bound(instance)
    if method != "time-indexed":  # epoch and restriction bounds (models/epoch-bound.md)
        lb0 = max(lb0, lower_bound(instance, effort=params.bound_effort).value)
    if method == "heuristic":
        assert incumbent is not None and incumbent_value is not None  # best_incumbent gives one
        return _heuristic_result(instance, recorded, incumbent, incumbent_value, lb0, t0,
                                 "no solver run (heuristic incumbent + combinatorial bound)")
    if incumbent is not None and incumbent_value is not None and lb0 >= incumbent_value:
        # The proven bound already meets a validated schedule: nothing left for a solver.
        return _heuristic_result(instance, recorded, incumbent, incumbent_value, lb0, t0,
                                 "no solver run: the lower bound meets the incumbent")
    if method == "lns":
        assert incumbent is not None  # best_incumbent always gives one
        return _solve_lns(instance, params, recorded, incumbent, lb0, t0)
    if method == "bnb":
        assert incumbent is not None  # best_incumbent always gives one
        return _solve_bnb(instance, params, recorded, incumbent, lb0, t0)
    window_value = incumbent_value if use_incumbent else None
    if caps is None and method in ("epoch", "cumulative"):
        caps = _completion_caps(instance, window_value)
    model: RampModel | TimeIndexedModel
    if method == "layered":
        from optsched.exact.layered import run_layered

        left = None if params.time_limit is None else max(  # the bounds took time already
            params.time_limit - (time.perf_counter() - t0), 0.01)
        assert incumbent is not None and incumbent_value is not None  # best_incumbent gives one
        layered_model, out, improved, note = run_layered(
            instance, replace(params, time_limit=left), incumbent, lb0, profile)
        value = improved.objective(_outputs(instance))
        lns_source = "solver" if value < incumbent_value else "incumbent"
        incumbent, incumbent_value = improved, value
        if out is None or layered_model is None:
            return _heuristic_result(instance, recorded, incumbent, incumbent_value, lb0, t0,
                                     note, solver="cpsat", source=lns_source)
        model = layered_model
        out.raw_status = note
        schedule = out.schedule
    elif method == "cumulative":
        model = build_ramp_model(instance, window_value, caps=caps)
        out = solve_ramp_cpsat(model, params, incumbent)
        schedule = out.schedule
    else:
        indexed = build_model(instance, window_value, caps if method == "epoch" else None)
        hint = indexed.values_from_schedule(incumbent) if incumbent is not None else None
        out = BACKENDS[solver].run(indexed, params, hint)
        schedule = indexed.schedule_from_values(out.values) if out.values is not None else None
        model = indexed
    bound = integer_bound(out.bound)
    bound = lb0 if bound is None else max(bound, lb0)

    source: str | None = None
    if schedule is not None:
        report = validate(instance, schedule)
        if not report.valid:
            raise InvalidSolverSchedule(
                f"{solver} returned a schedule that fails validation:\n{report.summary()}")
        source = "solver"
    objective = schedule.objective(_outputs(instance)) if schedule else None
    if incumbent is not None and incumbent_value is not None and (
            objective is None or incumbent_value < objective):
        schedule, objective, source = incumbent, incumbent_value, "incumbent"

    raw_status = out.raw_status
    if out.proven_infeasible and objective is not None:
        # Every valid instance has a schedule (run requests one at a time) and we hold a
        # validated one, so the solver's infeasibility claim is wrong (seen with CBC when a time
        # limit interrupts its preprocessing): keep the schedule, ignore the claim.
        raw_status += " [claim refused: a validated schedule exists]"
    if out.proven_infeasible and objective is None:
        status = Status.INFEASIBLE
    elif objective is None:
        status = Status.UNKNOWN
    elif bound >= objective:
        # A proven lower bound meets a validated schedule's value: optimality is proven,
        # whatever label the solver (or its wrapper) attached.
        status = Status.OPTIMAL
    else:
        status = Status.FEASIBLE
    if objective is not None and bound > objective:
        raise InvalidSolverSchedule(f"{solver} bound {bound} exceeds a valid schedule's value "
                                    f"{objective}: the formulation or backend is wrong")
    return SolveResult(
        instance=instance, solver=solver, status=status, objective=objective, bound=bound,
        schedule=schedule, raw_status=raw_status, runtime=time.perf_counter() - t0,
        solver_version=out.version, parameters=recorded,
        validation=validate(instance, schedule) if schedule else None,
        model_size=model.size(), schedule_source=source)


def _solve_portfolio(instance: Instance, params: SolveParameters,
                     initial_solution: Schedule | None, use_incumbent: bool) -> SolveResult:
    """Run the ramp-cumulative and the time-indexed ("epoch") model and combine them.

    They are strong at different things (docs/exact-performance.md): the cumulative model finds
    better schedules and proves many small instances by search, the time-indexed model has the
    better LP bound. Both results are validated; a bound of one above the other's validated
    value means a formulation is wrong and raises :class:`InvalidSolverSchedule`. Side by side,
    the first run to prove optimality stops the other.
    """
    from concurrent.futures import ThreadPoolExecutor

    t0 = time.perf_counter()
    caps = None  # computed once here for both models (only when switched on)
    if use_incumbent and instance.n <= CAPS_MAX_REQUESTS:
        upper = best_incumbent(instance, initial_solution).objective(_outputs(instance))
        caps = _completion_caps(instance, upper)
    kw: dict[str, Any] = {"initial_solution": initial_solution, "use_incumbent": use_incumbent,
                          "caps": caps}
    if params.threads >= 2:  # CP-SAT releases the GIL while it solves: true parallelism
        group = StopGroup()
        share = {"cumulative": params.threads // 2, "epoch": params.threads - params.threads // 2}

        def run(method: str) -> SolveResult:
            sub = replace(params, threads=share[method], stop_group=group)
            res = _solve(instance, "cpsat", sub, method=method, **kw)
            if res.status == Status.OPTIMAL:
                group.stop_all()
            return res

        with ThreadPoolExecutor(2) as pool:
            first, second = pool.map(run, ("cumulative", "epoch"))
    else:
        half = replace(params, time_limit=None if params.time_limit is None
                       else params.time_limit / 2)
        first = _solve(instance, "cpsat", half, method="cumulative", **kw)
        if first.status != Status.OPTIMAL:
            kw["initial_solution"] = first.schedule
        second = first if first.status == Status.OPTIMAL else _solve(
            instance, "cpsat", half, method="epoch", **kw)
    parts = (first, second)
    with_schedule = [r for r in parts if r.objective is not None]
    best = min(with_schedule, key=lambda r: cast(int, r.objective)) if with_schedule else first
    bound = max(r.bound for r in parts if r.bound is not None)
    if best.objective is not None and bound > best.objective:
        raise InvalidSolverSchedule(f"a proven bound {bound} exceeds a validated schedule's "
                                    f"value {best.objective}: the two models disagree")
    if best.objective is None:
        status = Status.INFEASIBLE if Status.INFEASIBLE in (first.status, second.status) \
            else Status.UNKNOWN
    else:
        status = Status.OPTIMAL if bound >= best.objective else Status.FEASIBLE
    raw = f"cumulative: {first.raw_status}; time-indexed: " + (
        "not run (cumulative proved optimality)" if second is first else second.raw_status)
    return SolveResult(
        instance=instance, solver="cpsat", status=status, objective=best.objective,
        bound=bound, schedule=best.schedule, raw_status=raw,
        runtime=time.perf_counter() - t0, solver_version=first.solver_version,
        parameters={**params.to_dict(), "method": "portfolio"}, validation=best.validation,
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
    succeeds). With ``deadline`` the spacing grid and earliest-fit stop early and return
    what they have (still valid)."""
    from optsched.exact.heuristics import best_spaced_schedule
    from optsched.policies import mcsf_fast  # same schedule as mcsf_reference (tested), faster

    outputs = _outputs(instance)
    cands = [c for c in (initial_solution, mcsf_fast(instance),
                         earliest_fit_schedule(instance, deadline=deadline)) if c is not None]
    if instance.n <= SPACED_MAX_REQUESTS:
        cands.append(best_spaced_schedule(instance, deadline=deadline)[0])
    valid = [c for c in cands if validate(instance, c).valid]
    return min(valid, key=lambda c: c.objective(outputs))


def _solve_lns(instance: Instance, params: SolveParameters, recorded: dict,
               incumbent: Schedule, bound: int, t0: float) -> SolveResult:
    """The "lns" path: improve the incumbent by large-neighbourhood search for the rest of the
    time limit (or its default iteration count without one), stopping early if it meets the
    combinatorial bound."""
    import ortools

    from optsched.exact.lns import improve_schedule

    left = None if params.time_limit is None else max(
        params.time_limit - (time.perf_counter() - t0), 0.01)
    out = improve_schedule(instance, incumbent, time_limit=left, seed=params.seed,
                           workers=params.threads, target=bound)
    raw = (f"LNS: {out.iterations} sub-solves, {out.improvements} improvements, "
           f"{out.initial_value} -> {out.value} (no proof; bound from optsched.exact.bounds)")
    return _heuristic_result(instance, recorded, out.schedule, out.value, bound, t0, raw,
                             solver="cpsat",
                             version=f"ortools {ortools.__version__}",  # type: ignore[attr-defined]
                             source="solver" if out.value < out.initial_value else "incumbent")


def _solve_bnb(instance: Instance, params: SolveParameters, recorded: dict,
               incumbent: Schedule, bound: int, t0: float) -> SolveResult:
    """The "bnb" path: the branch-and-bound of :mod:`optsched.exact.branch_bound` from the
    incumbent and the combinatorial bound, for the rest of the time limit. From 9 requests on
    a short first search (a tenth of the time) returns at once if it completes; otherwise LNS
    improves the incumbent for a quarter of the time and the search starts again from it,
    keeping the first search's proven bound."""
    import ortools

    from optsched.exact.branch_bound import (
        BNB_LNS_SHARE,
        BNB_PROBE_SHARE,
        STRONG_DEPTH,
        BnbOutcome,
        branch_and_bound,
    )
    from optsched.exact.lns import DEFAULT_SIZES, improve_schedule

    def left() -> float | None:
        return None if params.time_limit is None else max(
            params.time_limit - (time.perf_counter() - t0), 0.01)

    def search(start: Schedule, lower: int, limit: float | None) -> BnbOutcome:
        return branch_and_bound(instance, start, lower=lower, time_limit=limit,
                                strong_depth=STRONG_DEPTH, effort=params.bound_effort)

    # Up to the smallest neighbourhood, "LNS" would re-solve the whole instance with CP-SAT
    # again and again: the search alone handles those sizes.
    use_lns = instance.n > min(DEFAULT_SIZES)
    probe = left()
    first = search(incumbent, bound, None if probe is None or not use_lns
                   else BNB_PROBE_SHARE * probe)
    raw = first.summary()
    out = first
    if use_lns and not first.complete:
        rest = left()
        lns = improve_schedule(instance, first.schedule, seed=params.seed,
                               workers=params.threads, target=first.bound,
                               time_limit=None if rest is None else BNB_LNS_SHARE * rest,
                               iterations=None if rest else 50)
        out = search(lns.schedule, first.bound, left())
        raw = (f"first search: {first.summary()}; LNS {lns.initial_value} -> {lns.value} "
               f"({lns.iterations} sub-solves); second {out.summary()}")
    source = "solver" if out.value < incumbent.objective(_outputs(instance)) else "incumbent"
    return _heuristic_result(instance, recorded, out.schedule, out.value, out.bound, t0, raw,
                             solver="cpsat",
                             version=f"ortools {ortools.__version__}",  # type: ignore[attr-defined]
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
