"""Seeded random instance generators (the synthetic protocols of arXiv 2502.07115, SPEC §6).

Every generator takes a ``numpy.random.Generator`` (or a seed) and records its parameters in the
instance metadata, so any instance can be rebuilt from ``metadata["generator"]``.
"""

from __future__ import annotations

import numpy as np

from optsched.model.instance import Instance, make_instance


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def jaillet_model1(seed: int | np.random.Generator, n_range: tuple[int, int] = (40, 60),
                   m_range: tuple[int, int] = (30, 50), s_range: tuple[int, int] = (1, 5)
                   ) -> Instance:
    """Model 1 (all a_i = 0): M ~ U{30..50}, n ~ U{40..60}, s_i ~ U{1..5}, o_i ~ U{1..M - s_i}."""
    rng = _rng(seed)
    m = int(rng.integers(m_range[0], m_range[1] + 1))
    n = int(rng.integers(n_range[0], n_range[1] + 1))
    s = rng.integers(s_range[0], s_range[1] + 1, size=n)
    o = np.array([rng.integers(1, m - si + 1) for si in s])
    meta = {"generator": {"name": "jaillet_model1", "seed": _seed_of(seed),
                          "n_range": list(n_range), "m_range": list(m_range),
                          "s_range": list(s_range)}}
    return make_instance(m, o.tolist(), s.tolist(), 0, metadata=meta)


def jaillet_model2(seed: int | np.random.Generator, horizon_range: tuple[int, int] = (40, 60),
                   rate_range: tuple[float, float] = (0.5, 1.5),
                   m_range: tuple[int, int] = (30, 50), s_range: tuple[int, int] = (1, 5)
                   ) -> Instance:
    """Model 2 (online): M ~ U{30..50}, H ~ U{40..60}, lambda ~ U[0.5, 1.5]; in each round
    t = 0..H-1 a Poisson(lambda) number of requests arrive; s and o as in Model 1.
    An empty draw is redrawn (an instance needs at least one request)."""
    rng = _rng(seed)
    m = int(rng.integers(m_range[0], m_range[1] + 1))
    h = int(rng.integers(horizon_range[0], horizon_range[1] + 1))
    lam = float(rng.uniform(*rate_range))
    counts = rng.poisson(lam, size=h)
    while counts.sum() == 0:
        counts = rng.poisson(lam, size=h)
    arrivals = np.repeat(np.arange(h), counts)
    s = rng.integers(s_range[0], s_range[1] + 1, size=arrivals.size)
    o = np.array([rng.integers(1, m - si + 1) for si in s])
    meta = {"generator": {"name": "jaillet_model2", "seed": _seed_of(seed), "horizon": h,
                          "rate": lam, "m_range": list(m_range), "s_range": list(s_range)}}
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
