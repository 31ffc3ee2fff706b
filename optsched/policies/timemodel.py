"""Batch-time models: how many seconds one engine round takes, from the batch it runs.

The engine's native clock is the unit round (docs/model.md). A batch-time model turns a round into
seconds from three numbers of the batch that runs in it (see :class:`BatchTimeModel`):

* ``prefill_tokens``: prompt tokens processed in the round (requests started at its start);
* ``decode_tokens``: one token for every request that was already running;
* ``kv_tokens``: KV-cache tokens attention reads, i.e. the memory the batch holds at the end of
  the round (the memory at t + 1 of docs/model.md).

The shipped presets (:data:`PRESETS`) add two terms, documented in ``models/batch-time.md``:

* **linear layers**: a piecewise-linear function of the round's tokens (prefill + decode),
  least-squares fitted to the Vidur operator profiles (MIT; attribution and licence text travel
  inside the derived data file) with every fourth token count held out;
* **attention over the KV cache**: bytes per KV token from the model shape (K and V, every
  layer, every KV head, fp16) over the GPU's memory bandwidth, split over the tensor-parallel
  GPUs. The attention kernels themselves were not profiled, so this is a bandwidth model.

The fitted numbers come from :func:`fit_profiles` (``optsched time-model fit``), never by hand.
"""

from __future__ import annotations

import csv
import json
import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from optsched.errors import OptschedError


class TimeModelError(OptschedError, ValueError):
    """An unknown preset, an unusable profile file or a round time that is not positive."""


@runtime_checkable
class BatchTimeModel(Protocol):
    """Duration in seconds of one round running the given batch (must be > 0 for any batch
    the engine runs; the engine checks)."""

    @property
    def name(self) -> str: ...

    def round_seconds(self, prefill_tokens: int, decode_tokens: int, kv_tokens: int) -> float:
        ...


@dataclass(frozen=True)
class BatchShape:
    """What a batch-time model may need beyond the three round numbers: the batch's prompt jobs
    and their tokens, its token (decode) jobs, and the context they read *without* prompts
    (sum over running requests of the tokens generated so far). The clock passes it to a model
    that has a ``batch_seconds(shape)`` method."""

    prompt_jobs: int
    prompt_tokens: int
    token_jobs: int
    context_tokens: int

    @property
    def size(self) -> int:
        return self.prompt_jobs + self.token_jobs


@dataclass(frozen=True)
class LinearBatchTimeModel:
    """A batch time linear in the batch's shape, in milliseconds:
    ``per_context_ms`` * context tokens (prompts excluded) + ``per_job_ms`` * batch size +
    ``fixed_ms`` + ``per_prompt_token_ms`` * prompt tokens in the batch. The preset
    ``jaillet2025-linear`` carries the coefficients of the authors' published simulators for
    arXiv 2502.07115 (docs/time-model.md); it needs the batch shape, so it prices rounds only
    through :meth:`batch_seconds`."""

    name: str
    per_context_ms: float
    per_job_ms: float
    fixed_ms: float
    per_prompt_token_ms: float

    def batch_seconds(self, shape: BatchShape) -> float:
        ms = (self.per_context_ms * shape.context_tokens + self.per_job_ms * shape.size
              + self.fixed_ms + self.per_prompt_token_ms * shape.prompt_tokens)
        return ms / 1000.0

    def round_seconds(self, prefill_tokens: int, decode_tokens: int, kv_tokens: int) -> float:
        raise TimeModelError(f"time model {self.name!r} prices a batch by its shape (context "
                             "without prompts, number of prompt jobs); this caller gives only "
                             "prefill, decode and KV tokens")


#: The authors' published batch-time formula (arXiv 2502.07115, real-trace simulators), ms:
#: (0.0027 * average context + 0.52) * batch size + 44.6 + 0.378 * prompt tokens.
JAILLET2025_LINEAR = LinearBatchTimeModel("jaillet2025-linear", 0.0027, 0.52, 44.6, 0.378)


@dataclass(frozen=True)
class FixedTimeModel:
    """Every round takes the same time (``fixed:SECONDS``): unit rounds scaled to seconds."""

    seconds: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.seconds) and self.seconds > 0):
            raise TimeModelError(f"round time must be > 0 seconds, got {self.seconds!r}")

    @property
    def name(self) -> str:
        return f"fixed:{self.seconds:g}"

    def round_seconds(self, prefill_tokens: int, decode_tokens: int, kv_tokens: int) -> float:
        return self.seconds


@dataclass(frozen=True)
class ProfiledTimeModel:
    """Linear layers: piecewise-linear interpolation of ``values_s`` at ``knots`` (tokens;
    the last segment's slope beyond the last knot). Attention: ``kv_seconds_per_token`` per KV
    token read."""

    name: str
    knots: tuple[int, ...]
    values_s: tuple[float, ...]
    kv_seconds_per_token: float

    def linear_seconds(self, tokens: int) -> float:
        """Linear-layer time of a round with ``tokens`` tokens (at least one token: a round
        always emits one)."""
        x, k, v = max(tokens, 1), self.knots, self.values_s
        j = min(max(bisect_right(k, x) - 1, 0), len(k) - 2)
        return v[j] + (v[j + 1] - v[j]) * (x - k[j]) / (k[j + 1] - k[j])

    def round_seconds(self, prefill_tokens: int, decode_tokens: int, kv_tokens: int) -> float:
        return (self.linear_seconds(prefill_tokens + decode_tokens)
                + kv_tokens * self.kv_seconds_per_token)


# ---------------------------------------------------------------------------------------------
# fitting the Vidur profiles
# ---------------------------------------------------------------------------------------------
#: Per-layer operators summed for a layer's linear part (``add`` twice: the residual after
#: attention and after the MLP); ``emb`` once per forward pass.
LAYER_OPS: dict[str, int] = {
    "input_layernorm": 1, "attn_pre_proj": 1, "attn_rope": 1, "attn_post_proj": 1,
    "post_attention_layernorm": 1, "mlp_up_proj": 1, "mlp_act": 1, "mlp_down_proj": 1, "add": 2}
ONCE_OPS: dict[str, int] = {"emb": 1}
#: Which timing statistic of each operator is fitted.
STAT = "median"
SHAPE_COLUMNS = ("n_head", "n_kv_head", "n_embd", "num_tokens", "num_tensor_parallel_workers")
#: Decoder layers (not a column of the profiles; from the models' published configurations).
MODEL_LAYERS = {"Llama-2-70b-hf": 80, "Llama-2-7b-hf": 32}
#: Peak memory bandwidth per GPU in bytes/s: A100 SXM4 80 GB 2,039 GB/s; H100 SXM5 80 GB
#: 3,350 GB/s (vendor data sheets). Vidur's profile directories name only "a100" / "h100".
GPU_BANDWIDTH = {"a100": 2.039e12, "h100": 3.35e12}
BYTES_PER_VALUE = 2  # fp16 KV cache
#: Knots of the piecewise-linear fit, in tokens per round (the profiles cover 1..4096).
KNOTS = (1, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
#: Every HOLDOUT-th distinct token count (from the second on) is held out of the fit.
HOLDOUT = 4
#: preset -> (profile file, GPU, tensor-parallel degree)
PRESET_SPECS: dict[str, tuple[str, str, int]] = {
    "llama2-70b-tp2-a100": ("a100_Llama-2-70b-hf_mlp.csv", "a100", 2),
    "llama2-70b-tp4-a100": ("a100_Llama-2-70b-hf_mlp.csv", "a100", 4),
    "llama2-70b-tp2-h100": ("h100_Llama-2-70b-hf_mlp.csv", "h100", 2),
    "llama2-70b-tp4-h100": ("h100_Llama-2-70b-hf_mlp.csv", "h100", 4),
    "llama2-7b-a100": ("a100_Llama-2-7b-hf_mlp.csv", "a100", 1),
    "llama2-7b-h100": ("h100_Llama-2-7b-hf_mlp.csv", "h100", 1),
}
#: Where the fitted presets are shipped (with attribution and the MIT licence text).
FIT_FILE = "vidur-fit.json"
SOURCE = ("Vidur LLM-inference simulator (microsoft/vidur, commit "
          "7d47513363ec447a741ac5e47241580b47724fbf), data/profiling/compute/<gpu>/meta-llama/"
          "<model>/mlp.csv; Copyright (c) Microsoft Corporation; MIT licence")


def _hat_basis(x: np.ndarray, knots: Sequence[int]) -> np.ndarray:
    """Design matrix of piecewise-linear interpolation at ``knots`` (column j = hat j)."""
    eye = np.eye(len(knots))
    return np.stack([np.interp(x, knots, eye[j]) for j in range(len(knots))], axis=1)


def fit_preset(profile_dir: Path, name: str) -> dict[str, Any]:
    """Fit one preset: linear-layer knot values (least squares on the training rows) and the
    KV bandwidth term; with residuals on training and held-out rows."""
    file, gpu, tp = PRESET_SPECS[name]
    path = profile_dir / file
    if not path.is_file():
        raise TimeModelError(f"profile file {file} not found in {profile_dir.name or '.'}")
    model = file.split("_")[1]
    layers = MODEL_LAYERS[model]
    tokens, per_layer, once, shape = _profile_rows(path, tp)
    total_ms = layers * per_layer + once  # whole forward pass
    distinct = np.unique(tokens)
    held = set(distinct[1::HOLDOUT].tolist())
    test = np.array([t in held for t in tokens])
    A = _hat_basis(tokens[~test].astype(float), KNOTS)
    values_ms, *_ = np.linalg.lstsq(A, total_ms[~test], rcond=None)
    if not (values_ms > 0).all():
        raise TimeModelError(f"profile file {file}: the fit gives a non-positive round time "
                             "at some knot; the profile rows cannot be right")
    pred = _hat_basis(tokens.astype(float), KNOTS) @ values_ms
    rel = (pred - total_ms) / total_ms
    head_dim = shape["n_embd"] // shape["n_head"]
    kv_bytes = 2 * layers * shape["n_kv_head"] * head_dim * BYTES_PER_VALUE
    kv_s = kv_bytes / (tp * GPU_BANDWIDTH[gpu])

    def stats(mask: np.ndarray) -> dict[str, float | int]:
        r = np.abs(rel[mask])
        return {"rows": int(mask.sum()), "max_rel_error": float(r.max()),
                "p90_rel_error": float(np.quantile(r, 0.9)), "mean_rel_error": float(r.mean())}

    return {
        "profile": file, "gpu": gpu, "model": model, "tensor_parallel": tp, "layers": layers,
        **shape, "head_dim": head_dim, "knots": list(KNOTS),
        "linear_ms": [float(v) for v in values_ms],
        "kv_bytes_per_token": kv_bytes, "gpu_bandwidth_bytes_per_s": GPU_BANDWIDTH[gpu],
        "kv_seconds_per_token": kv_s,
        "residuals": {"train": stats(~test), "held_out": stats(test)},
        "held_out_tokens": sorted(int(t) for t in held),
        # the profile rows the fit was judged on: [num_tokens, whole-pass linear-layer ms]
        "rows_ms": [[int(t), round(float(v), 6)] for t, v in zip(tokens, total_ms, strict=True)],
    }


def _profile_rows(path: Path, tp: int) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                dict[str, int]]:
    """(num_tokens, per-layer ms, once-per-pass ms, model shape) of the rows with ``tp``
    tensor-parallel workers; every needed column must be present and every timing > 0."""
    ops = {**LAYER_OPS, **ONCE_OPS}
    need = [f"time_stats.{op}.{STAT}" for op in ops] + list(SHAPE_COLUMNS)
    try:
        with path.open(newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in need if c not in (reader.fieldnames or ())]
            if missing:
                raise TimeModelError(f"profile file {path.name}: missing column(s) "
                                     f"{', '.join(missing)}")
            rows = [r for r in reader
                    if (r.get("num_tensor_parallel_workers") or "").strip() == str(tp)]
    except (OSError, UnicodeDecodeError) as exc:
        raise TimeModelError(f"profile file {path.name} cannot be read: {exc}") from None
    if not rows:
        raise TimeModelError(f"profile file {path.name}: no rows with "
                             f"num_tensor_parallel_workers = {tp}")
    tokens, per_layer, once = [], [], []
    for r in rows:
        try:
            tokens.append(int(r["num_tokens"]))
            per_layer.append(sum(c * float(r[f"time_stats.{op}.{STAT}"])
                                 for op, c in LAYER_OPS.items()))
            once.append(sum(c * float(r[f"time_stats.{op}.{STAT}"])
                            for op, c in ONCE_OPS.items()))
        except (TypeError, ValueError):
            raise TimeModelError(f"profile file {path.name}: a row with "
                                 f"num_tensor_parallel_workers = {tp} has a missing or "
                                 "non-numeric timing or num_tokens") from None
    t = np.array(tokens)
    if (t < 1).any():
        raise TimeModelError(f"profile file {path.name}: num_tokens must be >= 1")
    if min(per_layer) <= 0 or min(once) < 0:
        raise TimeModelError(f"profile file {path.name}: timings must be > 0 ms (a row with "
                             f"num_tensor_parallel_workers = {tp} has a zero or negative one)")
    shape = {c: int(rows[0][c]) for c in ("n_head", "n_kv_head", "n_embd")}
    return t, np.array(per_layer), np.array(once), shape


def fit_profiles(profile_dir: str | Path) -> dict[str, Any]:
    """Every preset fitted from the profile files in ``profile_dir`` (which must also hold the
    Vidur LICENSE, shipped verbatim with the result)."""
    d = Path(profile_dir)
    if not d.is_dir():
        raise TimeModelError(f"profile directory {d.name or d} not found")
    lic = d / "LICENSE"
    if not lic.is_file():
        raise TimeModelError(f"no LICENSE file beside the profiles in {d.name or '.'}: the "
                             "MIT licence must travel with anything derived from them")
    presets = {name: fit_preset(d, name) for name in PRESET_SPECS}
    return {"source": SOURCE, "statistic": STAT, "layer_ops": LAYER_OPS, "once_ops": ONCE_OPS,
            "holdout": f"every {HOLDOUT}th distinct num_tokens from the second on",
            "generated_by": "optsched time-model fit PROFILE_DIR", "presets": presets,
            "license": lic.read_text()}


def write_fit(profile_dir: str | Path, out: str | Path) -> dict[str, Any]:
    """Fit and write the derived data file (atomically), with the Vidur licence beside it as
    ``LICENSE-vidur``. Nothing is written when the fit fails."""
    from optsched.model.io import atomic_write_text

    fit = fit_profiles(profile_dir)
    out = Path(out)
    atomic_write_text(out.with_name("LICENSE-vidur"), fit["license"])
    atomic_write_text(out, json.dumps(fit, indent=1) + "\n")
    return fit


# ---------------------------------------------------------------------------------------------
# presets
# ---------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def shipped_fit() -> dict[str, Any]:
    """The derived data file shipped with the package."""
    p = resources.files("optsched") / "data" / "timemodel" / FIT_FILE
    fit: dict[str, Any] = json.loads(p.read_text())
    return fit


def model_from_fit(name: str, entry: dict[str, Any]) -> ProfiledTimeModel:
    """A preset object from one fitted entry (milliseconds -> seconds)."""
    return ProfiledTimeModel(name, tuple(entry["knots"]),
                             tuple(v / 1000.0 for v in entry["linear_ms"]),
                             float(entry["kv_seconds_per_token"]))


PRESETS: tuple[str, ...] = tuple(PRESET_SPECS)
#: Presets that are published formulas, not fits (no profile rows behind them).
FORMULA_PRESETS: dict[str, LinearBatchTimeModel] = {JAILLET2025_LINEAR.name: JAILLET2025_LINEAR}


def get_time_model(spec: str | BatchTimeModel | None) -> BatchTimeModel | None:
    """``unit``/None -> None (unit rounds, the default), a preset name, ``fixed:SECONDS``, or a
    model object (returned as is)."""
    if spec is None or spec == "unit":
        return None
    if not isinstance(spec, str):
        if not isinstance(spec, BatchTimeModel):
            raise TimeModelError(f"not a batch-time model: {spec!r}")
        return spec
    if spec.startswith("fixed:"):
        try:
            secs = float(spec[6:])
        except ValueError:
            raise TimeModelError(f"time model {spec!r}: expected fixed:SECONDS") from None
        return FixedTimeModel(secs)
    if spec in FORMULA_PRESETS:
        return FORMULA_PRESETS[spec]
    fit = shipped_fit()["presets"]
    if spec not in fit:
        raise TimeModelError(f"unknown time model {spec!r}; choose unit, fixed:SECONDS or one "
                             f"of {', '.join((*PRESETS, *FORMULA_PRESETS))}")
    return model_from_fit(spec, fit[spec])


__all__ = ["FORMULA_PRESETS", "JAILLET2025_LINEAR", "PRESETS", "BatchShape", "BatchTimeModel",
           "FixedTimeModel", "LinearBatchTimeModel", "ProfiledTimeModel", "TimeModelError",
           "fit_profiles", "fit_preset", "get_time_model", "shipped_fit", "write_fit"]
