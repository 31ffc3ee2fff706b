"""Instance format: strict reading with messages that name the field and the request."""

from __future__ import annotations

import pytest

from optsched import InstanceError, load_instance, make_instance
from optsched.model.instance import MAX_VALUE, instance_from_dict

GOOD = {"memory_limit": 5, "requests": [
    {"id": "r1", "arrival": 0, "prompt_tokens": 1, "output_tokens": 3},
    {"id": "r2", "prompt_tokens": 0, "output_tokens": 2, "predicted_output_tokens": 3}],
    "metadata": {"note": "hand written"}}


def req(**kw):
    base = {"id": "r1", "arrival": 0, "prompt_tokens": 1, "output_tokens": 2}
    base.update(kw)
    return {k: v for k, v in base.items() if v is not ...}


def test_reads_hand_written_instance():
    """A hand-written instance loads; arrival defaults to 0 and predictions are kept."""
    inst = instance_from_dict(GOOD)
    assert inst.n == 2
    assert inst.memory_limit == 5
    assert inst.requests[1].arrival == 0
    assert list(inst.predicted) == [3, 3]
    assert inst.metadata["note"] == "hand written"


def test_round_trip_keeps_content_hash():
    """to_dict -> from_dict preserves the instance and its content hash."""
    inst = instance_from_dict(GOOD)
    again = instance_from_dict(inst.to_dict())
    assert again == inst
    assert again.content_hash() == inst.content_hash()


BAD_CASES = [
    ({"requests": [req()]}, "missing field 'memory_limit'"),
    ({"memory_limit": 5}, "missing field 'requests'"),
    ({"memory_limit": 5, "requests": []}, "at least one request"),
    ({"memory_limit": 5, "requests": [req(prompt_tokens=...)]}, "missing field 'prompt_tokens'"),
    ({"memory_limit": 5, "requests": [req(output_tokens=...)]}, "missing field 'output_tokens'"),
    ({"memory_limit": 5, "requests": [req(id=...)]}, "missing field 'id'"),
    ({"memory_limit": 5, "requests": [req(output_tokens="3")]},
     "(id 'r1'): field 'output_tokens': must be an integer"),
    ({"memory_limit": 5, "requests": [req(output_tokens=2.5)]},
     "field 'output_tokens': must be an integer"),
    ({"memory_limit": 5, "requests": [req(prompt_tokens=True)]},
     "field 'prompt_tokens': must be an integer"),
    ({"memory_limit": 5, "requests": [req(arrival=-1)]}, "field 'arrival': must be >= 0"),
    ({"memory_limit": 5, "requests": [req(output_tokens=0)]},
     "field 'output_tokens': must be >= 1"),
    ({"memory_limit": 5, "requests": [req(), req()]}, "duplicate id 'r1'"),
    ({"memory_limit": 5, "requests": [req(id="big", prompt_tokens=3, output_tokens=3)]},
     "request #0 (id 'big'): can never run: prompt_tokens + output_tokens = 3 + 3 = 6 exceeds "
     "memory_limit 5"),
    ({"memory_limit": MAX_VALUE + 1, "requests": [req()]}, "too large to schedule"),
    ({"memory_limit": 0, "requests": [req()]}, "memory_limit: must be >= 1"),
    ({"memory_limit": 5, "requests": [req(outputs=3)]}, "unknown field(s) ['outputs']"),
    ({"memory_limit": 5, "requests": [req(id=7)]}, "field 'id' must be a non-empty string"),
    ({"memory_limit": 5, "requests": {"r1": 1}}, "requests: must be a list"),
    ([1, 2], "top level must be a JSON object"),
]


@pytest.mark.parametrize(("data", "message"), BAD_CASES)
def test_rejects_bad_instance_with_clear_message(data, message):
    """Every malformed instance is rejected with a message naming the field and request."""
    with pytest.raises(InstanceError) as exc:
        instance_from_dict(data)
    assert message in str(exc.value)


def test_second_request_is_named(write_json):
    """The error names the offending request by position and id, and the file."""
    path = write_json("i.json", {"memory_limit": 5, "requests": [
        req(), req(id="second", output_tokens=-4)]})
    with pytest.raises(InstanceError) as exc:
        load_instance(path)
    msg = str(exc.value)
    assert "request #1 (id 'second')" in msg
    assert "output_tokens" in msg
    assert "i.json" in msg


def test_malformed_json_and_missing_file(write_json, tmp_path):
    """Malformed JSON reports line/column; a missing file says so."""
    from optsched.errors import OptschedError

    with pytest.raises(OptschedError, match="not valid JSON.*line 1"):
        load_instance(write_json("bad.json", "{\"memory_limit\": 5,"))
    with pytest.raises(OptschedError, match="not found"):
        load_instance(tmp_path / "nope.json")


def test_make_instance_checks_too():
    """make_instance applies the same validation as the JSON reader."""
    with pytest.raises(InstanceError, match="can never run"):
        make_instance(4, [4], [1])
    inst = make_instance(10, [1, 2], [0, 1], [0, 3])
    assert inst.horizon == 3 + 3
    assert inst.ids == ["r0", "r1"]


@pytest.mark.parametrize(("data", "message"), BAD_CASES)
def test_cli_rejects_every_bad_instance_and_writes_nothing(run_cli, write_json, tmp_path, data,
                                                           message):
    """Through the CLI every bad instance gives exit 2, the message, and no certificate file."""
    cert = tmp_path / "cert.json"
    res = run_cli("solve", write_json("bad.json", data), "--certificate", cert)
    assert res.code == 2
    assert message in res.err
    assert "Traceback" not in res.err
    assert not cert.exists()
