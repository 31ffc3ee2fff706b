"""Sensitivity study of the published Model 1 / Model 2 figures (issue 18).

Our description of the paper's generator and IP is second-hand, so each ingredient is a
hypothesis. A *reading* fixes one choice for each: the generator (output range, one prompt size
per request or per instance, n), the memory convention (:mod:`optsched.model.conventions`) and what
"OPT" was. Two kinds of OPT:

* ``exact``: the hindsight optimum as :func:`optsched.studies.reproduce.hindsight_optimum`
  computes it (proven where a bound meets a validated schedule, else the interval
  [bound, best schedule]); MC-SF's ratio is then exact or an interval, never a point value for
  an unproven optimum;
* ``incumbent``: what a paper gets from the *plain* time-indexed IP (docs/model.md, full horizon, no
  bound of ours) handed to a MIP solver with a time limit, read at its incumbent, with or
  without MC-SF as a warm start. The "ratio" MC-SF / incumbent is then what such a paper would
  print, and is reported as exactly that, with how often the incumbent ties MC-SF, is better or
  is worse. It is not a ratio to the optimum.

Trial k of every reading uses generator seed ``seed + k``, so readings are compared on paired
draws. Every finished trial is appended to a checkpoint (JSON lines), so an interrupted run
resumes where it stopped; exact solves are also cached as in :mod:`optsched.studies.reproduce`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from optsched.control import stop_requested
from optsched.data.generators import jaillet_model1, jaillet_model2
from optsched.errors import OptschedError
from optsched.exact.backends import BACKENDS, SolveParameters
from optsched.exact.bounds import check_bound_effort
from optsched.exact.formulation import build_model
from optsched.exact.result import integer_bound
from optsched.exact.solve import InvalidSolverSchedule
from optsched.model.conventions import CONVENTIONS, SPEC
from optsched.model.instance import Instance
from optsched.model.io import (
    append_jsonl,
    atomic_write_parquet,
    atomic_write_text,
    jsonl_appender,
    read_jsonl,
)
from optsched.model.schedule import Schedule
from optsched.model.validate import validate
from optsched.studies.formatting import progress_bar
from optsched.studies.policy_runs import run_one_policy
from optsched.studies.reproduce import PUBLISHED, SolveCache, hindsight_optimum, ratio_interval

#: The solvers an ``incumbent`` reading may hand the plain IP to.
INCUMBENT_SOLVERS = ("highs", "cpsat")
#: Time limits (s) of the ``incumbent`` readings in the full grid (the issue's 10 / 60 / 300).
INCUMBENT_LIMITS = (10.0, 60.0, 300.0)


@dataclass(frozen=True)
class Reading:
    """One hypothesis about the paper's experiment (see the module doc)."""

    name: str
    question: str  # "generator", "convention", "opt" or "authors-code": what it varies
    model: int = 1
    n_range: tuple[int, int] | None = None  # None: the paper's (Model 1: 40..60)
    output_max: int | str = "M-s"  # optsched.data.generators.jaillet_model1
    shared_prompt: bool = False
    convention: str = SPEC
    opt: str = "exact"  # or "incumbent"
    solver: str = "cpsat"
    time_limit: float | None = None  # None: the study's --time-limit
    warm: bool = True  # incumbent readings: MC-SF's schedule as the solver's warm start
    max_trials: int | None = None  # cap on trials for expensive readings (None: all)

    def describe(self) -> str:
        """The reading in words, for the table."""
        gen = {"M-s": "o~U{1..M−s}", "M/2": "o~U{1..⌊M/2⌋}"}.get(
            str(self.output_max), f"o~U{{1..{self.output_max}}}")
        parts = [f"Model {self.model}", gen, "one s per instance" if self.shared_prompt
                 else "s per request"]
        if self.n_range is not None:
            lo, hi = self.n_range
            parts.append(f"n = {lo}" if lo == hi else f"n ~ U{{{lo}..{hi}}}")
        parts.append(f"convention {self.convention}")
        if self.opt == "incumbent":
            parts.append(f"plain IP on {self.solver}, {self.time_limit:g} s, "
                         + ("MC-SF warm start" if self.warm else "no warm start"))
        return ", ".join(parts)

    def instance(self, seed: int) -> Instance:
        """The instance of the trial with generator seed ``seed``."""
        kw: dict[str, Any] = {"output_max": self.output_max, "shared_prompt": self.shared_prompt}
        if self.model == 1:
            if self.n_range is not None:
                kw["n_range"] = self.n_range
            inst = jaillet_model1(seed, **kw)
        else:
            inst = jaillet_model2(seed, **kw)
        return inst if self.convention == SPEC else inst.with_convention(self.convention)


def _r(name: str, question: str, **kw: Any) -> Reading:
    return Reading(name, question, **kw)


def _authors_readings() -> list[Reading]:
    """The authors' published code, read as a protocol (docs/reproduction.md): one prompt size
    per instance, the plain IP with that s, solved with a time limit from MC-SF's schedule and
    read at its incumbent; the time limit is not in the files, so several are declared."""
    out = []
    for model in (1, 2):
        pre = "" if model == 1 else "model2-"
        for solver in INCUMBENT_SOLVERS:
            for limit in INCUMBENT_LIMITS:
                out.append(_r(f"{pre}authors-ip-{solver}-{limit:g}s", "authors-code",
                              model=model, shared_prompt=True, opt="incumbent", solver=solver,
                              time_limit=limit, warm=True))
    return out


def _incumbent_readings() -> list[Reading]:
    out = []
    for limit in INCUMBENT_LIMITS:
        for solver in INCUMBENT_SOLVERS:
            for warm in (True, False):
                out.append(_r(f"ip-{solver}-{limit:g}s-{'warm' if warm else 'cold'}", "opt",
                              opt="incumbent", solver=solver, time_limit=limit, warm=warm))
    return out


#: Every reading the study knows, by name.
READINGS: dict[str, Reading] = {r.name: r for r in [
    _r("base", "generator"),
    _r("o-half-M", "generator", output_max="M/2"),
    _r("o-10", "generator", output_max=10),
    _r("o-20", "generator", output_max=20),
    _r("s-shared", "generator", shared_prompt=True),
    _r("n-10", "generator", n_range=(10, 10)),
    _r("n-20", "generator", n_range=(20, 20)),
    _r("o-10-s-shared", "generator", output_max=10, shared_prompt=True),
    _r("prefill", "convention", convention="prefill"),
    _r("last-token-free", "convention", convention="last-token-free"),
    _r("prefill-n-10", "convention", convention="prefill", n_range=(10, 10)),
    _r("last-token-free-n-10", "convention", convention="last-token-free", n_range=(10, 10)),
    *_incumbent_readings(),
    _r("model2-base", "generator", model=2),
    _r("model2-ip-highs-10s-warm", "opt", model=2, opt="incumbent", solver="highs",
       time_limit=10.0),
    _r("model2-ip-cpsat-10s-warm", "opt", model=2, opt="incumbent", solver="cpsat",
       time_limit=10.0),
    _r("model2-s-shared", "generator", model=2, shared_prompt=True),
    *_authors_readings(),
    # a tiny reading for tests and first looks: provable in well under a second per trial
    _r("tiny", "generator", n_range=(4, 4)),
    _r("tiny-prefill", "convention", n_range=(4, 4), convention="prefill"),
    _r("tiny-ip", "opt", n_range=(4, 4), opt="incumbent", solver="highs", time_limit=2.0),
]}

#: Named grids (``--grid``). ``full`` is the whole study; ``reduced`` is what fits about 45
#: minutes of one shared core (the 60 s and 300 s limits on a few trials only); ``tiny`` is for
#: tests.
GRIDS: dict[str, tuple[str, ...]] = {
    "full": tuple(n for n in READINGS if not n.startswith("tiny") and "authors" not in n),
    "reduced": ("ip-highs-10s-warm", "ip-cpsat-10s-warm", "ip-highs-10s-cold",
                "ip-cpsat-10s-cold", "ip-highs-60s-warm", "ip-cpsat-60s-warm",
                "ip-highs-300s-warm", "base", "o-half-M", "o-20", "o-10", "s-shared",
                "o-10-s-shared", "prefill", "last-token-free", "n-10", "n-20", "prefill-n-10",
                "last-token-free-n-10", "model2-base", "model2-ip-highs-10s-warm"),
    "tiny": ("tiny", "tiny-prefill", "tiny-ip"),
    # the authors' code as a protocol, beside what optsched proves on the same draws
    # (s-shared: the optimum under the same generator reading)
    # (the 300 s limits are named readings, left out to keep the grid near 20 minutes)
    "authors-code": ("authors-ip-highs-10s", "authors-ip-cpsat-10s", "authors-ip-highs-60s",
                     "authors-ip-cpsat-60s", "s-shared",
                     "model2-authors-ip-highs-10s", "model2-authors-ip-highs-60s",
                     "model2-s-shared"),
}
#: Trial caps of the reduced grid's expensive readings.
REDUCED_CAPS = {"ip-highs-10s-cold": 5, "ip-cpsat-10s-cold": 5, "ip-highs-60s-warm": 3,
                "ip-cpsat-60s-warm": 3, "ip-highs-300s-warm": 2}
#: Trial caps of the authors'-code grid's expensive readings (applied with the reduced caps).
AUTHORS_CAPS = {"authors-ip-highs-60s": 2, "authors-ip-cpsat-60s": 2, "authors-ip-highs-300s": 1,
                "model2-authors-ip-highs-60s": 2}


@dataclass(frozen=True)
class SensitivityConfig:
    """What determines the study's numbers (everything but the output place)."""

    readings: tuple[Reading, ...]
    trials: int = 10
    seed: int = 0
    time_limit: float = 10.0  # per exact solve (the exact readings)
    threads: int = 1
    bound_effort: str = "fast"  # optsched.exact.bounds.BOUND_EFFORTS, for the exact readings

    def check(self) -> None:
        if not self.readings:
            raise OptschedError("readings: name at least one reading")
        if self.seed < 0:
            raise OptschedError(f"seed: must be >= 0, got {self.seed}")
        if self.trials < 1:
            raise OptschedError(f"trials: must be >= 1, got {self.trials}")
        if not self.time_limit > 0:
            raise OptschedError(f"time limit: must be > 0 seconds, got {self.time_limit}")
        if self.threads < 1:
            raise OptschedError(f"threads: must be >= 1, got {self.threads}")
        check_bound_effort(self.bound_effort)
        for r in self.readings:
            if r.convention not in CONVENTIONS or r.opt not in ("exact", "incumbent") or \
                    r.solver not in INCUMBENT_SOLVERS:
                raise OptschedError(f"reading {r.name!r} is malformed")

    def trials_of(self, reading: Reading) -> int:
        return min(self.trials, reading.max_trials or self.trials)

    def key(self, reading: Reading) -> str:
        """Everything that changes a trial's row, as a string (the checkpoint key)."""
        d = asdict(reading)
        d.pop("max_trials")
        if reading.opt == "exact":
            d.update(time_limit=self.time_limit, bound_effort=self.bound_effort,
                     threads=self.threads)
        return json.dumps(d, sort_keys=True)


def parse_readings(names: str | None, grid: str, trials_capped: bool = True
                   ) -> tuple[Reading, ...]:
    """The readings of ``grid``, or those named in the comma-separated ``names``; the reduced
    grid's trial caps apply when ``trials_capped``."""
    if grid not in GRIDS:
        raise OptschedError(f"--grid: must be one of {', '.join(GRIDS)}, got {grid!r}")
    chosen = GRIDS[grid] if names is None else tuple(
        x.strip() for x in names.split(",") if x.strip())
    if not chosen:
        raise OptschedError("--readings: name at least one reading")
    unknown = [x for x in chosen if x not in READINGS]
    if unknown:
        raise OptschedError(f"--readings: unknown reading(s) {', '.join(unknown)}; known: "
                            f"{', '.join(READINGS)}")
    caps = ({"reduced": REDUCED_CAPS, "authors-code": AUTHORS_CAPS}.get(grid, {})
            if trials_capped else {})
    return tuple(replace(READINGS[x], max_trials=caps.get(x)) for x in dict.fromkeys(chosen))


# --------------------------------------------------------------------------------------------
# one trial
# --------------------------------------------------------------------------------------------
def plain_ip_incumbent(instance: Instance, solver: str, time_limit: float,
                       warm: Schedule | None) -> dict[str, Any]:
    """The plain time-indexed IP (docs/model.md, horizon T = max a + Σ held rounds, no windows from
    an incumbent, no bound of ours) on ``solver`` for ``time_limit`` s, optionally warm-started
    with ``warm``: its incumbent's value (None when it found none), validated, and its bound."""
    model = build_model(instance)
    hint = model.values_from_schedule(warm) if warm is not None else None
    out = BACKENDS[solver].run(model, SolveParameters(time_limit, 1), hint)
    value = None
    if out.values is not None:
        schedule = model.schedule_from_values(out.values)
        report = validate(instance, schedule)
        if not report.valid or report.metrics is None:
            raise InvalidSolverSchedule(f"{solver} returned a schedule that fails validation:\n"
                                        f"{report.summary()}")
        value = report.metrics.total_completion_time
    return {"inc_value": value, "inc_bound": integer_bound(out.bound),
            "inc_raw_status": out.raw_status, "inc_runtime": round(out.runtime, 3),
            "model_variables": model.num_vars, "model_nonzeros": model.num_nonzeros}


def trial_row(reading: Reading, seed: int, trial: int, cfg: SensitivityConfig,
              cache: SolveCache) -> dict[str, Any]:
    """Run MC-SF and the reading's OPT on one trial; one row (ratios on total latency, the
    paper's measure; equal to completion time in Model 1)."""
    inst = reading.instance(seed)
    mc = run_one_policy(inst, "mcsf", seed=seed)
    if not mc.valid:
        raise OptschedError(f"reading {reading.name}, seed {seed}: MC-SF failed: {mc.problems}")
    arr = inst.total_arrival
    row: dict[str, Any] = {
        "reading": reading.name, "question": reading.question, "model": reading.model,
        "opt_kind": reading.opt, "convention": reading.convention, "trial": trial, "seed": seed,
        "n": inst.n, "memory_limit": inst.memory_limit, "instance_hash": inst.content_hash(),
        "mcsf_completion": mc.completion, "mcsf_latency": mc.latency,
        "opt_upper": None, "opt_lower": None, "opt_proven": None, "opt_method": None,
        "opt_runtime": None, "ratio_lo": math.nan, "ratio_hi": math.nan, "mcsf_optimal": None,
        "inc_solver": None, "inc_time_limit": None, "inc_warm": None, "inc_value": None,
        "inc_bound": None, "inc_raw_status": None, "inc_runtime": None,
        "model_variables": None, "model_nonzeros": None, "printed_ratio": math.nan,
        "inc_vs_mcsf": None,
    }
    if reading.opt == "exact":
        opt = hindsight_optimum(inst, "cpsat", cfg.time_limit, cfg.threads, cache,
                                [mc.schedule], "auto", cfg.bound_effort)
        lo, hi = ratio_interval(mc.latency, opt.lower - arr, opt.upper - arr)
        row.update(opt_upper=opt.upper, opt_lower=opt.lower, opt_proven=opt.proven,
                   opt_method=opt.method, opt_runtime=opt.runtime, ratio_lo=lo, ratio_hi=hi,
                   mcsf_optimal=(True if mc.completion <= opt.lower else
                                 False if mc.completion > opt.upper else None))
    else:
        limit = float(reading.time_limit or cfg.time_limit)
        inc = plain_ip_incumbent(inst, reading.solver, limit,
                                 mc.schedule if reading.warm else None)
        v = inc["inc_value"]
        row.update(inc, inc_solver=reading.solver, inc_time_limit=limit,
                   inc_warm=reading.warm,
                   printed_ratio=math.nan if v is None else mc.latency / (v - arr),
                   inc_vs_mcsf="none" if v is None else "tie" if v == mc.completion
                   else "better" if v < mc.completion else "worse")
    return row


# --------------------------------------------------------------------------------------------
# the study
# --------------------------------------------------------------------------------------------
def _read_checkpoint(ck: Path) -> dict[tuple[str, int], dict[str, Any]]:
    """Finished trials of a checkpoint, by (reading key, seed)."""
    done: dict[tuple[str, int], dict[str, Any]] = {}
    for obj in read_jsonl(ck):
        if isinstance(obj.get("key"), str) and isinstance(obj.get("row"), dict):
            done[(obj["key"], obj["row"].get("seed"))] = obj["row"]
    return done


def seed_from(source: Path, out_dir: Path, checkpoint: Path) -> int:
    """Copy-on-write resume: copy ``source``'s checkpoint (a file, or ``checkpoint.jsonl`` of a
    directory) and, for a directory, its solve cache into ``out_dir`` unless they are already
    there, so a committed run is reused without ever being written to. Returns the number of
    finished trials copied."""
    src_ck = source / "checkpoint.jsonl" if source.is_dir() else source
    if not src_ck.is_file():
        raise OptschedError(f"--resume-from {source.name or source}: no checkpoint "
                            "(checkpoint.jsonl) to resume from")
    if src_ck.resolve() == checkpoint.resolve():
        return 0
    copied = 0
    if not checkpoint.exists():
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        text = src_ck.read_text(encoding="utf-8")
        atomic_write_text(checkpoint, text)
        copied = len(_read_checkpoint(checkpoint))
    src_cache = source / "cache" / "solves.jsonl"
    dst_cache = out_dir / "cache" / "solves.jsonl"
    if source.is_dir() and src_cache.is_file() and not dst_cache.exists():
        dst_cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(dst_cache, src_cache.read_text(encoding="utf-8"))
    return copied


def run_sensitivity(cfg: SensitivityConfig, out_dir: Path, checkpoint: Path | None = None,
                    progress: bool = True, resume_from: Path | None = None,
                    stats: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run (or resume from ``checkpoint``, default ``out_dir/checkpoint.jsonl``) every trial of
    every reading; write ``sensitivity.parquet`` and ``sensitivity.md``; return the rows.

    ``resume_from`` (a committed run's directory or checkpoint) is copied, never written to
    (:func:`seed_from`). A stop request (first Ctrl-C, :mod:`optsched.control`) ends the run
    after the current trial, with the tables written for the finished ones. ``stats``, if
    given, receives ``computed`` / ``reused`` trial counts and ``stopped``."""
    cfg.check()
    out_dir.mkdir(parents=True, exist_ok=True)
    ck = checkpoint if checkpoint is not None else out_dir / "checkpoint.jsonl"
    if resume_from is not None:
        seed_from(resume_from, out_dir, ck)
    done = _read_checkpoint(ck)
    cache = SolveCache(out_dir / "cache" / "solves.jsonl")
    jobs = [(r, cfg.seed + k, k) for r in cfg.readings for k in range(cfg.trials_of(r))]
    bar = progress_bar(len(jobs), "trials", progress)
    rows: list[dict[str, Any]] = []
    computed = 0
    for reading, seed, k in jobs:
        if stop_requested():
            break
        key = cfg.key(reading)
        row = done.get((key, seed))
        if row is None:
            row = trial_row(reading, seed, k, cfg, cache)
            computed += 1
            with jsonl_appender(ck) as fh:
                append_jsonl(fh, {"key": key, "row": row})
        rows.append(row)
        bar.set_postfix_str(f"{reading.name} trial {k}")
        bar.update(1)
    bar.close()
    if stats is not None:
        stats.update(computed=computed, reused=len(rows) - computed, planned=len(jobs),
                     stopped=len(rows) < len(jobs))
    atomic_write_parquet(rows, out_dir / "sensitivity.parquet")
    atomic_write_text(out_dir / "sensitivity.md", render_table(summarise(rows, cfg.readings)))
    return rows


@dataclass
class ReadingSummary:
    """One line of the table."""

    reading: str
    description: str
    model: int
    opt_kind: str
    trials: int
    proven: int  # exact readings: optima proven; incumbent readings: incumbents found
    average: tuple[float, float]  # [lo, hi]; equal ends = an exact (or printed) value
    average_se: float  # standard error of the mean of the lower ends
    worst: tuple[float, float]
    optimal: tuple[int, int]  # MC-SF optimal: proven .. possible (incumbent: ties .. ties)
    better: int = 0  # incumbent readings: incumbent better than / tie / worse than MC-SF, none
    tie: int = 0
    worse: int = 0
    none: int = 0
    optimal_rate_p: float | None = None  # P(as few / as many MC-SF optima | paper's rate)


def _binomial_tail(k: int, n: int, p: float, upper: bool) -> float:
    """P(X <= k) (or P(X >= k) when ``upper``) for X ~ Binomial(n, p)."""
    ks = range(k, n + 1) if upper else range(0, k + 1)
    return float(sum(math.comb(n, j) * p ** j * (1 - p) ** (n - j) for j in ks))


def summarise(rows: list[dict[str, Any]], readings: Sequence[Reading]) -> list[ReadingSummary]:
    """One summary per reading, in grid order."""
    out = []
    for r in readings:
        rs = [x for x in rows if x["reading"] == r.name]
        if not rs:
            continue
        if r.opt == "exact":
            lo = [x["ratio_lo"] for x in rs]
            hi = [x["ratio_hi"] for x in rs]
            proven = sum(bool(x["opt_proven"]) for x in rs)
            opt_lo = sum(x["mcsf_optimal"] is True for x in rs)
            opt_hi = sum(x["mcsf_optimal"] is not False for x in rs)
            s = ReadingSummary(r.name, r.describe(), r.model, r.opt, len(rs), proven,
                               (_mean(lo), _mean(hi)), _se(lo), (max(lo), max(hi)),
                               (opt_lo, opt_hi))
        else:
            vals = [x["printed_ratio"] for x in rs if x["inc_value"] is not None]
            rel = [x["inc_vs_mcsf"] for x in rs]
            avg = _mean(vals) if vals else math.nan
            worst = max(vals) if vals else math.nan
            s = ReadingSummary(r.name, r.describe(), r.model, r.opt, len(rs), len(vals),
                               (avg, avg), _se(vals), (worst, worst),
                               (rel.count("tie"), rel.count("tie")), rel.count("better"),
                               rel.count("tie"), rel.count("worse"), rel.count("none"))
        pub = PUBLISHED[r.model]
        if pub["mcsf_optimal"] is not None:
            rate = int(pub["mcsf_optimal"]) / int(pub["trials"])
            a, b = s.optimal
            # incumbent readings: only trials with an incumbent give a paper a number
            n = s.trials if r.opt == "exact" else s.proven
            # the paper's rate is ruled out only if even the most favourable count is extreme
            s.optimal_rate_p = None if n == 0 else min(1.0, 2 * min(
                _binomial_tail(b, n, rate, upper=False), _binomial_tail(a, n, rate, upper=True)))
        out.append(s)
    return out


def _mean(xs: Sequence[float]) -> float:
    return float(sum(xs) / len(xs)) if xs else math.nan


def _se(xs: Sequence[float]) -> float:
    xs = [x for x in xs if math.isfinite(x)]
    if len(xs) < 2:
        return math.nan
    m = sum(xs) / len(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1) / len(xs))


def span(lo: float, hi: float) -> str:
    """An interval of ratios as the tables print it: one value when it is tight."""
    if not math.isfinite(lo):
        return "–"
    if not math.isfinite(hi):
        return f"[{lo:.3f}, ∞)"
    return f"{lo:.3f}" if hi - lo < 5e-4 else f"[{lo:.3f}, {hi:.3f}]"


def _paper(model: int) -> str:
    p = PUBLISHED[model]
    opt = "" if p["mcsf_optimal"] is None else f" / {p['mcsf_optimal']} of {p['trials']}"
    return f"{p['average']} / {p['worst']}{opt}"


def render_table(summaries: Sequence[ReadingSummary]) -> str:
    """The study's table in Markdown (exact readings: ratio to the optimum, an interval where
    it is not proven; incumbent readings: the ratio a paper would print from that incumbent)."""
    lines = ["# Sensitivity study: MC-SF / OPT under readings of the paper's experiment", "",
             "Written by `optsched reproduce jaillet2025 --sensitivity` (docs/reproduction.md "
             "explains the readings, the columns and the verdict). An optimum that is not "
             "proven gives an interval [MC-SF / best schedule, MC-SF / lower bound]; an "
             "incumbent reading gives the ratio a paper would print from that incumbent, not a "
             "ratio to the optimum.", "",
             "| reading | OPT taken as | trials | proven / incumbents | MC-SF/OPT average "
             "(± se of lower ends) | worst | MC-SF optimal | incumbent better / tie / worse / "
             "none | p (paper's 114/200 rate) | paper: average / worst / optimal |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for s in summaries:
        kind = "optimum (interval unless proven)" if s.opt_kind == "exact" else \
            "solver incumbent (printed ratio)"
        a, b = s.optimal
        opt = f"{a}" if a == b else f"{a}–{b}"
        inc = "" if s.opt_kind == "exact" else f"{s.better} / {s.tie} / {s.worse} / {s.none}"
        se = "" if not math.isfinite(s.average_se) else f" ± {s.average_se:.3f}"
        p = "" if s.optimal_rate_p is None else f"{s.optimal_rate_p:.2g}"
        lines.append(f"| `{s.reading}`: {s.description} | {kind} | {s.trials} | {s.proven} | "
                     f"{span(*s.average)}{se} | {span(*s.worst)} | {opt} of {s.trials} | "
                     f"{inc} | {p} | {_paper(s.model)} |")
    return "\n".join(lines) + "\n"


__all__ = ["AUTHORS_CAPS", "GRIDS", "READINGS", "Reading", "ReadingSummary", "SensitivityConfig",
           "parse_readings", "plain_ip_incumbent", "render_table", "run_sensitivity", "seed_from",
           "summarise", "trial_row"]
