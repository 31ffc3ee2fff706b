"""Export the time-indexed model to PuLP, and from there to MPS or LP files.

Variable ``x_<i>_<t>`` is request number ``i`` (its position in the instance's request list)
starting at round ``t``. Constraint ``assign_<i>`` is its assignment row, ``mem_<t>`` the memory
row at time t. The objective is the total completion time.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from optsched.exact.formulation import TimeIndexedModel, build_model
from optsched.model.instance import Instance
from optsched.model.io import atomic_write_text


def to_pulp(model: TimeIndexedModel) -> tuple[Any, list[Any]]:  # (LpProblem, its LpVariables)
    """The model as a PuLP problem (binary variables, same names as in the docs)."""
    import pulp

    with warnings.catch_warnings():
        # PuLP 3.x warns about its 4.0 API on every variable; we pin pulp<4.
        warnings.simplefilter("ignore", DeprecationWarning)
        prob = pulp.LpProblem("optsched_time_indexed", pulp.LpMinimize)
        xs = [pulp.LpVariable(model.var_name(v), cat=pulp.LpBinary)
              for v in range(model.num_vars)]
    prob += pulp.LpAffineExpression((xs[v], int(c)) for v, c in enumerate(model.cost))
    for i, idx in enumerate(model.request_vars):
        prob += pulp.LpAffineExpression((xs[v], 1) for v in idx) == 1, f"assign_{i}"
    m = model.instance.memory_limit
    for row in model.rows:
        expr = pulp.LpAffineExpression((xs[v], int(c)) for v, c in
                                       zip(row.vars, row.coefs, strict=True))
        prob += expr <= m, f"mem_{row.time}"
    return prob, xs


def export_model(instance: Instance, path: str | Path, fmt: str,
                 incumbent_value: int | None = None) -> TimeIndexedModel:
    """Write the MILP of ``instance`` as ``fmt`` ('mps' or 'lp') atomically to ``path``."""
    import tempfile

    model = build_model(instance, incumbent_value)
    prob, _ = to_pulp(model)
    p = Path(path)
    with tempfile.TemporaryDirectory(prefix="optsched-export-") as tmp:
        tmp_file = Path(tmp) / f"model.{fmt}"
        if fmt == "mps":
            prob.writeMPS(str(tmp_file))
        elif fmt == "lp":
            prob.writeLP(str(tmp_file))
        else:
            raise ValueError(f"unknown export format {fmt!r} (use 'mps' or 'lp')")
        atomic_write_text(p, tmp_file.read_text())
    return model
