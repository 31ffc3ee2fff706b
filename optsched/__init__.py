"""optsched: provably optimal LLM-inference schedules under a KV-cache memory budget."""

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
           "SolveResult", "Status", "__version__", "load_instance", "load_schedule",
           "make_instance", "save_instance", "solve", "validate"]
