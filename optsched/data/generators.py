"""Seeded random instance generators (the synthetic protocols of arXiv 2502.07115, as read in
docs/model.md#published-settings).

Every generator takes a ``numpy.random.Generator`` (or a seed) and records its parameters in the
instance metadata, so any instance can be rebuilt from ``metadata["generator"]``.
"""

from __future__ import annotations

import numpy as np

from optsched.errors import InstanceError
from optsched.model.instance import Instance, make_instance


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def jaillet_model1(seed: int | np.random.Generator, n_range: tuple[int, int] = (40, 60),
                   m_range: tuple[int, int] = (30, 50), s_range: tuple[int, int] = (1, 5),
                   output_max: int | str = "M-s", shared_prompt: bool = False) -> Instance:
    """Model 1 (all a_i = 0): M ~ U{30..50}, n ~ U{40..60}, s_i ~ U{1..5}, o_i ~ U{1..M - s_i}.

    ``output_max`` and ``shared_prompt`` are other readings of the paper's generator (issue 18,
    :mod:`optsched.studies.sensitivity`): o_i ~ U{1..min(c, M - s_i)} for an integer c, or
    U{1..min(floor(M/2), M - s_i)} for ``"M/2"``; one s drawn per instance. With the defaults
    the draws, and so the instances, are exactly those of earlier versions."""
    rng = _rng(seed)
    m = int(rng.integers(m_range[0], m_range[1] + 1))
    n = int(rng.integers(n_range[0], n_range[1] + 1))
    s, o = _prompts_and_outputs(rng, n, m, s_range, output_max, shared_prompt)
    meta = {"generator": {"name": "jaillet_model1", "seed": _seed_of(seed),
                          "n_range": list(n_range), "m_range": list(m_range),
                          "s_range": list(s_range)} | _reading(output_max, shared_prompt)}
    return make_instance(m, o.tolist(), s.tolist(), 0, metadata=meta)


#: Readings of the output-length range: o_i ~ U{1..cap} with cap from M and s_i.
OUTPUT_MAX_READINGS = ("M-s", "M/2")


def _output_cap(m: int, s: int, output_max: int | str) -> int:
    """The largest output length drawn for a request with prompt ``s`` (always <= M - s)."""
    if output_max == "M-s":
        return m - s
    if output_max == "M/2":
        return min(m // 2, m - s)
    if isinstance(output_max, int) and not isinstance(output_max, bool) and output_max >= 1:
        return min(output_max, m - s)
    raise InstanceError(f"output_max: must be 'M-s', 'M/2' or an integer >= 1, got "
                        f"{output_max!r}")


def _prompts_and_outputs(rng: np.random.Generator, n: int, m: int, s_range: tuple[int, int],
                         output_max: int | str, shared_prompt: bool
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Prompt sizes (per request, or one per instance) and output lengths, in the draw order
    of the original generators (so the default reading reproduces their instances)."""
    if shared_prompt:
        s = np.full(n, int(rng.integers(s_range[0], s_range[1] + 1)))
    else:
        s = rng.integers(s_range[0], s_range[1] + 1, size=n)
    o = np.array([rng.integers(1, _output_cap(m, int(si), output_max) + 1) for si in s])
    return s, o


def _reading(output_max: int | str, shared_prompt: bool) -> dict[str, object]:
    """Metadata of a non-default generator reading (nothing for the default one)."""
    out: dict[str, object] = {}
    if output_max != "M-s":
        out["output_max"] = output_max
    if shared_prompt:
        out["shared_prompt"] = True
    return out


def jaillet_model2(seed: int | np.random.Generator, horizon_range: tuple[int, int] = (40, 60),
                   rate_range: tuple[float, float] = (0.5, 1.5),
                   m_range: tuple[int, int] = (30, 50), s_range: tuple[int, int] = (1, 5),
                   output_max: int | str = "M-s", shared_prompt: bool = False) -> Instance:
    """Model 2 (online): M ~ U{30..50}, H ~ U{40..60}, lambda ~ U[0.5, 1.5]; in each round
    t = 0..H-1 a Poisson(lambda) number of requests arrive; s and o as in Model 1.
    An empty draw is redrawn (an instance needs at least one request). ``output_max`` and
    ``shared_prompt`` as in :func:`jaillet_model1`."""
    rng = _rng(seed)
    m = int(rng.integers(m_range[0], m_range[1] + 1))
    h = int(rng.integers(horizon_range[0], horizon_range[1] + 1))
    lam = float(rng.uniform(*rate_range))
    counts = rng.poisson(lam, size=h)
    while counts.sum() == 0:
        counts = rng.poisson(lam, size=h)
    arrivals = np.repeat(np.arange(h), counts)
    s, o = _prompts_and_outputs(rng, arrivals.size, m, s_range, output_max, shared_prompt)
    meta = {"generator": {"name": "jaillet_model2", "seed": _seed_of(seed), "horizon": h,
                          "rate": lam, "m_range": list(m_range), "s_range": list(s_range)}
            | _reading(output_max, shared_prompt)}
    return make_instance(m, o.tolist(), s.tolist(), arrivals.tolist(), metadata=meta)


def uniform_instance(seed: int | np.random.Generator, n: int, memory_limit: int,
                     max_prompt: int = 3, max_arrival: int = 0, equal_prompts: bool = False
                     ) -> Instance:
    """n requests: s ~ U{0..max_prompt} (or one shared s), o ~ U{1..M-s}, a ~ U{0..max_arrival}."""
    rng = _rng(seed)
    if equal_prompts:
        s = np.full(n, int(rng.integers(0, max_prompt + 1)))
    else:
        s = rng.integers(0, max_prompt + 1, size=n)
    o = np.array([rng.integers(1, memory_limit - si + 1) for si in s])
    a = rng.integers(0, max_arrival + 1, size=n)
    meta = {"generator": {"name": "uniform", "seed": _seed_of(seed), "n": n,
                          "memory_limit": memory_limit, "max_prompt": max_prompt,
                          "max_arrival": max_arrival, "equal_prompts": equal_prompts}}
    return make_instance(memory_limit, o.tolist(), s.tolist(), a.tolist(), metadata=meta)


def _seed_of(seed: int | np.random.Generator) -> int | None:
    return int(seed) if isinstance(seed, int | np.integer) else None
