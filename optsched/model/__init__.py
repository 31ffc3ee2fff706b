"""The model: instances, schedules, the independent validator and file helpers.

The public names are re-exported by :mod:`optsched` itself (``from optsched import
Instance, validate``); this package only groups the modules."""
