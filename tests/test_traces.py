"""Trace loaders (original formats), conversion rules, recorded choices and rebuilds."""

from __future__ import annotations

import numpy as np
import pytest

from optsched.data.families import get_family
from optsched.data.traces import (
    SAMPLES,
    TraceError,
    load_trace,
    rebuild_trace_instance,
    scale_tokens,
    trace_instance,
)
from optsched.exact.certificate import certificate_dict, verify_certificate
from optsched.exact.solve import solve
from optsched.model.validate import validate


def test_shipped_samples_load_in_their_original_formats():
    """Each sample parses with the right format, row count and first values from the file."""
    conv = load_trace("azure-conv")
    assert (conv.format, conv.n) == ("azure-csv", 1000)
    assert conv.prompt[:2].tolist() == [374, 396]
    assert conv.output[:2].tolist() == [44, 109]
    # 18:15:46.6805900 -> 18:15:50.9951690 is 4.314579 s (0.1 us ticks, no float drift)
    assert conv.times[0] == 0.0
    assert conv.times[1] == pytest.approx(4.314579, abs=1e-9)
    assert conv.t0_label == "2023-11-16 18:15:46.6805900"
    moon = load_trace("mooncake-conv")
    assert (moon.format, moon.n) == ("mooncake-jsonl", 600)
    assert moon.prompt[:2].tolist() == [6758, 7322]
    assert moon.output[0] == 500
    for name in ("sharegpt", "arxiv"):
        t = load_trace(name)
        assert t.format == "lengths-csv"
        assert t.n == 1000
        assert not t.has_times
    assert set(SAMPLES) == {"azure-conv", "azure-code", "mooncake-conv", "sharegpt", "arxiv"}
    for name in SAMPLES:
        t = load_trace(name)
        assert t.sha256.startswith("sha256:")
        assert (t.output >= 1).all()
        assert (t.prompt >= 0).all()


def test_rounding_rules_are_exact():
    """ceil, round (half up) and floor on token counts, in integer arithmetic."""
    tokens = np.array([0, 1, 31, 32, 33, 48, 63, 64, 65])
    assert scale_tokens(tokens, 32, "ceil").tolist() == [0, 1, 1, 1, 2, 2, 2, 2, 3]
    assert scale_tokens(tokens, 32, "floor").tolist() == [0, 0, 0, 1, 1, 1, 1, 2, 2]
    assert scale_tokens(tokens, 32, "round").tolist() == [0, 0, 1, 1, 1, 2, 2, 2, 2]
    with pytest.raises(TraceError, match="rounding must be one of"):
        scale_tokens(tokens, 32, "up")


def test_window_conversion_records_every_choice_and_rebuilds():
    """Arrival rounds, scaled sizes and M follow the recorded choices; metadata rebuilds it."""
    conv = load_trace("azure-conv")
    rows = [0, 1, 2, 3]
    inst = trace_instance(conv, rows, round_seconds=2.0, token_scale=64, memory_tokens=4100,
                          rounding="ceil")
    assert inst.memory_limit == 4100 // 64
    assert inst.prompt.tolist() == (-(-conv.prompt[rows] // 64)).tolist()
    assert inst.output.tolist() == np.maximum(-(-conv.output[rows] // 64), 1).tolist()
    secs = conv.times[rows] - conv.times[0]
    assert inst.arrival.tolist() == np.floor(secs / 2.0).astype(int).tolist()
    assert inst.ids == ["row0", "row1", "row2", "row3"]
    rec = inst.metadata["trace"]
    for key, value in (("round_seconds", 2.0), ("token_scale", 64), ("rounding", "ceil"),
                       ("memory_tokens", 4100), ("memory_limit", 64), ("arrival", "trace"),
                       ("rows", rows), ("sha256", conv.sha256), ("format", "azure-csv")):
        assert rec[key] == value
    assert rebuild_trace_instance(inst.metadata).content_hash() == inst.content_hash()


def test_lengths_only_traces_need_an_arrival_process():
    """ShareGPT rows get seeded Poisson arrivals (reproducible) or all-zero; never 'trace'."""
    sg = load_trace("sharegpt")
    kw = {"round_seconds": 1.0, "token_scale": 64, "memory_tokens": 8192}
    with pytest.raises(TraceError, match="no timestamps"):
        trace_instance(sg, [0, 1], **kw)
    with pytest.raises(TraceError, match="needs a rate"):
        trace_instance(sg, [0, 1], arrival="poisson", **kw)
    a = trace_instance(sg, range(10), arrival="poisson", rate=2.0, seed=5, **kw)
    b = trace_instance(sg, range(10), arrival="poisson", rate=2.0, seed=5, **kw)
    assert a.content_hash() == b.content_hash()
    assert a.arrival[0] == 0
    assert (np.diff(a.arrival) >= 0).all()
    assert a.arrival[-1] > 0
    assert (trace_instance(sg, range(10), arrival="zero", **kw).arrival == 0).all()
    assert rebuild_trace_instance(a.metadata).content_hash() == a.content_hash()


def test_oversize_rows_are_named():
    """A row whose scaled prompt + output exceeds M is an error naming the row."""
    conv = load_trace("azure-conv")
    big = int(np.argmax(conv.prompt))
    with pytest.raises(TraceError, match=f"row {big}: prompt {conv.prompt[big]}"):
        trace_instance(conv, [big], round_seconds=1.0, token_scale=64, memory_tokens=1024)


@pytest.mark.parametrize(("content", "fragment"), [
    ("a,b,c\n1,2,3\n", "unrecognised format"),
    ("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.1,5,x\n",
     "line 2: GeneratedTokens must be an integer"),
    ("TIMESTAMP,ContextTokens,GeneratedTokens\nyesterday,5,3\n", "line 2: bad TIMESTAMP"),
    ("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:47.0,5,3\n"
     "2023-11-16 18:15:46.0,5,3\n", "not sorted"),
    ('{"timestamp": 0, "input_length": 5, "output_length": 2}\n{"timestamp": 1,\n',
     "line 2: not valid JSON"),
    ('{"timestamp": 0, "input_length": 5}\n', "missing field 'output_length'"),
    ("num_prefill_tokens,num_decode_tokens\n5,0\n", "num_decode_tokens must be >= 1"),
    ("", "is empty"),
])
def test_bad_trace_files_are_reported_with_the_line(tmp_path, content, fragment):
    """Malformed original files fail with the file, line and field."""
    p = tmp_path / "bad.txt"
    p.write_text(content)
    with pytest.raises(TraceError, match=fragment):
        load_trace(p)


def test_missing_trace_file_and_unknown_sample():
    """A path that does not exist is named (with the sample names as alternatives)."""
    with pytest.raises(TraceError, match="trace file not found"):
        load_trace("no/such/trace.csv")


@pytest.mark.parametrize("name", ["azure-conv", "azure-code", "mooncake-conv", "sharegpt",
                                  "arxiv"])
def test_trace_families_build_solve_and_verify(name):
    """Every trace family builds from the shipped sample; each certificate re-checks."""
    fam = get_family(name)
    p = fam.resolve({})
    for i in range(2):
        inst = fam.instance(p, 0, i)
        assert inst.n == p["n"]
        assert inst.metadata["trace"]["source"] == name
        res = solve(inst, "cpsat", time_limit=10)
        assert res.status.value == "optimal"
        assert validate(inst, res.schedule).valid
        check = verify_certificate(certificate_dict(res), inst)
        assert check.ok, check.problems


def test_trace_family_reads_an_original_file(tmp_path):
    """--param trace=PATH reads a user's copy of the original format and records the path."""
    src = load_trace("azure-code")
    lines = ["TIMESTAMP,ContextTokens,GeneratedTokens"]
    for k in range(30):
        lines.append(f"2023-11-16 18:17:{k:02d}.5000000,{100 + 40 * k},{5 + k}")
    p = tmp_path / "mini.csv"
    p.write_text("\n".join(lines) + "\n")
    fam = get_family("azure-code")
    params = fam.resolve({"trace": str(p), "n": 4, "token_scale": 8, "round_seconds": 1.5})
    inst = fam.instance(params, 3, 0)
    rec = inst.metadata["trace"]
    assert rec["source"] == str(p)
    assert rec["sha256"] != src.sha256
    first = rec["rows"][0]
    assert rec["rows"] == list(range(first, first + 4))
    assert inst.arrival.tolist() == [0, 0, 1, 2]  # 1 s apart, rounds of 1.5 s
