"""``optsched bench exact``: run the exact-solving benchmark harness and print its table."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from optsched.cli.common import add_solver_options, check_output_path, print_json
from optsched.cli.core import EXIT_INTERRUPTED
from optsched.control import interruptible, stop_requested
from optsched.errors import OptschedError
from optsched.studies.benchmark import (
    INSTANCE_SETS,
    VARIANTS,
    Case,
    Variant,
    baseline_summary,
    baseline_table,
    cactus_plot,
    disagreements,
    instance_set,
    parse_variants,
    resolve_variant,
    run_benchmark,
    summarize,
    summary_table,
    write_parquet,
)

QUICK_SET, QUICK_LIMIT = "quick", 10.0
QUICK_VARIANTS = "cpsat:time-indexed,cpsat:epoch,highs:time-indexed,cpsat:heuristic"
DEFAULT_VARIANTS = "cpsat:time-indexed,cpsat:epoch"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmarks (exact solving)",
                       description="Benchmark harnesses. See docs/exact-performance.md.")
    bsub = p.add_subparsers(dest="bench_command", metavar="WHAT")
    bsub.required = True
    variants = "; ".join(f"{v.name}: {v.help}" for v in VARIANTS.values())
    sets = "; ".join(f"{k}: " + ", ".join(f"{n} x {f}" for f, n in v.items())
                     for k, v in INSTANCE_SETS.items())
    e = bsub.add_parser(
        "exact", help="compare exact-solving variants on a fixed seeded instance set",
        description="Run every variant on every instance of a fixed seeded set with the same "
        "time limit, threads and seed; print proven-optimal count, median/max time and mean/max "
        "final gap per family and variant; optionally save the rows as Parquet and a cactus "
        f"plot. A variant is SOLVER:METHOD, the names of solve's --solver and --method "
        f"(and :PROFILE for layered's CP-SAT profiles); the documented ones: {variants}. "
        f"Older names (cpsat-epoch, lns, ...) are still accepted. Instance sets: {sets}.")
    e.add_argument("--quick", action="store_true",
                   help=f"the ~1-2 minute smoke run: defaults become --set {QUICK_SET} "
                   f"--time-limit {QUICK_LIMIT:g} --variants {QUICK_VARIANTS} (explicit "
                   "options still win)")
    e.add_argument("--set", dest="instance_set", default=None, choices=list(INSTANCE_SETS),
                   help="instance set (default: paper = 20 Model 1 + 20 Model 2, the published "
                   "settings of docs/model.md)")
    e.add_argument("--variants", default=None,
                   help=f"comma-separated variants (default: {DEFAULT_VARIANTS})")
    add_solver_options(e, time_limit={"help": "per-solve wall-clock limit in seconds (default 60)"},
                       threads={"help": "threads per solve (default 1)"})
    e.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="solves run side by side (default 1; keep jobs x threads <= cores)")
    add_solver_options(e, seed={})
    e.add_argument("--limit", type=int, default=None, metavar="K",
                   help="only the first K instances of each family")
    e.add_argument("--families", default=None, metavar="F1,F2",
                   help="only these families of the set (comma-separated, e.g. m1-n16,m1-n20 "
                   "of the frontier set)")
    e.add_argument("--checkpoint", metavar="FILE.jsonl",
                   help="append each finished solve to FILE (JSON lines) as it ends; run the "
                   "same command with the same FILE again to resume: solves already recorded "
                   "(same instance, variant, time limit, threads, seed and optsched version) "
                   "are not run again")
    e.add_argument("--baseline", metavar="VARIANT",
                   help="also print the before/after table: per family and variant the proven "
                   "count, its change, the mean gap and the mean objective and bound ratios to "
                   "this variant on the same instances (run too if it is not one of "
                   "--variants)")
    e.add_argument("--update-open", metavar="DIR",
                   help="merge the results into the open-instance table in DIR (table.json, "
                   "README.md, schedules/, certificates/; e.g. instances/open): a value or "
                   "bound is replaced only by a better one, with this command and the version")
    e.add_argument("--out", metavar="FILE.parquet", help="write one row per solve as Parquet")
    e.add_argument("--plot", metavar="FILE.png", help="write a cactus plot")
    e.add_argument("--json", action="store_true", help="print rows and summary as JSON")
    e.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    e.set_defaults(func=cmd_bench_exact)


def _fill_defaults(args: argparse.Namespace) -> None:
    """The set, time limit and variants of --quick or of the paper-scale run, where not given,
    then refuse options that cannot run (before any solve)."""
    defaults = (QUICK_SET, QUICK_LIMIT, QUICK_VARIANTS) if args.quick else (
        "paper", 60.0, DEFAULT_VARIANTS)
    if args.instance_set is None:
        args.instance_set = defaults[0]
    if args.time_limit is None:
        args.time_limit = defaults[1]
    if args.variants is None:
        args.variants = defaults[2]
    if args.time_limit <= 0:
        raise OptschedError("--time-limit must be > 0 seconds")
    if args.threads < 1 or args.jobs < 1:
        raise OptschedError("--threads and --jobs must be >= 1")
    if args.limit is not None and args.limit < 1:
        raise OptschedError("--limit must be >= 1")
    check_output_path(args.out, "--out")
    check_output_path(args.plot, "--plot")
    check_output_path(args.checkpoint, "--checkpoint")


def _selected_cases(args: argparse.Namespace) -> list[Case]:
    """The instances of the set, cut to --limit seeds and to the --families named."""
    cases = instance_set(args.instance_set)
    if args.limit is not None:
        cases = [c for c in cases if c.seed < args.limit]
    if args.families is None:
        return cases
    wanted = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = sorted(set(wanted) - {c.family for c in cases})
    if unknown or not wanted:
        what = f"{', '.join(unknown)} not in" if unknown else "no family named for"
        raise OptschedError(f"--families: {what} set {args.instance_set} (its families: "
                            f"{', '.join(INSTANCE_SETS[args.instance_set])})")
    return [c for c in cases if c.family in wanted]


def _variants_with_baseline(args: argparse.Namespace) -> list[Variant]:
    """--variants, plus the --baseline variant when it is not among them (it is run too and
    named as in the rows)."""
    variants = parse_variants(args.variants)
    if args.baseline is not None:
        base = resolve_variant(args.baseline)
        args.baseline = base.name
        if base.name not in {v.name for v in variants}:
            variants.append(base)
    return variants


def _update_open(rows: list[dict], args: argparse.Namespace) -> None:
    """Merge the rows into the open-instance table with the command that reruns them, spelt
    from the parsed options with defaults filled in (the checkpoint file named by its metavar,
    so no machine path is stored)."""
    from optsched.studies.open_instances import update_open

    words = ["optsched bench exact --set", args.instance_set]
    words += [] if args.families is None else ["--families", args.families]
    words += [] if args.limit is None else ["--limit", str(args.limit)]
    words += ["--variants", args.variants, "--time-limit", f"{args.time_limit:g}",
              "--threads", str(args.threads), "--seed", str(args.seed), "--jobs", str(args.jobs)]
    words += [] if args.checkpoint is None else ["--checkpoint", "FILE.jsonl"]
    words += ["--update-open", args.update_open]
    counts = update_open(rows, args.update_open, " ".join(shlex.quote(w) if i else w
                                                           for i, w in enumerate(words)))
    print(f"open-instance table {args.update_open}: {counts['value']} better value(s), "
          f"{counts['bound']} better bound(s), {counts['certificate']} new certificate(s)",
          file=sys.stderr)


def _check_open_table(directory: str | None) -> None:
    """Refuse --update-open before any solve runs: a path that is not a folder, or a table
    there that cannot be read (so an hour of solving is never lost to a bad argument)."""
    if directory is None:
        return
    from optsched.studies.open_instances import load_table

    if Path(directory).exists() and not Path(directory).is_dir():
        raise OptschedError(f"--update-open: {directory} is not a folder (the open-instance "
                            "table is a folder holding table.json, schedules/, certificates/)")
    load_table(directory)


def cmd_bench_exact(args: argparse.Namespace) -> int:
    _fill_defaults(args)
    _check_open_table(args.update_open)
    variants = _variants_with_baseline(args)
    cases = _selected_cases(args)
    with interruptible():
        rows = run_benchmark(cases, variants, args.time_limit, args.threads, args.seed,
                             args.jobs, progress=not args.no_progress,
                             checkpoint=args.checkpoint,
                             certificates=args.update_open is not None)
    if args.update_open is not None:
        _update_open(rows, args)
        rows = [{k: v for k, v in r.items() if k != "certificate"} for r in rows]
    if stop_requested():
        print(f"optsched: interrupted after {len(rows)} of {len(cases) * len(variants)} solves; "
              "run the same command again (with --checkpoint) to resume", file=sys.stderr)
    if args.out:
        write_parquet(rows, args.out)
    if args.plot:
        cactus_plot(rows, args.plot, f"set {args.instance_set}, {args.time_limit:g} s per solve, "
                    f"{args.threads} thread(s)")
    problems = disagreements(rows)
    if args.json:
        print_json({"set": args.instance_set, "time_limit": args.time_limit,
                    "threads": args.threads, "rows": rows, "summary": summarize(rows),
                    "disagreements": problems}
                   | ({} if args.baseline is None else
                      {"baseline": args.baseline,
                       "baseline_summary": baseline_summary(rows, args.baseline)}))
    else:
        print(f"set {args.instance_set}: {len(cases)} instances, time limit "
              f"{args.time_limit:g} s, {args.threads} thread(s) per solve, {args.jobs} job(s)")
        print(summary_table(rows))
        if args.baseline is not None:
            print(f"\nagainst {args.baseline} (ratios: variant / {args.baseline} on the same "
                  "instance, means)")
            print(baseline_table(rows, args.baseline))
    for p in problems:
        print(f"optsched: DISAGREEMENT: {p}", file=sys.stderr)
    return 1 if problems else EXIT_INTERRUPTED if stop_requested() else 0
