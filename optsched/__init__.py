"""optsched: provably optimal LLM-inference schedules under a KV-cache memory budget."""

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from optsched.errors import InstanceError, OptschedError, ScheduleError
from optsched.exact.result import SolveResult, Status
from optsched.exact.solve import solve
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

# ``solve`` is imported itself (not wrapped), so IDEs, mypy and inspect.signature see its real
# parameters; the solver libraries (OR-Tools, highspy, PuLP) are still imported only when a
# solve needs them, so ``import optsched`` stays quick.
__all__ = ["Instance", "InstanceError", "OptschedError", "Request", "Schedule", "ScheduleError",
           "SolveResult", "Status", "__version__", "compare", "load_instance", "load_schedule",
           "make_instance", "save_instance", "solve", "validate"]


if TYPE_CHECKING:
    from optsched.studies.compare import Comparison


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
