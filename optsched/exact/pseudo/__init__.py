"""The pseudo-schedule Lagrangian bound (issue 24): memory kept integral, request identity
relaxed. :mod:`.pricing` holds the dynamic program, :mod:`.bound` the multipliers and the
bound, :mod:`.reference` a slow CP-SAT pricing for the tests
(``models/pseudo-schedule-bound.md``)."""
