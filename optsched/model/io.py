"""Small file helpers shared by every writer: atomic writes and JSON encoding."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np


def _default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def dumps(obj: Any, indent: int | None = 1) -> str:
    """JSON text with numpy scalars and paths converted."""
    return json.dumps(obj, indent=indent, default=_default)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds, flush it to disk and
    rename it over ``path``. Any failure leaves ``path`` untouched and removes the temporary."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; use the usual permissions
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: never a half-written file."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_parquet(rows: list[dict[str, Any]], path: str | Path) -> None:
    """Write ``rows`` (one dict per row) as a Parquet table, atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSON-lines file, in order. Lines that do not parse as an object
    (a torn last line after a crash while appending) are skipped; a missing file has none."""
    p = Path(path)
    if not p.exists():
        return
    with p.open(encoding="utf-8", errors="replace") as fh:  # a binary file yields no object
        for line in fh:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                yield obj


@contextlib.contextmanager
def jsonl_appender(path: str | Path) -> Iterator[IO[str]]:
    """Open a JSON-lines file for appending. If a crash left its last line torn (no final
    newline), a newline is added first, so the next record starts a line of its own instead of
    being glued to the torn one and lost with it."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("a+b") as raw:
        if raw.seek(0, os.SEEK_END) > 0:
            raw.seek(-1, os.SEEK_END)
            if raw.read(1) != b"\n":
                raw.write(b"\n")
    with p.open("a", encoding="utf-8") as fh:
        yield fh


def append_jsonl(fh: IO[str], obj: Any, *, sync: bool = True) -> None:
    """Append ``obj`` as one compact JSON line to an open file and flush it, so a run killed
    later loses nothing already reported; ``sync`` also pushes it to disk (costly when
    thousands of small records a second are written)."""
    fh.write(json.dumps(obj, separators=(",", ":"), default=_default) + "\n")
    fh.flush()
    if sync:
        os.fsync(fh.fileno())


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Atomically write ``obj`` as indented JSON."""
    atomic_write_text(path, dumps(obj) + "\n")
