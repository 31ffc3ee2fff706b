"""JSON-lines helpers shared by every resumable run (bench checkpoints, certify, reproduce)."""

from __future__ import annotations

from optsched.model.io import append_jsonl, jsonl_appender, read_jsonl


def test_jsonl_append_after_a_torn_line_keeps_the_new_record(tmp_path):
    """A torn last line is skipped on reading, and a record appended after it starts a new
    line, so it is read back; non-object lines and a missing file yield nothing."""
    path = tmp_path / "rows.jsonl"
    assert list(read_jsonl(path)) == []
    path.write_text('{"a": 1}\n[1, 2]\n{"b": ')
    assert list(read_jsonl(path)) == [{"a": 1}]
    with jsonl_appender(path) as fh:
        append_jsonl(fh, {"c": 3})
    assert list(read_jsonl(path)) == [{"a": 1}, {"c": 3}]
    with jsonl_appender(tmp_path / "new" / "rows.jsonl") as fh:
        append_jsonl(fh, {"d": 4}, sync=False)
    assert list(read_jsonl(tmp_path / "new" / "rows.jsonl")) == [{"d": 4}]
