"""Shared plots (PNG via matplotlib's Agg backend): schedule Gantt charts with the memory profile
against M, ratio distributions, and cactus plots of solver runtimes.

Every function returns a matplotlib ``Figure``; :func:`save_figure` writes it atomically and
closes it. Memory profiles come from the independent validator, never from a policy's own
bookkeeping, so a plot shows what the schedule really does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from optsched.model.instance import Instance
from optsched.model.io import atomic_path
from optsched.model.schedule import Schedule
from optsched.model.validate import validate


def pyplot() -> Any:
    """matplotlib.pyplot on the file-only Agg backend (figures are saved, never shown)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | Path, dpi: int = 120) -> Path:
    """Write ``fig`` as PNG via a temporary file and rename (never half-written); close it."""
    p = Path(path)
    try:
        with atomic_path(p) as tmp:
            fig.savefig(tmp, dpi=dpi, format="png", bbox_inches="tight")
    finally:
        pyplot().close(fig)
    return p


def _draw_schedule(instance: Instance, schedule: Schedule, ax_gantt: Any, ax_mem: Any,
                   title: str | None) -> None:
    """Bars for every run (final runs solid, evicted runs hatched) and the validated memory."""
    from matplotlib.collections import LineCollection

    index = instance.index
    order = sorted(range(instance.n),
                   key=lambda i: (schedule.starts.get(instance.ids[i], 0), i))
    row = {instance.ids[i]: y for y, i in enumerate(order)}
    final, aborted = [], []
    for rid, p in schedule.starts.items():
        if rid in index:
            o = instance.requests[index[rid]].output_tokens
            final.append(((p, row[rid]), (p + o, row[rid])))
    for a in schedule.aborted:
        if a.id in row:
            aborted.append(((a.start, row[a.id]), (a.end, row[a.id])))
    width = max(1.0, min(8.0, 300.0 / max(instance.n, 1)))
    ax_gantt.add_collection(LineCollection(final, linewidths=width, colors="tab:blue",
                                           label="run (held rounds p+1..p+o)"))
    if aborted:
        ax_gantt.add_collection(LineCollection(aborted, linewidths=width, colors="tab:red",
                                               alpha=0.6, label="evicted run (wasted)"))
    arrivals = [(instance.requests[i].arrival, y) for y, i in enumerate(order)]
    if instance.n <= 200 and any(a for a, _ in arrivals):
        ax_gantt.scatter([a for a, _ in arrivals], [y for _, y in arrivals], marker="|",
                         color="black", s=20, label="arrival")
    ax_gantt.autoscale()
    ax_gantt.set_ylabel("request")
    ax_gantt.invert_yaxis()
    if instance.n <= 30:
        ax_gantt.set_yticks(range(instance.n))
        ax_gantt.set_yticklabels([instance.ids[i] for i in order], fontsize=7)
    ax_gantt.legend(loc="upper right", fontsize=7)
    report = validate(instance, schedule)
    mem = report.memory_profile if report.memory_profile is not None else np.zeros(1)
    ax_mem.step(np.arange(mem.size), mem, where="mid", color="tab:green", label="memory")
    ax_mem.axhline(instance.memory_limit, color="tab:red", linestyle="--",
                   label=f"M = {instance.memory_limit}")
    ax_mem.set_xlabel("time (rounds)")
    ax_mem.set_ylabel("tokens")
    ax_mem.legend(loc="upper right", fontsize=7)
    if title or report.metrics is not None:
        bits = [title] if title else []
        if report.metrics is not None:
            bits.append(f"total completion {report.metrics.total_completion_time}")
        if not report.valid:
            bits.append(f"INVALID ({len(report.violations)} violations)")
        ax_gantt.set_title(", ".join(bits), fontsize=9)


def gantt_figure(instance: Instance, schedule: Schedule, title: str | None = None) -> Any:
    """One schedule: Gantt chart on top, memory profile against M below (shared time axis)."""
    plt = pyplot()
    height = 2.5 + min(instance.n, 60) * 0.08
    fig, (ax_g, ax_m) = plt.subplots(2, 1, figsize=(8, height + 2), sharex=True,
                                     gridspec_kw={"height_ratios": [height, 2]})
    _draw_schedule(instance, schedule, ax_g, ax_m, title)
    fig.tight_layout()
    return fig


def compare_gantt(instance: Instance, schedules: Mapping[str, Schedule],
                  title: str | None = None) -> Any:
    """Several schedules of one instance side by side (one column each, same time axis)."""
    plt = pyplot()
    k = max(len(schedules), 1)
    height = 2.5 + min(instance.n, 60) * 0.08
    fig, axes = plt.subplots(2, k, figsize=(5 * k, height + 2), sharex=True, squeeze=False,
                             gridspec_kw={"height_ratios": [height, 2]})
    for col, (label, sched) in enumerate(schedules.items()):
        _draw_schedule(instance, sched, axes[0][col], axes[1][col], label)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def ratio_figure(groups: Mapping[str, Sequence[float]], title: str | None = None,
                 xlabel: str = "policy / optimum") -> Any:
    """Distribution of ratios per policy: overlaid histograms (left) and box plots (right)."""
    plt = pyplot()
    fig, (ax_h, ax_b) = plt.subplots(1, 2, figsize=(10, 3.8),
                                     gridspec_kw={"width_ratios": [3, 2]})
    names = list(groups)
    data = [np.asarray(groups[n], dtype=float) for n in names]
    allv = np.concatenate([d for d in data if d.size] or [np.ones(1)])
    lo, hi = float(allv.min()), float(allv.max())
    bins = np.linspace(lo, hi if hi > lo else lo + 1e-3, 31)
    for name, d in zip(names, data, strict=True):
        if d.size:
            ax_h.hist(d, bins=bins, alpha=0.5, label=f"{name} (n={d.size}, mean {d.mean():.3f})")
    ax_h.set_xlabel(xlabel)
    ax_h.set_ylabel("instances")
    if any(d.size for d in data):
        ax_h.legend(fontsize=7)
    else:
        ax_h.text(0.5, 0.5, "no ratios", ha="center", va="center", transform=ax_h.transAxes)
    boxes = [d if d.size else np.array([np.nan]) for d in data]
    try:
        ax_b.boxplot(boxes, orientation="horizontal")
    except TypeError:  # matplotlib < 3.10
        ax_b.boxplot(boxes, vert=False)
    ax_b.set_yticks(range(1, len(names) + 1))
    ax_b.set_yticklabels(names, fontsize=8)
    ax_b.set_xlabel(xlabel)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def cactus_figure(groups: Mapping[str, Sequence[float]], title: str | None = None,
                  ylabel: str = "runtime (s)") -> Any:
    """Cactus plot: for each solver, its k-th fastest solved instance's runtime against k."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for name, runtimes in groups.items():
        r = np.sort(np.asarray(runtimes, dtype=float))
        ax.step(np.arange(1, r.size + 1), r, where="post", label=f"{name} ({r.size} solved)")
    ax.set_xlabel("instances solved")
    ax.set_ylabel(ylabel)
    if any(len(v) and min(v) > 0 for v in groups.values()):
        ax.set_yscale("log")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def cdf_figure(groups: Mapping[str, Sequence[float]], title: str | None = None,
               xlabel: str = "latency (s)") -> Any:
    """Empirical CDF of a per-request measure, one line per policy (with its mean)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for name, values in groups.items():
        v = np.sort(np.asarray(values, dtype=float))
        v = v[~np.isnan(v)]
        if v.size:
            ax.step(v, np.arange(1, v.size + 1) / v.size, where="post",
                    label=f"{name} (n={v.size}, mean {v.mean():.3g})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("fraction of requests")
    ax.set_ylim(0, 1.01)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def memory_time_figure(profiles: Mapping[str, tuple[Any, Any]],
                       memory_limit: int, title: str | None = None) -> Any:
    """Memory in use against M over time in seconds. ``profiles`` maps a policy to (round start
    times, validated memory profile by round); round t holds ``memory[t + 1]`` at its end and
    is drawn over [start[t], start[t + 1])."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.6))
    for name, (starts, memory) in profiles.items():
        s = np.asarray(starts, dtype=float)
        m = np.asarray(memory, dtype=float)
        k = min(s.size, m.size)
        if k >= 2:
            ax.step(s[:k - 1], m[1:k], where="post", lw=0.7, label=name)
    ax.axhline(memory_limit, color="k", ls="--", lw=1, label=f"M = {memory_limit:,}")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("KV-cache tokens")
    ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
