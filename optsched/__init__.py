"""optsched: provably optimal LLM-inference schedules under a KV-cache memory budget."""

__version__ = "0.8.0"

from optsched.errors import InstanceError, OptschedError, ScheduleError  # noqa: E402
from optsched.instance import (  # noqa: E402
    Instance,
    Request,
    load_instance,
    make_instance,
    save_instance,
)
from optsched.schedule import Schedule, load_schedule  # noqa: E402
from optsched.validate import validate  # noqa: E402

__all__ = ["Instance", "InstanceError", "OptschedError", "Request", "Schedule", "ScheduleError",
           "__version__", "load_instance", "load_schedule", "make_instance", "save_instance",
           "solve", "validate"]


def solve(*args, **kwargs):  # noqa: D103 - thin re-export, see optsched.exact.solve.solve
    from optsched.exact.solve import solve as _solve

    return _solve(*args, **kwargs)


solve.__doc__ = "Exact solve; see :func:`optsched.exact.solve.solve`."
