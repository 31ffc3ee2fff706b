"""Figures of the reproduction: ratio histograms per model and a Gantt + memory plot of
MC-SF's worst trial."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from optsched.studies.formatting import fmt_interval
from optsched.studies.policy_runs import (
    run_one_policy,
)
from optsched.studies.reproduce.cache import SolveCache
from optsched.studies.reproduce.trials import PUBLISHED, SyntheticConfig, trial_instance


# --------------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------------
def ratio_histogram(rows: list[dict[str, Any]], model: int, path: Path) -> None:
    """MC-SF's ratios for one model (proven trials, and both ends of the interval of unproven
    ones) with the paper's average and worst ratio marked."""
    from optsched import plots

    mine = [r for r in rows if r["model"] == model and r["policy"] == "mcsf" and r["valid"]]
    open_ = [r for r in mine if not r["opt_proven"]]
    groups = {"proven optimum": [r["ratio_lo"] for r in mine if r["opt_proven"]],
              "not proven: lower end": [r["ratio_lo"] for r in open_],
              "not proven: upper end": [r["ratio_hi"] for r in open_ if math.isfinite(
                  r["ratio_hi"])]}
    fig = plots.ratio_figure({k: v for k, v in groups.items() if v},
                             title=f"Model {model}: MC-SF vs hindsight optimum, {len(mine)} trials",
                             xlabel="MC-SF total latency / optimal total latency")
    pub = PUBLISHED[model]
    for ax in fig.axes:
        ax.axvline(float(pub["average"]), color="k", ls="--", lw=1)
        ax.axvline(float(pub["worst"]), color="k", ls=":", lw=1)
    fig.axes[0].plot([], [], color="k", ls="--", lw=1, label="paper: average")
    fig.axes[0].plot([], [], color="k", ls=":", lw=1, label="paper: worst")
    fig.axes[0].legend(fontsize=7)
    plots.save_figure(fig, path)


def make_figures(rows: list[dict[str, Any]], cfg: SyntheticConfig, out_dir: Path,
                 cache: SolveCache) -> dict[str, str]:
    """Ratio histograms per model and a Gantt + memory plot of the trial where MC-SF is
    furthest from the best known schedule. Returns report-relative paths."""
    from optsched import plots

    fig_dir = out_dir / "figures"
    figs: dict[str, str] = {}
    for model in cfg.models:
        if any(r["model"] == model for r in rows):
            p = fig_dir / f"ratios-model{model}.png"
            ratio_histogram(rows, model, p)
            figs[f"ratios-model{model}"] = f"figures/{p.name}"
    mc = [r for r in rows if r["policy"] == "mcsf" and r["valid"]]
    if mc:
        worst = max(mc, key=lambda r: (r["ratio_lo"], r["ratio_hi"], -r["trial"]))
        inst = trial_instance(worst["model"], worst["seed"], cfg.scale)
        mcsf = run_one_policy(inst, "mcsf").schedule
        best = cache.best_schedule(inst)
        p = fig_dir / "example-gantt.png"
        outputs = {r.id: r.output_tokens for r in inst.requests}
        same = best is None or best.objective(outputs) >= mcsf.objective(outputs)
        shown = {"MC-SF": mcsf} if same or best is None else {"MC-SF": mcsf, "best known": best}
        plots.save_figure(plots.compare_gantt(inst, shown), p)
        figs["gantt"] = f"figures/{p.name}"
        figs["gantt-caption"] = (
            f"Model {worst['model']}, trial {worst['trial']} (seed {worst['seed']}; n = "
            f"{inst.n}, M = {inst.memory_limit}): MC-SF's largest ratio (largest lower end, "
            f"then upper end): {fmt_interval((worst['ratio_lo'], worst['ratio_hi']))}. "
            + ("MC-SF's schedule is the best one known here. " if same else
               "Left MC-SF, right the best schedule known. ")
            + "Bars are requests (held rounds), the line below is memory in use against M.")
    return figs
