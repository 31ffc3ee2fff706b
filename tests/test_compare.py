"""compare as a Python API (optsched.compare), the one family syntax, and the command's
tables and errors."""

from __future__ import annotations

import inspect
import json

import pytest

import optsched
from optsched import make_instance
from optsched.data.families import FamilyError, load_family
from optsched.errors import OptschedError
from optsched.policies import ALIASES, POLICIES
from optsched.studies.compare import TABLE_WIDTH, instance_table, protocol_table

SMALL = make_instance(8, [3, 2, 4], [1, 2, 1], [0, 1, 1])


def test_compare_has_a_real_signature():
    """IDEs and mypy see the parameters of optsched.compare, not *args/**kwargs."""
    params = inspect.signature(optsched.compare).parameters
    assert list(params)[:2] == ["instances", "policies"]
    assert {"solver", "time_limit", "threads", "seed", "prediction", "solve_opt",
            "parameters"} <= set(params)


def test_compare_api_proves_ratios_and_matches_the_command(run_cli):
    """On a generated family the API proves every optimum, each ratio is objective / OPT >= 1,
    and the command's --json summary is the same numbers."""
    found = optsched.compare("uniform:3:4:8", ["fcfs", "algorithm1"], time_limit=20)
    assert [r["opt"]["status"] for r in found.results] == ["optimal"] * 3
    for res in found.results:
        for row in res["policies"]:
            assert row["ratio"] == pytest.approx(row["objective"] / res["opt"]["objective"])
            assert row["ratio"] >= 1
    assert found.summary["fcfs"]["proven"] == 3
    out = run_cli("compare", "uniform:3:4:8", "--policies", "fcfs,algorithm1",
                  "--time-limit", "20", "--json")
    assert out.code == 0, out.err
    assert json.loads(out.out)["summary"] == json.loads(json.dumps(found.summary))


def test_compare_api_takes_instances_and_policy_parameters():
    """Instances (or name/instance pairs) go in directly; alpha reaches the policies that take
    it and is recorded; no optimum is solved with solve_opt=False."""
    found = optsched.compare([("mine", SMALL)], "alpha-greedy,fcfs", solve_opt=False,
                             parameters={"alpha": 0.5})
    res = found.results[0]
    assert res["instance"] == "mine"
    assert res["opt"]["status"] == "not attempted"
    assert [r["status"] for r in res["policies"]] == ["ok", "ok"]
    assert found.summary["alpha-greedy"]["proven"] == 0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"policies": ["nope"]}, "unknown policy 'nope'"),
    ({"parameters": {"gamma": 1}}, "unknown policy parameter"),
    ({"time_limit": 0}, "time_limit must be > 0"),
    ({"solver": "gurobi"}, "solver 'gurobi'"),
])
def test_compare_api_refuses_bad_settings(kwargs, message):
    """Bad settings are refused with a message naming the setting, before any work."""
    with pytest.raises(OptschedError, match=message):
        optsched.compare(SMALL, **kwargs)


def test_unknown_family_prefix_lists_the_prefixes(run_cli):
    """`compare nosuchfamily:3` says the prefix is unknown and lists every prefix and
    registered family (it used to say only 'file not found')."""
    out = run_cli("compare", "nosuchfamily:3")
    assert out.code == 2
    assert "Traceback" not in out.err
    assert "'nosuchfamily' is not a family prefix" in out.err
    for prefix in ("builtin:NAME", "jaillet1:K", "uniform:K[:N[:M]]", "trace:SOURCE",
                   "NAME:K[:key=value", "heavy-tailed"):
        assert prefix in out.err
    assert len(out.err.strip().splitlines()) == 1


def test_registered_families_share_the_syntax():
    """NAME:K[:key=value,...] draws instances 0..K-1 of a registered family, as a dataset of
    that family and seed would; a bad parameter names the family and the parameter."""
    fam = load_family("heavy-tailed:3:n=4,seed=2")
    assert [inst.n for _, inst in fam] == [4, 4, 4]
    assert [inst.metadata["family"]["index"] for _, inst in fam] == [0, 1, 2]
    assert {inst.metadata["family"]["seed"] for _, inst in fam} == {2}
    with pytest.raises(FamilyError, match="'heavy-tailed' has no parameter 'q'"):
        load_family("heavy-tailed:3:q=1")
    with pytest.raises(FamilyError, match="K must be between 1 and 100000"):
        load_family("heavy-tailed:0")
    # the shorthand keeps its meaning: uniform:K[:N[:M]] with positional integers
    assert [inst.n for _, inst in load_family("uniform:2:5:9")] == [5, 5]


def test_all_policies_tables_wrap_to_the_width():
    """With every policy the per-instance table wraps its policy columns into blocks no wider
    than TABLE_WIDTH, each policy shown once (it was ~400 characters wide); the protocol table
    wraps its 16 columns the same way, each block keeping the policy column."""
    names = [n for n in POLICIES if n not in ALIASES]
    found = optsched.compare([("small", SMALL)], "all", time_limit=20)
    assert found.policies == names
    text = instance_table(found.results, found.policies)
    assert max(len(line) for line in text.splitlines()) <= TABLE_WIDTH
    headers = [line.split() for line in text.splitlines() if line.lstrip().startswith("instance")]
    assert len(headers) >= 2
    assert sorted(h for hdr in headers for h in hdr[4:]) == sorted(names)
    proto = protocol_table(found.summary).split("\nmeans over")[0]
    assert max(len(line) for line in proto.splitlines()) <= TABLE_WIDTH
    blocks = proto.split("\n\n")
    assert len(blocks) >= 2
    for block in blocks:
        assert block.split()[0] == "policy"
        assert all(name in block for name in names)


def test_plot_ratios_reads_a_dataset_table(run_cli, tmp_path):
    """`plot ratios` draws a dataset.parquet (certified rows, one group per policy) and says
    why when no row is certified."""
    out = tmp_path / "ds"
    res = run_cli("dataset", "build", out, "--family", "uniform", "--count", "2", "--param",
                  "n=3", "--param", "m=8", "--policies", "fcfs,algorithm1", "--backend",
                  "sequential", "--no-progress")
    assert res.code == 0, res.err
    png = tmp_path / "r.png"
    res = run_cli("plot", "ratios", out / "dataset.parquet", "-o", png)
    assert res.code == 0, res.err
    assert png.stat().st_size > 1000
    assert "(4 ratios, 2 policies)" in res.out
    res = run_cli("plot", "ratios", out / "dataset.parquet", "-o", png, "--model", "1")
    assert res.code == 2
    assert "dataset table has none" in res.err


def test_dataset_ratio_groups_keep_certified_rows_only():
    """Only rows whose optimum is proven give a ratio (the others are lower ends); column
    names map back to policy names, and --policy filters by those names."""
    from optsched.studies.dataset import dataset_ratio_groups, is_dataset_row

    rows = [{"status": "optimal", "mc_benchmark_ratio": 1.25, "algorithm1_ratio": 1.0,
             "algorithm1_ratio_ub": 1.0},
            {"status": "feasible", "mc_benchmark_ratio": 1.1, "algorithm1_ratio": 1.0},
            {"status": "optimal", "mc_benchmark_ratio": None, "algorithm1_ratio": 1.5}]
    assert is_dataset_row(rows[0])
    assert not is_dataset_row({"policy": "fcfs", "ratio": 1.0})
    assert dataset_ratio_groups(rows) == {"mc-benchmark": [1.25], "algorithm1": [1.0, 1.5]}
    assert dataset_ratio_groups(rows, ["mc-benchmark"]) == {"mc-benchmark": [1.25]}
