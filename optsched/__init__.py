"""optsched: provably optimal LLM-inference schedules under a KV-cache memory budget."""

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from optsched.errors import InstanceError, OptschedError, ScheduleError
from optsched.model.instance import (
    Instance,
    Request,
    load_instance,
    make_instance,
    save_instance,
)
from optsched.model.schedule import Schedule, load_schedule
from optsched.model.validate import validate
from optsched.version import __version__

__all__ = ["Instance", "InstanceError", "OptschedError", "Request", "Schedule", "ScheduleError",
           "__version__", "compare", "load_instance", "load_schedule", "make_instance",
           "save_instance", "solve", "validate"]


if TYPE_CHECKING:
    from optsched.exact.result import SolveResult
    from optsched.studies.compare import Comparison


def solve(*args: Any, **kwargs: Any) -> "SolveResult":  # thin re-export, loads the solvers lazily
    from optsched.exact.solve import solve as _solve

    return _solve(*args, **kwargs)


solve.__doc__ = "Exact solve; see :func:`optsched.exact.solve.solve`."


def compare(instances: "str | Instance | Iterable[Instance | tuple[str, Instance]]",
            policies: "str | Sequence[str] | None" = None, *, solver: str = "cpsat",
            time_limit: float | None = 30.0, threads: int = 1, seed: int = 0,
            prediction: str | None = None, solve_opt: bool = True,
            parameters: Mapping[str, Any] | None = None,
            progress: bool = False) -> "Comparison":
    """Policies against the hindsight optimum (what ``optsched compare`` runs); see
    :func:`optsched.studies.compare.compare`. Loads the solvers and policies on first use."""
    from optsched.studies.compare import compare as _compare

    return _compare(instances, policies, solver=solver, time_limit=time_limit, threads=threads,
                    seed=seed, prediction=prediction, solve_opt=solve_opt,
                    parameters=parameters, progress=progress)
