"""Reproduction of the experiments of Jaillet et al. (arXiv 2502.07115).

Two studies:

* **synthetic** (:func:`run_synthetic`): Model 1 (all requests at time 0) and Model 2 (Poisson
  arrivals), seeded trials drawn by :mod:`optsched.data.generators`; every policy is run, its
  schedule validated, and compared with the hindsight optimum from :func:`optsched.exact.solve`.
  When the solver does not prove optimality within its limit, the optimum is only known to lie in
  ``[bound, best schedule]`` and every ratio is reported as the interval it implies.
* **trace** (:func:`optsched.studies.trace_study.run_trace_study`): the same policies on
  request lengths from a real conversation trace, with Poisson arrivals at a high and a low
  rate and M = 16,492 tokens, in unit-time rounds (no exact optimum at that size).

The package is split by concern: :mod:`.cache` (exact solves, cached per instance),
:mod:`.trials` (configuration and one trial's rows), :mod:`.summaries` (aggregation and the
results file), :mod:`.report` (the Markdown text), :mod:`.figures` and :mod:`.study`
(:func:`run_study`, which runs both studies). The names below are re-exported so that
``optsched.studies.reproduce.X`` keeps working.

Exact solves are cached per instance (append-only JSON lines under ``cache/``), so an
interrupted run continues where it stopped, and a later run with a stronger solver re-solves only
the trials that are still unproven.
"""

from __future__ import annotations

from optsched.studies.policy_runs import (
    PAPER_POLICIES,
    PolicyOutcome,
    available_policies,
    default_policies,
    run_one_policy,
)
from optsched.studies.reproduce.cache import (
    OptEntry,
    SolveCache,
    combinatorial_bound,
    hindsight_optimum,
)
from optsched.studies.reproduce.figures import make_figures, ratio_histogram
from optsched.studies.reproduce.report import ReportInputs, render_report, versions
from optsched.studies.reproduce.study import run_study
from optsched.studies.reproduce.summaries import (
    PolicySummary,
    read_results,
    summarise,
    write_parquet,
)
from optsched.studies.reproduce.trials import (
    MODEL_GENERATORS,
    PUBLISHED,
    SCALES,
    SyntheticConfig,
    generator_check,
    ratio_interval,
    run_synthetic,
    synthetic_rows,
    trial_instance,
    write_certificates,
)
from optsched.studies.trace_study import (
    PUBLISHED_TRACE,
    TraceConfig,
    read_trace_lengths,
    run_trace_study,
)

__all__ = [
    "MODEL_GENERATORS", "PAPER_POLICIES", "PUBLISHED", "PUBLISHED_TRACE", "SCALES", "OptEntry",
    "PolicyOutcome", "PolicySummary", "ReportInputs", "SolveCache", "SyntheticConfig",
    "TraceConfig", "available_policies", "combinatorial_bound", "default_policies",
    "generator_check", "hindsight_optimum", "make_figures", "ratio_histogram", "ratio_interval",
    "read_results", "read_trace_lengths", "render_report", "run_one_policy", "run_study",
    "run_synthetic", "run_trace_study", "summarise", "synthetic_rows", "trial_instance",
    "versions", "write_certificates", "write_parquet",
]
