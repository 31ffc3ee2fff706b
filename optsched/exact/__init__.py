"""Exact solving: the time-indexed MILP (solver-neutral), its backends, the brute-force oracle."""

from optsched.exact.result import SolveResult, Status
from optsched.exact.solve import SOLVERS, solve

__all__ = ["SOLVERS", "SolveResult", "Status", "solve"]
