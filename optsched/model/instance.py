"""Instances: requests with arrival, prompt size and output length, plus the memory limit M.

The JSON format is the public contract (field names must not change)::

    {"memory_limit": 5,
     "requests": [{"id": "r1", "arrival": 0, "prompt_tokens": 1, "output_tokens": 3}],
     "metadata": {...}}

Reading is strict: every problem is reported with the field and the request that caused it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from optsched.errors import InstanceError
from optsched.model.conventions import (
    CONVENTIONS,
    SPEC,
    check_convention,
    convention_of,
    held_prompt,
    held_rounds,
    peak_memory,
)
from optsched.model.io import atomic_write_text

#: Largest value accepted for any integer field. Beyond it the time-indexed horizon and
#: memory sums stop being meaningful for the solvers (and int64 arithmetic could overflow).
MAX_VALUE = 10**9
#: Largest horizon max(a) + sum of held rounds accepted. A schedule that runs the requests one
#: after another ends there, and the validator (optsched.model.validate.MAX_DENSE_SPAN, kept
#: equal by a test) checks schedules up to this many rounds: above it the heuristics would
#: produce schedules nothing can check, so such instances are refused when they are read.
MAX_HORIZON = 200_000_000

_REQUEST_FIELDS = {"id", "arrival", "prompt_tokens", "output_tokens", "predicted_output_tokens",
                   "metadata"}
_TOP_FIELDS = {"memory_limit", "requests", "metadata", "name", "memory_convention"}


@dataclass(frozen=True)
class Request:
    """One inference request (docs/model.md): arrival a, prompt size s, output length o >= 1."""

    id: str
    arrival: int
    prompt_tokens: int
    output_tokens: int
    predicted_output_tokens: int | None = None
    metadata: Mapping[str, Any] | None = None

    @property
    def peak_memory(self) -> int:
        """Tokens held in the request's last round: s + o."""
        return self.prompt_tokens + self.output_tokens

    def to_dict(self) -> dict[str, Any]:
        """The request as a JSON-ready dict in the public format."""
        d: dict[str, Any] = {
            "id": self.id,
            "arrival": self.arrival,
            "prompt_tokens": self.prompt_tokens,
            "output_tokens": self.output_tokens,
        }
        if self.predicted_output_tokens is not None:
            d["predicted_output_tokens"] = self.predicted_output_tokens
        if self.metadata:
            d["metadata"] = dict(self.metadata)
        return d


@dataclass(frozen=True)
class Instance:
    """A validated instance: the memory limit and a non-empty tuple of requests.

    Construct with :func:`make_instance`, :func:`instance_from_dict` or :func:`load_instance`;
    the constructor itself re-checks everything, so an invalid ``Instance`` cannot exist.
    """

    memory_limit: int
    requests: tuple[Request, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None
    #: optsched.model.conventions.CONVENTIONS: what a started request holds and when it completes
    #: ("spec" = docs/model.md; JSON field omitted then, so older files and hashes are unchanged)
    memory_convention: str = SPEC

    def __post_init__(self) -> None:
        _check_instance(self)

    # -- arrays used by solvers and policies (index i = position in ``requests``) --------
    @property
    def n(self) -> int:
        """Number of requests."""
        return len(self.requests)

    @cached_property
    def ids(self) -> list[str]:
        return [r.id for r in self.requests]

    @cached_property
    def arrival(self) -> np.ndarray:
        return np.array([r.arrival for r in self.requests], dtype=np.int64)

    @cached_property
    def prompt(self) -> np.ndarray:
        return np.array([r.prompt_tokens for r in self.requests], dtype=np.int64)

    @cached_property
    def output(self) -> np.ndarray:
        return np.array([r.output_tokens for r in self.requests], dtype=np.int64)

    @cached_property
    def predicted(self) -> np.ndarray:
        """Predicted output lengths; the true length where no prediction is given."""
        return np.array(
            [r.output_tokens if r.predicted_output_tokens is None else r.predicted_output_tokens
             for r in self.requests], dtype=np.int64)

    @cached_property
    def index(self) -> dict[str, int]:
        """Map from request id to position."""
        return {r.id: i for i, r in enumerate(self.requests)}

    @property
    def horizon(self) -> int:
        """T = max a_i + sum of held rounds (o_i under docs/model.md): a safe horizon for an optimal
        schedule (see models/)."""
        extra = CONVENTIONS[self.memory_convention].extra_rounds
        return int(self.arrival.max() + self.output.sum()) + extra * self.n

    @property
    def total_arrival(self) -> int:
        return int(self.arrival.sum())

    def to_dict(self) -> dict[str, Any]:
        """The instance in the public JSON format."""
        d: dict[str, Any] = {"memory_limit": self.memory_limit}
        if self.name is not None:
            d["name"] = self.name
        d["requests"] = [r.to_dict() for r in self.requests]
        if self.metadata:
            d["metadata"] = dict(self.metadata)
        if self.memory_convention != SPEC:
            d["memory_convention"] = self.memory_convention
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1) + "\n"

    def content_hash(self) -> str:
        """sha256 of the scheduling content (M, the requests' a, s, o, ids and a non-SPEC memory
        convention), not metadata."""
        core: dict[str, Any] = {"memory_limit": self.memory_limit,
                                "requests": [[r.id, r.arrival, r.prompt_tokens, r.output_tokens]
                                             for r in self.requests]}
        if self.memory_convention != SPEC:  # a different problem; SPEC hashes are unchanged
            core["memory_convention"] = self.memory_convention
        blob = json.dumps(core, sort_keys=True, separators=(",", ":")).encode()
        return "sha256:" + hashlib.sha256(blob).hexdigest()

    def with_requests(self, requests: Iterable[Request], memory_limit: int | None = None,
                      metadata: Mapping[str, Any] | None = None) -> Instance:
        """A copy with other requests (and optionally another M or metadata); same convention."""
        return Instance(self.memory_limit if memory_limit is None else memory_limit,
                        tuple(requests), dict(self.metadata if metadata is None else metadata),
                        self.name, self.memory_convention)

    def with_convention(self, memory_convention: str) -> Instance:
        """The same requests under another memory convention (optsched.model.conventions)."""
        return Instance(self.memory_limit, self.requests, dict(self.metadata), self.name,
                        memory_convention)


def spec_equivalent(instance: Instance) -> Instance:
    """The default-convention instance (docs/model.md) with the same feasible schedules and
    objective (module doc); the instance itself when it already uses the one of docs/model.md.
    Request ids are kept, so a schedule of one is a schedule of the other; predictions are
    shifted like the true lengths."""
    name = convention_of(instance)
    if name == SPEC:
        return instance
    conv = CONVENTIONS[name]
    reqs = []
    for r in instance.requests:
        pred = r.predicted_output_tokens
        reqs.append(type(r)(r.id, r.arrival, held_prompt(r.prompt_tokens, name),
                            held_rounds(r.output_tokens, name), None if pred is None
                            else pred + conv.extra_rounds, r.metadata))
    meta = dict(instance.metadata) | {"spec_equivalent_of": name}
    return type(instance)(instance.memory_limit, tuple(reqs), meta, instance.name)


def planned_lengths_under(instance: Instance, lengths: list[int] | None) -> list[int] | None:
    """Planned output lengths of a policy translated to held rounds (None stays None)."""
    if lengths is None:
        return None
    return [held_rounds(int(x), convention_of(instance)) for x in lengths]


def make_instance(memory_limit: int, outputs: Iterable[int], prompts: Iterable[int] | int = 0,
                  arrivals: Iterable[int] | int = 0, *, ids: Iterable[str] | None = None,
                  predicted: Iterable[int] | None = None,
                  metadata: Mapping[str, Any] | None = None, name: str | None = None,
                  memory_convention: str = "spec") -> Instance:
    """Build an instance from plain lists (ids default to ``r0, r1, ...``)."""
    outs = [int(x) for x in outputs]
    n = len(outs)
    prs = _broadcast(prompts, n)
    arr = _broadcast(arrivals, n)
    ids_ = [f"r{i}" for i in range(n)] if ids is None else [str(x) for x in ids]
    pred = [None] * n if predicted is None else [int(x) for x in predicted]
    if not (len(prs) == len(arr) == len(ids_) == len(pred) == n):
        raise InstanceError("outputs, prompts, arrivals, ids and predictions need equal lengths")
    reqs = tuple(Request(i, a, s, o, p) for i, a, s, o, p in zip(ids_, arr, prs, outs, pred,
                                                                    strict=True))
    return Instance(int(memory_limit), reqs, dict(metadata or {}), name, memory_convention)


def _broadcast(values: Iterable[int] | int, n: int) -> list[int]:
    if isinstance(values, int | np.integer):
        return [int(values)] * n
    return [int(x) for x in values]


def _is_int(v: Any) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


def _check_int(value: Any, where: str, minimum: int) -> int:
    if not _is_int(value):
        raise InstanceError(f"{where}: must be an integer, got {json.dumps(value, default=str)}")
    if value < minimum:
        raise InstanceError(f"{where}: must be >= {minimum}, got {value}")
    if value > MAX_VALUE:
        raise InstanceError(f"{where}: {value} is too large to schedule (limit {MAX_VALUE})")
    return int(value)


def _check_instance(inst: Instance) -> None:
    _check_int(inst.memory_limit, "memory_limit", 1)
    if not isinstance(inst.requests, tuple) or not inst.requests:
        raise InstanceError("requests: the instance must contain at least one request")
    seen: set[str] = set()
    for k, r in enumerate(inst.requests):
        _check_request(inst, k, r, seen)
    _check_horizon(inst)


def _label(k: int, rid: Any) -> str:
    return f"request #{k}" + (f" (id {rid!r})" if isinstance(rid, str) else "")


def _check_request(inst: Instance, k: int, r: Request, seen: set[str]) -> None:
    """One request's fields, its id's uniqueness and whether it can run at all."""
    conv = inst.memory_convention
    shift = check_convention(conv).prompt_shift
    label = _label(k, r.id)
    if not isinstance(r.id, str) or not r.id:
        raise InstanceError(f"request #{k}: field 'id' must be a non-empty string")
    if r.id in seen:
        raise InstanceError(f"{label}: duplicate id {r.id!r}")
    seen.add(r.id)
    _check_int(r.arrival, f"{label}: field 'arrival'", 0)
    # a convention that holds one token less than the prompt needs a prompt of >= 1 token
    _check_int(r.prompt_tokens, f"{label}: field 'prompt_tokens'"
               + (f" (memory_convention {conv!r})" if shift else ""), -shift)
    _check_int(r.output_tokens, f"{label}: field 'output_tokens'", 1)
    if r.predicted_output_tokens is not None:
        _check_int(r.predicted_output_tokens, f"{label}: field 'predicted_output_tokens'", 1)
    peak = peak_memory(r.prompt_tokens, r.output_tokens, conv)
    if peak > inst.memory_limit:
        how = ("prompt_tokens + output_tokens" if conv == SPEC else
               f"its peak under memory_convention {conv!r}")
        raise InstanceError(
            f"{label}: can never run: {how} = "
            f"{r.prompt_tokens} + {r.output_tokens}"
            + ("" if peak == r.prompt_tokens + r.output_tokens else " - 1") +
            f" = {peak} exceeds memory_limit {inst.memory_limit}")


def _check_horizon(inst: Instance) -> None:
    """Refuse an instance whose one-after-another schedule would end past :data:`MAX_HORIZON`,
    naming the request that weighs most (the longest output, or the latest arrival when the
    arrivals alone are too far)."""
    reqs = inst.requests
    extra = CONVENTIONS[inst.memory_convention].extra_rounds
    held = sum(r.output_tokens for r in reqs) + extra * len(reqs)
    latest = max(range(len(reqs)), key=lambda k: reqs[k].arrival)
    horizon = reqs[latest].arrival + held
    if horizon <= MAX_HORIZON:
        return
    if reqs[latest].arrival > held:
        k, field_name = latest, "arrival"
    else:
        k, field_name = max(range(len(reqs)), key=lambda j: reqs[j].output_tokens), "output_tokens"
    value = getattr(reqs[k], field_name)
    raise InstanceError(
        f"{_label(k, reqs[k].id)}: field {field_name!r} = {value} is too large to schedule: "
        f"max(arrival) + sum(output_tokens) = {horizon} rounds, more than the {MAX_HORIZON} "
        "rounds a schedule may span to be checked by the validator")


def instance_from_dict(data: Any) -> Instance:
    """Validate a parsed JSON object and build the :class:`Instance` (strict, see module doc)."""
    if not isinstance(data, dict):
        raise InstanceError("instance: the top level must be a JSON object with 'memory_limit' "
                            "and 'requests'")
    extra = set(data) - _TOP_FIELDS
    if extra:
        raise InstanceError(f"instance: unknown field(s) {sorted(extra)}; allowed: "
                            f"{sorted(_TOP_FIELDS)}")
    if "memory_limit" not in data:
        raise InstanceError("instance: missing field 'memory_limit'")
    _check_int(data["memory_limit"], "memory_limit", 1)
    if "requests" not in data:
        raise InstanceError("instance: missing field 'requests'")
    raw = data["requests"]
    if not isinstance(raw, list):
        raise InstanceError("requests: must be a list of request objects")
    if not raw:
        raise InstanceError("requests: the instance must contain at least one request")
    meta = data.get("metadata", {})
    if not isinstance(meta, dict):
        raise InstanceError("metadata: must be a JSON object")
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise InstanceError("name: must be a string")
    reqs = [_request_from_dict(k, item) for k, item in enumerate(raw)]
    conv = data.get("memory_convention", SPEC)
    check_convention(conv)
    return Instance(data["memory_limit"], tuple(reqs), meta, name, conv)


def _request_from_dict(k: int, item: Any) -> Request:
    """One request object of the JSON file, checked field by field."""
    if not isinstance(item, dict):
        raise InstanceError(f"request #{k}: must be a JSON object")
    rid = item.get("id")
    label = _label(k, rid)
    extra = set(item) - _REQUEST_FIELDS
    if extra:
        raise InstanceError(f"{label}: unknown field(s) {sorted(extra)}; allowed: "
                            f"{sorted(_REQUEST_FIELDS)}")
    for key in ("id", "prompt_tokens", "output_tokens"):
        if key not in item:
            raise InstanceError(f"{label}: missing field {key!r}")
    if not isinstance(rid, str) or not rid:
        raise InstanceError(f"request #{k}: field 'id' must be a non-empty string, got "
                            f"{json.dumps(rid)}")
    rmeta = item.get("metadata")
    if rmeta is not None and not isinstance(rmeta, dict):
        raise InstanceError(f"{label}: field 'metadata' must be a JSON object")
    pred = item.get("predicted_output_tokens")
    return Request(
        id=rid,
        arrival=_check_int(item.get("arrival", 0), f"{label}: field 'arrival'", 0),
        prompt_tokens=_check_int(item["prompt_tokens"], f"{label}: field 'prompt_tokens'", 0),
        output_tokens=_check_int(item["output_tokens"], f"{label}: field 'output_tokens'", 1),
        predicted_output_tokens=(
            None if pred is None else
            _check_int(pred, f"{label}: field 'predicted_output_tokens'", 1)),
        metadata=rmeta,
    )


def read_json_file(path: str | Path, what: str) -> Any:
    """Read a JSON file, turning a missing file or malformed JSON into a clear error."""
    p = Path(path)
    from optsched.errors import OptschedError

    if not p.exists():
        raise OptschedError(f"{what} file not found: {p}")
    if p.is_dir():
        raise OptschedError(f"{what} path is a directory, not a file: {p}")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OptschedError(f"{what} file {p} cannot be read: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise OptschedError(f"{what} file {p} is not valid JSON: {exc.msg} at line {exc.lineno} "
                            f"column {exc.colno}") from None


def load_instance(path: str | Path) -> Instance:
    """Read and validate an instance file; errors name the file, field and request."""
    data = read_json_file(path, "instance")
    try:
        return instance_from_dict(data)
    except InstanceError as exc:
        raise InstanceError(f"{path}: {exc}") from None


def save_instance(instance: Instance, path: str | Path) -> None:
    """Write an instance atomically (a crash never leaves a half-written file)."""
    atomic_write_text(path, instance.to_json())
