"""Small formatting helpers shared by the study reports, the benchmark harness and the
command line (numbers, intervals, text tables, progress bars)."""

from __future__ import annotations

import math
from typing import Any


def progress_bar(total: int, unit: str, enabled: bool) -> Any:
    """A tqdm bar (off when not ``enabled``) for long study runs."""
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, disable=not enabled, dynamic_ncols=True, leave=False)


def fmt_number(x: float | None, digits: int = 3) -> str:
    """A number for a report table; an en dash for a missing (None or NaN) value."""
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def fmt_interval(iv: tuple[float, float], digits: int = 3) -> str:
    """A ratio interval for a report: one number when both ends agree, else [lo, hi]."""
    lo, hi = iv
    if math.isclose(lo, hi, abs_tol=10 ** -(digits + 1)):
        return fmt_number(lo, digits)
    return f"[{fmt_number(lo, digits)}, {'∞' if math.isinf(hi) else fmt_number(hi, digits)}]"


def table(rows: list[list[object]], header: list[str]) -> str:
    """A plain fixed-width text table (right-aligned cells, a dashed rule under the header)."""
    cells = [[str(c) for c in header]] + [[_cell(c) for c in r] for r in rows]
    widths = [max(len(r[k]) for r in cells) for k in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(c: object) -> str:
    """One table cell: '-' for a missing value, four significant digits for a float."""
    if c is None:
        return "-"
    if isinstance(c, float):
        return f"{c:.4g}"
    return str(c)


def wrapped_table(rows: list[list[object]], header: list[str], keep: int = 1,
                  width: int = 120) -> str:
    """:func:`table`, with its columns after the first ``keep`` wrapped into blocks (each
    repeating the first ``keep`` columns) so that no line is wider than ``width``; a single
    column wider than that still gets a block of its own."""
    cells = [[str(c) for c in header]] + [[_cell(c) for c in r] for r in rows]
    widths = [max(len(r[k]) for r in cells) + 2 for k in range(len(header))]
    blocks: list[list[int]] = [[]]
    used = sum(widths[:keep])
    for k in range(keep, len(header)):
        if blocks[-1] and used + widths[k] > width:
            blocks.append([])
            used = sum(widths[:keep])
        blocks[-1].append(k)
        used += widths[k]
    lead = list(range(keep))
    return "\n\n".join(
        table([[r[k] for k in lead + block] for r in rows], [header[k] for k in lead + block])
        for block in blocks)
