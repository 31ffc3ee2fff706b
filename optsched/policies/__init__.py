"""Scheduling policies (fast heuristics judged against the exact optimum).

* :func:`run_policy` runs any policy of :data:`POLICIES` through the online engine and returns a
  validated :class:`PolicyRun`;
* :func:`mcsf_reference` (the line-by-line definition) and :func:`mcsf_fast` (same schedule, less
  work per round) compute Algorithm 1 / MC-SF directly, offline or with arrivals.
"""

from optsched.policies.base import BasePolicy, Policy
from optsched.policies.mcsf import mcsf_reference
from optsched.policies.mcsf_fast import mcsf_fast
from optsched.policies.run import (
    ALIASES,
    POLICIES,
    STANDARD_POLICIES,
    PolicyRun,
    UnknownPolicyError,
    make_policy,
    run_policy,
)

__all__ = ["ALIASES", "POLICIES", "STANDARD_POLICIES", "BasePolicy", "Policy", "PolicyRun",
           "UnknownPolicyError", "make_policy", "mcsf_fast", "mcsf_reference", "run_policy"]
