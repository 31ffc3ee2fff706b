"""Scheduling policies (fast heuristics judged against the exact optimum)."""

from optsched.policies.mcsf import mcsf_reference

__all__ = ["mcsf_reference"]
