"""Backends that solve a :class:`TimeIndexedModel`: CP-SAT, HiGHS (highspy) and CBC (PuLP).

Each backend returns a :class:`BackendOutcome` holding the solver's *own* status string, its
best bound and its best solution, and a claim of proven optimality that is re-checked by
:func:`optsched.exact.solve.solve` (claim AND ceil(bound) == objective) before anything is called
optimal. Gap tolerances are set to zero explicitly everywhere.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

import numpy as np

from optsched.control import Deadline, stop_requested
from optsched.errors import SolverError
from optsched.exact.formulation import TimeIndexedModel
from optsched.model.schedule import Schedule

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

    from optsched.progress import Progress

_T = TypeVar("_T")

#: How often a stop watcher looks at the stop flag (seconds): the delay of a Ctrl-C.
STOP_POLL = 0.05


@contextmanager
def stop_watch(stop: Callable[[], None]) -> Iterator[None]:
    """Call ``stop`` once if the user asks the run to stop while the block runs.

    Solvers that run in native code (CP-SAT, HiGHS) do not see Python's stop flag; a watcher
    thread polls :func:`optsched.control.stop_requested` and calls the solver's own stop
    function (CP-SAT ``stop_search``, HiGHS ``cancelSolve``)."""
    done = threading.Event()

    def watch() -> None:
        while not done.wait(STOP_POLL):
            if stop_requested():
                stop()
                return

    thread = threading.Thread(target=watch, daemon=True, name="optsched-stop-watch")
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def run_stoppable(work: Callable[[], _T], stop: Callable[[], None]) -> _T:
    """``work()`` (a blocking call into a native solver) that ``stop`` ends on a stop request.

    Python runs signal handlers only in the main thread, between bytecodes; while that thread
    sits inside a native ``solve`` a Ctrl-C would wait for the solver's own time limit. So on
    the main thread the call runs in a helper thread and the main thread waits in short steps,
    in which the handler of :func:`optsched.control.interruptible` can run (and a second
    Ctrl-C raise at once). On other threads the stop flag is watched by :func:`stop_watch`."""
    if threading.current_thread() is not threading.main_thread():
        with stop_watch(stop):
            return work()
    box: dict[str, Any] = {}
    finished = threading.Event()  # (not Thread.join: after an interrupted join, a later join
    #                               can return while the thread still runs)

    def target() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc
        finally:
            finished.set()

    threading.Thread(target=target, daemon=True, name="optsched-solver").start()
    stopped = False
    try:
        while not finished.wait(STOP_POLL):
            if not stopped and stop_requested():
                stop()
                stopped = True
    except BaseException:  # KeyboardInterrupt (a second Ctrl-C, or none handled): stop the
        stop()             # solver and let it return (a native solver still running when
        finished.wait()    # the interpreter exits aborts the process)
        raise
    if "error" in box:
        raise box["error"]
    return cast(_T, box["value"])


def run_cpsat(solver: cp_model.CpSolver, cp: cp_model.CpModel, params: SolveParameters,
              stage: str) -> Any:
    """``solver.solve(cp)`` that stops on a stop request and reports its bound and solutions
    to ``params.progress`` (the best value reported is CP-SAT's objective, validated later)."""
    from ortools.sat.python import cp_model as cpm

    callback = None
    if params.progress is not None:
        class Report(cpm.CpSolverSolutionCallback):
            def on_solution_callback(self) -> None:
                params.report(stage, best=int(round(self.objective_value)),
                              bound=_finite_bound(self.best_objective_bound))

        callback = Report()
        solver.best_bound_callback = lambda b: params.report(stage, bound=_finite_bound(b))
    return run_stoppable(lambda: solver.solve(cp, callback), solver.stop_search)


def _finite_bound(value: float) -> int | None:
    """A CP-SAT bound as an integer (None while infinite)."""
    import math

    return None if not math.isfinite(value) else int(math.ceil(value - 1e-6))


@dataclass
class SolveParameters:
    """Parameters common to all backends and solve paths (None = solver default)."""

    time_limit: float | None = None
    threads: int = 1
    seed: int = 0
    log: bool = False
    #: how much of optsched.exact.bounds the solve paths compute (its BOUND_EFFORTS)
    bound_effort: str = "full"
    #: CP-SAT runs register here so a concurrent run that proves optimality can stop them.
    stop_group: StopGroup | None = None
    #: The one deadline of the whole solve (every stage and backend takes what is left of it);
    #: by default it starts when the parameters are made and lasts ``time_limit``.
    deadline: Deadline | None = None
    #: Where stages report their best value and bound (optsched.progress; None: nowhere).
    progress: Progress | None = None

    def __post_init__(self) -> None:
        if self.deadline is None:
            self.deadline = Deadline(self.time_limit)

    def seconds_left(self) -> float | None:
        """What a backend may still spend: the deadline's remaining time (None: no limit).

        Never exactly 0, which some solvers read as "no limit"; after a stop request it is a
        hundredth of a second, so a backend that starts anyway returns at once."""
        assert self.deadline is not None  # set in __post_init__
        if stop_requested():
            return 0.01
        left = self.deadline.remaining()
        return None if left is None else max(left, 0.01)

    def report(self, stage: str, *, best: int | None = None, bound: int | None = None,
               detail: str = "") -> None:
        """Pass a stage's news to the progress object (if any)."""
        if self.progress is not None:
            self.progress.report(stage, best=best, bound=bound, detail=detail)

    def to_dict(self) -> dict[str, object]:
        return {"time_limit": self.time_limit, "threads": self.threads, "seed": self.seed,
                "bound_effort": self.bound_effort}


class StopGroup:
    """Concurrent CP-SAT runs of one portfolio: the first to prove optimality stops the rest."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._solvers: list[cp_model.CpSolver] = []
        self.stopped = False

    def register(self, solver: cp_model.CpSolver) -> None:
        with self._lock:
            self._solvers.append(solver)
            if self.stopped:  # stopped before this run began: let it return at once
                solver.parameters.max_time_in_seconds = 0.0

    def stop_all(self) -> None:
        with self._lock:
            self.stopped = True
            for solver in self._solvers:
                # (a run whose solve() has not begun yet ignores this; at worst it uses its
                # full time limit, it is never wrong)
                solver.stop_search()


@dataclass
class BackendOutcome:
    """Raw result of one backend run."""

    raw_status: str
    claims_optimal: bool
    proven_infeasible: bool
    values: np.ndarray | None
    bound: float | None
    version: str
    runtime: float
    schedule: Schedule | None = None  # set by models whose variables are the start times


class Backend(Protocol):
    """A solver for the time-indexed model."""

    name: str

    def run(self, model: TimeIndexedModel, params: SolveParameters,
            hint: np.ndarray | None) -> BackendOutcome: ...


class CpSatBackend:
    """OR-Tools CP-SAT on the 0/1 model; complete hint from the incumbent."""

    name = "cpsat"

    def run(self, model: TimeIndexedModel, params: SolveParameters,
            hint: np.ndarray | None) -> BackendOutcome:
        import ortools
        from ortools.sat.python import cp_model

        cp = cp_model.CpModel()
        x = [cp.new_bool_var(model.var_name(v)) for v in range(model.num_vars)]
        for idx in model.request_vars:
            cp.add_exactly_one([x[v] for v in idx])
        m = model.instance.memory_limit
        weighted = cp_model.LinearExpr.weighted_sum
        for row in model.rows:
            cp.add(weighted([x[v] for v in row.vars.tolist()], row.coefs.tolist()) <= m)
        cp.minimize(weighted(x, model.cost.tolist()))
        if hint is not None:
            for v in range(model.num_vars):
                cp.add_hint(x[v], bool(hint[v] > 0.5))
        solver = new_cpsat_solver(params)
        t0 = time.perf_counter()
        status = run_cpsat(solver, cp, params, "CP-SAT, time-indexed model")
        runtime = time.perf_counter() - t0
        name = solver.status_name(status)
        has_sol = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        values = (np.array([solver.boolean_value(xv) for xv in x], dtype=float)
                  if has_sol else None)
        bound: float | None = (solver.best_objective_bound if status != cp_model.INFEASIBLE
                               else None)
        if status == cp_model.UNKNOWN and bound is not None and not np.isfinite(bound):
            bound = None
        return BackendOutcome(name, status == cp_model.OPTIMAL, status == cp_model.INFEASIBLE,
                              values, bound,
                              f"ortools {ortools.__version__}",  # type: ignore[attr-defined]
                              runtime)


def new_cpsat_solver(params: SolveParameters) -> cp_model.CpSolver:
    """A CP-SAT solver with optsched's settings: zero gap limits, the given limit, workers and
    seed, and linearization level 2 (measured: the default level 1 left a 10-request instance
    unproven after 60 s on the time-indexed model, level 2 proved it in 2 s; docs/benchmarks.md).
    """
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    prm = solver.parameters
    left = params.seconds_left()
    if left is not None:
        prm.max_time_in_seconds = float(left)
    prm.num_workers = max(1, int(params.threads))
    prm.random_seed = int(params.seed)
    prm.linearization_level = 2
    prm.relative_gap_limit = 0.0
    prm.absolute_gap_limit = 0.0
    prm.log_search_progress = bool(params.log)
    prm.catch_sigint_signal = False  # Ctrl-C is optsched's (optsched.control), not CP-SAT's
    if params.stop_group is not None:
        params.stop_group.register(solver)
    return solver


class HighsBackend:
    """HiGHS MIP through highspy (direct API: status and dual bound read from HiGHS itself)."""

    name = "highs"

    def run(self, model: TimeIndexedModel, params: SolveParameters,
            hint: np.ndarray | None) -> BackendOutcome:
        import highspy

        h = new_highs(params.log)
        h.setOptionValue("mip_rel_gap", 0.0)
        h.setOptionValue("mip_abs_gap", 0.0)
        h.setOptionValue("threads", max(1, int(params.threads)))
        h.setOptionValue("random_seed", int(params.seed))
        left = params.seconds_left()
        if left is not None:
            h.setOptionValue("time_limit", float(left))
        add_time_indexed(h, model, integer=True)
        # HiGHS's MIP presolve never looks at the interrupt callbacks: a stop request waited
        # 5-16 s for it on the 20-request Model 1 instance (docs/benchmarks.md), and it
        # reduced nothing there (time-indexed rows have no slack to remove). Without it a stop
        # ends the run within a few tenths of a second, with the LP bound already computed.
        h.setOptionValue("presolve", "off")
        if hint is not None:
            sol = highspy.HighsSolution()
            sol.col_value = list(map(float, hint))
            sol.value_valid = True
            h.setSolution(sol)
        # HiGHS keeps one process-wide thread pool, sized by the first run; a later run asking
        # for another thread count fails with status "Not Set" (seen when an export check with
        # HiGHS's default threads ran first). Resetting the pool makes every run independent.
        highspy.Highs.resetGlobalScheduler(True)
        t0 = time.perf_counter()
        h.HandleUserInterrupt = True  # lets cancelSolve (the stop watcher) end the run
        run_stoppable(h.run, lambda: stop_highs(h))
        runtime = time.perf_counter() - t0
        status = h.getModelStatus()
        raw = h.modelStatusToString(status)
        info = h.getInfo()
        has_sol = info.primal_solution_status == 2  # kSolutionStatusFeasible
        values = np.array(h.getSolution().col_value) if has_sol else None
        bound = info.mip_dual_bound
        infeasible = status == highspy.HighsModelStatus.kInfeasible
        if infeasible or not np.isfinite(bound):
            bound = None
        version = f"highspy {h.version()}" if hasattr(h, "version") else "highspy"
        return BackendOutcome(raw, status == highspy.HighsModelStatus.kOptimal, infeasible,
                              values, bound, version, runtime)


def stop_highs(h: Any) -> None:
    """Stop a running HiGHS solve at its next interrupt check (simplex, IPM and B&B call it)."""
    h.cancelSolve()


def add_time_indexed(h: Any, model: TimeIndexedModel, *, integer: bool) -> None:
    """Load the time-indexed model into the HiGHS object ``h`` (binary, or its LP relaxation
    with ``integer=False``, as :mod:`optsched.exact.colgen` compares against)."""
    import highspy

    nv = model.num_vars
    inf = highspy.kHighsInf
    h.addVars(nv, np.zeros(nv), np.ones(nv))
    h.changeColsCost(nv, np.arange(nv, dtype=np.int32), model.cost.astype(float))
    if integer:
        h.changeColsIntegrality(nv, np.arange(nv, dtype=np.int32),
                                np.array([highspy.HighsVarType.kInteger] * nv))
    for idx in model.request_vars:
        h.addRow(1.0, 1.0, idx.size, idx.astype(np.int32), np.ones(idx.size))
    m = float(model.instance.memory_limit)
    for row in model.rows:
        h.addRow(-inf, m, row.vars.size, row.vars.astype(np.int32), row.coefs.astype(float))


def new_highs(log: bool = False) -> Any:  # a highspy.Highs (highspy has no type stubs)
    """A HiGHS instance whose start-up banner does not reach stdout (it would corrupt --json)."""
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
            h.setOptionValue("output_flag", bool(log))
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    return h


_CBC_RESULT = re.compile(r"^Result - (.+)$|^(Pre-processing says infeasible.*)$", re.M)
_CBC_OBJ = re.compile(r"^Objective value:\s+(\S+)", re.M)
_CBC_LB = re.compile(r"^Lower bound:\s+(\S+)", re.M)


class CbcBackend:
    """COIN-OR CBC through PuLP. PuLP's own status label is ignored: CBC's log states the
    result ("Optimal solution found" vs "Stopped on time limit") and the lower bound."""

    name = "cbc"

    def run(self, model: TimeIndexedModel, params: SolveParameters,
            hint: np.ndarray | None) -> BackendOutcome:
        import pulp

        from optsched.exact.export import to_pulp

        version = f"CBC via PuLP {pulp.__version__}"
        if stop_requested():  # CBC may die of a SIGINT that comes before its handler is set
            return _not_run("stopped before CBC started", version)
        prob, xs = to_pulp(model)
        if hint is not None:
            for v, var in enumerate(xs):
                var.setInitialValue(1 if hint[v] > 0.5 else 0)
        t0 = time.perf_counter()
        log, crashed = self._run_cbc(prob, params, warm_start=hint is not None)
        note = ""
        if crashed and stop_requested():
            return _not_run("stopped: CBC ended without a result", version,
                            time.perf_counter() - t0)
        if crashed and hint is not None:
            # CBC 2.10 can crash (SIGSEGV) when a short time limit hits while it processes a
            # MIP start; run again without the start rather than lose the solve.
            log, crashed = self._run_cbc(prob, params, warm_start=False)
            note = " (CBC crashed with the warm start; re-run without it)"
        runtime = time.perf_counter() - t0
        if crashed:
            raise SolverError("CBC failed to run; the end of its log:\n" + log[-2000:])
        no_solution_file = prob.sol_status is None
        result = _CBC_RESULT.search(log)
        raw = (result.group(0).removeprefix("Result - ").strip() if result
               else f"pulp:{pulp.LpStatus[prob.status]}") + note
        lb = _CBC_LB.search(log)
        bound = float(lb.group(1)) if lb else None
        claims_opt = raw.startswith("Optimal solution found")
        # CBC 2.10 can also print "Pre-processing says infeasible" when the time limit
        # interrupts preprocessing; solve() refuses that claim when a valid schedule exists.
        infeasible = raw.startswith(("Linear relaxation infeasible", "Problem proven infeasible",
                                     "Pre-processing says infeasible"))
        if claims_opt and bound is None:
            obj = _CBC_OBJ.search(log)
            bound = float(obj.group(1)) if obj else None
        values = None
        if not no_solution_file and "No feasible solution found" not in log and \
                prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
            vals = np.array([v.varValue if v.varValue is not None else 0.0 for v in xs])
            values = vals
        return BackendOutcome(raw, claims_opt, infeasible, values, bound, version, runtime)

    @staticmethod
    def _run_cbc(prob: Any, params: SolveParameters, warm_start: bool) -> tuple[str, bool]:
        """Run CBC once; return (its log, crashed?). A crash is a run that wrote no result."""
        import pulp

        with tempfile.TemporaryDirectory(prefix="optsched-cbc-") as tmp:
            log_path = Path(tmp) / "cbc.log"
            with warnings.catch_warnings():  # PuLP 3.x: deprecation notice for 4.0 (pinned <4)
                warnings.simplefilter("ignore", DeprecationWarning)
                # CBC runs as a child process through PuLP: it gets what is left of the
                # deadline, and a stop request reaches it through _CbcLauncher.
                solver = pulp.PULP_CBC_CMD(
                    msg=False, timeLimit=params.seconds_left(), threads=max(1, int(params.threads)),
                    gapRel=0.0, gapAbs=0.0, warmStart=warm_start, logPath=str(log_path),
                    options=[f"randomCbcSeed {int(params.seed) + 1}"], keepFiles=False)
                if not solver.available():
                    raise SolverError("CBC is not available in this PuLP installation")
            prob.sol_status = None
            launcher = _CbcLauncher()
            try:
                with warnings.catch_warnings(), launcher.installed():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    run_stoppable(lambda: prob.solve(solver), launcher.interrupt)
            except pulp.PulpSolverError:
                # PuLP raises when CBC exits non-zero or wrote no solution file; CBC's own log
                # tells whether it finished (a "Result - ..." line) or crashed.
                pass
            log = log_path.read_text() if log_path.exists() else ""
        return log, _CBC_RESULT.search(log) is None


def _not_run(why: str, version: str, runtime: float = 0.0) -> BackendOutcome:
    """The outcome of a backend stopped before it had anything: no claim, no bound, no
    values (the solve path then reports its incumbent and its own bound)."""
    return BackendOutcome(why, False, False, None, None, version, runtime)


class _CbcLauncher:
    """Stands in for the ``subprocess`` module inside PuLP's CBC interface for one solve, so
    that a stop request can reach the CBC child process.

    PuLP keeps the process handle to itself. CBC answers SIGINT by stopping its search and
    writing its best solution and bound as usual, so on a stop request it gets exactly one
    SIGINT. It runs in its own session, so a Ctrl-C typed in the terminal does not reach it a
    second time (optsched forwards the first one and decides what a second one means)."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[Any]] = []
        self._lock = threading.Lock()
        self._stopped = False

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)

    def Popen(self, *args: Any, **kwargs: Any) -> subprocess.Popen[Any]:  # noqa: N802
        """``subprocess.Popen`` in a new session, remembered (and stopped at once if a stop
        came before the launch)."""
        proc = subprocess.Popen(*args, start_new_session=True, **kwargs)
        with self._lock:
            self._procs.append(proc)
            late = self._stopped
        if late:
            self.interrupt()
        return proc

    def interrupt(self) -> None:
        """Send SIGINT once to every CBC process still running."""
        with self._lock:
            self._stopped = True
            procs, self._procs = self._procs, []
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Make PuLP's CBC interface launch through this object for the block."""
        from pulp.apis import coin_api

        saved = coin_api.subprocess
        coin_api.subprocess = self
        try:
            yield
        finally:
            coin_api.subprocess = saved


BACKENDS: dict[str, Backend] = {b.name: b for b in (CpSatBackend(), HighsBackend(),
                                                      CbcBackend())}
