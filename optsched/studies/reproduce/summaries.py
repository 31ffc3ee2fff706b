"""Aggregation of the synthetic study's rows (ratios per model and policy) and the
results file (Parquet, or a JSON list of rows)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from optsched.errors import OptschedError
from optsched.model.io import (
    atomic_write_parquet,
)


# --------------------------------------------------------------------------------------------
# aggregation
# --------------------------------------------------------------------------------------------
@dataclass
class PolicySummary:
    """Ratios of one policy on one model (latency ratio, the paper's measure)."""

    model: int
    policy: str
    trials: int
    valid: int
    proven: int
    proven_average: float | None
    proven_best: float | None
    proven_worst: float | None
    average_interval: tuple[float, float]
    worst_interval: tuple[float, float]
    optimal_proven: int
    optimal_possible: int  # proven optimal + equal to the best known value without proof
    average_ct_interval: tuple[float, float]


def summarise(rows: list[dict[str, Any]]) -> list[PolicySummary]:
    """One summary per (model, policy), in the order they first appear."""
    keys: list[tuple[int, str]] = []
    for r in rows:
        if (r["model"], r["policy"]) not in keys:
            keys.append((r["model"], r["policy"]))
    out = []
    for model, policy in keys:
        rs = [r for r in rows if r["model"] == model and r["policy"] == policy]
        ok = [r for r in rs if r["valid"]]
        pr = [r["ratio_lo"] for r in ok if r["opt_proven"]]
        lo = np.array([r["ratio_lo"] for r in ok]) if ok else np.array([math.nan])
        hi = np.array([r["ratio_hi"] for r in ok]) if ok else np.array([math.nan])
        clo = np.array([r["ratio_ct_lo"] for r in ok]) if ok else np.array([math.nan])
        chi = np.array([r["ratio_ct_hi"] for r in ok]) if ok else np.array([math.nan])
        out.append(PolicySummary(
            model=model, policy=policy, trials=len(rs), valid=len(ok),
            proven=sum(1 for r in rs if r["opt_proven"]),
            proven_average=float(np.mean(pr)) if pr else None,
            proven_best=float(np.min(pr)) if pr else None,
            proven_worst=float(np.max(pr)) if pr else None,
            average_interval=(float(lo.mean()), float(hi.mean())),
            worst_interval=(float(lo.max()), float(hi.max())),
            optimal_proven=sum(1 for r in ok if r["policy_optimal"] is True),
            optimal_possible=sum(1 for r in ok if r["policy_optimal"] is not False),
            average_ct_interval=(float(clo.mean()), float(chi.mean())),
        ))
    return out


# --------------------------------------------------------------------------------------------
# outputs: Parquet, figures, Markdown report
# --------------------------------------------------------------------------------------------
def write_parquet(rows: list[dict[str, Any]], path: Path) -> None:
    """Raw per-(trial, policy) results as Parquet (written atomically)."""
    atomic_write_parquet(rows, path)


def read_results(path: Path) -> list[dict[str, Any]]:
    """Rows from a results file written by the study (Parquet) or a JSON list of rows."""
    if not path.is_file():
        raise OptschedError(f"results file not found: {path}")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
            return rows
        except Exception as exc:  # pyarrow raises several types for a broken file
            raise OptschedError(f"{path}: not a readable Parquet file: {exc}") from None
    from optsched.model.instance import read_json_file

    data = read_json_file(path, "results")
    if isinstance(data, dict) and isinstance(data.get("rows"), list):
        data = data["rows"]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise OptschedError(f"{path}: expected a JSON list of result objects (or "
                            "{\"rows\": [...]})")
    return data




def _summary_dict(s: PolicySummary) -> dict[str, Any]:
    d = asdict(s)
    for k in ("average_interval", "worst_interval", "average_ct_interval"):
        d[k] = [None if math.isinf(x) or math.isnan(x) else x for x in d[k]]
    return d
