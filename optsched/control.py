"""Run control shared by every long stage: one deadline and one stop request.

A long run (``solve``, a policy run on a large trace, a study) is a chain of stages: heuristics,
bounds, LNS, each model of a portfolio. They all work against one :class:`Deadline`, so a time
limit holds for the whole run and not per stage, and they all look at one stop flag, so a
Ctrl-C ends the run within about a second with the best result found so far. Nothing here
depends on the rest of the package: it is the bottom layer, beside ``optsched.errors``.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_STOP = threading.Event()


def stop_requested() -> bool:
    """True once the user asked the run to stop (first Ctrl-C) or :func:`request_stop` ran."""
    return _STOP.is_set()


def request_stop() -> None:
    """Ask every stage to wind up and return what it has (what the first Ctrl-C does)."""
    _STOP.set()


def clear_stop() -> None:
    """Forget an earlier stop request (a new run starts clean)."""
    _STOP.clear()


class Deadline:
    """A point in time after which a stage must return its best result so far.

    ``Deadline(None)`` never expires on time but still expires on a stop request, so a stage
    written against a deadline is interruptible whether or not the user set a time limit.
    """

    def __init__(self, seconds: float | None, *, start: float | None = None) -> None:
        if seconds is not None and seconds < 0:
            raise ValueError("a deadline needs a non-negative number of seconds")
        self.start = time.perf_counter() if start is None else start
        self.end = None if seconds is None else self.start + seconds

    @classmethod
    def unlimited(cls) -> Deadline:
        return cls(None)

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def remaining(self) -> float | None:
        """Seconds left (never negative), or ``None`` when no time limit was set."""
        if self.end is None:
            return None
        return max(self.end - time.perf_counter(), 0.0)

    def expired(self) -> bool:
        """True when time is up or the user asked to stop."""
        if _STOP.is_set():
            return True
        return self.end is not None and time.perf_counter() >= self.end

    def share(self, fraction: float) -> Deadline:
        """A sub-deadline for one stage: ``fraction`` of the time left, never past this one."""
        left = self.remaining()
        if left is None:
            return Deadline(None)
        return Deadline(left * min(max(fraction, 0.0), 1.0))

    def capped(self, seconds: float | None) -> Deadline:
        """A sub-deadline of at most ``seconds`` (``None``: no extra cap), never past this one."""
        left = self.remaining()
        if seconds is None:
            return Deadline(left)
        return Deadline(seconds if left is None else min(seconds, left))


@contextmanager
def interruptible() -> Iterator[None]:
    """Turn the first Ctrl-C into a stop request and let a second one end the run at once.

    Inside the block SIGINT sets the stop flag instead of raising, so every stage can return its
    best result; a second SIGINT raises :class:`KeyboardInterrupt` as usual. Outside the main
    thread (where handlers cannot be installed) the block changes nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    clear_stop()

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        if _STOP.is_set():
            raise KeyboardInterrupt
        _STOP.set()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
