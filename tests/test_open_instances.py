"""The open-instance table: merging only improves it, refuses what cannot be right, renders, and
the committed table in instances/open holds up (schedules validate, certificates verify)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from optsched import validate
from optsched.errors import OptschedError
from optsched.exact import solve
from optsched.exact.certificate import certificate_dict, verify_certificate
from optsched.model.schedule import schedule_from_dict
from optsched.studies.benchmark import Case
from optsched.studies.open_instances import (
    BoundConflictError,
    empty_table,
    load_table,
    merge_row,
    render,
    status,
    update_open,
)

OPEN = Path(__file__).resolve().parent.parent / "instances" / "open"
CASE = Case("m1-tiny", 0)


def _row(result, variant: str = "v") -> dict:
    """A harness row of ``result`` for CASE, carrying its certificate."""
    return {"instance": CASE.name, "family": CASE.family, "seed": CASE.seed,
            "variant": variant, "time_limit": 5.0, "optsched_version": "test",
            "certificate": certificate_dict(result)}


@pytest.fixture(scope="module")
def results():
    """A heuristic (unproven, worse) and a proven solve of one tiny instance."""
    inst = CASE.instance()
    heur = solve(inst, "cpsat", method="heuristic", time_limit=5)
    best = solve(inst, "cpsat", time_limit=20)
    assert best.proven_optimal
    assert heur.objective >= best.objective
    return heur, best


def test_merge_improves_and_never_lowers(results, tmp_path):
    """A better value or bound replaces the old one (schedule and certificate stored); a worse
    result afterwards changes nothing."""
    heur, best = results
    table = empty_table()
    assert "value" in merge_row(table, _row(heur, "heur"), "cmd-a", tmp_path)
    entry = table["instances"][CASE.name]
    assert entry["best_value"] == heur.objective
    assert entry["certificate"] is None
    improved = merge_row(table, _row(best, "exact"), "cmd-b", tmp_path)
    assert "certificate" in improved
    assert entry["best_value"] == entry["best_bound"] == best.objective
    assert entry["bound_source"]["command"] == ("cmd-b" if best.bound > heur.bound else "cmd-a")
    assert status(entry) == "proven"
    assert merge_row(table, _row(heur, "heur"), "cmd-c", tmp_path) == []
    assert entry["best_value"] == best.objective
    assert entry["value_source"]["command"] in ("cmd-a", "cmd-b")
    saved = json.loads((tmp_path / "schedules" / f"{CASE.name}.json").read_text())
    assert saved["total_completion_time"] == best.objective
    cert = json.loads((tmp_path / entry["certificate"]).read_text())
    assert verify_certificate(cert).ok


def test_merge_refuses_an_impossible_bound(results):
    """A bound above a validated value is a bug: it raises, and the table keeps its bound."""
    heur, best = results
    table = empty_table()
    merge_row(table, _row(best), "cmd")
    bad = _row(heur)
    bad["certificate"]["bound"] = best.objective + 1
    with pytest.raises(BoundConflictError, match="exceeds the validated schedule value"):
        merge_row(table, bad, "cmd")
    assert table["instances"][CASE.name]["best_bound"] == best.objective


def test_merge_requires_a_validated_schedule(results):
    """No certificate, one for another instance, an invalid schedule or a misstated objective
    is refused."""
    heur, _ = results
    row = _row(heur)
    del row["certificate"]
    with pytest.raises(OptschedError, match="no certificate"):
        merge_row(empty_table(), row, "cmd")
    row = _row(heur) | {"instance_hash": "sha256:another"}
    with pytest.raises(OptschedError, match="for another instance"):
        merge_row(empty_table(), row, "cmd")
    row = _row(heur)
    row["certificate"]["objective"] -= 1
    with pytest.raises(OptschedError, match="stated objective"):
        merge_row(empty_table(), row, "cmd")
    row = _row(heur)
    starts = row["certificate"]["schedule"]["starts"]
    starts.update(dict.fromkeys(starts, 0))  # everything at once: over memory or before arrival
    with pytest.raises(OptschedError, match="fails validation"):
        merge_row(empty_table(), row, "cmd")


def test_render_lists_rows_status_and_commands(results):
    heur, best = results
    table = empty_table()
    table["commands"].append({"command": "optsched bench x", "optsched_version": "test",
                              "date": "2026-01-01"})
    merge_row(table, _row(heur), "optsched bench x")
    text = render(table)
    assert "`optsched bench x`" in text
    assert f"| {CASE.name} | " in text
    line = next(ln for ln in text.splitlines() if ln.startswith(f"| {CASE.name}"))
    assert ("proven" in line) == (heur.bound == heur.objective)
    assert "cmd 1" in line


def test_cli_update_open_end_to_end(run_cli, tmp_path):
    """bench exact --update-open on one instance writes table, README, schedule and certificate;
    a second run with the same checkpoint solves nothing and changes nothing."""
    out, ck = tmp_path / "open", tmp_path / "ck.jsonl"
    args = ("bench", "exact", "--set", "quick", "--limit", "1", "--families", "m1-tiny",
            "--variants", "cpsat:auto", "--time-limit", "20", "--no-progress",
            "--checkpoint", ck, "--update-open", out)
    r = run_cli(*args)
    assert r.code == 0, r.err
    table = load_table(out)
    entry = table["instances"][CASE.name]
    (solved,) = [json.loads(line) for line in ck.read_text().splitlines()]
    assert (entry["best_value"], entry["best_bound"]) == (solved["objective"], solved["bound"])
    assert (entry["certificate"] is not None) == (solved["status"] == "optimal")
    assert (out / "README.md").read_text().count("| m1-tiny-s0 |") == 1
    assert str(ck) not in json.dumps(table)  # the checkpoint path is not recorded
    assert "--checkpoint FILE.jsonl" in table["commands"][0]["command"]
    assert (out / "schedules" / "m1-tiny-s0.json").exists()
    if entry["certificate"] is not None:
        assert verify_certificate(json.loads((out / entry["certificate"]).read_text())).ok
    before = (out / "table.json").read_text()
    r = run_cli(*args)
    assert r.code == 0, r.err
    assert "0 better value(s), 0 better bound(s)" in r.err
    assert (out / "table.json").read_text() == before
    assert update_open([], out, "nothing") == {"value": 0, "bound": 0, "certificate": 0}


def _committed() -> list[tuple[str, dict]]:
    if not (OPEN / "table.json").exists():
        return []
    return list(load_table(OPEN)["instances"].items())


@pytest.mark.parametrize(("name", "entry"), _committed(), ids=[n for n, _ in _committed()])
def test_committed_row_holds(name, entry):
    """Each committed row: the instance rebuilds with the recorded hash, the stored schedule
    validates with the recorded value, bound <= value, and a proven row's certificate
    verifies for that instance."""
    inst = Case(entry["family"], entry["seed"]).instance()
    assert inst.content_hash() == entry["instance_hash"]
    saved = json.loads((OPEN / "schedules" / f"{name}.json").read_text())
    report = validate(inst, schedule_from_dict(saved["schedule"]))
    assert report.valid, report.summary(limit=3)
    assert report.metrics.total_completion_time == entry["best_value"]
    if entry["best_bound"] is not None:
        assert entry["best_bound"] <= entry["best_value"]
    if status(entry) == "proven" or entry["certificate"] is not None:
        cert = json.loads((OPEN / entry["certificate"]).read_text())
        check = verify_certificate(cert, inst)
        assert check.ok, check.problems
        assert check.status == "optimal"
        assert check.objective == entry["best_value"]


def test_committed_readme_is_rendered_from_the_table():
    if not (OPEN / "table.json").exists():
        pytest.skip("no committed table yet")
    table = load_table(OPEN)
    assert (OPEN / "README.md").read_text() == render(copy.deepcopy(table))


def test_stop_request_starts_no_new_solve(run_cli, tmp_path, monkeypatch):
    """A stop request (the first Ctrl-C) during the first solve: no second solve starts, the
    finished one is merged, exit 130."""
    from optsched.control import clear_stop, request_stop
    from optsched.studies import benchmark

    real = benchmark._run_packed

    def solve_then_stop(task):
        request_stop()
        return real(task)

    monkeypatch.setattr(benchmark, "_run_packed", solve_then_stop)
    try:
        r = run_cli("bench", "exact", "--set", "quick", "--limit", "1", "--variants",
                    "cpsat:heuristic", "--no-progress", "--update-open", tmp_path / "open")
    finally:
        clear_stop()
    assert r.code == 130
    assert "interrupted after 1 of 2 solves" in r.err
    assert list(load_table(tmp_path / "open")["instances"]) == ["m1-tiny-s0"]


def test_update_open_refuses_a_bad_folder_before_solving(run_cli, tmp_path):
    """--update-open naming a file, or a folder whose table is broken, exits 2 with one line
    before any solve (no checkpoint row written) and leaves the broken table as it was."""
    ck = tmp_path / "ck.jsonl"
    a_file = tmp_path / "afile"
    a_file.write_text("x")
    broken = tmp_path / "open"
    broken.mkdir()
    (broken / "table.json").write_text("{broken")
    for target, message in ((a_file, "is not a folder"), (broken, "not valid JSON")):
        r = run_cli("bench", "exact", "--set", "quick", "--limit", "1", "--families", "m1-tiny",
                    "--variants", "cpsat:auto", "--time-limit", "5", "--no-progress",
                    "--checkpoint", ck, "--update-open", target)
        assert r.code == 2
        assert message in r.err
        assert "Traceback" not in r.err
        assert not ck.exists()
    assert (broken / "table.json").read_text() == "{broken"
