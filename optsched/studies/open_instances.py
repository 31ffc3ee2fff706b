"""The open-instance table: best known schedule value and best proven lower bound per instance.

A directory (``instances/open`` in the repository) holds ``table.json`` (the data), a rendered
``README.md``, ``schedules/NAME.json`` (the validated schedule behind each best value) and
``certificates/NAME.json`` (the certificate of each instance one solve proved optimal). The
table only ever improves: a result is merged in when its validated schedule is better than the
best value or its bound higher than the best bound, each with the command and optsched version
that produced it. A bound above a validated value cannot be right (one of the two is a bug), so
:func:`merge_row` raises :class:`BoundConflictError` instead of storing it.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from optsched.errors import OptschedError
from optsched.exact.certificate import verify_certificate
from optsched.model.instance import Instance, instance_from_dict, read_json_file
from optsched.model.io import atomic_write_json, atomic_write_text
from optsched.model.schedule import schedule_from_dict
from optsched.model.validate import validate

FORMAT = "optsched-open-instances/1"
TABLE, README, SCHEDULES, CERTIFICATES = "table.json", "README.md", "schedules", "certificates"


class BoundConflictError(RuntimeError):
    """A lower bound above a validated schedule value: a bug in a bound or in the validator,
    never bad input, so it is not an :class:`OptschedError` (it must not be quietly reported)."""


def empty_table() -> dict[str, Any]:
    """A table with no instance and no command yet."""
    return {"format": FORMAT, "commands": [], "instances": {}}


def load_table(directory: str | Path) -> dict[str, Any]:
    """The table of ``directory`` (an empty one when it has none yet)."""
    path = Path(directory) / TABLE
    if not path.exists():
        return empty_table()
    data = read_json_file(path, "open-instance table")
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise OptschedError(f"{path}: not an open-instance table (expected \"format\": "
                            f"\"{FORMAT}\")")
    return data


def gap(entry: dict[str, Any]) -> float | None:
    """Relative gap (value - bound) / value of a row, as solve reports it."""
    value, bound = entry.get("best_value"), entry.get("best_bound")
    if value is None or bound is None:
        return None
    return float(value - bound) / max(int(value), 1)


def status(entry: dict[str, Any]) -> str:
    """``proven`` when the best value meets the best bound, else ``open`` with its gap."""
    g = gap(entry)
    if g == 0:
        return "proven"
    return "open" if g is None else f"open, gap {100 * g:.2f}%"


def _validated_value(inst: Instance, certificate: dict[str, Any], name: str) -> int | None:
    """The total completion time of the certificate's schedule, re-validated here (None when
    the solve found none); an invalid schedule or a wrong stated objective is refused."""
    if certificate.get("schedule") is None:
        return None
    report = validate(inst, schedule_from_dict(certificate["schedule"]))
    if not report.valid or report.metrics is None:
        raise OptschedError(f"{name}: the schedule fails validation: {report.summary(limit=3)}")
    value = report.metrics.total_completion_time
    if certificate.get("objective") != value:
        raise OptschedError(f"{name}: stated objective {certificate.get('objective')} but the "
                            f"schedule's total completion time is {value}")
    return value


def _source(row: dict[str, Any], command: str) -> dict[str, Any]:
    """Where a value or bound came from: enough to rerun it."""
    return {"command": command, "optsched_version": row.get("optsched_version"),
            "variant": row.get("variant"), "time_limit": row.get("time_limit"),
            "date": _dt.datetime.now(_dt.UTC).date().isoformat()}


def _check_instance(entry: dict[str, Any], inst: Instance, row: dict[str, Any]) -> None:
    """The result must be for the instance the row names (same content hash as the row and
    as the table)."""
    if {entry.get("instance_hash"), row.get("instance_hash")} - {None, inst.content_hash()}:
        raise OptschedError(f"{row['instance']}: the result is for another instance (content "
                            "hash differs from the table's)")


def merge_row(table: dict[str, Any], row: dict[str, Any], command: str,
              directory: str | Path | None = None) -> list[str]:
    """Merge one harness row (with its ``certificate``) into ``table``; return what improved
    (``value``, ``bound``, ``certificate``). With ``directory`` the schedule and certificate
    files are written there. Never lowers a bound nor raises a value."""
    name, cert = row["instance"], row.get("certificate")
    if not isinstance(cert, dict):
        raise OptschedError(f"{name}: the row carries no certificate (run with --update-open)")
    inst = instance_from_dict(cert["instance"])
    entry = table["instances"].setdefault(name, {
        "family": row["family"], "seed": row["seed"], "n": inst.n,
        "memory_limit": inst.memory_limit, "instance_hash": inst.content_hash(),
        "best_value": None, "value_source": None, "best_bound": None, "bound_source": None,
        "certificate": None})
    _check_instance(entry, inst, row)
    value, bound = _validated_value(inst, cert, name), cert.get("bound")
    best_value = min(v for v in (value, entry["best_value"]) if v is not None) if (
        value is not None or entry["best_value"] is not None) else None
    for b in (bound, entry["best_bound"]):
        if b is not None and best_value is not None and b > best_value:
            raise BoundConflictError(f"{name}: lower bound {b} exceeds the validated schedule "
                                     f"value {best_value}")
    improved = []
    if value is not None and (entry["best_value"] is None or value < entry["best_value"]):
        entry["best_value"], entry["value_source"] = value, _source(row, command)
        improved.append("value")
        if directory is not None:
            atomic_write_json(Path(directory) / SCHEDULES / f"{name}.json",
                              {"instance": name, "instance_hash": inst.content_hash(),
                               "total_completion_time": value, "schedule": cert["schedule"]})
    if bound is not None and (entry["best_bound"] is None or bound > entry["best_bound"]):
        entry["best_bound"], entry["bound_source"] = bound, _source(row, command)
        improved.append("bound")
    if cert.get("status") == "optimal" and value == entry["best_value"] and \
            entry["certificate"] is None:
        check = verify_certificate(cert, inst)
        if not check.ok:
            raise OptschedError(f"{name}: its certificate does not verify: "
                                + "; ".join(check.problems))
        entry["certificate"] = f"{CERTIFICATES}/{name}.json"
        improved.append("certificate")
        if directory is not None:
            atomic_write_json(Path(directory) / CERTIFICATES / f"{name}.json", cert)
    return improved


def render(table: dict[str, Any]) -> str:
    """The table as Markdown: commands, then one row per instance."""
    lines = ["# Open instances: best known values and proven bounds", "",
             "Generated by `optsched bench exact ... --update-open instances/open` from "
             "`table.json`; do not edit by hand. Value: total completion time of the best "
             "validated schedule (in `schedules/`); bound: best proven lower bound; "
             "`proven` rows have a certificate in `certificates/` (check it with "
             "`optsched verify`). See docs/benchmarks.md.", "", "## Commands", ""]
    lines += [f"{i + 1}. `{c['command']}` (optsched {c['optsched_version']}, {c['date']}"
              + (f"; {c['note']}" if c.get("note") else "") + ")"
              for i, c in enumerate(table["commands"])]
    lines += ["", "## Table", "",
              "| instance | n | M | best value | best bound | status | value by | bound by |",
              "|---|---:|---:|---:|---:|---|---|---|"]
    for name, e in table["instances"].items():
        lines.append(f"| {name} | {e['n']} | {e['memory_limit']} | {_cell(e['best_value'])} | "
                     f"{_cell(e['best_bound'])} | {status(e)} | {_by(table, e['value_source'])} "
                     f"| {_by(table, e['bound_source'])} |")
    proven = sum(status(e) == "proven" for e in table["instances"].values())
    lines += ["", f"{proven} of {len(table['instances'])} instances proven.", ""]
    return "\n".join(lines)


def _cell(x: int | None) -> str:
    return "-" if x is None else str(x)


def _by(table: dict[str, Any], source: dict[str, Any] | None) -> str:
    """A short reference to a source: the command's number, variant, time limit, version."""
    if source is None:
        return "-"
    numbers = [i + 1 for i, c in enumerate(table["commands"]) if c["command"] == source["command"]]
    ref = f"cmd {numbers[0]}, " if numbers else ""
    return f"{ref}{source['variant']} {source['time_limit']:g} s, v{source['optsched_version']}"


def save_table(table: dict[str, Any], directory: str | Path) -> None:
    """Write ``table.json`` and the rendered ``README.md`` (atomically, each)."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    atomic_write_json(Path(directory) / TABLE, table)
    atomic_write_text(Path(directory) / README, render(table))


def update_open(rows: list[dict[str, Any]], directory: str | Path, command: str) -> dict[str, int]:
    """Merge harness rows into the table of ``directory`` and rewrite it; return counts of
    improved values, bounds and new certificates. The command is listed once, with the
    version of the rows."""
    table = load_table(directory)
    counts = {"value": 0, "bound": 0, "certificate": 0}
    for row in rows:
        for what in merge_row(table, row, command, directory):
            counts[what] += 1
    if rows and command not in {c["command"] for c in table["commands"]}:
        table["commands"].append({"command": command,
                                  "optsched_version": rows[0].get("optsched_version"),
                                  "date": _dt.datetime.now(_dt.UTC).date().isoformat()})
    save_table(table, directory)
    return counts
