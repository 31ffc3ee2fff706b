"""Ground-truth datasets: certified instances of a family, stored so a crash never costs more
than the instances in flight.

Layout of a dataset folder::

    manifest.json             settings, seeds, every run's exact command and package versions
    instances/000042.json     the instance (with its family record in metadata)
    certificates/000042.json  optsched certificate of the solve (re-checkable without a solver)
    results/000042.json       the table row of instance 42; written LAST, so it marks "done"
    dataset.parquet           all rows, sorted by index; rebuilt from results/ and replaced
                              atomically, so it is always a complete table of some moment

Every file is written via a temporary file and a rename. Workers only compute; this process
writes, so a kill -9 at any moment leaves finished instances intact and at most the in-flight
ones missing. Re-running the same command skips the finished ones; the result equals an
uninterrupted run because instance ``i`` depends only on (family, params, seed, i) and the
solves are deterministic (one thread, fixed seed), except for the timing columns.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import json
import platform
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata as _md
from pathlib import Path
from typing import Any

from optsched.data.families import Family, get_family
from optsched.errors import OptschedError
from optsched.exact.certificate import certificate_dict
from optsched.model.io import atomic_path, atomic_write_json
from optsched.studies.execution import TaskFailed, check_backend, plan_workers, run_tasks

FORMAT = "optsched-dataset/1"
TABLE = "dataset.parquet"
#: Columns that legitimately differ between two runs of the same dataset.
TIMING_COLUMNS = ("solve_time", "policy_time")
#: Settings that must match when a dataset folder is resumed.
RESUME_KEYS = ("family", "params", "seed", "solver", "method", "time_limit", "solver_seed",
               "policies")


class DatasetError(OptschedError):
    """The dataset folder cannot be used as asked (unwritable, other settings, locked)."""


@dataclass
class BuildConfig:
    """What a dataset holds; ``count`` may grow between runs, the rest must stay the same."""

    family: str
    count: int
    seed: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    solver: str = "cpsat"
    method: str = "time-indexed"
    time_limit: float | None = 10.0
    threads: int = 1
    solver_seed: int = 0
    policies: list[str] = field(default_factory=list)


@dataclass
class BuildReport:
    """What one ``build`` call did."""

    out_dir: str
    count: int
    skipped: int  # already finished before this run
    built: int
    statuses: dict[str, int]
    backend: str
    workers: int
    seconds: float


def standard_policies() -> list[str]:
    """The policies whose values every row records."""
    from optsched.policies import STANDARD_POLICIES

    return list(STANDARD_POLICIES)


def package_versions(extra: Sequence[str] = ()) -> dict[str, str]:
    """Versions of the packages a dataset's numbers depend on."""
    from optsched.version import __version__

    out = {"optsched": __version__, "python": platform.python_version()}
    for pkg in ("ortools", "highspy", "pulp", "numpy", "pyarrow", *extra):
        try:
            out[pkg] = _md.version(pkg)
        except _md.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _col(policy: str) -> str:
    return policy.replace("-", "_")


# -- the task a worker runs ------------------------------------------------------------------

def certify_task(task: dict[str, Any]) -> dict[str, Any]:
    """Build instance ``task["index"]``, solve it, run the policies; return files and row.

    Runs in a worker process (or on a Ray node): it writes nothing itself.
    """
    import time

    from optsched.exact.solve import solve
    from optsched.policies import run_policy
    from optsched.version import __version__

    fam = get_family(task["family"])
    inst = fam.instance(task["params"], task["seed"], task["index"])
    # Policies first: their best schedule warm-starts the solver (for the time-indexed model it
    # also shortens the horizon), so the solver's answer is never worse than a policy's.
    t0 = time.perf_counter()
    runs: dict[str, Any] = {}
    for name in task["policies"]:
        try:
            runs[name] = run_policy(inst, name)  # validated by run_policy (raises if invalid)
        except Exception as exc:  # e.g. a policy that never makes progress on this instance
            runs[name] = exc
    policy_time = time.perf_counter() - t0
    warm_name, warm = _warm_start(inst, runs)
    res = solve(inst, task["solver"], time_limit=task["time_limit"], threads=task["threads"],
                seed=task["solver_seed"], method=task["method"], initial_solution=warm)
    best = res.objective
    row: dict[str, Any] = {
        "id": task["id"], "index": task["index"], "family": fam.name, "seed": task["seed"],
        "params": json.dumps(task["params"], sort_keys=True),
        **{f"param_{k}": v for k, v in task["params"].items()},
        "n": inst.n, "memory_limit": inst.memory_limit, "horizon": inst.horizon,
        "max_arrival": int(inst.arrival.max()), "total_arrival": inst.total_arrival,
        "sum_prompt": int(inst.prompt.sum()), "sum_output": int(inst.output.sum()),
        "instance_hash": inst.content_hash(),
        "status": res.status.value, "objective": res.objective, "bound": res.bound,
        "gap": res.gap, "total_latency": res.total_latency, "solver": res.solver,
        "solver_version": res.solver_version, "method": task["method"],
        "time_limit": task["time_limit"], "threads": task["threads"],
        "raw_status": res.raw_status, "warm_start": warm_name,
        "schedule_source": res.schedule_source, "solve_time": round(res.runtime, 6),
    }
    for name, run in runs.items():
        c = _col(name)
        if isinstance(run, Exception):
            row.update({f"{c}_value": None, f"{c}_ratio": None, f"{c}_ratio_ub": None,
                        f"{c}_evictions": None,
                        f"{c}_error": f"{type(run).__name__}: {run}"[:500]})
            continue
        row[f"{c}_value"] = run.objective
        # value / best known value: the true ratio when status is optimal, else a lower bound
        # on it; value / proven bound: an upper bound on the true ratio in every case.
        row[f"{c}_ratio"] = None if not best else run.objective / best
        row[f"{c}_ratio_ub"] = None if not res.bound else run.objective / res.bound
        row[f"{c}_evictions"] = run.evictions
        row[f"{c}_error"] = None
    row["policy_time"] = round(policy_time, 6)
    row["optsched_version"] = __version__
    row["instance_file"] = f"instances/{task['id']}.json"
    row["certificate_file"] = f"certificates/{task['id']}.json"
    return {"instance": inst.to_dict(), "certificate": certificate_dict(res), "row": row}


def _warm_start(instance: Any, runs: dict[str, Any]) -> tuple[str | None, Any]:
    """The best schedule among the policies' runs and earliest-fit, as an offline schedule.

    A policy run may contain evicted (aborted) runs; dropping them only frees memory, so the
    final starts alone are a valid no-preemption schedule with the same objective (checked by
    the validator anyway, here and again inside solve)."""
    from optsched.exact.incumbent import earliest_fit_schedule
    from optsched.model.schedule import Schedule
    from optsched.model.validate import validate

    outputs = {r.id: r.output_tokens for r in instance.requests}
    cands: list[tuple[int, str, Any]] = []
    for name, run in runs.items():
        if not isinstance(run, Exception):
            sched = Schedule(dict(run.schedule.starts))
            if validate(instance, sched).valid:
                cands.append((sched.objective(outputs), name, sched))
    ef = earliest_fit_schedule(instance)
    cands.append((ef.objective(outputs), "earliest-fit", ef))
    value, name, sched = min(cands, key=lambda c: c[0])
    return name, sched


# -- the folder --------------------------------------------------------------------------------

def _ident(index: int) -> str:
    return f"{index:06d}"


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _prepare_dir(out: Path) -> None:
    """Create the folder tree and prove it is writable before any work starts."""
    try:
        for sub in ("instances", "certificates", "results"):
            (out / sub).mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise DatasetError(f"dataset folder {out} is not writable: "
                           f"{exc.strerror or exc}") from None


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """One build per folder at a time (the OS drops the lock if the process dies)."""
    fh = open(out / ".lock", "w")  # noqa: SIM115 - held for the whole build
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise DatasetError(f"dataset folder {out} is being built by another process") from None
        yield
    finally:
        fh.close()


def _clean_temporaries(out: Path) -> None:
    """Remove temporary files a killed run left behind (never complete files)."""
    for sub in ("", "instances", "certificates", "results"):
        for p in (out / sub).glob(".*.tmp"):
            with contextlib.suppress(OSError):
                p.unlink()


def read_manifest(out: str | Path) -> dict[str, Any] | None:
    p = Path(out) / "manifest.json"
    if not p.exists():
        return None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{p} cannot be read: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DatasetError(f"{p} is not an optsched dataset manifest")
    return data


def _settings(cfg: BuildConfig) -> dict[str, Any]:
    return {"family": cfg.family, "params": cfg.params, "seed": cfg.seed, "solver": cfg.solver,
            "method": cfg.method, "time_limit": cfg.time_limit, "solver_seed": cfg.solver_seed,
            "policies": cfg.policies}


def _check_resume(old: dict[str, Any], cfg: BuildConfig, out: Path) -> None:
    new = _settings(cfg)
    for key in RESUME_KEYS:
        if old["settings"].get(key) != new[key]:
            raise DatasetError(
                f"dataset folder {out} was built with {key} = "
                f"{json.dumps(old['settings'].get(key))}, not {json.dumps(new[key])}; use the "
                "same settings to resume, or another folder")


def finished_ids(out: str | Path) -> set[str]:
    """Ids whose row is written (the last file of an instance, so it is complete)."""
    return {p.stem for p in (Path(out) / "results").glob("[0-9]*.json")}


def load_rows(out: str | Path) -> list[dict[str, Any]]:
    """Every finished row, sorted by index (read from results/, always up to date)."""
    rows = []
    for p in sorted((Path(out) / "results").glob("[0-9]*.json")):
        rows.append(json.loads(p.read_text(encoding="utf-8")))
    rows.sort(key=lambda r: r["index"])
    return rows


def compact(out: str | Path, rows: list[dict[str, Any]] | None = None) -> Path:
    """Rebuild dataset.parquet from results/ (or from ``rows``, the same rows already in
    memory) and replace it atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out)
    rows = load_rows(out) if rows is None else sorted(rows, key=lambda r: r["index"])
    table = pa.Table.from_pylist(rows) if rows else pa.table({"id": pa.array([], pa.string())})
    with atomic_path(out / TABLE) as tmp:
        pq.write_table(table, tmp)
    return out / TABLE


def read_table(out: str | Path) -> Any:
    """The dataset as a pyarrow Table (the Parquet file; see :func:`compact`)."""
    import pyarrow.parquet as pq

    p = Path(out) / TABLE
    if not p.exists():
        raise DatasetError(f"{out} holds no {TABLE}; is it a dataset folder?")
    return pq.read_table(p)


def _checked_config(cfg: BuildConfig) -> Family:
    """Resolve the family parameters and the default policies into ``cfg`` and refuse any
    setting that cannot run, before a folder is touched; returns the family."""
    fam = get_family(cfg.family)
    cfg.params = fam.resolve(cfg.params)
    if not cfg.policies:
        cfg.policies = standard_policies()
    if cfg.count < 1:
        raise DatasetError(f"count must be >= 1, got {cfg.count}")
    if cfg.time_limit is not None and cfg.time_limit <= 0:
        raise DatasetError(f"time limit must be > 0 seconds, got {cfg.time_limit}")
    from optsched.exact.solve import METHODS, SOLVERS

    if cfg.solver not in SOLVERS:
        raise DatasetError(f"unknown solver {cfg.solver!r}; choose one of {', '.join(SOLVERS)}")
    if cfg.method not in METHODS:
        raise DatasetError(f"unknown method {cfg.method!r}; choose one of {', '.join(METHODS)}")
    from optsched.policies import POLICIES

    for name in cfg.policies:
        if name not in POLICIES:
            raise DatasetError(f"unknown policy {name!r}; choose from {', '.join(POLICIES)}")
    return fam


def build(out_dir: str | Path, cfg: BuildConfig, *, backend: str = "local",
          workers: int | None = None, address: str | None = None, progress: bool = True,
          command: str | None = None, compact_every: float = 60.0) -> BuildReport:
    """Build (or resume) a dataset folder. See the module doc for the guarantees."""
    import time

    from tqdm import tqdm

    t_start = time.perf_counter()
    fam = _checked_config(cfg)
    n_workers = plan_workers(backend, workers, cfg.threads, address)
    check_backend(backend, address)
    # Fail on impossible parameters here, not in a worker: build instance 0 now.
    fam.instance(cfg.params, cfg.seed, 0)

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DatasetError(f"dataset path {out} exists and is not a folder")
    _prepare_dir(out)
    with _locked(out):
        _clean_temporaries(out)
        old = read_manifest(out)
        if old is not None:
            _check_resume(old, cfg, out)
        known = {r["id"]: r for r in load_rows(out)}  # read once; new rows are added below
        done = set(known)
        todo = [i for i in range(cfg.count) if _ident(i) not in done]
        skipped = cfg.count - len(todo)
        versions = package_versions(("ray",) if backend == "ray" else ())
        manifest = old or {"format": FORMAT, "created": _now(), "settings": _settings(cfg),
                           "runs": []}
        manifest["count"] = max(cfg.count, int(manifest.get("count", 0)))
        run = {"command": command or " ".join(sys.argv), "started": _now(),
               "backend": backend, "workers": n_workers, "threads": cfg.threads,
               "address": address, "count": cfg.count, "already_finished": skipped,
               "versions": versions, "finished": None}
        manifest["runs"].append(run)
        atomic_write_json(out / "manifest.json", manifest)

        tasks = ({"id": _ident(i), "index": i, "family": cfg.family, "params": cfg.params,
                  "seed": cfg.seed, "solver": cfg.solver, "method": cfg.method,
                  "time_limit": cfg.time_limit, "threads": cfg.threads,
                  "solver_seed": cfg.solver_seed, "policies": cfg.policies} for i in todo)
        statuses: dict[str, int] = {}
        built = 0
        last_compact = time.monotonic()
        bar = tqdm(total=cfg.count, initial=skipped, desc=cfg.family, unit="inst",
                   file=sys.stderr, disable=not progress, dynamic_ncols=True)
        try:
            for task, result in run_tasks(certify_task, tasks, backend=backend,
                                          workers=n_workers, threads=cfg.threads,
                                          address=address):
                ident = task["id"]
                atomic_write_json(out / "instances" / f"{ident}.json", result["instance"])
                atomic_write_json(out / "certificates" / f"{ident}.json", result["certificate"])
                atomic_write_json(out / "results" / f"{ident}.json", result["row"])
                known[ident] = result["row"]
                built += 1
                st = result["row"]["status"]
                statuses[st] = statuses.get(st, 0) + 1
                bar.set_postfix(statuses, refresh=False)
                bar.update(1)
                if time.monotonic() - last_compact > compact_every:
                    compact(out, list(known.values()))
                    last_compact = time.monotonic()
        except KeyboardInterrupt:
            compact(out, list(known.values()))  # the table holds everything finished
            raise
        except TaskFailed as exc:
            compact(out, list(known.values()))
            raise DatasetError(f"instance {exc.task['id']} failed: {exc}; the {built} instances "
                               "finished in this run are kept") from None
        finally:
            bar.close()
        compact(out, list(known.values()))
        run["finished"] = _now()
        run["built"] = built
        atomic_write_json(out / "manifest.json", manifest)
    return BuildReport(str(out), cfg.count, skipped, built, statuses, backend, n_workers,
                       time.perf_counter() - t_start)


# -- summary -------------------------------------------------------------------------------------

def summarize(out_dir: str | Path) -> dict[str, Any]:
    """What a dataset holds: settings, progress, statuses, sizes, solve times, policy ratios."""
    import numpy as np

    out = Path(out_dir)
    if not out.is_dir():
        raise DatasetError(f"dataset folder not found: {out}")
    manifest = read_manifest(out)
    if manifest is None:
        raise DatasetError(f"{out} has no manifest.json; is it a dataset folder?")
    rows = load_rows(out)
    settings = manifest["settings"]
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1

    def stats(values: list[float]) -> dict[str, float] | None:
        if not values:
            return None
        a = np.asarray(values, dtype=float)
        return {"min": float(a.min()), "median": float(np.median(a)), "mean": float(a.mean()),
                "max": float(a.max())}

    policies = {}
    optimal = [r for r in rows if r["status"] == "optimal"]
    for name in settings.get("policies", []):
        c = _col(name)
        ratios = [r[f"{c}_ratio"] for r in optimal if r.get(f"{c}_ratio") is not None]
        policies[name] = {
            "failed": sum(1 for r in rows if r.get(f"{c}_error")),
            "certified_instances": len(ratios),
            "ratio": stats(ratios),
            "optimal_share": (sum(1 for x in ratios if x == 1.0) / len(ratios)) if ratios
            else None,
        }
    return {
        "folder": str(out), "family": settings["family"], "params": settings["params"],
        "seed": settings["seed"], "solver": settings["solver"], "method": settings["method"],
        "time_limit": settings["time_limit"], "requested": manifest.get("count"),
        "finished": len(rows), "statuses": statuses, "runs": len(manifest.get("runs", [])),
        "n": stats([r["n"] for r in rows]),
        "memory_limit": stats([r["memory_limit"] for r in rows]),
        "solve_time": stats([r["solve_time"] for r in rows]),
        "gap": stats([r["gap"] for r in rows if r["gap"] is not None]),
        "policies": policies,
        "table": str(out / TABLE) if (out / TABLE).exists() else None,
    }


def summary_figure(out_dir: str | Path) -> Any:
    """Four panels: sizes, solve time against n by status, policy/OPT ratios, statuses."""
    import numpy as np

    from optsched.plots import pyplot

    out = Path(out_dir)
    rows = load_rows(out)
    manifest = read_manifest(out) or {"settings": {"policies": [], "family": "?"}}
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    ax_n, ax_t, ax_r, ax_s = axes.ravel()
    if rows:
        ns = np.array([r["n"] for r in rows])
        ax_n.hist(ns, bins=np.arange(ns.min(), ns.max() + 2) - 0.5)
    ax_n.set_xlabel("requests per instance (n)")
    ax_n.set_ylabel("instances")
    for st in ("optimal", "feasible", "unknown", "infeasible"):
        pts = [(r["n"], r["solve_time"]) for r in rows if r["status"] == st]
        if pts:
            x, y = zip(*pts, strict=True)
            ax_t.scatter(x, y, s=12, label=f"{st} ({len(pts)})", alpha=0.7)
    ax_t.set_xlabel("n")
    from matplotlib.ticker import MaxNLocator

    for axis in (ax_n.xaxis, ax_n.yaxis, ax_t.xaxis, ax_s.yaxis):
        axis.set_major_locator(MaxNLocator(integer=True))
    ax_t.set_ylabel("solve time (s)")
    if rows:
        ax_t.legend(fontsize=8)
    names = manifest["settings"].get("policies", [])
    data = [[r[f"{_col(p)}_ratio"] for r in rows
             if r["status"] == "optimal" and r.get(f"{_col(p)}_ratio") is not None]
            for p in names]
    if names and any(data):
        try:
            ax_r.boxplot([d or [np.nan] for d in data], orientation="horizontal")
        except TypeError:  # matplotlib < 3.10
            ax_r.boxplot([d or [np.nan] for d in data], vert=False)
        ax_r.set_yticks(range(1, len(names) + 1))
        ax_r.set_yticklabels(names, fontsize=8)
    ax_r.set_xlabel("policy / proven optimum (certified instances)")
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    ax_s.bar(list(counts), list(counts.values()))
    ax_s.set_ylabel("instances")
    ax_s.set_title("status", fontsize=9)
    fig.suptitle(f"dataset {out.name}: family {manifest['settings']['family']}, "
                 f"{len(rows)} instances")
    fig.tight_layout()
    return fig


# -- verification --------------------------------------------------------------------------------

def verify_dataset(out_dir: str | Path, rebuild: bool = True) -> dict[str, Any]:
    """Re-check a dataset without any solver: every row's instance file matches its hash, its
    certificate re-validates (schedule, objective, status/bound consistency) and agrees with
    the row, and (with ``rebuild``) the family record regenerates the same instance."""
    from optsched.data.families import rebuild as rebuild_instance
    from optsched.errors import OptschedError as _Err
    from optsched.exact.certificate import load_certificate, verify_certificate
    from optsched.model.instance import load_instance

    out = Path(out_dir)
    if read_manifest(out) is None:
        raise DatasetError(f"{out} has no manifest.json; is it a dataset folder?")
    rows = load_rows(out)
    problems: list[str] = []
    for r in rows:
        where = f"instance {r['id']}"
        try:
            inst = load_instance(out / r["instance_file"])
            cert = load_certificate(out / r["certificate_file"])
        except _Err as exc:
            problems.append(f"{where}: {exc}")
            continue
        if inst.content_hash() != r["instance_hash"]:
            problems.append(f"{where}: instance file does not match the row's instance_hash")
        check = verify_certificate(cert, inst)
        problems += [f"{where}: certificate: {p}" for p in check.problems]
        for key in ("status", "objective", "bound"):
            if cert[key] != r[key]:
                problems.append(f"{where}: row says {key} = {r[key]}, certificate {cert[key]}")
        if rebuild:
            try:
                again = rebuild_instance(inst.metadata)
            except _Err as exc:
                problems.append(f"{where}: cannot rebuild from its family record: {exc}")
            else:
                if again.content_hash() != inst.content_hash():
                    problems.append(f"{where}: its family record now generates a different "
                                    "instance (generator or trace changed)")
    return {"folder": str(out), "checked": len(rows), "ok": not problems,
            "problems": problems}



def is_dataset_row(row: dict[str, Any]) -> bool:
    """True for a row of a dataset table (one row per instance, a ``<policy>_ratio`` column
    per policy), as opposed to a study's rows (one row per instance and policy)."""
    return "policy" not in row and "status" in row and any(k.endswith("_ratio") for k in row)


def dataset_ratio_groups(rows: list[dict[str, Any]], policies: Sequence[str] | None = None,
                         ) -> dict[str, list[float]]:
    """policy -> policy / proven optimum over the certified rows (status optimal) of a dataset
    table. Rows whose optimum is not proven are left out: their ratio is only a lower end."""
    from optsched.policies import POLICIES

    names = {_col(p): p for p in POLICIES}
    groups: dict[str, list[float]] = {}
    for row in rows:
        if row.get("status") != "optimal":
            continue
        for key, value in row.items():
            col = key[:-len("_ratio")] if key.endswith("_ratio") else None
            name = names.get(col or "", col)
            if col is None or value is None or value != value or name is None:
                continue
            if not policies or name in policies:
                groups.setdefault(name, []).append(float(value))
    return groups
