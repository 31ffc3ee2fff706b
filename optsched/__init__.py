"""optsched: provably optimal LLM-inference schedules under a KV-cache memory budget."""

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
           "__version__", "load_instance", "load_schedule", "make_instance", "save_instance",
           "solve", "validate"]


if TYPE_CHECKING:
    from optsched.exact.result import SolveResult


def solve(*args: Any, **kwargs: Any) -> "SolveResult":  # thin re-export, loads the solvers lazily
    from optsched.exact.solve import solve as _solve

    return _solve(*args, **kwargs)


solve.__doc__ = "Exact solve; see :func:`optsched.exact.solve.solve`."
