"""The authors'-code protocol of the Jaillet et al. reproduction (issue 25).

The authors published their code (repository ``anonymouspeople111/neurips2025-code``). Read as a
protocol, it fixes what our earlier study could only guess: one prompt size ``s`` per instance,
the plain time-indexed IP with that ``s`` (the memory rows of docs/model.md's default
convention), an optional time limit and warm start, and the incumbent returned as "OPT" when the
solver stops on its time limit. Some values are set outside the files (the time limit, whether
the warm start was MC-SF's schedule, the generator itself); :data:`CHOSEN` lists what we chose.

This module runs that protocol with open-source solvers beside what optsched proves on the same
draws (the ``authors-code`` grid of :mod:`optsched.studies.sensitivity`, so runs share its
checkpoint and resume), and writes ``authors-code.md``: published | authors'-code protocol |
optsched, side by side. None of the authors' code is in optsched; only facts about it are.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from optsched.model.io import atomic_write_json, atomic_write_text
from optsched.studies.authors_trace import (
    AuthorsTraceConfig,
    authors_trace_section,
    run_authors_trace,
)
from optsched.studies.reproduce import PUBLISHED
from optsched.studies.sensitivity import (
    Reading,
    ReadingSummary,
    SensitivityConfig,
    run_sensitivity,
    span,
    summarise,
)

#: What the authors' files leave open and what this protocol takes, with why.
CHOSEN: tuple[tuple[str, str, str], ...] = (
    ("generator", "M ~ U{30..50}, n ~ U{40..60}, one s ~ U{1..5} per instance, "
     "o ~ U{1..M − s}; Model 2: Poisson(λ) arrivals in each of H ~ U{40..60} rounds, "
     "λ ~ U[0.5, 1.5]",
     "the files hold no generator; the IP and MC-SF take one scalar s, the ranges are the "
     "paper's"),
    ("IP time limit", "10 s and 60 s in the grid (60 s on fewer trials); 300 s as named "
     "readings", "the function takes an optional limit and the call site is not published"),
    ("warm start", "MC-SF's schedule",
     "the function accepts start times; MC-SF's are the ones the study has at hand"),
    ("solver", "HiGHS and CP-SAT, one thread",
     "the size-limited Gurobi licence refuses models of the paper's size"),
    ("answer on time-out", "the incumbent, validated, taken as 'OPT'",
     "what the published function returns on TIME_LIMIT or INTERRUPTED"),
    ("IP start times", "optsched's plain model: starts up to T − o_i",
     "theirs also allows starts up to T (Σ o more variables); the optima agree on the 80 "
     "instances of tests/test_authors_code.py"),
    ("trace", "the shipped ShareGPT and Azure conversation samples, first 1,000 rows that fit",
     "LMSYS-Chat-1M is not available; ShareGPT is the same kind of data (user chats)"),
    ("arrival times", "Poisson 50/s and 10/s, seeded, first at 0 s",
     "the data frame is built outside the files; the paper states these rates"),
    ("batch cap B (α baselines)", "4, 8, 16 and 32 (default 4)", "not in the files"),
    ("simulation time limit", "60 s and 600 s for the completed-only metric",
     "not in the files; MC-SF and MC-Benchmark run to the end there"),
    ("MC-SF's average batch time", "none needed",
     "with it the look-ahead counts whole steps, which the round engine counts exactly"),
)


def _printed(s: ReadingSummary) -> tuple[str, str, str]:
    """(average, worst, MC-SF 'optimal') of a reading as a paper would print them."""
    if s.opt_kind == "incumbent":
        if s.proven == 0:
            return "no incumbent", "–", "–"
        return (f"{s.average[0]:.3f}", f"{s.worst[0]:.3f}",
                f"{s.tie} of {s.proven} (ties with MC-SF)")
    lo, hi = s.average
    wlo, whi = s.worst
    a, b = s.optimal
    return (span(lo, hi), span(wlo, whi),
            f"{a}–{b} of {s.trials}" if a != b else f"{a} of {s.trials}")



def _incumbents_proven(rows: list[dict[str, Any]], reading: str) -> tuple[int, int]:
    """(trials whose incumbent the solver proved optimal, trials with an incumbent)."""
    mine = [r for r in rows if r["reading"] == reading and r.get("inc_value") is not None]
    return sum(r["inc_bound"] is not None and r["inc_bound"] >= r["inc_value"]
               for r in mine), len(mine)


def side_by_side(summaries: Sequence[ReadingSummary], readings: Sequence[Reading],
                 rows: list[dict[str, Any]]) -> list[str]:
    """Markdown rows: the published figures, then every protocol reading, then optsched; the
    last column says whether "OPT" was proven (an incumbent that timed out is not)."""
    by_name = {r.name: r for r in readings}
    lines = ["| model | source | trials | MC-SF / OPT average | worst | MC-SF “optimal” | "
             "OPT proven |", "|---|---|---:|---:|---:|---:|---:|"]
    for model in (1, 2):
        mine = [s for s in summaries if s.model == model]
        if not mine:
            continue
        pub = PUBLISHED[model]
        opt = "–" if pub["mcsf_optimal"] is None else f"{pub['mcsf_optimal']} of 200"
        lines.append(f"| {model} | published (Gurobi) | 200 | {pub['average']} | "
                     f"{pub['worst']} | {opt} | not stated |")
        for s in sorted(mine, key=lambda x: x.opt_kind == "exact"):
            r = by_name[s.reading]
            if s.opt_kind == "incumbent":
                src = (f"authors'-code protocol: {r.solver} {r.time_limit:g} s, MC-SF warm "
                       "start, incumbent as OPT")
                k, n = _incumbents_proven(rows, s.reading)
                proven = f"{k} of {n} (timed out: {n - k})" if n else "–"
            else:
                src = "optsched: optimum (interval unless proven)"
                proven = f"{s.proven} of {s.trials}"
            avg, worst, best = _printed(s)
            lines.append(f"| {model} | {src} | {s.trials} | {avg} | {worst} | {best} | "
                         f"{proven} |")
    return lines


def render_authors_report(rows: list[dict[str, Any]], cfg: SensitivityConfig,
                          command: str, stats: dict[str, Any]) -> str:
    """``authors-code.md``: the command, the chosen values, the side-by-side table."""
    sums = summarise(rows, cfg.readings)
    L = ["# Jaillet et al. under the authors'-code protocol", "", "Produced by:", "", "```",
         command, "```", "",
         f"{stats.get('computed', 0)} trial(s) computed by this invocation, "
         f"{stats.get('reused', 0)} reused from the checkpoint"
         + (" (nothing recomputed)" if not stats.get("computed") else "") + "."
         + (" **Stopped early** (stop request): the table covers the finished trials only."
            if stats.get("stopped") else ""), "",
         f"Solve time recorded when the trials ran: {_solve_minutes(rows):.1f} min in total "
         "(machine and load as they were then).", "",
         "## Values the published files leave open", "",
         "| what | chosen | why |", "|---|---|---|"]
    L += [f"| {a} | {b} | {c} |" for a, b, c in CHOSEN]
    L += ["", f"Exact readings: `optsched.exact.solve`, method `auto`, {cfg.time_limit:g} s per "
          f"trial, bound effort `{cfg.bound_effort}`, warm-started with MC-SF. Trial k of every "
          f"row uses generator seed {cfg.seed} + k, so the rows are paired draws.", "",
          "## Published | authors'-code protocol | optsched", ""]
    L += side_by_side(sums, cfg.readings, rows)
    L += ["", "An incumbent row gives the ratio a paper would print from that incumbent; it is "
          "not a ratio to the optimum. The optsched row gives MC-SF / optimum: a number where "
          "the optimum is proven, otherwise the interval [MC-SF / best schedule found, MC-SF / "
          "lower bound]; its “optimal” column counts proven cases, then cases where no better "
          "schedule was found. docs/reproduction.md reads the table."]
    return "\n".join(L) + "\n"


def _solve_minutes(rows: list[dict[str, Any]]) -> float:
    """Solver time of the rows as recorded when each trial ran (incumbent or exact solve)."""
    total = sum((r.get("inc_runtime") or 0.0) + (r.get("opt_runtime") or 0.0) for r in rows)
    return float(total) / 60.0


def run_authors_protocol(cfg: SensitivityConfig, out_dir: Path, command: str,
                         checkpoint: Path | None = None, progress: bool = True,
                         resume_from: Path | None = None,
                         trace: AuthorsTraceConfig | None = None) -> dict[str, Any]:
    """Run (or resume) the protocol's trials and, with ``trace``, the real-trace study under
    the published batch-time formula (recomputed each time: it takes about a minute and is
    deterministic); write ``authors-code.md`` (and ``authors-trace.json``) beside the
    sensitivity tables; returns the run's counts."""
    stats: dict[str, Any] = {}
    rows = run_sensitivity(cfg, out_dir, checkpoint, progress, resume_from, stats)
    text = render_authors_report(rows, cfg, command, stats)
    if trace is not None and not stats.get("stopped"):
        summary = run_authors_trace(trace)
        atomic_write_json(out_dir / "authors-trace.json", summary)
        text += "\n" + "\n".join(authors_trace_section(summary))
    atomic_write_text(out_dir / "authors-code.md", text)
    return stats


__all__ = ["CHOSEN", "render_authors_report", "run_authors_protocol", "side_by_side"]
