"""Progress of a long run: one live line on stderr, in the style of a MIP solver's log.

Long stages (the solve methods, LNS, a policy run on a large trace) report what they hold now:
the best validated schedule's value and the best proven bound. They talk to a
:class:`Progress` object and never to the terminal, so this module sits at the bottom of the
package (beside :mod:`optsched.control`) and the exact and policy layers need not import the
CLI. The CLI picks the object: :class:`ProgressLine` when stderr is a terminal, or
:class:`ProgressLog` with ``--log`` (one line per change, also into a file), else nothing.
Nothing here writes to stdout, so ``--json`` output stays one clean object.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Protocol, TextIO


class Progress(Protocol):
    """What a stage calls when its best schedule or bound changes (or just to say where it is)."""

    def report(self, stage: str, *, best: int | None = None, bound: int | None = None,
               detail: str = "") -> None:
        """Record the stage's name and, when known, the best value, the proven bound and a
        short detail (e.g. how many sub-solves ran)."""


class NoProgress:
    """The default: stages report, nobody listens (library calls stay silent)."""

    def report(self, stage: str, *, best: int | None = None, bound: int | None = None,
               detail: str = "") -> None:
        return None

    def close(self) -> None:
        return None


def gap_text(best: int | None, bound: int | None) -> str:
    """The relative gap as a MIP log shows it ("-" while one end is missing)."""
    if best is None or bound is None:
        return "-"
    return f"{(best - bound) / max(best, 1):.2%}"


class _State:
    """Best values seen so far (each stage may know only one of them)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.stage = ""
        self.detail = ""
        self.best: int | None = None
        self.bound: int | None = None
        self.lock = threading.Lock()

    def update(self, stage: str, best: int | None, bound: int | None, detail: str = "") -> bool:
        """Take the new values (best: lower wins, bound: higher wins); True if the stage, the
        best or the bound changed (a new detail alone is not a change)."""
        with self.lock:
            changed = stage != self.stage
            self.stage, self.detail = stage, detail
            if best is not None and (self.best is None or best < self.best):
                self.best, changed = best, True
            if bound is not None and (self.bound is None or bound > self.bound):
                self.bound, changed = bound, True
            return changed

    def line(self) -> str:
        elapsed = time.perf_counter() - self.start
        if self.best is None and self.bound is None:  # e.g. the engine: no values to show
            return f"{elapsed:7.1f} s  {self.stage}" + (f" ({self.detail})" if self.detail else "")
        best = "-" if self.best is None else str(self.best)
        bound = "-" if self.bound is None else str(self.bound)
        return (f"{elapsed:7.1f} s  best {best:>10}  bound {bound:>10}  "
                f"gap {gap_text(self.best, self.bound):>7}  {self.stage}"
                + (f" ({self.detail})" if self.detail else ""))


class ProgressLine:
    """A line on a terminal, rewritten in place (carriage return), shown after ``delay`` s.

    Runs shorter than ``delay`` seconds print nothing. The line is redrawn on every report (at
    most every ``interval`` seconds) and, by a small background thread, every ``interval``
    seconds while a stage runs without reporting (so the elapsed time stays live through a
    long bound computation); :meth:`close` stops the thread and erases the line, so the final
    report starts on a clean line.
    """

    def __init__(self, stream: TextIO | None = None, *, delay: float = 2.0,
                 interval: float = 0.5, ticking: bool = True) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.delay, self.interval = delay, interval
        self.state = _State()
        self._drawn = 0.0
        self._width = 0
        self._write = threading.Lock()
        self._closed = threading.Event()
        if ticking:
            threading.Thread(target=self._tick, daemon=True, name="optsched-progress").start()

    def _tick(self) -> None:
        while not self._closed.wait(self.interval):
            self._draw(force=False)

    def _draw(self, force: bool) -> None:
        now = time.perf_counter()
        with self._write:
            if self._closed.is_set() or now - self.state.start < self.delay:
                return
            if not force and now - self._drawn < self.interval:
                return
            self._drawn = now
            text = self.state.line()
            self.stream.write("\r" + text.ljust(self._width))
            self.stream.flush()
            self._width = len(text)

    def report(self, stage: str, *, best: int | None = None, bound: int | None = None,
               detail: str = "") -> None:
        self.state.update(stage, best, bound, detail)
        self._draw(force=False)

    def close(self) -> None:
        """Stop the redraws and erase the line (if one was drawn)."""
        with self._write:
            self._closed.set()
            if self._width:
                self.stream.write("\r" + " " * self._width + "\r")
                self.stream.flush()
                self._width = 0


class ProgressLog:
    """One full line per change of stage, best or bound, and at least one every ``every``
    seconds while reports come in (for ``--log`` and files): never rewrites anything."""

    def __init__(self, stream: TextIO | None = None, *, every: float = 5.0) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.state = _State()
        self.every = every
        self._written = 0.0

    def report(self, stage: str, *, best: int | None = None, bound: int | None = None,
               detail: str = "") -> None:
        changed = self.state.update(stage, best, bound, detail)
        now = time.perf_counter()
        if changed or now - self._written >= self.every:
            self._written = now
            self.stream.write(self.state.line() + "\n")
            self.stream.flush()

    def close(self) -> None:
        return None


def for_terminal(*, quiet: bool = False, log: bool = False,
                 stream: TextIO | None = None) -> ProgressLine | ProgressLog | NoProgress:
    """The progress object a command should use: nothing with ``quiet``, a log with ``log``,
    a live line when the stream (stderr by default) is a terminal, else nothing."""
    out = sys.stderr if stream is None else stream
    if quiet:
        return NoProgress()
    if log:
        return ProgressLog(out)
    return ProgressLine(out) if out.isatty() else NoProgress()
