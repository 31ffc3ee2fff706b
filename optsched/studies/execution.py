"""Where certification tasks run: in this process, in a local process pool, or on Ray.

All backends share one contract: :func:`run_tasks` takes a picklable, module-level function and
an iterable of task arguments, and yields ``(task, result)`` pairs as tasks finish (any order).
Workers only compute and return; the caller alone writes files, so a killed run can never leave
a half-written file behind a worker's back, and Ray workers need no shared file system.

Cores: each solve uses ``threads`` threads, and the local pool refuses
``workers x threads > cores``. On Ray every task reserves ``num_cpus=threads``, so Ray's
scheduler enforces the same rule on each node.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from optsched.errors import OptschedError

BACKENDS = ("local", "sequential", "ray")


class ExecutionError(OptschedError, RuntimeError):
    """A backend cannot be used as asked (bad worker count, Ray missing or unreachable)."""


class TaskFailed(RuntimeError):
    """A task raised inside a worker; ``task`` is the argument it was called with."""

    def __init__(self, task: Any, error: BaseException) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.task = task
        self.error = error


def available_cores() -> int:
    """CPU cores this process may use (respects affinity masks, e.g. in containers/CI)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def plan_workers(backend: str, workers: int | None, threads: int,
                 address: str | None = None) -> int:
    """Number of concurrent solves. Default: cores // threads (local), 1 (sequential).
    The core limit applies to everything on this machine: the pool and a local Ray runtime."""
    if backend not in BACKENDS:
        raise ExecutionError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if threads < 1:
        raise ExecutionError(f"threads per solve must be >= 1, got {threads}")
    if workers is not None and workers < 1:
        raise ExecutionError(f"workers must be >= 1, got {workers}")
    if backend == "sequential":
        return 1
    cores = available_cores()
    if workers is None:
        workers = max(1, cores // threads)
    on_this_machine = backend == "local" or address in (None, "", "local")
    if on_this_machine and workers * threads > cores:
        raise ExecutionError(f"workers x threads = {workers} x {threads} = {workers * threads} "
                             f"exceeds the {cores} available cores; lower --workers or --threads")
    return workers


def check_backend(backend: str, address: str | None) -> None:
    """Fail before any work if the backend cannot run (Ray missing, cluster unreachable)."""
    if backend != "ray":
        if address:
            raise ExecutionError("--address is only used with the ray backend")
        return
    try:
        import ray  # noqa: F401
    except ImportError:
        raise ExecutionError("the Ray backend needs Ray: install the optional extra "
                             "(pip install 'optsched[ray]')") from None
    if address not in (None, "", "local", "auto"):
        _check_reachable(address)


def run_tasks(fn: Callable[[Any], Any], tasks: Iterable[Any], *, backend: str = "local",
              workers: int = 1, threads: int = 1, address: str | None = None
              ) -> Iterator[tuple[Any, Any]]:
    """Run ``fn(task)`` for every task and yield ``(task, result)`` as they complete.

    At most ``2 x workers`` tasks are in flight (bounded memory for long runs). A task that
    raises stops the run with :class:`TaskFailed`; unstarted tasks are cancelled.
    """
    if backend == "sequential":
        for task in tasks:
            try:
                result = fn(task)
            except Exception as exc:
                raise TaskFailed(task, exc) from exc
            yield task, result
    elif backend == "local":
        yield from _run_local(fn, tasks, workers)
    elif backend == "ray":
        yield from _run_ray(fn, tasks, workers, threads, address)
    else:
        raise ExecutionError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


def _watch_parent(parent: int) -> None:
    """Pool worker initializer: exit when the parent dies (e.g. kill -9), never linger; leave
    Ctrl-C to the parent (which stops the workers itself)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    def loop() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)
    threading.Thread(target=loop, daemon=True).start()


def _run_local(fn: Callable[[Any], Any], tasks: Iterable[Any], workers: int
               ) -> Iterator[tuple[Any, Any]]:
    # "spawn": the parent runs threads (progress bar, solver libraries); forking those is unsafe.
    ctx = multiprocessing.get_context("spawn")
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                  initializer=_watch_parent, initargs=(os.getpid(),))
    it = iter(tasks)
    pending: dict[cf.Future, Any] = {}
    try:
        for task in it:
            pending[pool.submit(fn, task)] = task
            if len(pending) >= 2 * workers:
                break
        while pending:
            done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            # Finished tasks first, failures after: a failure finishing in the same wait as a
            # success must not drop the success's result (the caller records it before the error).
            for fut in sorted(done, key=lambda f: f.exception() is not None):
                task = pending.pop(fut)
                exc = fut.exception()
                if isinstance(exc, cf.process.BrokenProcessPool):
                    raise ExecutionError(
                        "a worker process died or could not start (killed, out of memory, or "
                        "a script calling this without an `if __name__ == \"__main__\":` "
                        "guard, which the 'spawn' start method needs)") from exc
                if exc is not None:
                    raise TaskFailed(task, exc)
                yield task, fut.result()
                nxt = next(it, None)
                if nxt is not None:
                    pending[pool.submit(fn, nxt)] = nxt
    finally:
        if pending:  # stopped early (error, Ctrl-C, consumer gone): do not wait for solves
            procs = getattr(pool, "_processes", None) or {}
            for proc in list(procs.values()):
                proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)


def _run_ray(fn: Callable[[Any], Any], tasks: Iterable[Any], workers: int, threads: int,
             address: str | None) -> Iterator[tuple[Any, Any]]:
    try:
        import ray
    except ImportError:
        raise ExecutionError("the Ray backend needs Ray: install the optional extra "
                             "(pip install 'optsched[ray]')") from None
    started = _start_ray(ray, address, workers * threads)
    remote = ray.remote(num_cpus=threads, max_retries=0)(fn)
    # On a cluster, keep every CPU busy (Ray itself queues tasks that do not fit yet).
    cluster_slots = int(ray.cluster_resources().get("CPU", 1)) // threads
    in_flight = 2 * max(workers, cluster_slots)
    it = iter(tasks)
    pending: dict[Any, Any] = {}
    try:
        for task in it:
            pending[remote.remote(task)] = task
            if len(pending) >= in_flight:
                break
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            ref = done[0]
            task = pending.pop(ref)
            try:
                result = ray.get(ref)
            except Exception as exc:
                raise TaskFailed(task, exc) from exc
            yield task, result
            nxt = next(it, None)
            if nxt is not None:
                pending[remote.remote(nxt)] = nxt
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()


def _start_ray(ray: Any, address: str | None, cpus: int) -> bool:
    """Start a local Ray with ``cpus`` CPUs or join the cluster at ``address``, unless Ray is
    running already; True when this call started it (and must shut it down)."""
    if address not in (None, "", "local", "auto"):
        _check_reachable(address)
    if ray.is_initialized():
        return False
    try:
        if address in (None, "", "local"):
            ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    except Exception as exc:  # ConnectionError, RuntimeError, ... from ray.init
        raise ExecutionError(f"cannot start or reach Ray (address {address or 'local'}): "
                             f"{exc}") from None
    return True


def _check_reachable(address: str) -> None:
    """Fail fast on a cluster address nobody listens at (ray.init would retry for minutes)."""
    import socket

    hostport = address.split("://", 1)[-1]
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        raise ExecutionError(f"Ray address {address!r} must look like HOST:PORT, "
                             "ray://HOST:PORT, auto or local")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=5):
            pass
    except OSError as exc:
        raise ExecutionError(f"cannot reach a Ray cluster at {address}: "
                             f"{exc.strerror or exc}") from None
