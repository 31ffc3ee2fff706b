"""Named, seeded instance families: the unit a dataset is built from.

A family is a generator with named parameters. Instance number ``index`` of a family with
dataset seed ``seed`` is drawn from ``numpy.random.default_rng([seed, index])``, so every
instance is reproducible on its own (no dependence on which other instances were built, or in
which order) and records ``metadata["family"] = {name, params, seed, index}``;
:func:`rebuild` regenerates it from that record.

Default parameters are deliberately small so that a default dataset certifies in seconds per
instance with the current exact solver. The papers' scale is one ``--param`` away (see
docs/datasets.md), e.g. ``jaillet-model1`` with ``n_min=40 n_max=60 m_min=30 m_max=50``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from optsched.data import generators, traces
from optsched.data.builtin import resolve_instance
from optsched.errors import OptschedError
from optsched.model.instance import Instance, load_instance, make_instance


class FamilyError(OptschedError, ValueError):
    """Unknown family, unknown parameter or a parameter value the family cannot use."""


@dataclass(frozen=True)
class Param:
    """One family parameter: its type, default and allowed values."""

    name: str
    kind: type
    default: Any
    help: str
    minimum: float | None = None
    choices: tuple[str, ...] | None = None

    def parse(self, value: Any, family: str) -> Any:
        """Convert (e.g. from a command-line string) and check one value."""
        where = f"family {family!r}: parameter {self.name!r}"
        try:
            if self.kind is int:
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
                v: Any = int(value) if not isinstance(value, str) else int(value.strip())
            elif self.kind is float:
                v = float(value)
                if not np.isfinite(v):
                    raise ValueError
            else:
                v = str(value)
        except (TypeError, ValueError):
            raise FamilyError(f"{where} must be {self.kind.__name__}, got {value!r}") from None
        if self.minimum is not None and v < self.minimum:
            raise FamilyError(f"{where} must be >= {self.minimum:g}, got {v}")
        if self.choices is not None and v not in self.choices:
            raise FamilyError(f"{where} must be one of {', '.join(self.choices)}, got {v!r}")
        return v


Builder = Callable[[dict[str, Any], np.random.Generator], Instance]


@dataclass(frozen=True)
class Family:
    """A named generator; ``check`` validates parameter combinations before any work starts."""

    name: str
    description: str
    params: tuple[Param, ...]
    builder: Builder
    check: Callable[[dict[str, Any]], None] | None = None
    tags: tuple[str, ...] = field(default=())

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def resolve(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults updated with ``overrides`` (strings are converted), fully checked."""
        known = {p.name: p for p in self.params}
        out = self.defaults()
        for key, value in (overrides or {}).items():
            if key not in known:
                raise FamilyError(f"family {self.name!r} has no parameter {key!r}; its "
                                  f"parameters: {', '.join(known)}")
            out[key] = known[key].parse(value, self.name)
        if self.check is not None:
            self.check(out)
        return out

    def instance(self, params: Mapping[str, Any], seed: int, index: int) -> Instance:
        """Instance number ``index`` for dataset seed ``seed`` (params must be resolved)."""
        rng = np.random.default_rng([int(seed), int(index)])
        inst = self.builder(dict(params), rng)
        meta = dict(inst.metadata)
        meta["family"] = {"name": self.name, "params": dict(params), "seed": int(seed),
                          "index": int(index)}
        return Instance(inst.memory_limit, inst.requests, meta,
                        f"{self.name}/seed{seed}/{index}")


def _ranges(p: dict[str, Any], family: str, *pairs: tuple[str, str]) -> None:
    for lo, hi in pairs:
        if p[lo] > p[hi]:
            raise FamilyError(f"family {family!r}: {lo} = {p[lo]} exceeds {hi} = {p[hi]}")


def _check_room(p: dict[str, Any], family: str, m_key: str, s_key: str) -> None:
    if p[m_key] - p[s_key] < 1:
        raise FamilyError(f"family {family!r}: {m_key} = {p[m_key]} leaves no room for an output "
                          f"token after a prompt of {s_key} = {p[s_key]} (need {m_key} > {s_key})")


# -- synthetic families ---------------------------------------------------------------------

_M_RANGE = (Param("m_min", int, 12, "smallest memory limit M", 1),
            Param("m_max", int, 20, "largest memory limit M", 1))
_S_RANGE = (Param("s_min", int, 1, "smallest prompt size", 0),
            Param("s_max", int, 5, "largest prompt size", 0))


def _model1(p: dict[str, Any], rng: np.random.Generator) -> Instance:
    return generators.jaillet_model1(rng, (p["n_min"], p["n_max"]), (p["m_min"], p["m_max"]),
                                     (p["s_min"], p["s_max"]))


def _check_model1(p: dict[str, Any]) -> None:
    _ranges(p, "jaillet-model1", ("n_min", "n_max"), ("m_min", "m_max"), ("s_min", "s_max"))
    _check_room(p, "jaillet-model1", "m_min", "s_max")


def _model2(p: dict[str, Any], rng: np.random.Generator) -> Instance:
    return generators.jaillet_model2(rng, (p["horizon_min"], p["horizon_max"]),
                                     (p["rate_min"], p["rate_max"]), (p["m_min"], p["m_max"]),
                                     (p["s_min"], p["s_max"]))


def _check_model2(p: dict[str, Any]) -> None:
    _ranges(p, "jaillet-model2", ("horizon_min", "horizon_max"), ("rate_min", "rate_max"),
            ("m_min", "m_max"), ("s_min", "s_max"))
    if p["rate_max"] <= 0:
        raise FamilyError("family 'jaillet-model2': rate_max must be > 0")
    _check_room(p, "jaillet-model2", "m_min", "s_max")


def _uniform(p: dict[str, Any], rng: np.random.Generator) -> Instance:
    return generators.uniform_instance(rng, p["n"], p["m"], p["max_prompt"], p["max_arrival"])


def _heavy(p: dict[str, Any], rng: np.random.Generator) -> Instance:
    """Output lengths o = min(M - s, ceil(o_min * (1 + Lomax(alpha)))): mostly short, a few
    long (Pareto tail with shape alpha, truncated so every request fits)."""
    n, m = p["n"], p["m"]
    s = rng.integers(p["s_min"], p["s_max"] + 1, size=n)
    raw = np.ceil(p["o_min"] * (1.0 + rng.pareto(p["alpha"], size=n))).astype(np.int64)
    o = np.minimum(raw, m - s)
    a = rng.integers(0, p["max_arrival"] + 1, size=n)
    return make_instance(m, o.tolist(), s.tolist(), a.tolist())


def _check_heavy(p: dict[str, Any]) -> None:
    _ranges(p, "heavy-tailed", ("s_min", "s_max"))
    _check_room(p, "heavy-tailed", "m", "s_max")


def _equal_prompt(p: dict[str, Any], rng: np.random.Generator) -> Instance:
    """Theorem 2's first hypothesis: all prompts equal (s), o ~ U{1..M - s}."""
    n, m, s = p["n"], p["m"], p["prompt"]
    o = rng.integers(1, m - s + 1, size=n)
    a = rng.integers(0, p["max_arrival"] + 1, size=n)
    return make_instance(m, o.tolist(), s, a.tolist())


def _monotone_prompt(p: dict[str, Any], rng: np.random.Generator) -> Instance:
    """Theorem 2's second hypothesis: s_i is a non-decreasing function of o_i. Draw
    o ~ U{1..M - s_max} and s ~ U{s_min..s_max}, then give the k-th shortest output the k-th
    smallest prompt (equal outputs share the smallest prompt of their group)."""
    n, m = p["n"], p["m"]
    o = rng.integers(1, m - p["s_max"] + 1, size=n)
    s_sorted = np.sort(rng.integers(p["s_min"], p["s_max"] + 1, size=n))
    order = np.argsort(o, kind="stable")
    s = np.empty(n, dtype=np.int64)
    for rank, i in enumerate(order):
        prev = order[rank - 1] if rank else None
        s[i] = s[prev] if prev is not None and o[prev] == o[i] else s_sorted[rank]
    a = rng.integers(0, p["max_arrival"] + 1, size=n)
    return make_instance(m, o.tolist(), s.tolist(), a.tolist())


def _check_monotone(p: dict[str, Any]) -> None:
    _ranges(p, "monotone-prompt", ("s_min", "s_max"))
    _check_room(p, "monotone-prompt", "m", "s_max")


_ARRIVAL0 = Param("max_arrival", int, 0, "arrivals ~ U{0..max_arrival} (0: all at time 0)", 0)

# -- trace families -------------------------------------------------------------------------


def _trace_params(token_scale: int, round_seconds: float, memory_tokens: int, arrival: str,
                  rate: float) -> tuple[Param, ...]:
    return (
        Param("n", int, 6, "requests per instance", 1),
        Param("trace", str, "", "original trace file to read (default: the shipped sample)"),
        Param("token_scale", int, token_scale, "tokens per memory unit", 1),
        Param("rounding", str, "ceil", "tokens -> units rounding", choices=traces.ROUNDING),
        Param("round_seconds", float, round_seconds, "seconds per round", 1e-9),
        Param("memory_tokens", int, memory_tokens, "KV budget in tokens (M = floor(./scale))",
              1),
        Param("arrival", str, arrival, "arrival process", choices=traces.ARRIVALS),
        Param("rate", float, rate, "Poisson rate, requests/second (arrival=poisson)", 1e-9),
    )


def _trace_family(sample: str) -> Builder:
    def build(p: dict[str, Any], rng: np.random.Generator) -> Instance:
        trace = traces.load_trace(p["trace"] or sample)
        s, o = traces.scaled_lengths(trace, p["token_scale"], p["rounding"])
        m = p["memory_tokens"] // p["token_scale"]
        eligible = (s + o) <= m
        pos = np.nonzero(eligible)[0]
        n = p["n"]
        if pos.size < n:
            raise FamilyError(f"trace {trace.file_name}: only {pos.size} rows fit in M = {m} "
                              f"units, {n} needed; raise memory_tokens or lower n")
        if trace.has_times and p["arrival"] == "trace":
            # A window of consecutive usable rows from a random start.
            start = int(pos[rng.integers(0, pos.size - n + 1)])
            rows = traces.window_rows(trace, start, n, eligible)
        else:
            rows = sorted(int(r) for r in rng.choice(pos, size=n, replace=False))
        skipped = int(rows[-1] - rows[0] + 1 - n) if p["arrival"] == "trace" else 0
        return traces.trace_instance(
            trace, rows, round_seconds=p["round_seconds"], token_scale=p["token_scale"],
            memory_tokens=p["memory_tokens"], rounding=p["rounding"], arrival=p["arrival"],
            rate=p["rate"], seed=int(rng.integers(0, 2**63 - 1)),
            extra_metadata={"trace_window": {"oversize_rows_skipped": skipped}})
    return build


def _check_trace(name: str, timestamps: bool) -> Callable[[dict[str, Any]], None]:
    def check(p: dict[str, Any]) -> None:
        if p["memory_tokens"] // p["token_scale"] < 1:
            raise FamilyError(f"family {name!r}: memory_tokens {p['memory_tokens']} is below one "
                              f"memory unit of token_scale {p['token_scale']} tokens")
        if p["arrival"] == "trace" and not timestamps and not p["trace"]:
            raise FamilyError(f"family {name!r}: the trace has no timestamps; use "
                              "arrival=poisson (with rate=...) or arrival=zero")
    return check


FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    """Add a family to the registry (names are unique)."""
    if family.name in FAMILIES:
        raise ValueError(f"family {family.name!r} is already registered")
    FAMILIES[family.name] = family
    return family


register(Family(
    "jaillet-model1", "2502.07115 Model 1: all a=0, M~U{m_min..m_max}, n~U{n_min..n_max}, "
    "s~U{s_min..s_max}, o~U{1..M-s} (paper: n 40..60, M 30..50, s 1..5)",
    (Param("n_min", int, 5, "fewest requests", 1), Param("n_max", int, 7, "most requests", 1),
     *_M_RANGE, *_S_RANGE), _model1, _check_model1, ("synthetic", "paper")))
register(Family(
    "jaillet-model2", "2502.07115 Model 2: H~U{horizon_min..horizon_max} rounds, Poisson(lambda)"
    " arrivals per round with lambda~U[rate_min, rate_max]; M, s, o as Model 1 (paper: H 40..60)",
    (Param("horizon_min", int, 4, "fewest arrival rounds", 1),
     Param("horizon_max", int, 8, "most arrival rounds", 1),
     Param("rate_min", float, 0.5, "lowest arrivals per round", 0.0),
     Param("rate_max", float, 1.5, "highest arrivals per round", 0.0),
     *_M_RANGE, *_S_RANGE), _model2, _check_model2, ("synthetic", "paper", "online")))
register(Family(
    "uniform", "n requests, s~U{0..max_prompt}, o~U{1..M-s}, a~U{0..max_arrival}",
    (Param("n", int, 6, "requests", 1), Param("m", int, 16, "memory limit M", 1),
     Param("max_prompt", int, 3, "largest prompt", 0), _ARRIVAL0), _uniform,
    lambda p: _check_room(p, "uniform", "m", "max_prompt"), ("synthetic",)))
register(Family(
    "heavy-tailed", "o = min(M-s, ceil(o_min (1 + Lomax(alpha)))): Pareto-tailed outputs",
    (Param("n", int, 6, "requests", 1), Param("m", int, 24, "memory limit M", 1),
     *_S_RANGE[:1], Param("s_max", int, 4, "largest prompt size", 0),
     Param("o_min", int, 1, "Pareto scale (shortest typical output)", 1),
     Param("alpha", float, 1.2, "Pareto shape (smaller = heavier tail)", 1e-6), _ARRIVAL0),
    _heavy, _check_heavy, ("synthetic",)))
register(Family(
    "equal-prompt", "Theorem 2 hypothesis (a): all a=0, every prompt = prompt, o~U{1..M-prompt}",
    (Param("n", int, 6, "requests", 1), Param("m", int, 16, "memory limit M", 1),
     Param("prompt", int, 2, "the common prompt size", 0), _ARRIVAL0), _equal_prompt,
    lambda p: _check_room(p, "equal-prompt", "m", "prompt"), ("synthetic", "theorem2")))
register(Family(
    "monotone-prompt", "Theorem 2 hypothesis (b): all a=0, s non-decreasing in o",
    (Param("n", int, 6, "requests", 1), Param("m", int, 16, "memory limit M", 1),
     *_S_RANGE, _ARRIVAL0), _monotone_prompt, _check_monotone, ("synthetic", "theorem2")))

# Trace defaults: token_scale tokens per memory unit, so one round = token_scale decode steps;
# round_seconds ~ token_scale x 30 ms (a typical decode step); M = memory_tokens / token_scale.
for _name, _sample, _scale, _round, _mem, _arr, _rate, _ts in (
        ("azure-conv", "azure-conv", 64, 2.0, 4096, "trace", 5.0, True),
        ("azure-code", "azure-code", 32, 1.0, 8192, "trace", 2.5, True),
        ("mooncake-conv", "mooncake-conv", 512, 15.0, 32768, "trace", 3.5, True),
        ("sharegpt", "sharegpt", 64, 2.0, 4096, "poisson", 2.0, False),
        ("arxiv", "arxiv", 64, 2.0, 6144, "poisson", 1.0, False)):
    register(Family(
        _name, f"real trace {traces.SAMPLES[_sample].split('/')[-1]}: "
        + ("windows of consecutive requests with their arrival times" if _ts else
           "sampled lengths with a Poisson arrival process"),
        _trace_params(_scale, _round, _mem, _arr, _rate), _trace_family(_sample),
        _check_trace(_name, _ts), ("trace",)))


def get_family(name: str) -> Family:
    """Look a family up by name (clear error listing the known ones)."""
    if name not in FAMILIES:
        raise FamilyError(f"unknown family {name!r}; available: {', '.join(FAMILIES)}")
    return FAMILIES[name]


def parse_param_args(items: Iterable[str] | None) -> dict[str, str]:
    """``["n=8", "m=20"]`` -> ``{"n": "8", "m": "20"}`` (values converted later by the family)."""
    out: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise FamilyError(f"parameter {item!r} must look like NAME=VALUE")
        out[key.strip()] = value.strip()
    return out


def rebuild(metadata: Mapping[str, Any]) -> Instance:
    """Regenerate an instance from its ``metadata["family"]`` record."""
    rec = metadata.get("family")
    if not isinstance(rec, Mapping):
        raise FamilyError("metadata has no 'family' record")
    fam = get_family(rec["name"])
    return fam.instance(fam.resolve(rec["params"]), rec["seed"], rec["index"])


# -- family references: the one syntax that names a set of instances ------------------------

#: trace:SOURCE conversion choices (the same as benchmarks/bench_engine_azure.py)
TRACE_ROUND_SECONDS = 0.025
TRACE_MEMORY_TOKENS = 49_152

#: reference prefix -> its syntax, for help texts and for the error on an unknown prefix
FAMILY_PREFIXES: dict[str, str] = {
    "builtin": "builtin:NAME (an instance shipped with the package)",
    "jaillet1": "jaillet1:K (Model 1 of arXiv 2502.07115 at paper scale, seeds 0..K-1)",
    "jaillet2": "jaillet2:K (Model 2 of arXiv 2502.07115 at paper scale, seeds 0..K-1)",
    "uniform": "uniform:K[:N[:M]] (K small instances of N requests, default 8, memory M, "
               "default 16, arrivals 0..N, prompts 0..3)",
    "trace": "trace:SOURCE[:MEMORY_TOKENS] (every row of a timestamped trace, a shipped sample "
             "name such as azure-conv or a trace file, as one instance; one round = 0.025 s, one "
             f"memory unit = one token, M = MEMORY_TOKENS, default {TRACE_MEMORY_TOKENS})",
    "NAME": "NAME:K[:key=value,...] (instances 0..K-1 of a registered family, e.g. "
            "heavy-tailed:20:n=8,alpha=1.5; seed=S picks the dataset seed, default 0)",
}

#: the help text of every command that takes a family reference
FAMILY_HELP = ("an instance file, a directory of instance files, or a generated family: "
               + "; ".join(FAMILY_PREFIXES.values()))


def load_family(ref: str) -> list[tuple[str, Instance]]:
    """The (name, instance) pairs named by ``ref``: an instance file, a directory of them, or
    a prefixed reference (:data:`FAMILY_PREFIXES`). An existing path wins over a prefix."""
    path = Path(ref)
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise FamilyError(f"directory {path} holds no *.json instance files")
        return [(f.stem, load_instance(f)) for f in files]
    head, sep, arg = ref.partition(":")
    if not sep or path.exists() or head == "builtin":
        return [_single(ref)]
    if head in ("jaillet1", "jaillet2"):
        return _jaillet_family(ref, head, arg)
    if head == "uniform" and "=" not in arg:
        return _uniform_family(ref, arg)
    if head == "trace":
        return [_trace_instance(ref, arg)]
    if head in FAMILIES:
        return _registered_family(ref, FAMILIES[head], arg)
    syntaxes = ", ".join(text.split(" (")[0] for text in FAMILY_PREFIXES.values())
    raise FamilyError(f"{ref}: no such file, and {head!r} is not a family prefix; use "
                      f"{syntaxes} with NAME one of {', '.join(FAMILIES)} (details: "
                      "optsched compare --help)")


def _single(ref: str) -> tuple[str, Instance]:
    """An instance file or builtin:NAME, named after the instance (else the file stem)."""
    inst = resolve_instance(ref)
    return inst.name or Path(ref).stem, inst


def _count(ref: str, text: str, syntax: str) -> int:
    """K of a reference: the number of instances, 1..100000."""
    try:
        k = int(text)
    except ValueError:
        raise FamilyError(f"{ref}: expected {syntax} with K a number of instances") from None
    if not 1 <= k <= 100_000:
        raise FamilyError(f"{ref}: K must be between 1 and 100000, got {k}")
    return k


def _jaillet_family(ref: str, head: str, arg: str) -> list[tuple[str, Instance]]:
    """jaillet1:K / jaillet2:K: the papers' generators at paper scale, seeds 0..K-1."""
    k = _count(ref, arg, f"{head}:K")
    gen = generators.jaillet_model1 if head == "jaillet1" else generators.jaillet_model2
    return [(f"{head}-seed{s}", gen(s)) for s in range(k)]


def _uniform_family(ref: str, arg: str) -> list[tuple[str, Instance]]:
    """uniform:K[:N[:M]]: K seeded instances of N requests (default 8), memory M (default 16),
    prompts 0..3, arrivals 0..N (generators.uniform_instance, seeds 0..K-1)."""
    try:
        nums = [int(x) for x in arg.split(":")]
    except ValueError:
        raise FamilyError(f"{ref}: expected uniform:K[:N[:M]] with integers") from None
    if not 1 <= len(nums) <= 3:
        raise FamilyError(f"{ref}: expected uniform:K[:N[:M]]")
    k, n, m = nums + [1, 8, 16][len(nums):]
    if not (1 <= k <= 100_000 and 1 <= n <= 10_000 and m >= 4):
        raise FamilyError(f"{ref}: expected uniform:K[:N[:M]] with 1 <= K <= 100000, "
                          "1 <= N <= 10000, M >= 4")
    return [(f"uniform-n{n}-M{m}-seed{s}",
             generators.uniform_instance(s, n, m, max_prompt=3, max_arrival=n))
            for s in range(k)]


def _trace_instance(ref: str, arg: str) -> tuple[str, Instance]:
    """trace:SOURCE[:MEMORY_TOKENS]: every row of a timestamped trace as one instance
    (traces.trace_instance; the choices are recorded in its metadata)."""
    source, _, mem = arg.partition(":")
    if not source:
        raise FamilyError(f"{ref}: expected trace:SOURCE[:MEMORY_TOKENS]")
    try:
        memory = int(mem) if mem else TRACE_MEMORY_TOKENS
    except ValueError:
        raise FamilyError(f"{ref}: MEMORY_TOKENS must be an integer") from None
    trace = traces.load_trace(source)
    inst = traces.trace_instance(trace, range(trace.n), round_seconds=TRACE_ROUND_SECONDS,
                                 token_scale=1, memory_tokens=memory)
    return f"trace-{Path(trace.file_name).stem}-{trace.n}", inst


def _registered_family(ref: str, family: Family, arg: str) -> list[tuple[str, Instance]]:
    """NAME:K[:key=value,...]: instances 0..K-1 of a registered family (seed=S, default 0)."""
    count, _, rest = arg.partition(":")
    k = _count(ref, count, f"{family.name}:K[:key=value,...]")
    overrides = parse_param_args([x for x in rest.split(",") if x.strip()])
    seed = overrides.pop("seed", "0")
    try:
        seed_value = int(seed)
    except ValueError:
        raise FamilyError(f"{ref}: seed must be an integer, got {seed!r}") from None
    params = family.resolve(overrides)
    return [(f"{family.name}-seed{seed_value}-{i}", family.instance(params, seed_value, i))
            for i in range(k)]
