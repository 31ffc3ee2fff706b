"""Memory conventions: the one place that says what a started request holds and when it ends.

The model (docs/model.md) fixes one convention; the published experiments may have used
another (issue 18), so the convention is a declared option of an instance
(``Instance.memory_convention``). Every convention here has the same shape as the one of
docs/model.md with shifted numbers: a request with prompt s and output o started at p holds

    held_prompt(s) + (t - p) tokens at t = p + 1 .. p + held_rounds(o)   and completes at
    p + held_rounds(o),

with ``held_prompt(s) = s + prompt_shift`` and ``held_rounds(o) = o + extra_rounds``:

* ``spec`` (docs/model.md): s + (t - p) at t = p+1..p+o; c = p + o.
* ``prefill``: the start round p+1 holds the prompt alone (s tokens), token j is produced in
  round p+1+j holding s + j (j = 1..o); c = p + o + 1. So s - 1 + (t - p) at t = p+1..p+o+1.
* ``last-token-free``: producing token j holds s + j - 1 (the token being produced is not yet
  cached); c = p + o. So s - 1 + (t - p) at t = p+1..p+o.

Hence an instance under any convention is *the same problem* as the default-convention instance
with prompts ``held_prompt(s)`` and outputs ``held_rounds(o)`` (same feasible start times, same
completion times, so the same objective): :func:`optsched.model.instance.spec_equivalent` builds
it, and every solver, bound and policy that is written for the default convention runs on it
unchanged. The validator does not use that instance; it reads the two numbers per request from
:data:`CONVENTIONS` directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from optsched.errors import InstanceError, SolverError

SPEC = "spec"


@dataclass(frozen=True)
class Convention:
    """How a convention shifts the held prompt and number of held rounds of docs/model.md."""

    prompt_shift: int
    extra_rounds: int
    summary: str


#: The conventions (name -> shifts); "spec" is the one of docs/model.md and the default.
CONVENTIONS: dict[str, Convention] = {
    SPEC: Convention(0, 0, "docs/model.md: s + (t − p) at t = p+1..p+o; completes at p + o"),
    "prefill": Convention(-1, 1, "prompt alone in the start round, token j one round later "
                                 "holding s + j; s − 1 + (t − p) at t = p+1..p+o+1; completes "
                                 "at p + o + 1"),
    "last-token-free": Convention(-1, 0, "the token being produced is not held: s + j − 1 "
                                         "while producing token j; completes at p + o"),
}


def convention_of(instance: object) -> str:
    """The instance's convention ("spec" for objects that predate the field)."""
    return getattr(instance, "memory_convention", SPEC)


def check_convention(name: object, where: str = "memory_convention") -> Convention:
    """The convention called ``name``, or a clear error naming the field and the choices."""
    if not isinstance(name, str) or name not in CONVENTIONS:
        raise InstanceError(f"{where}: must be one of {', '.join(map(repr, CONVENTIONS))}, "
                            f"got {name!r}")
    return CONVENTIONS[name]


def held_prompt(prompt: int, convention: str) -> int:
    """The constant part of the memory a request holds: it holds held_prompt + (t − p) at t."""
    return prompt + CONVENTIONS[convention].prompt_shift


def held_rounds(output: int, convention: str) -> int:
    """Rounds a request holds memory for; it completes at start + held_rounds."""
    return output + CONVENTIONS[convention].extra_rounds


def peak_memory(prompt: int, output: int, convention: str) -> int:
    """Tokens held in the request's last round (must be <= M for the request to run)."""
    return held_prompt(prompt, convention) + held_rounds(output, convention)


def memory_at(prompt: int, output: int, start: int, t: int, convention: str) -> int:
    """Tokens a request started at ``start`` holds at time ``t`` (0 when not active)."""
    if start < t <= start + held_rounds(output, convention):
        return held_prompt(prompt, convention) + t - start
    return 0


def completion_time(start: int, output: int, convention: str) -> int:
    """When a request started at ``start`` completes (and frees its memory after)."""
    return start + held_rounds(output, convention)


def require_spec(instance: object, what: str) -> None:
    """Refuse an instance under another convention in code that assumes the default one of
    docs/model.md (never a silently wrong answer)."""
    name = convention_of(instance)
    if name != SPEC:
        raise SolverError(f"{what} assumes the default memory convention ('spec', docs/model.md); "
                          "this instance declares "
                          f"memory_convention {name!r} (solve it through optsched.exact.solve, "
                          "which reduces it to an equivalent instance in the default convention)")
