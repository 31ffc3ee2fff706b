"""Core CLI: solve/validate/verify/export contracts, and bad input -> exit 2, one line, no files."""

from __future__ import annotations

import json

import pytest

from optsched.exact import solve
from optsched.model.instance import instance_from_dict

SMALL = {"memory_limit": 8, "requests": [
    {"id": "a", "arrival": 0, "prompt_tokens": 1, "output_tokens": 4},
    {"id": "b", "arrival": 0, "prompt_tokens": 2, "output_tokens": 2},
    {"id": "c", "arrival": 1, "prompt_tokens": 0, "output_tokens": 3}]}


def test_solve_json_contract(run_cli, write_json):
    """solve --json prints one object with the documented keys and a valid schedule."""
    path = write_json("i.json", SMALL)
    res = run_cli("solve", path, "--json")
    assert res.code == 0, res.err
    out = res.json()
    for key in ("status", "objective", "bound", "total_latency", "solver", "schedule"):
        assert key in out
    assert out["status"] == "optimal"
    assert out["objective"] == out["bound"]
    assert set(out["schedule"]["starts"]) == {"a", "b", "c"}
    assert out["total_latency"] == out["objective"] - 1


@pytest.mark.parametrize("solver", ["cpsat", "highs", "cbc", "bruteforce"])
def test_solve_every_solver_from_cli(run_cli, solver):
    """Every solver choice runs from the CLI on the built-in worked example (optimum 4)."""
    res = run_cli("solve", "builtin:worked-example", "--solver", solver, "--json")
    assert res.code == 0, res.err
    assert res.json()["objective"] == 4
    assert res.json()["status"] == "optimal"


def test_solve_human_output_lists_schedule(run_cli):
    """Without --json the output is a readable summary with the schedule table."""
    res = run_cli("solve", "builtin:worked-example")
    assert res.code == 0
    assert "status     optimal" in res.out
    assert "completion" in res.out


BAD_INPUTS = [
    ("{not json", "not valid JSON"),
    (json.dumps({"memory_limit": 3, "requests": [{"id": "x", "prompt_tokens": 2,
                                                  "output_tokens": 2}]}), "can never run"),
    (json.dumps({"memory_limit": 3, "requests": []}), "at least one request"),
    (json.dumps({"memory_limit": 3, "requests": [{"id": "x", "prompt_tokens": -1,
                                                  "output_tokens": 2}]}), "prompt_tokens"),
]


@pytest.mark.parametrize(("text", "message"), BAD_INPUTS)
def test_bad_instance_exit_2_one_line_nothing_written(run_cli, write_json, tmp_path, text,
                                                       message):
    """Bad input: exit 2, one clear stderr line, no traceback, no certificate written."""
    path = write_json("bad.json", text)
    cert = tmp_path / "cert.json"
    res = run_cli("solve", path, "--certificate", cert)
    assert res.code == 2
    assert message in res.err
    assert "Traceback" not in res.err
    assert len(res.err.strip().splitlines()) == 1
    assert res.out == ""
    assert not cert.exists()


def test_missing_file_and_unknown_builtin(run_cli, tmp_path):
    """A missing file or unknown built-in name is a clear exit-2 error."""
    res = run_cli("solve", tmp_path / "nope.json")
    assert res.code == 2
    assert "not found" in res.err
    res = run_cli("solve", "builtin:nope")
    assert res.code == 2
    assert "unknown built-in instance" in res.err


def test_bad_option_values(run_cli):
    """Unknown solver, bad thread count and bad time limit are rejected with exit 2."""
    assert run_cli("solve", "builtin:default", "--solver", "gurobi").code == 2
    res = run_cli("solve", "builtin:default", "--threads", "0")
    assert res.code == 2
    assert "threads" in res.err
    res = run_cli("solve", "builtin:default", "--time-limit", "-1")
    assert res.code == 2
    assert "time limit" in res.err


def test_existing_certificate_survives_a_failed_run(run_cli, write_json, tmp_path):
    """A failing solve never touches an existing certificate file."""
    cert = tmp_path / "cert.json"
    cert.write_text("precious")
    res = run_cli("solve", write_json("bad.json", "{"), "--certificate", cert)
    assert res.code == 2
    assert cert.read_text() == "precious"


def test_validate_exit_codes(run_cli, write_json):
    """validate: exit 0 for a valid schedule, 1 with the memory violation listed otherwise."""
    inst = write_json("i.json", SMALL)
    good = write_json("good.json", {"starts": {"a": 0, "b": 4, "c": 6}})
    assert run_cli("validate", inst, good).code == 0
    bad = write_json("bad.json", {"starts": {"a": 0, "b": 1, "c": 1}})
    res = run_cli("validate", inst, bad, "--json")
    assert res.code == 1
    found = [(v["kind"], v["time"], v["amount"]) for v in res.json()["violations"]]
    assert found == [("memory", 3, 2)]
    res = run_cli("validate", inst, write_json("x.json", {"starts": {"a": "zero"}}))
    assert res.code == 2
    assert "must be an integer" in res.err


def test_certificate_roundtrip_and_tampering(run_cli, tmp_path):
    """A certificate verifies; changing its objective or schedule makes verify fail (exit 1)."""
    cert = tmp_path / "cert.json"
    assert run_cli("solve", "builtin:default", "--certificate", cert).code == 0
    res = run_cli("verify", cert, "--json")
    assert res.code == 0
    assert res.json()["ok"]
    data = json.loads(cert.read_text())
    data["objective"] -= 1
    data["bound"] -= 1
    cert.write_text(json.dumps(data))
    res = run_cli("verify", cert)
    assert res.code == 1
    assert "total completion time" in res.out
    data["objective"] += 1
    data["bound"] += 1
    first = next(iter(data["schedule"]["starts"]))
    data["schedule"]["starts"][first] = 0
    data["schedule"]["starts"] = {k: 0 for k in data["schedule"]["starts"]}
    cert.write_text(json.dumps(data))
    res = run_cli("verify", cert, "--json")
    assert res.code == 1
    assert any("fails validation" in p for p in res.json()["problems"])


def test_verify_resolve_and_instance_match(run_cli, write_json, tmp_path):
    """verify --resolve re-proves the optimum with another solver; a wrong --instance fails."""
    cert = tmp_path / "cert.json"
    inst = write_json("i.json", SMALL)
    assert run_cli("solve", inst, "--solver", "highs", "--certificate", cert).code == 0
    res = run_cli("verify", cert, "--resolve", "bruteforce", "--json")
    assert res.code == 0
    assert res.json()["resolve"]["objective"] == res.json()["objective"]
    res = run_cli("verify", cert, "--instance", "builtin:default")
    assert res.code == 1
    assert "different instance" in res.out


@pytest.mark.parametrize("fmt", ["mps", "lp"])
def test_export_is_readable_by_highs_with_same_optimum(run_cli, write_json, tmp_path, fmt):
    """The exported MILP, read by HiGHS on its own, has the optimum optsched proved."""
    import highspy

    from optsched.exact.backends import new_highs

    inst_path = write_json("i.json", SMALL)
    out = tmp_path / f"model.{fmt}"
    res = run_cli("export", inst_path, "--format", fmt, "-o", out)
    assert res.code == 0
    assert out.exists()
    h = new_highs()
    assert h.readModel(str(out)) == highspy.HighsStatus.kOk
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    want = solve(instance_from_dict(SMALL), "bruteforce").objective
    assert round(h.getInfo().objective_function_value) == want


def test_help_explains_commands(run_cli):
    """--help lists the core commands with explanations."""
    res = run_cli("--help")
    assert res.code == 0
    for cmd in ("solve", "validate", "verify", "export"):
        assert cmd in res.out


@pytest.mark.parametrize("method", ["time-indexed", "epoch", "cumulative", "portfolio",
                                    "heuristic"])
def test_solve_method_option_is_recorded(run_cli, tmp_path, method):
    """--method selects the solve path and is recorded in the JSON and the certificate."""
    cert = tmp_path / "c.json"
    res = run_cli("solve", "builtin:worked-example", "--method", method, "--json",
                  "--certificate", cert)
    assert res.code == 0, res.err
    assert res.json()["parameters"]["method"] == method
    assert res.json()["objective"] == 4
    assert json.loads(cert.read_text())["solver"]["parameters"]["method"] == method
    assert run_cli("verify", cert).code == 0


def test_solve_bound_effort_option_is_recorded_and_checked(run_cli):
    """--bound-effort fast is recorded in the result's parameters; an unknown effort is an
    argparse error (exit 2) naming the choices."""
    res = run_cli("solve", "builtin:worked-example", "--bound-effort", "fast", "--json")
    assert res.code == 0, res.err
    assert res.json()["parameters"]["bound_effort"] == "fast"
    res = run_cli("solve", "builtin:worked-example", "--bound-effort", "slow")
    assert res.code == 2
    assert "full" in res.err
    assert "fast" in res.err
