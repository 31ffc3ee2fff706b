"""The whole reproduction in one call (:func:`run_study`): synthetic and trace studies,
results, figures and the report, written into one directory."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from optsched.model.io import (
    atomic_write_json,
    atomic_write_parquet,
    atomic_write_text,
    dumps,
)
from optsched.studies.reproduce.cache import SolveCache
from optsched.studies.reproduce.figures import make_figures
from optsched.studies.reproduce.report import ReportInputs, render_report, versions
from optsched.studies.reproduce.summaries import _summary_dict, summarise, write_parquet
from optsched.studies.reproduce.trials import SyntheticConfig, run_synthetic, write_certificates
from optsched.studies.trace_study import (
    TraceConfig,
    run_trace_study,
)


# --------------------------------------------------------------------------------------------
# the whole study
# --------------------------------------------------------------------------------------------
def run_study(out_dir: Path, synthetic: SyntheticConfig | None, trace: str | Path | None,
              trace_config: TraceConfig | None, command: str, progress: bool = True,
              notes: Sequence[str] = (), seconds: Any = None) -> dict[str, Any]:
    """Run the synthetic study and/or the trace study and write report.md, results.parquet,
    trace.json and figures/ into ``out_dir``. Returns a JSON-ready summary.

    ``seconds`` (a :class:`optsched.studies.reproduce_seconds.SecondsConfig`): also the trace
    study in seconds under its time model, into trace-seconds.json, trace-requests.parquet (one
    row per request and policy: arrival, TTFT, TPOT, latency in seconds) and figures/."""
    t0 = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    figures: dict[str, str] = {}
    if synthetic is not None:
        rows = run_synthetic(synthetic, out_dir, progress)
        cache = SolveCache(out_dir / "cache" / "solves.jsonl")
        write_certificates(rows, synthetic, out_dir, cache)
        write_parquet(rows, out_dir / "results.parquet")
        figures.update(make_figures(rows, synthetic, out_dir, cache))
    trace_res = None
    if trace is not None and trace_config is not None:
        trace_res = run_trace_study(trace, trace_config, progress)
        atomic_write_json(out_dir / "trace.json", trace_res)
    sec_res = None
    if seconds is not None:
        from optsched.studies.reproduce_seconds import run_seconds_study, seconds_figures

        sec_res, sec_rows, sec_runs = run_seconds_study(seconds, progress)
        atomic_write_json(out_dir / "trace-seconds.json", sec_res)
        atomic_write_parquet(sec_rows, out_dir / "trace-requests.parquet")
        figures.update(seconds_figures(sec_res, sec_rows, sec_runs, out_dir))
    inp = ReportInputs(command, synthetic, rows, trace_res, figures,
                       time.perf_counter() - t0, versions(), list(notes), sec_res)
    atomic_write_text(out_dir / "report.md", render_report(inp))
    summary = {"report": "report.md", "results": "results.parquet" if rows else None,
               "figures": {k: v for k, v in figures.items() if k.endswith(".png")
                           or v.endswith(".png")},
               "synthetic": [_summary_dict(s) for s in summarise(rows)] if rows else [],
               "trace": trace_res, "trace_seconds": sec_res}
    plain: dict[str, Any] = json.loads(dumps(summary))  # JSON-ready (no numpy, no NaN)
    return plain
