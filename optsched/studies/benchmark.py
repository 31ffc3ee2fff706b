"""Benchmark harness for exact solving: fixed seeded instance sets x solve variants, one table.

Every variant runs every instance with the same time limit, threads and seed, through
:func:`optsched.exact.solve` (so every schedule is validated and "optimal" means proven). Results
are plain rows (one per instance x variant) that are written as Parquet, summarised as a table
(proven count, median / max time, mean / max gap) and drawn as a cactus plot. Variants that both
prove optimality on one instance must report the same objective; :func:`disagreements` lists
any instance where they do not (that would be a bug in a formulation or a bound).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import statistics
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from optsched.control import stop_requested
from optsched.data.generators import jaillet_model1, jaillet_model2
from optsched.errors import OptschedError
from optsched.model.instance import Instance
from optsched.model.io import append_jsonl, atomic_write_parquet, jsonl_appender, read_jsonl


@dataclass(frozen=True)
class Variant:
    """One way of solving: a backend and a solve path (:data:`optsched.exact.solve.METHODS`)."""

    name: str
    solver: str
    method: str
    help: str
    #: CP-SAT worker profile (method "layered" only; optsched.exact.layered.PROFILES)
    profile: str = "default"


def variant_name(solver: str, method: str, profile: str = "default") -> str:
    """The one name of a variant: ``SOLVER:METHOD`` with the names of ``solve --solver`` and
    ``--method``, and ``:PROFILE`` for a non-default CP-SAT profile of ``layered``."""
    return f"{solver}:{method}" + ("" if profile == "default" else f":{profile}")


def _variant(solver: str, method: str, help: str, profile: str = "default") -> Variant:
    return Variant(variant_name(solver, method, profile), solver, method, help, profile)


#: The documented variants (any other SOLVER:METHOD pair that solve accepts works too).
VARIANTS: dict[str, Variant] = {v.name: v for v in (
    _variant("cpsat", "time-indexed", "baseline: time-indexed model on CP-SAT, earliest-fit "
             "incumbent"),
    _variant("cpsat", "epoch", "CP-SAT + MC-SF incumbent + epoch lower bound"),
    _variant("cpsat", "cumulative", "ramp-cumulative model on CP-SAT (one start variable per "
             "request) + MC-SF incumbent + epoch lower bound"),
    _variant("cpsat", "portfolio", "cumulative and time-indexed CP-SAT models side by side "
             "(threads split between them), best of both"),
    _variant("highs", "time-indexed", "time-indexed model on HiGHS"),
    _variant("highs", "epoch", "HiGHS + MC-SF incumbent + epoch lower bound"),
    _variant("cbc", "time-indexed", "time-indexed model on CBC"),
    _variant("cpsat", "lns", "large-neighbourhood search (CP-SAT on small windows) from the "
             "epoch incumbent + combinatorial bound; never proves unless the bound meets it"),
    _variant("cpsat", "heuristic", "no MILP: best of MC-SF / earliest-fit and the epoch lower "
             "bound"),
    _variant("cpsat", "auto", "the default solve path: portfolio up to 20 requests, epoch up "
             "to 30, lns above"),
    _variant("cpsat", "layered", "LNS incumbent, then the layered CP-SAT model with the "
             "combinatorial bound as objective cut, complete hint, default workers"),
    *(_variant("cpsat", "layered", f"as cpsat:layered, CP-SAT workers: {w}", p)
      for p, w in (("lbtree", "lower-bound tree search + default LP"),
                   ("shaving", "objective shaving + default LP"),
                   ("bound", "lower-bound tree search + objective shaving + max LP"))),
    _variant("cpsat", "bnb", "problem-specific branch-and-bound over chronological starts "
             "(optsched.exact.branch_bound; the search on one thread) from the epoch incumbent "
             "and bound, with LNS on CP-SAT between two searches"),
)}

#: Names of 0.9 and earlier, still accepted (they mean the variant they point to; rows and
#: tables use the new name).
VARIANT_ALIASES: dict[str, str] = {
    "cpsat": "cpsat:time-indexed", "cpsat-epoch": "cpsat:epoch",
    "cpsat-cumulative": "cpsat:cumulative", "cpsat-portfolio": "cpsat:portfolio",
    "highs": "highs:time-indexed", "highs-epoch": "highs:epoch", "cbc": "cbc:time-indexed",
    "lns": "cpsat:lns", "heuristic": "cpsat:heuristic", "auto": "cpsat:auto",
    "layered": "cpsat:layered", "layered-lbtree": "cpsat:layered:lbtree",
    "layered-shaving": "cpsat:layered:shaving", "layered-bound": "cpsat:layered:bound",
    "bnb": "cpsat:bnb",
}


def resolve_variant(name: str) -> Variant:
    """The variant called ``name``: a documented one, an old alias, or any SOLVER:METHOD[:PROFILE]
    that :func:`optsched.exact.solve.solve` accepts (clear error otherwise)."""
    from optsched.exact.layered import PROFILES
    from optsched.exact.solve import METHODS, SOLVERS

    name = VARIANT_ALIASES.get(name, name)
    if name in VARIANTS:
        return VARIANTS[name]
    parts = name.split(":")
    ok = (len(parts) in (2, 3) and parts[0] in SOLVERS and parts[1] in METHODS
          and (len(parts) == 2 or (parts[1] == "layered" and parts[2] in PROFILES)))
    if not ok:
        raise OptschedError(f"--variants: unknown variant {name!r}; give SOLVER:METHOD (solve's "
                            f"--solver and --method names), one of {', '.join(VARIANTS)}, or an "
                            f"old name ({', '.join(VARIANT_ALIASES)})")
    return _variant(parts[0], parts[1], "", parts[2] if len(parts) == 3 else "default")


#: Model 1 sizes and Model 2 horizons of the ``frontier`` set: how far proofs reach.
FRONTIER_SIZES = (12, 16, 20, 24)
FRONTIER_HORIZONS = (10, 15, 20)


def _model1_of_size(seed: int, n: int) -> Instance:
    return jaillet_model1(seed, n_range=(n, n))


def _model2_of_horizon(seed: int, h: int) -> Instance:
    return jaillet_model2(seed, horizon_range=(h, h))


#: (family name, generator call) -- each family is seeded 0..count-1.
_FAMILIES: dict[str, Callable[[int], Instance]] = {
    "m1": lambda seed: jaillet_model1(seed),
    "m2": lambda seed: jaillet_model2(seed),
    "m1-small": lambda seed: jaillet_model1(seed, n_range=(10, 14)),
    "m1-mid": lambda seed: jaillet_model1(seed, n_range=(20, 30)),
    "m2-mid": lambda seed: jaillet_model2(seed, horizon_range=(15, 25)),
    "m2-small": lambda seed: jaillet_model2(seed, horizon_range=(8, 12)),
    "m1-tiny": lambda seed: jaillet_model1(seed, n_range=(6, 8)),
    "m2-tiny": lambda seed: jaillet_model2(seed, horizon_range=(4, 6)),
    "m1-1000": lambda seed: jaillet_model1(seed, n_range=(1000, 1000)),
    "m2-1000": lambda seed: jaillet_model2(seed, horizon_range=(1000, 1000)),
    "azure-conv-40": lambda seed: _trace_window("azure-conv", 40, seed),
    "azure-code-40": lambda seed: _trace_window("azure-code", 40, seed),
    "mooncake-conv-40": lambda seed: _trace_window("mooncake-conv", 40, seed),
    **{f"m1-n{n}": partial(_model1_of_size, n=n) for n in FRONTIER_SIZES},
    **{f"m2-h{h}": partial(_model2_of_horizon, h=h) for h in FRONTIER_HORIZONS},
}


def _trace_window(family: str, n: int, seed: int) -> Instance:
    """A window of ``n`` consecutive requests of a shipped real-trace sample, with the trace
    family's recorded conversion defaults (optsched.data.families; token scale, round, M)."""
    from optsched.data.families import get_family

    fam = get_family(family)
    return fam.instance(fam.resolve({"n": n}), seed=0, index=seed)

#: Named instance sets: family -> number of seeds. "paper" is the protocol of
#: docs/model.md#published-settings.
INSTANCE_SETS: dict[str, dict[str, int]] = {
    "quick": {"m1-tiny": 3, "m2-tiny": 3},
    "small": {"m1-small": 10, "m2-small": 10},
    "mid": {"m1-mid": 10, "m2-mid": 10},
    "paper": {"m1": 20, "m2": 20},
    "m1": {"m1": 20},
    "m2": {"m2": 20},
    "scale": {"m1-1000": 3, "m2-1000": 3},
    "traces": {"azure-conv-40": 3, "azure-code-40": 3, "mooncake-conv-40": 3},
    "frontier": {**{f"m1-n{n}": 3 for n in FRONTIER_SIZES},
                 **{f"m2-h{h}": 3 for h in FRONTIER_HORIZONS}},
}


@dataclass(frozen=True)
class Case:
    """One benchmark instance, rebuilt from its family and seed."""

    family: str
    seed: int

    @property
    def name(self) -> str:
        return f"{self.family}-s{self.seed}"

    def instance(self) -> Instance:
        return _FAMILIES[self.family](self.seed)


def instance_set(name: str) -> list[Case]:
    """The cases of a named set (:data:`INSTANCE_SETS`)."""
    if name not in INSTANCE_SETS:
        raise OptschedError(f"unknown instance set {name!r}; choose one of "
                            f"{', '.join(INSTANCE_SETS)}")
    return [Case(fam, seed) for fam, count in INSTANCE_SETS[name].items()
            for seed in range(count)]


def parse_variants(spec: str) -> list[Variant]:
    """Comma-separated variant names -> variants (clear error naming the unknown one)."""
    names = [s.strip() for s in spec.split(",") if s.strip()]
    if not names:
        raise OptschedError("--variants: give at least one variant")
    return [resolve_variant(n) for n in names]


def run_one(case: Case, variant: Variant, time_limit: float, threads: int = 1,
            seed: int = 0, certificate: bool = False) -> dict[str, Any]:
    """Solve one case with one variant and return its result row; with ``certificate`` the row
    also carries the solve's certificate (schedule included), so the open-instance table
    (:mod:`optsched.studies.open_instances`) can keep the schedule behind a value."""
    from optsched.exact.solve import solve
    from optsched.version import __version__

    inst = case.instance()
    res = solve(inst, variant.solver, time_limit=time_limit, threads=threads, seed=seed,
                method=variant.method, profile=variant.profile)
    row = {
        "instance": case.name, "family": case.family, "seed": case.seed, "n": inst.n,
        "memory_limit": inst.memory_limit, "instance_hash": inst.content_hash(),
        "variant": variant.name, "solver": res.solver,
        "method": res.parameters.get("method", variant.method),  # what `auto` chose
        "status": res.status.value, "objective": res.objective, "bound": res.bound,
        "gap": res.gap, "runtime": res.runtime, "time_limit": float(time_limit),
        "threads": threads, "solver_seed": seed, "raw_status": res.raw_status,
        "solver_version": res.solver_version, "optsched_version": __version__,
        "schedule_valid": bool(res.validation.valid) if res.validation else None,
        "variables": res.model_size.get("variables"), "nonzeros": res.model_size.get("nonzeros"),
    }
    if certificate:
        from optsched.exact.certificate import certificate_dict

        row["certificate"] = certificate_dict(res)
    return row


def side_by_side_row(case: Case, variant: str, res: Any, time_limit: float) -> dict[str, Any]:
    """The row a side-by-side benchmark script keeps of one solve (``res``: a SolveResult), as
    :func:`print_side_by_side` reads it."""
    return {"instance": case.name, "family": case.family, "variant": variant,
            "status": res.status.value, "objective": res.objective, "bound": res.bound,
            "gap": res.gap, "runtime": res.runtime, "time_limit": time_limit}


def _run_packed(args: tuple[Case, Variant, float, int, int, bool]) -> dict[str, Any]:
    return run_one(*args)


def run_benchmark(cases: Iterable[Case], variants: Iterable[Variant], time_limit: float,
                  threads: int = 1, seed: int = 0, jobs: int = 1, progress: bool = True,
                  checkpoint: str | Path | None = None, certificates: bool = False
                  ) -> list[dict[str, Any]]:
    """Run every case with every variant; ``jobs`` solves run side by side in processes.

    With ``checkpoint`` (a JSON-lines file) every finished row is appended to it at once, and
    solves already recorded there with the same instance content, variant, time limit,
    threads, solver seed and optsched version are not run again: an interrupted run resumes
    where it stopped. Rows come back in task order either way; after a stop request
    (:func:`optsched.control.stop_requested`, e.g. the first Ctrl-C under
    :func:`~optsched.control.interruptible`) no new solve starts and only finished rows
    return. With ``certificates`` each row carries its solve's certificate (a recorded row
    without one is solved again)."""
    from tqdm import tqdm

    from optsched.version import __version__

    tasks = [(c, v, time_limit, threads, seed, certificates) for c in cases for v in variants]
    done = _recorded(checkpoint, certificates)
    rows: dict[int, dict[str, Any]] = {}
    todo = []
    for index, (c, v, *_) in enumerate(tasks):
        key = (c.instance().content_hash(), v.name, float(time_limit), threads, seed,
               __version__) if done else None
        if key in done:
            rows[index] = done[key]
        else:
            todo.append(index)
    bar = tqdm(total=len(tasks), initial=len(rows), desc="bench exact", unit="solve",
               disable=not progress)
    with contextlib.ExitStack() as stack:
        fh = None
        if checkpoint is not None:
            fh = stack.enter_context(jsonl_appender(checkpoint))

        def finish(index: int, row: dict[str, Any]) -> None:
            rows[index] = row
            if fh is not None:
                append_jsonl(fh, row)
            bar.update()

        if jobs <= 1:
            for index in todo:
                if stop_requested():
                    break
                finish(index, _run_packed(tasks[index]))
        else:
            pool = stack.enter_context(ProcessPoolExecutor(max_workers=jobs))
            futures = {pool.submit(_run_packed, tasks[i]): i for i in todo}
            for future in as_completed(futures):
                finish(futures[future], future.result())
                if stop_requested():
                    pool.shutdown(wait=True, cancel_futures=True)
                    break
    bar.close()
    return [rows[i] for i in range(len(tasks)) if i in rows]


def _recorded(checkpoint: str | Path | None, certificates: bool) -> dict[tuple, dict[str, Any]]:
    """The rows a checkpoint already holds, by :func:`_row_key` (only those with a certificate
    when ``certificates``); a non-empty file with no row at all is refused, not overwritten."""
    if checkpoint is None:
        return {}
    keyed = [(key, r) for r in read_jsonl(checkpoint) if (key := _row_key(r)) is not None]
    if not keyed and Path(checkpoint).exists() and Path(checkpoint).stat().st_size:
        raise OptschedError(f"checkpoint {checkpoint} holds no benchmark rows; it is left "
                            "untouched (choose another file)")
    return {key: r for key, r in keyed if not certificates or "certificate" in r}


def _row_key(row: dict[str, Any]) -> tuple | None:
    """What makes a recorded row answer a task again (None for a row missing a field)."""
    try:
        return (row["instance_hash"], row["variant"], float(row["time_limit"]), row["threads"],
                row["solver_seed"], row["optsched_version"])
    except (KeyError, TypeError, ValueError):
        return None


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (family, variant): proven count, median / max time, mean / max final gap.

    Median time counts an unproven run as infinitely slow, so it is finite only when more than
    half the runs were proven; gaps are over runs that have both an objective and a bound."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["family"], r["variant"]), []).append(r)
    out = []
    for (family, variant), rs in groups.items():
        times = [r["runtime"] if r["status"] == "optimal" else math.inf for r in rs]
        gaps = [r["gap"] for r in rs if r["gap"] is not None]
        med = statistics.median(times)
        out.append({
            "family": family, "variant": variant, "runs": len(rs),
            "proven": sum(r["status"] == "optimal" for r in rs),
            "median_time": med, "max_time": max(r["runtime"] for r in rs),
            "mean_gap": statistics.fmean(gaps) if gaps else None,
            "max_gap": max(gaps) if gaps else None,
            "time_limit": rs[0]["time_limit"],
        })
    return out


def summary_table(rows: list[dict[str, Any]]) -> str:
    """The summary as a fixed-width text table."""
    from optsched.studies.formatting import table

    body = []
    for s in summarize(rows):
        med = s["median_time"]
        body.append([s["family"], s["variant"], f"{s['proven']}/{s['runs']}",
                     f">{s['time_limit']:g}" if math.isinf(med) else f"{med:.2f}",
                     f"{s['max_time']:.2f}", _pct(s["mean_gap"]), _pct(s["max_gap"])])
    return table(body, ["family", "variant", "proven", "median s", "max s", "mean gap",
                        "max gap"])


def baseline_summary(rows: list[dict[str, Any]], baseline: str) -> list[dict[str, Any]]:
    """Per (family, variant), and over all families ("all"): proven count and mean gap, and
    against ``baseline`` on the same instances: proven delta, mean objective ratio and mean
    bound ratio (variant / baseline; objective < 1 and bound > 1 are better).

    Raises :class:`OptschedError` when no row is of the baseline variant (an old name of it
    is accepted)."""
    baseline = VARIANT_ALIASES.get(baseline, baseline)
    base = {r["instance"]: r for r in rows if r["variant"] == baseline}
    if not base:
        raise OptschedError(f"--baseline: no result of variant {baseline!r}; add it to "
                            "--variants")
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        if r["instance"] in base:
            for family in (r["family"], "all"):
                groups.setdefault((family, r["variant"]), []).append(r)
    out = []
    for (family, variant), rs in sorted(groups.items(), key=lambda kv: kv[0][0] == "all"):
        pairs = [(r, base[r["instance"]]) for r in rs]
        gaps = [r["gap"] for r in rs if r["gap"] is not None]
        obj = [r["objective"] / b["objective"] for r, b in pairs
               if r["objective"] is not None and b["objective"]]
        bnd = [r["bound"] / b["bound"] for r, b in pairs if r["bound"] is not None and b["bound"]]
        proven = sum(r["status"] == "optimal" for r in rs)
        out.append({
            "family": family, "variant": variant, "runs": len(rs), "proven": proven,
            "proven_delta": proven - sum(b["status"] == "optimal" for _, b in pairs),
            "mean_gap": statistics.fmean(gaps) if gaps else None,
            "objective_ratio": statistics.fmean(obj) if obj else None,
            "bound_ratio": statistics.fmean(bnd) if bnd else None,
        })
    return out


def baseline_table(rows: list[dict[str, Any]], baseline: str) -> str:
    """:func:`baseline_summary` as a fixed-width text table (the before/after table)."""
    from optsched.studies.formatting import table

    body = [[s["family"], s["variant"], f"{s['proven']}/{s['runs']}", f"{s['proven_delta']:+d}",
             _pct(s["mean_gap"]), _ratio(s["objective_ratio"]), _ratio(s["bound_ratio"])]
            for s in baseline_summary(rows, baseline)]
    baseline = VARIANT_ALIASES.get(baseline, baseline)
    return table(body, ["family", "variant", "proven", f"vs {baseline}", "mean gap",
                        "objective ratio", "bound ratio"])


def _ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def disagreements(rows: list[dict[str, Any]]) -> list[str]:
    """Instances where two variants both proved optimality but report different objectives,
    or where one variant's proven bound exceeds another's validated objective."""
    by_inst: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_inst.setdefault(r["instance"], []).append(r)
    problems = []
    for name, rs in by_inst.items():
        opt = {r["objective"] for r in rs if r["status"] == "optimal"}
        if len(opt) > 1:
            problems.append(f"{name}: proven optima differ: {sorted(opt)}")
        best_obj = min((r["objective"] for r in rs if r["objective"] is not None), default=None)
        best_bound = max((r["bound"] for r in rs if r["bound"] is not None), default=None)
        if best_obj is not None and best_bound is not None and best_bound > best_obj:
            problems.append(f"{name}: a bound {best_bound} exceeds a valid objective {best_obj}")
    return problems


def side_by_side_arguments(doc: str, add: Callable[[argparse.ArgumentParser], None] | None = None
                           ) -> tuple[argparse.Namespace, list[Case]]:
    """Command line of a side-by-side benchmark script: --set, --limit, --time-limit, --threads
    (checked) and whatever ``add`` puts on the parser; returns the arguments and the cases."""
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="small", choices=list(INSTANCE_SETS))
    ap.add_argument("--limit", type=int, default=None, help="first K seeds of each family")
    ap.add_argument("--time-limit", type=float, default=20.0, help="seconds per solve")
    ap.add_argument("--threads", type=int, default=1, help="CP-SAT workers per solve")
    if add is not None:
        add(ap)
    args = ap.parse_args()
    if args.time_limit <= 0 or args.threads < 1:
        ap.error("--time-limit must be > 0 and --threads >= 1")
    cases = [c for c in instance_set(args.set) if args.limit is None or c.seed < args.limit]
    return args, cases


def print_side_by_side(rows: list[dict[str, Any]], title: str) -> None:
    """End of a side-by-side benchmark script: stop (exit message) if its variants disagree,
    else print ``title`` and the summary table."""
    problems = disagreements(rows)
    if problems:
        raise SystemExit("the variants disagree:\n" + "\n".join(problems))
    print(title)
    print(summary_table(rows))


def write_parquet(rows: list[dict[str, Any]], path: str | Path) -> None:
    """Write the result rows as one Parquet table (atomically: temp file, then rename)."""
    atomic_write_parquet(rows, path)


def read_parquet(path: str | Path) -> list[dict[str, Any]]:
    """Read rows written by :func:`write_parquet`."""
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    return rows


def cactus_plot(rows: list[dict[str, Any]], path: str | Path, title: str = "") -> None:
    """Cactus plot: for each variant, instances proven optimal (x) within time y (sorted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for variant in dict.fromkeys(r["variant"] for r in rows):
        times = sorted(r["runtime"] for r in rows
                       if r["variant"] == variant and r["status"] == "optimal")
        total = sum(r["variant"] == variant for r in rows)
        ax.step(range(1, len(times) + 1), times, where="post", marker="o", markersize=3,
                label=f"{variant} ({len(times)}/{total})")
    ax.set_xlabel("instances proven optimal")
    ax.set_ylabel("time (s)")
    ax.set_yscale("log")
    ax.set_title(title or "exact solving: cactus plot")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
