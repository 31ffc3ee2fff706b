"""Real LLM-inference traces: loaders for the original file formats and trace -> Instance.

Supported formats (detected from the file's first line):

* ``azure-csv``: Azure LLM inference trace 2023, ``TIMESTAMP,ContextTokens,GeneratedTokens``
  with absolute timestamps such as ``2023-11-16 18:15:46.6805900`` (0.1 us resolution);
* ``mooncake-jsonl``: Mooncake FAST'25 traces, one JSON object per line with ``timestamp``
  (ms, relative), ``input_length`` and ``output_length`` (``hash_ids`` are ignored);
* ``lengths-csv``: ShareGPT / arXiv-summarization length statistics (Sarathi-Serve, Vidur),
  ``num_prefill_tokens,num_decode_tokens,...`` without timestamps.

Turning rows into an instance needs choices the trace does not make
(docs/model.md#instances-from-traces), all recorded in
``metadata["trace"]`` so :func:`rebuild_trace_instance` can rebuild the instance exactly:

* **round length** ``round_seconds``: arrival round = floor((t - t0) / round_seconds), t0 = the
  first selected row's time;
* **token scale** ``token_scale`` (tokens per memory unit) and a **rounding rule** (``ceil``,
  ``round`` half-up, ``floor``) applied to prompt and output lengths; outputs are at least 1.
  One model round generates one memory unit, so a round stands for ``token_scale`` decode steps
  and ``round_seconds`` should be about that many decode steps of the modelled GPU;
* **memory** ``memory_tokens``: M = floor(memory_tokens / token_scale) (never more than the GPU);
* **arrival process** for traces without timestamps (or to override them): ``poisson`` with
  ``rate`` requests per second (seeded), or ``zero`` (all requests at time 0).
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from optsched.errors import OptschedError
from optsched.model.instance import Instance, make_instance

ROUNDING = ("ceil", "round", "floor")
ARRIVALS = ("trace", "poisson", "zero")

#: Samples shipped in optsched/data/traces (the first rows of each original file, unmodified;
#: see the README and licence files there).
SAMPLES: dict[str, str] = {
    "azure-conv": "azure-llm-2023/AzureLLMInferenceTrace_conv.csv",
    "azure-code": "azure-llm-2023/AzureLLMInferenceTrace_code.csv",
    "mooncake-conv": "mooncake-fast25/conversation_trace.jsonl",
    "sharegpt": "sharegpt-sarathi/sharegpt_8k_filtered_stats_llama2_tokenizer.csv",
    "arxiv": "arxiv-summarization-vidur/arxiv_summarization_stats_llama2_tokenizer_filtered_v2.csv",
}


class TraceError(OptschedError, ValueError):
    """A trace file cannot be read, or a window/conversion choice is impossible."""


@dataclass(frozen=True)
class Trace:
    """A loaded trace: per row the arrival time (seconds after the first row; None for
    lengths-only traces), the prompt and the output length in tokens."""

    source: str  # sample name or the path given by the user
    file_name: str
    sha256: str
    format: str
    times: np.ndarray | None
    prompt: np.ndarray
    output: np.ndarray
    t0_label: str | None = None  # absolute time of row 0 as written in the file (Azure)

    @property
    def n(self) -> int:
        return int(self.prompt.size)

    @property
    def has_times(self) -> bool:
        return self.times is not None


def sample_path(name: str) -> Path:
    """Path of a shipped sample (inside the installed package)."""
    if name not in SAMPLES:
        raise TraceError(f"unknown trace sample {name!r}; available: {', '.join(SAMPLES)}")
    return Path(str(resources.files("optsched") / "data" / "traces" / SAMPLES[name]))


def load_trace(source: str | Path) -> Trace:
    """Load a shipped sample by name (see :data:`SAMPLES`) or an original trace file by path."""
    key = str(source)
    p = sample_path(key) if key in SAMPLES else Path(key)
    if not p.is_file():
        raise TraceError(f"trace file not found: {p} (or give a sample name: "
                         f"{', '.join(SAMPLES)})")
    st = p.stat()  # part of the cache key: a changed file is read again
    return _load_cached(key, str(p.resolve()), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=16)
def _load_cached(source: str, path: str, mtime_ns: int = 0, size: int = 0) -> Trace:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise TraceError(f"trace file {p} cannot be read: {exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TraceError(f"trace file {p} is not UTF-8 text") from None
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    lines = text.splitlines()
    if not lines:
        raise TraceError(f"trace file {p} is empty")
    first = lines[0].strip()
    if first.startswith("{"):
        fmt, times, prompt, output, t0 = "mooncake-jsonl", *_parse_mooncake(lines, p), None
    else:
        header = [h.strip() for h in first.split(",")]
        if header[:3] == ["TIMESTAMP", "ContextTokens", "GeneratedTokens"]:
            fmt = "azure-csv"
            times, prompt, output, t0 = _parse_azure(lines, p)
        elif header[:2] == ["num_prefill_tokens", "num_decode_tokens"]:
            fmt, times, t0 = "lengths-csv", None, None
            prompt, output = _parse_lengths(lines, p)
        else:
            raise TraceError(
                f"trace file {p}: unrecognised format (first line {first[:80]!r}); expected an "
                "Azure CSV (TIMESTAMP,ContextTokens,GeneratedTokens), a Mooncake JSONL file or a "
                "lengths CSV (num_prefill_tokens,num_decode_tokens,...)")
    if prompt.size == 0:
        raise TraceError(f"trace file {p} has no data rows")
    return Trace(source, p.name, digest, fmt, times, prompt, output, t0)


def _int_field(value: Any, path: Path, line: int, name: str, minimum: int) -> int:
    try:
        v = int(str(value).strip())
    except ValueError:
        raise TraceError(f"trace file {path} line {line}: {name} must be an integer, got "
                         f"{value!r}") from None
    if v < minimum:
        raise TraceError(f"trace file {path} line {line}: {name} must be >= {minimum}, got {v}")
    return v


def _parse_azure_time(text: str, path: Path, line: int) -> int:
    """Azure timestamp -> integer ticks of 0.1 us since the epoch (exact, no float rounding)."""
    try:
        date_part, _, frac = text.strip().partition(".")
        base = _dt.datetime.strptime(date_part, "%Y-%m-%d %H:%M:%S")
        frac = (frac + "0000000")[:7] if frac else "0000000"
        if not frac.isdigit():
            raise ValueError
    except ValueError:
        raise TraceError(f"trace file {path} line {line}: bad TIMESTAMP {text!r} (expected "
                         "YYYY-MM-DD HH:MM:SS.fffffff)") from None
    secs = int((base - _dt.datetime(1970, 1, 1)).total_seconds())
    return secs * 10_000_000 + int(frac)


def _parse_azure(lines: list[str], path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    ticks, prompt, output = [], [], []
    for k, row in enumerate(csv.reader(lines[1:]), start=2):
        if not row:
            continue
        if len(row) < 3:
            raise TraceError(f"trace file {path} line {k}: expected 3 columns, got {len(row)}")
        ticks.append(_parse_azure_time(row[0], path, k))
        prompt.append(_int_field(row[1], path, k, "ContextTokens", 0))
        output.append(_int_field(row[2], path, k, "GeneratedTokens", 1))
    t = np.array(ticks, dtype=np.int64)
    _check_sorted(t, path)
    t0 = lines[1].split(",")[0].strip() if len(lines) > 1 else ""
    return ((t - t[0]) / 1e7 if t.size else t.astype(float), np.array(prompt, dtype=np.int64),
            np.array(output, dtype=np.int64), t0)


def _parse_mooncake(lines: list[str], path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ms, prompt, output = [], [], []
    for k, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TraceError(f"trace file {path} line {k}: not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise TraceError(f"trace file {path} line {k}: expected a JSON object")
        for key in ("timestamp", "input_length", "output_length"):
            if key not in obj:
                raise TraceError(f"trace file {path} line {k}: missing field {key!r}")
        ms.append(_int_field(obj["timestamp"], path, k, "timestamp", 0))
        prompt.append(_int_field(obj["input_length"], path, k, "input_length", 0))
        output.append(_int_field(obj["output_length"], path, k, "output_length", 1))
    t = np.array(ms, dtype=np.int64)
    _check_sorted(t, path)
    return ((t - t[0]) / 1e3 if t.size else t.astype(float), np.array(prompt, dtype=np.int64),
            np.array(output, dtype=np.int64))


def _parse_lengths(lines: list[str], path: Path) -> tuple[np.ndarray, np.ndarray]:
    prompt, output = [], []
    for k, row in enumerate(csv.reader(lines[1:]), start=2):
        if not row:
            continue
        if len(row) < 2:
            raise TraceError(f"trace file {path} line {k}: expected at least 2 columns")
        prompt.append(_int_field(row[0], path, k, "num_prefill_tokens", 0))
        output.append(_int_field(row[1], path, k, "num_decode_tokens", 1))
    return np.array(prompt, dtype=np.int64), np.array(output, dtype=np.int64)


def _check_sorted(t: np.ndarray, path: Path) -> None:
    bad = np.nonzero(np.diff(t) < 0)[0]
    if bad.size:
        raise TraceError(f"trace file {path}: timestamps are not sorted (data row {bad[0] + 1} "
                         "is earlier than the row before it)")


# -- conversion -------------------------------------------------------------------------------

def scale_tokens(tokens: np.ndarray, token_scale: int, rounding: str) -> np.ndarray:
    """Tokens -> memory units with the given rounding rule (integer arithmetic, exact)."""
    t = np.asarray(tokens, dtype=np.int64)
    if rounding == "ceil":
        return -(-t // token_scale)
    if rounding == "floor":
        return t // token_scale
    if rounding == "round":
        return (2 * t + token_scale) // (2 * token_scale)
    raise TraceError(f"rounding must be one of {', '.join(ROUNDING)}, got {rounding!r}")


def scaled_lengths(trace: Trace, token_scale: int, rounding: str) -> tuple[np.ndarray, np.ndarray]:
    """Prompt and output lengths of every row in memory units (outputs at least 1)."""
    return (scale_tokens(trace.prompt, token_scale, rounding),
            np.maximum(scale_tokens(trace.output, token_scale, rounding), 1))


def _arrival_seconds(trace: Trace, idx: np.ndarray, arrival: str, rate: float | None,
                     seed: int | None) -> np.ndarray:
    """Arrival times in seconds of the selected rows, from 0 (see :func:`trace_instance`)."""
    if arrival == "trace":
        if trace.times is None or not trace.has_times:
            raise TraceError(f"trace {trace.file_name} has no timestamps; choose arrival "
                             "'poisson' (with a rate) or 'zero'")
        secs: np.ndarray = trace.times[idx] - trace.times[idx].min()
        return secs
    if arrival == "poisson":
        if rate is None or not rate > 0:
            raise TraceError(f"arrival 'poisson' needs a rate > 0 requests/second, got {rate!r}")
        rng = np.random.default_rng(seed)
        secs = np.cumsum(rng.exponential(1.0 / rate, size=idx.size))
        from_first: np.ndarray = secs - secs[0]
        return from_first
    return np.zeros(idx.size)


def trace_instance(trace: Trace, rows: Sequence[int], *, round_seconds: float,
                   token_scale: int, memory_tokens: int, rounding: str = "ceil",
                   arrival: str = "trace", rate: float | None = None, seed: int | None = None,
                   extra_metadata: dict[str, Any] | None = None) -> Instance:
    """Build an instance from the given trace rows with the recorded conversion choices.

    ``arrival="trace"`` uses the rows' timestamps (relative to the first selected row);
    ``"poisson"`` draws a Poisson process of ``rate`` requests/second from ``seed`` (rows keep
    their order); ``"zero"`` puts every request at time 0. A row that can never run
    (scaled prompt + output > M) is an error naming the row.
    """
    rows = [int(r) for r in rows]
    if not rows:
        raise TraceError("no trace rows selected")
    if min(rows) < 0 or max(rows) >= trace.n:
        raise TraceError(f"row index out of range 0..{trace.n - 1}")
    if not (isinstance(token_scale, int | np.integer) and token_scale >= 1):
        raise TraceError(f"token_scale must be an integer >= 1, got {token_scale!r}")
    if not round_seconds > 0:
        raise TraceError(f"round_seconds must be > 0, got {round_seconds!r}")
    if rounding not in ROUNDING:
        raise TraceError(f"rounding must be one of {', '.join(ROUNDING)}, got {rounding!r}")
    if arrival not in ARRIVALS:
        raise TraceError(f"arrival must be one of {', '.join(ARRIVALS)}, got {arrival!r}")
    m = int(memory_tokens) // int(token_scale)
    if m < 1:
        raise TraceError(f"memory_tokens {memory_tokens} is below one memory unit "
                         f"({token_scale} tokens)")
    s_all, o_all = scaled_lengths(trace, int(token_scale), rounding)
    idx = np.array(rows)
    s, o = s_all[idx], o_all[idx]
    too_big = np.nonzero(s + o > m)[0]
    if too_big.size:
        k = int(too_big[0])
        raise TraceError(f"trace {trace.file_name} row {rows[k]}: prompt {trace.prompt[rows[k]]} + "
                         f"output {trace.output[rows[k]]} tokens = {s[k]} + {o[k]} units exceeds "
                         f"M = {m} units; it can never run")
    secs = _arrival_seconds(trace, idx, arrival, rate, seed)
    # The small epsilon keeps a time exactly on a round boundary in that round despite float
    # division noise.
    arrivals = np.floor(secs / round_seconds + 1e-9).astype(np.int64)
    meta_trace = {
        "source": trace.source, "file": trace.file_name, "sha256": trace.sha256,
        "format": trace.format, "rows": rows,
        "window_seconds": [float(trace.times[idx].min()), float(trace.times[idx].max())]
        if trace.times is not None else None,
        "trace_start": trace.t0_label,
        "round_seconds": float(round_seconds), "token_scale": int(token_scale),
        "rounding": rounding, "memory_tokens": int(memory_tokens), "memory_limit": m,
        "arrival": arrival, "rate": None if rate is None else float(rate), "seed": seed,
    }
    meta = {"trace": meta_trace}
    meta.update(extra_metadata or {})
    return make_instance(m, o.tolist(), s.tolist(), arrivals.tolist(),
                         ids=[f"row{r}" for r in rows], metadata=meta)


def rebuild_trace_instance(metadata: dict[str, Any]) -> Instance:
    """Rebuild an instance from its ``metadata["trace"]`` record (reloads the trace, checks
    its sha256)."""
    rec = metadata.get("trace") if "trace" in metadata else None
    if not isinstance(rec, dict):
        raise TraceError("metadata has no 'trace' record")
    trace = load_trace(rec["source"])
    if trace.sha256 != rec["sha256"]:
        raise TraceError(f"trace {rec['source']!r} has sha256 {trace.sha256}, but the instance "
                         f"was built from {rec['sha256']}")
    extra = {k: v for k, v in metadata.items() if k != "trace"}
    return trace_instance(trace, rec["rows"], round_seconds=rec["round_seconds"],
                          token_scale=rec["token_scale"], memory_tokens=rec["memory_tokens"],
                          rounding=rec["rounding"], arrival=rec["arrival"], rate=rec["rate"],
                          seed=rec["seed"], extra_metadata=extra)


def window_rows(trace: Trace, start_row: int, n: int, eligible: np.ndarray | None = None
                ) -> list[int]:
    """The first ``n`` rows at or after ``start_row`` (only ``eligible`` ones, if given)."""
    candidates = np.arange(start_row, trace.n)
    if eligible is not None:
        candidates = candidates[eligible[start_row:]]
    if candidates.size < n:
        raise TraceError(f"trace {trace.file_name}: only {candidates.size} usable rows from row "
                         f"{start_row} on, {n} needed")
    picked: list[int] = candidates[:n].tolist()
    return picked
