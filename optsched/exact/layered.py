"""CP-SAT as a bound prover (issue 17, design 3): the layered model, an objective cut, LNS
hints and CP-SAT's bound-oriented workers.

The *layered decomposition* of a request started at p (prompt s, output o): one rectangle of
height s over rounds p+1..p+o (the prompt, held for the whole run) and o unit rectangles, the
j-th over rounds p+j..p+o (length o-j+1), all ending at the completion c = p+o. At age g the
request holds s + #{j <= g} = s + g tokens, exactly the model's memory (docs/model.md,
"Requests, rounds and memory"; :func:`layered_rectangles`, checked against the validator's
memory profile in tests/test_exact_layered.py). The ramp-cumulative model
(:mod:`optsched.exact.ramp`) already posts this decomposition, with the prompt rectangle and
the first unit layer merged into one rectangle of height s+1 (they cover the same rounds),
so the CP-SAT model here *is* that model (built by
:func:`~optsched.exact.ramp.build_ramp_model`, solved by
:func:`~optsched.exact.ramp.solve_ramp_cpsat`). What this design adds (models/layered.md):

1. the incumbent is first improved by LNS (:mod:`optsched.exact.lns`) for
   :data:`LNS_SHARE` of the time limit; its value shrinks the start windows and its starts
   (with the order of every lag pair) are a complete solution hint;
2. the combinatorial bound (:func:`optsched.exact.bounds.lower_bound`) is posted as an objective cut
   sum c >= LB, so every CP-SAT worker starts from it rather than from the weak LP bound;
3. CP-SAT's worker mix is a named :data:`PROFILES` entry: the default portfolio, or workers
   that only raise the bound (lower-bound tree search, objective shaving, max LP).

The reported bound is max(LB, CP-SAT's best bound) and "optimal" still needs it to meet a
validated schedule (:func:`optsched.exact.solve.solve` does that check).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from optsched.errors import SolverError
from optsched.exact.backends import BackendOutcome, SolveParameters
from optsched.exact.ramp import RampModel, build_ramp_model, solve_ramp_cpsat
from optsched.model.instance import Instance
from optsched.model.schedule import Schedule

#: Share of the time limit the LNS incumbent search gets before CP-SAT runs (0: no LNS).
LNS_SHARE = 0.25
#: Post the combinatorial bound as an objective cut (benchmarks/bench_layered_parts.py
#: switches it off to measure what it does).
USE_OBJECTIVE_CUT = True
#: LNS sub-solves per request without a time limit, at most :data:`LNS_MAX_ITERATIONS`
#: (deterministic: the same schedule every run).
LNS_ITERATIONS_PER_REQUEST = 5
LNS_MAX_ITERATIONS = 100

#: CP-SAT worker mixes: (subsolvers for >= 2 workers, one-worker parameter or None).
PROFILES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "default": ((), None),
    "lbtree": (("lb_tree_search", "default_lp"), "optimize_with_lb_tree_search"),
    "shaving": (("objective_shaving", "default_lp"), "use_objective_shaving_search"),
    "bound": (("lb_tree_search", "objective_shaving", "max_lp"), "optimize_with_lb_tree_search"),
}
DEFAULT_PROFILE = "default"


def check_profile(profile: str) -> None:
    """Refuse an unknown CP-SAT profile with a message naming the choices."""
    if profile not in PROFILES:
        raise SolverError(f"unknown CP-SAT profile {profile!r}; choose one of "
                          f"{', '.join(PROFILES)}")


def layered_rectangles(prompt: int, output: int) -> list[tuple[int, int, int]]:
    """The layered decomposition as (first round after the start, length, height): the
    prompt rectangle (omitted when ``prompt`` is 0) and the ``output`` unit layers."""
    rects = [(1, output, prompt)] if prompt > 0 else []
    return rects + [(j, output - j + 1, 1) for j in range(1, output + 1)]


def configure(profile: str, threads: int) -> Callable[[Any], None] | None:
    """A function that sets ``profile``'s workers on CP-SAT parameters (None for default)."""
    check_profile(profile)
    subsolvers, single = PROFILES[profile]
    if not subsolvers:
        return None

    def apply(prm: Any) -> None:  # prm: a fresh solver's parameters (empty subsolver list)
        if threads >= 2:
            for name in subsolvers:
                prm.subsolvers.append(name)
        elif single is not None:
            setattr(prm, single, True)
    return apply


def run_layered(instance: Instance, params: SolveParameters, incumbent: Schedule,
                lower: int, profile: str = DEFAULT_PROFILE, *, use_incumbent: bool = True
                ) -> tuple[RampModel | None, BackendOutcome | None, Schedule, str]:
    """LNS from ``incumbent``, then the layered CP-SAT model with the cut objective >=
    ``lower``. Returns the model and CP-SAT outcome (both None when LNS reached ``lower``: the
    schedule is then proven optimal by the bound alone), the improved incumbent and a note.

    Both stages work against ``params.deadline``: LNS gets :data:`LNS_SHARE` of what is left,
    CP-SAT the rest. With ``use_incumbent=False`` the LNS schedule is still the hint, but it no
    longer shrinks the start windows (as for the other model methods)."""
    from optsched.exact.lns import improve_schedule

    if getattr(instance, "memory_convention", "spec") != "spec":
        raise SolverError("method 'layered' supports only the model's own memory convention "
                          f"('spec', docs/model.md), not {instance.memory_convention!r}")
    check_profile(profile)
    assert params.deadline is not None  # SolveParameters sets one
    timed = params.deadline.remaining() is not None
    iterations = None if timed else min(LNS_MAX_ITERATIONS,
                                        LNS_ITERATIONS_PER_REQUEST * instance.n)
    lns_clock = params.deadline.share(LNS_SHARE)
    if LNS_SHARE <= 0:
        iterations = 0
    lns = improve_schedule(instance, incumbent, iterations=iterations, seed=params.seed,
                           workers=params.threads, target=lower, deadline=lns_clock,
                           progress=params.progress)
    note = f"LNS {lns.initial_value} -> {lns.value} ({lns.iterations} sub-solves)"
    if lns.value <= lower:
        return None, None, lns.schedule, note + "; meets the bound, CP-SAT not run"
    model = build_ramp_model(instance, lns.value if use_incumbent else None)
    out = solve_ramp_cpsat(model, params, lns.schedule,
                           objective_cut=lower if USE_OBJECTIVE_CUT else None,
                           configure=configure(profile, params.threads))
    return model, out, lns.schedule, note + f"; CP-SAT profile {profile}: {out.raw_status}"
