"""Exception types: every user-facing failure is an :class:`OptschedError` with a clear message."""

from __future__ import annotations


class OptschedError(Exception):
    """Base class for errors caused by bad input or an impossible request (CLI exit code 2)."""


class InstanceError(OptschedError, ValueError):
    """An instance file or object breaks the format or the model's rules."""


class ScheduleError(OptschedError, ValueError):
    """A schedule file or object is malformed (not: infeasible; the validator reports that)."""


class CertificateError(OptschedError, ValueError):
    """A certificate file is malformed or does not match its instance."""


class SolverError(OptschedError, RuntimeError):
    """A solver backend is unavailable or was asked for something it cannot do."""
