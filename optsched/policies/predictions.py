"""Prediction models for output lengths (docs/model.md#online-setting): what an online policy
sees instead of o_i.

A :class:`Predictions` holds, per request, a point prediction and an interval ``[lower, upper]``.
Policies read only these; the engine keeps the true lengths to itself.

Every value is clamped to ``[1, M - s_i]``: a valid instance guarantees s_i + o_i <= M, so a
policy may assume it, and an estimate beyond that bound could never be scheduled at all.

Models (all seeded where random):

* ``exact``: point = lower = upper = o_i.
* ``noisy:EPS``: multiplicative noise with relative error at most EPS:
  point = round(o_i * (1 + d_i)), d_i ~ U[-EPS, EPS]; lower = upper = point.
* ``interval:WIDTH``: an interval of relative width WIDTH that contains the truth at a random
  position: lower = floor(o_i * (1 - WIDTH * u_i)), upper = ceil(o_i * (1 + WIDTH * (1 - u_i))),
  u_i ~ U[0, 1], so upper - lower is about WIDTH * o_i; point = midpoint (rounded down).
* ``instance``: the instance's own ``predicted_output_tokens`` (the true length where absent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optsched.errors import OptschedError
from optsched.model.instance import Instance


class PredictionError(OptschedError, ValueError):
    """A prediction spec is malformed or does not match the instance."""


@dataclass(frozen=True)
class Predictions:
    """Per-request predicted output lengths: a point estimate and an interval around it."""

    point: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    model: str = "exact"
    params: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """Short label, e.g. ``noisy:0.2`` (the spec string that rebuilds it, with the seed)."""
        if not self.params:
            return self.model
        return self.model + ":" + ",".join(f"{k}={v}" for k, v in self.params.items())

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "params": dict(self.params)}


def _clamp(instance: Instance, values: np.ndarray) -> np.ndarray:
    cap = instance.memory_limit - instance.prompt
    return np.clip(np.asarray(values, dtype=np.int64), 1, cap)


def _make(instance: Instance, point: Any, lower: Any, upper: Any, model: str,
          params: dict[str, Any]) -> Predictions:
    lo = _clamp(instance, lower)
    up = np.maximum(_clamp(instance, upper), lo)
    pt = np.clip(_clamp(instance, point), lo, up)
    return Predictions(pt, lo, up, model, params)


def exact(instance: Instance) -> Predictions:
    """Perfect predictions: the policy plans with the true lengths."""
    o = instance.output
    return _make(instance, o, o, o, "exact", {})


def from_instance(instance: Instance) -> Predictions:
    """The instance's ``predicted_output_tokens`` (true length where a request has none)."""
    p = instance.predicted
    model = "exact" if np.array_equal(p, instance.output) else "instance"
    return _make(instance, p, p, p, model, {})


def noisy(instance: Instance, eps: float, seed: int = 0) -> Predictions:
    """Multiplicative noise: point = round(o * (1 + d)), d ~ U[-eps, eps] (seeded)."""
    if not 0 <= eps < 10:
        raise PredictionError(f"noisy prediction: relative error must be in [0, 10), got {eps}")
    rng = np.random.default_rng([seed, 1])
    d = rng.uniform(-eps, eps, size=instance.n)
    p = np.rint(instance.output * (1.0 + d)).astype(np.int64)
    return _make(instance, p, p, p, "noisy", {"eps": eps, "seed": seed})


def interval(instance: Instance, width: float, seed: int = 0) -> Predictions:
    """Interval [l, u] of relative width ``width`` containing the truth at a random position."""
    if not 0 <= width < 10:
        raise PredictionError(f"interval prediction: width must be in [0, 10), got {width}")
    rng = np.random.default_rng([seed, 2])
    u = rng.uniform(0.0, 1.0, size=instance.n)
    o = instance.output.astype(float)
    lo = np.floor(o * (1.0 - width * u)).astype(np.int64)
    up = np.ceil(o * (1.0 + width * (1.0 - u))).astype(np.int64)
    lo = np.minimum(np.maximum(lo, 1), instance.output)
    up = np.maximum(up, instance.output)
    return _make(instance, (lo + up) // 2, lo, up, "interval", {"width": width, "seed": seed})


PREDICTION_MODELS = ("exact", "instance", "noisy:EPS", "interval:WIDTH")


def parse_predictions(spec: str | Predictions | None, instance: Instance,
                      seed: int = 0) -> Predictions:
    """Build predictions from a spec string (``exact``, ``instance``, ``noisy:EPS``,
    ``interval:WIDTH``), pass a :class:`Predictions` through, or ``None`` = the instance's own."""
    if spec is None:
        return from_instance(instance)
    if isinstance(spec, Predictions):
        if not (len(spec.point) == len(spec.lower) == len(spec.upper) == instance.n):
            raise PredictionError(f"predictions cover {len(spec.point)} requests, the instance "
                                  f"has {instance.n}")
        return spec
    name, _, arg = str(spec).partition(":")
    if name in ("exact", "instance") and not arg:
        return exact(instance) if name == "exact" else from_instance(instance)
    if name in ("noisy", "interval"):
        try:
            value = float(arg)
        except ValueError:
            raise PredictionError(f"prediction {spec!r}: expected {name}:NUMBER, e.g. "
                                  f"{name}:0.2") from None
        return noisy(instance, value, seed) if name == "noisy" else interval(instance, value, seed)
    raise PredictionError(f"unknown prediction model {spec!r}; use one of "
                          f"{', '.join(PREDICTION_MODELS)}")
