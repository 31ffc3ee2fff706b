"""The engine's clock in seconds: rounds of a batch-time model, arrivals in seconds.

Kept apart from :func:`optsched.policies.engine.simulate`, which stays a round-indexed engine:
with a
:class:`RoundClock` the rounds keep their integer indices t = 0, 1, 2, ... (what policies and
the validator see), and the clock records when each round starts, ``now[t]`` seconds:

* round 0 starts at the first arrival; round t lasts
  ``model.round_seconds(prefill, decode, kv)`` for the batch that runs in it (prefill = prompt
  tokens of the requests started at t, decode = requests already running, kv = the memory held
  at t + 1), which must be > 0;
* a round with nothing running (the GPU is idle) ends at the next arrival;
* request i becomes visible at the first round t with ``now[t] >= arrival_seconds[i]``: a request
  that arrives while a round runs waits for the next one, and no longer. That t is its arrival
  *round*, written into the engine's arrival list when the clock reaches it (so a policy sees an
  arrival round, exactly as with unit rounds, and nothing about the time model).

Per request (first run's first token, final completion, true output length o):
TTFT = now[first start + 1] - arrival; end-to-end latency = now[completion] - arrival;
TPOT = (end-to-end - TTFT) / (o - 1), undefined (NaN) for o = 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from optsched.model.instance import Instance
from optsched.policies.timemodel import BatchShape, BatchTimeModel, TimeModelError

#: Arrival round of a request the clock has not reached yet (larger than any round).
NOT_YET = 2**62


class RoundClock:
    """Round start times in seconds under ``model`` for requests arriving at ``arrival_seconds``
    (one per request, in instance order). One clock serves one engine run."""

    def __init__(self, model: BatchTimeModel, arrival_seconds: Sequence[float]) -> None:
        x = [float(v) for v in arrival_seconds]
        bad = next((i for i, v in enumerate(x) if not (math.isfinite(v) and v >= 0)), None)
        if bad is not None:
            raise TimeModelError(f"arrival_seconds[{bad}] must be a finite number >= 0, got "
                                 f"{x[bad]!r}")
        self.model = model
        self.x = x
        self.order = sorted(range(len(x)), key=lambda i: (x[i], i))
        self.now: list[float] = []
        self.arrival: list[int] = []
        self._next = 0

    def bind(self, n: int) -> tuple[list[int], list[int]]:
        """Start a run of ``n`` requests: (the arrival-round list the engine and policies read,
        filled in as the clock reaches each arrival; the arrival order)."""
        if n != len(self.x):
            raise TimeModelError(f"{len(self.x)} arrival times in seconds given for {n} "
                                 "requests")
        self.now = [self.x[self.order[0]]]
        self.arrival = [NOT_YET] * n
        self._next = 0
        self._reveal(0)
        return self.arrival, self.order

    def _reveal(self, t: int) -> None:
        now, x, order, n = self.now[t], self.x, self.order, len(self.x)
        while self._next < n and x[order[self._next]] <= now:
            self.arrival[order[self._next]] = t
            self._next += 1

    def _round(self, prefill: int, decode: int, kv: int, shape: BatchShape | None = None
               ) -> float:
        batch_seconds = getattr(self.model, "batch_seconds", None)
        if batch_seconds is not None and shape is not None:
            d = batch_seconds(shape)
        else:
            d = self.model.round_seconds(prefill, decode, kv)
        if not (isinstance(d, int | float) and math.isfinite(d) and d > 0):
            raise TimeModelError(f"time model {getattr(self.model, 'name', self.model)!r} gave "
                                 f"a round time of {d!r} s for a batch of {prefill} prefill "
                                 f"tokens, {decode} decode tokens, {kv} KV tokens; round times "
                                 "must be > 0")
        return float(d)

    def advance(self, t: int, waiting: bool, count: int, offset: int, fresh_prompt: int,
                fresh: int, bound: int, running_prompt: int | None = None) -> int:
        """Run round t (``count`` running requests, ``fresh`` of them started at t with
        ``fresh_prompt`` prompt tokens; memory at t' is count * t' + offset) and return the next
        decision round: t + 1 if requests wait, else the first later round at which the next
        request has arrived, capped by ``bound`` (the engine's next completion or overflow).
        ``running_prompt`` (sum of the running requests' prompts) lets a model with a
        ``batch_seconds`` method price the batch by its :class:`BatchShape`."""
        def shape(u: int, jobs: int, tokens: int) -> BatchShape | None:
            if running_prompt is None:
                return None
            return BatchShape(jobs, tokens, count - jobs, count * u + offset - running_prompt)

        now = self.now
        nxt = self.x[self.order[self._next]] if self._next < len(self.x) else math.inf
        if count == 0:  # idle: the next round starts with the next arrival
            now.append(max(now[t], nxt) if nxt < math.inf else now[t])
            self._reveal(t + 1)
            return t + 1
        now.append(now[t] + self._round(fresh_prompt, count - fresh, count * (t + 1) + offset,
                                        shape(t, fresh, fresh_prompt)))
        u = t + 1
        if not waiting:
            while u < bound and now[u] < nxt:
                now.append(now[u] + self._round(0, count, count * (u + 1) + offset,
                                                shape(u, 0, 0)))
                u += 1
        self._reveal(u)
        return u

    # -- after the run --------------------------------------------------------------------------
    def round_instance(self, instance: Instance) -> Instance:
        """The instance with each request's arrival round as the clock revealed it: what the
        round-indexed schedule is validated against."""
        return instance.with_requests(
            [type(r)(r.id, self.arrival[k], r.prompt_tokens, r.output_tokens,
                     r.predicted_output_tokens, r.metadata)
             for k, r in enumerate(instance.requests)])

    def check(self) -> list[str]:
        """Problems with the clock itself (empty if none): round starts non-decreasing, every
        arrival round the first round that starts at or after the arrival."""
        now = np.asarray(self.now)
        out = []
        if (np.diff(now) < 0).any():
            out.append("round start times decrease")
        for i, a in enumerate(self.arrival):
            if a == NOT_YET:
                out.append(f"request #{i} never arrived")
            elif now[a] < self.x[i] or (a > 0 and now[a - 1] >= self.x[i]):
                out.append(f"request #{i} arriving at {self.x[i]} s was revealed at round {a} "
                           f"(starting {now[a]} s)")
            if len(out) >= 5:
                break
        return out

    def request_seconds(self, first_start: Sequence[int], completion: Sequence[int],
                        output: Sequence[int]) -> dict[str, np.ndarray]:
        """Per request, in instance order: arrival, TTFT, TPOT, end-to-end latency (seconds)."""
        now = np.asarray(self.now)
        x = np.asarray(self.x)
        o = np.asarray(output, dtype=float)
        ttft = now[np.asarray(first_start) + 1] - x
        e2e = now[np.asarray(completion)] - x
        with np.errstate(invalid="ignore", divide="ignore"):
            tpot = np.where(o > 1, (e2e - ttft) / np.maximum(o - 1, 1), np.nan)
        return {"arrival_s": x, "ttft_s": ttft, "tpot_s": tpot, "latency_s": e2e}

    def metrics(self, first_start: Sequence[int], completion: Sequence[int],
                output: Sequence[int]) -> dict[str, Any]:
        """Mean/percentile latencies in seconds and throughput (tokens and requests per second
        from the first arrival to the last completion)."""
        r = self.request_seconds(first_start, completion, output)
        span = float(np.asarray(self.now)[np.asarray(completion)].max() - min(self.x))
        span = span if span > 0 else math.nan
        tpot = r["tpot_s"][~np.isnan(r["tpot_s"])]
        return {
            "mean_latency_s": float(r["latency_s"].mean()),
            "p50_latency_s": float(np.median(r["latency_s"])),
            "p99_latency_s": float(np.quantile(r["latency_s"], 0.99)),
            "mean_ttft_s": float(r["ttft_s"].mean()),
            "p99_ttft_s": float(np.quantile(r["ttft_s"], 0.99)),
            "mean_tpot_s": float(tpot.mean()) if tpot.size else math.nan,
            "makespan_s": span,
            "throughput_tokens_per_s": float(np.sum(output) / span),
            "throughput_requests_per_s": float(len(self.x) / span),
            "time_model": getattr(self.model, "name", type(self.model).__name__),
        }
