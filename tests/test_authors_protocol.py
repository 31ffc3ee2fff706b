"""The authors'-code protocol (issue 25): batch-time preset, prompt step, published alpha
admission, the protocol's readings, copy-on-write resume and the CLI."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optsched.model.instance import make_instance
from optsched.model.validate import validate
from optsched.policies import run_policy
from optsched.policies.timemodel import BatchShape, TimeModelError, get_time_model
from optsched.studies.authors_trace import completed_within, prompt_step_instance
from optsched.studies.sensitivity import GRIDS, READINGS, parse_readings


def test_linear_preset_prices_rounds_by_batch_shape():
    """Round 0: two prompts (15 tokens): 0.52*2 + 44.6 + 0.378*15 ms; round 1: two token jobs
    with context 1 each (prompts excluded): 0.0027*2 + 0.52*2 + 44.6 ms."""
    inst = make_instance(100, [3, 2], [10, 5], 0)
    run = run_policy(inst, "mcsf", time_model="jaillet2025-linear", arrival_seconds=[0.0, 0.0])
    starts = run.round_start_s
    assert starts is not None
    assert starts[1] == pytest.approx((0.52 * 2 + 44.6 + 0.378 * 15) / 1000)
    assert starts[2] - starts[1] == pytest.approx((0.0027 * 2 + 0.52 * 2 + 44.6) / 1000)
    # round 2: one job left (o = 2 finished at round 2), context 2
    assert starts[3] - starts[2] == pytest.approx((0.0027 * 2 + 0.52 + 44.6) / 1000)


def test_linear_preset_refuses_a_caller_without_the_shape():
    model = get_time_model("jaillet2025-linear")
    with pytest.raises(TimeModelError, match="batch by its shape"):
        model.round_seconds(10, 2, 100)
    assert model.batch_seconds(BatchShape(1, 100, 3, 30)) == pytest.approx(
        (0.0027 * 30 + 0.52 * 4 + 44.6 + 0.378 * 100) / 1000)


def test_prompt_step_holds_input_plus_processed_up_to_s_plus_o_plus_one():
    inst = prompt_step_instance(np.array([4]), np.array([3]), 10, ["r"])
    from optsched.model.schedule import Schedule

    rep = validate(inst, Schedule({"r": 0}))
    assert rep.valid
    assert rep.memory_profile is not None
    assert [int(x) for x in rep.memory_profile[1:5]] == [5, 6, 7, 8]  # 4 steps: o + 1


def test_completed_within_counts_and_averages_only_finished_requests():
    lat = np.array([1.0, 5.0, 2.0])
    arr = np.array([0.0, 0.0, 9.0])
    assert completed_within(lat, arr, 4.0) == (1, 1.0)
    k, mean = completed_within(lat, arr, 0.5)
    assert k == 0
    assert math.isnan(mean)


def test_published_alpha_admits_every_prompt_up_to_the_cap_without_a_per_prompt_check():
    """M = 40, three prompts of 10: with nothing running (0 <= 0.75 M) the published rule
    admits all three at once; our per-request reading admits two (the third would take the next
    round's memory to 33 > 30)."""
    inst = make_instance(40, [2, 2, 2], [10, 10, 10], 0)
    published = run_policy(inst, "alpha-greedy-published")
    ours = run_policy(inst, "alpha-greedy", alpha=0.25)
    assert published.validation.valid
    assert ours.validation.valid
    assert sorted(published.schedule.starts.values()) == [0, 0, 0]
    assert sorted(ours.schedule.starts.values()) == [0, 0, 2]
    capped = run_policy(inst, "alpha-greedy-published", batch_cap=2)
    assert sorted(capped.schedule.starts.values()) == [0, 0, 2]


def test_published_alpha_waits_while_memory_is_above_the_reserve():
    # r0 (s = 20, o = 20) holds 20 + t, above 0.75 * 40 = 30 from t = 11; r1 arrives at 12 and
    # waits until r0 ends at 20, though it would fit in M
    inst = make_instance(40, [20, 2], [20, 1], [0, 12])
    run = run_policy(inst, "alpha-greedy-published")
    assert run.validation.valid
    assert run.schedule.starts["r1"] == 20


def test_authors_readings_fix_one_prompt_size_and_the_incumbent():
    grid = parse_readings(None, "authors-code")
    names = {r.name for r in grid}
    assert set(GRIDS["authors-code"]) == names
    for r in grid:
        if r.opt == "incumbent":
            assert r.shared_prompt
            assert r.warm
        assert len(set(r.instance(3).prompt.tolist())) == 1
    assert READINGS["authors-ip-highs-60s"].time_limit == 60.0


def test_cli_protocol_resumes_from_a_committed_run_without_writing_to_it(run_cli, tmp_path):
    first = tmp_path / "first"
    res = run_cli("reproduce", "jaillet2025", "--protocol", "authors-code", "--readings",
                  "tiny,tiny-ip", "--trials", "1", "--time-limit", "5", "--no-trace",
                  "--no-progress", "-o", first)
    assert res.code == 0, res.err
    assert "published (Gurobi)" in res.out
    assert "authors'-code protocol: highs 2 s" in res.out
    # a 4-request IP is solved to optimality within 2 s: the incumbent is proven, not timed out
    assert "| 1 of 1 (timed out: 0) |" in res.out
    ck = (first / "checkpoint.jsonl").read_bytes()
    second = tmp_path / "second"
    res = run_cli("reproduce", "jaillet2025", "--protocol", "authors-code", "--readings",
                  "tiny,tiny-ip", "--trials", "1", "--time-limit", "5", "--no-trace",
                  "--no-progress", "--resume-from", first, "-o", second)
    assert res.code == 0, res.err
    assert "nothing recomputed: all 2 trials came from the checkpoint" in res.out
    assert (first / "checkpoint.jsonl").read_bytes() == ck
    assert (second / "authors-code.md").exists()
    res = run_cli("reproduce", "jaillet2025", "--protocol", "authors-code", "--readings",
                  "tiny", "--trials", "1", "--resume-from", first, "-o", first)
    assert res.code == 2
    assert "is the output directory itself" in res.err


@pytest.mark.parametrize(("args", "message"), [
    (["--resume-from", "nowhere"], "applies only with --sensitivity or --protocol"),
    (["--protocol", "authors-code", "--resume-from", "nowhere"], "no checkpoint.jsonl"),
    (["--protocol", "authors-code", "--policies", "mcsf"], "--policies does not apply with "
                                                           "--protocol authors-code"),
    (["--protocol", "authors-code", "--rates", "0"], "--rates must be > 0"),
])
def test_cli_protocol_bad_input(run_cli, tmp_path, args, message):
    res = run_cli("reproduce", "jaillet2025", "--readings", "tiny", "--trials", "1", *args,
                  "-o", tmp_path / "o")
    assert res.code == 2
    assert message in res.err
    assert "Traceback" not in res.err


def test_stop_request_ends_the_grid_after_the_current_trial(tmp_path):
    """With a stop already requested (the first Ctrl-C), nothing new runs, the tables are
    written for what is done, and the counts say the run stopped; clearing it resumes."""
    from optsched.control import clear_stop, request_stop
    from optsched.studies.sensitivity import SensitivityConfig, run_sensitivity

    cfg = SensitivityConfig(parse_readings("tiny", "tiny"), trials=2, time_limit=5.0)
    stats: dict = {}
    request_stop()
    try:
        rows = run_sensitivity(cfg, tmp_path, progress=False, stats=stats)
    finally:
        clear_stop()
    assert rows == []
    assert stats == {"computed": 0, "reused": 0, "planned": 2, "stopped": True}
    assert (tmp_path / "sensitivity.md").exists()
    stats = {}
    assert len(run_sensitivity(cfg, tmp_path, progress=False, stats=stats)) == 2
    assert not stats["stopped"]
    assert stats["computed"] == 2
