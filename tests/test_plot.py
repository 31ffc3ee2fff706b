"""`optsched plot`: the PNG is written and the figure holds the data it should."""

from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np
import pytest

import optsched.plots as plots

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def captured(monkeypatch):
    """Keep every figure the CLI saves, so its content can be inspected after the run."""
    figs = []
    real = plots.save_figure

    def keep(fig, path, dpi=120):
        figs.append(fig)
        fig.canvas.draw()
        return real(fig, path, dpi)

    monkeypatch.setattr(plots, "save_figure", keep)
    return figs


def _check_png(path):
    assert path.read_bytes()[:8] == PNG
    img = mpimg.imread(path)
    assert img.shape[0] > 100
    assert img.shape[1] > 100
    # not blank: a good share of pixels differ from the background colour
    assert (np.abs(img[..., :3] - img[0, 0, :3]).sum(axis=2) > 0.1).mean() > 0.01


def test_plot_gantt(tmp_path, run_cli, write_json, captured):
    """Gantt of the worked example: two bars ending at 2, memory 4 then 6 against M = 6."""
    sched = write_json("s.json", {"starts": {"r1": 0, "r2": 0}})
    out = tmp_path / "g.png"
    res = run_cli("plot", "gantt", "builtin:worked-example", sched, "-o", out)
    assert res.code == 0, res.err
    _check_png(out)
    fig = captured[0]
    gantt, mem = fig.axes[0], fig.axes[1]
    segs = [s for c in gantt.collections for s in c.get_segments()]
    assert sorted((tuple(s[0]), tuple(s[1])) for s in segs) == [((0, 0), (2, 0)), ((0, 1), (2, 1))]
    ys = [line.get_ydata() for line in mem.get_lines()]
    assert [0, 4, 6] in [list(map(int, y)) for y in ys]  # the memory profile
    assert any(len(set(y)) == 1 and y[0] == 6 for y in ys)  # the M line


def test_plot_gantt_marks_invalid_schedule(tmp_path, run_cli, write_json, captured):
    """An over-memory schedule is still drawn, and flagged as invalid in the title and output."""
    inst = write_json("i.json", {"memory_limit": 5, "requests": [
        {"id": "a", "prompt_tokens": 1, "output_tokens": 2},
        {"id": "b", "prompt_tokens": 1, "output_tokens": 2}]})
    sched = write_json("s.json", {"starts": {"a": 0, "b": 0}})
    res = run_cli("plot", "gantt", inst, sched, "-o", tmp_path / "g.png")
    assert res.code == 0
    assert "INVALID" in res.out
    assert "INVALID" in captured[0].axes[0].get_title()


def test_plot_ratios_from_json(tmp_path, run_cli, write_json, captured):
    """Histogram counts per policy equal the number of ratios given for it."""
    rows = [{"policy": "mcsf", "ratio": r} for r in (1.0, 1.0, 1.02, 1.1)]
    rows += [{"policy": "fcfs", "ratio": r} for r in (1.2, 1.5)]
    rows += [{"policy": "fcfs", "ratio": 9.0, "valid": False}]  # invalid runs are skipped
    out = tmp_path / "r.png"
    res = run_cli("plot", "ratios", write_json("rows.json", rows), "-o", out)
    assert res.code == 0, res.err
    _check_png(out)
    hist = captured[0].axes[0]
    labels = [t.get_text() for t in hist.get_legend().get_texts()]
    assert any(x.startswith("mcsf (n=4") for x in labels)
    assert any(x.startswith("fcfs (n=2") for x in labels)
    heights = sum(p.get_height() for p in hist.patches)
    assert heights == 6


def test_plot_ratios_from_parquet_filters(tmp_path, run_cli, captured):
    """Study Parquet files are read; --policy and --model select rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"model": m, "trial": k, "policy": p, "ratio_lo": 1 + k / 10, "valid": True}
            for m in (1, 2) for k in range(3) for p in ("mcsf", "mc-benchmark")]
    path = tmp_path / "results.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    res = run_cli("plot", "ratios", path, "-o", tmp_path / "r.png", "--policy", "mcsf",
                  "--model", "2")
    assert res.code == 0, res.err
    assert "3 ratios, 1 policies" in res.out
    assert sum(p.get_height() for p in captured[0].axes[0].patches) == 3


def test_plot_cactus(tmp_path, run_cli, write_json, captured):
    """Each solver's curve has one step per proven run, at its sorted runtimes."""
    rows = [{"solver": "cpsat", "runtime": t, "status": "optimal"} for t in (3.0, 1.0, 2.0)]
    rows += [{"solver": "cpsat", "runtime": 60.0, "status": "feasible"}]
    rows += [{"solver": "highs", "runtime": 5.0, "status": "optimal"}]
    out = tmp_path / "c.png"
    res = run_cli("plot", "cactus", write_json("rows.json", rows), "-o", out)
    assert res.code == 0, res.err
    _check_png(out)
    lines = {ln.get_label(): ln for ln in captured[0].axes[0].get_lines()}
    assert list(lines["cpsat (3 solved)"].get_ydata()) == [1.0, 2.0, 3.0]
    assert list(lines["highs (1 solved)"].get_ydata()) == [5.0]


@pytest.mark.parametrize(("argv", "message"), [
    (["ratios", "{rows}", "-o", "{tmp}/x.jpg"], "must end in .png"),
    (["ratios", "{tmp}/missing.json", "-o", "{tmp}/x.png"], "results file not found"),
    (["ratios", "{bad}", "-o", "{tmp}/x.png"], "needs 'policy' and 'ratio'"),
    (["cactus", "{bad}", "-o", "{tmp}/x.png"], "needs a solver"),
    (["gantt", "builtin:worked-example", "{rows}", "-o", "{tmp}/x.png"], "starts"),
])
def test_plot_bad_input(tmp_path, run_cli, write_json, argv, message):
    """Bad files and paths give exit 2 with one clear line and no file."""
    rows = write_json("rows.json", [{"policy": "a", "ratio": 1.0}])
    bad = write_json("bad.json", [{"x": 1}])
    args = [a.format(tmp=tmp_path, rows=rows, bad=bad) for a in argv]
    res = run_cli("plot", *args)
    assert res.code == 2
    assert message in res.err
    assert "Traceback" not in res.err
    assert not (tmp_path / "x.png").exists()


def test_plot_cactus_counts_each_study_solve_once(tmp_path, run_cli, write_json, captured):
    """Study rows repeat a trial's solve once per policy; the cactus counts each instance once."""
    rows = [{"instance_hash": h, "policy": p, "opt_solver": "cpsat", "opt_method": "epoch",
             "opt_runtime": t, "opt_proven": True}
            for h, t in (("a", 1.0), ("b", 2.0)) for p in ("mcsf", "mc-benchmark")]
    res = run_cli("plot", "cactus", write_json("rows.json", rows), "-o", tmp_path / "c.png")
    assert res.code == 0, res.err
    (line,) = captured[0].axes[0].get_lines()
    assert line.get_label() == "cpsat/epoch (2 solved)"
    assert list(line.get_ydata()) == [1.0, 2.0]
