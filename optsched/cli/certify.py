"""Commands ``certify`` (policy vs proven optimum over a family) and ``shrink`` (minimal
counterexample with an explanation)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optsched.cli.common import add_solver_options, print_json
from optsched.data.builtin import resolve_instance
from optsched.errors import OptschedError
from optsched.studies.formatting import table

if TYPE_CHECKING:  # imported where used: certify pulls in the solvers
    from optsched.studies.certify import CertifyConfig

DEFAULT_OUT = "certify-out"


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show defaults, except the uninformative "None"."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def register(sub: argparse._SubParsersAction) -> None:
    from optsched.studies.certify import DEFAULT_POLICY, SOLVER_CHOICES
    from optsched.studies.enumerate import PROMPT_RULES, TIE_MODES

    p = sub.add_parser(
        "certify", help="compare a policy with the proven optimum over an instance family",
        description="Run a policy on every instance of a family and compare it with the proven "
        "optimum (trivial bound, brute-force oracle or MILP). Instances whose optimum is not "
        "proven are reported as unproven with a ratio interval, never as optimal. Every "
        "counterexample is saved (instance, both schedules, certificate, explanation) and "
        "cross-checked. Without family options it runs the built-in default family: the "
        "poster's Theorem 2 hypotheses (all arrivals 0, prompts non-decreasing in output "
        "length), n <= 4, o <= 4, s <= 2, every non-trivial M. Results are appended to "
        "OUT/results.jsonl, so an interrupted run continues where it stopped.",
        formatter_class=_Formatter)
    fam = p.add_argument_group("family (default: exhaustive)")
    fam.add_argument("--random", type=int, metavar="COUNT",
                     help="COUNT seeded random instances within the bounds instead")
    fam.add_argument("--files", nargs="+", metavar="PATH",
                     help="instance files or directories (searched for *.json) instead")
    fam.add_argument("--seed", type=int, default=0, help="seed of --random")
    fam.add_argument("--n-min", type=int, default=1, help="fewest requests")
    fam.add_argument("--n-max", type=int, default=4, help="most requests")
    fam.add_argument("--o-max", type=int, default=4, help="longest output (outputs 1..o-max)")
    fam.add_argument("--s-min", type=int, default=0, help="smallest prompt")
    fam.add_argument("--s-max", type=int, default=2, help="largest prompt")
    fam.add_argument("--a-max", type=int, default=0,
                     help="latest arrival (0 = all requests arrive at 0)")
    fam.add_argument("--m-min", type=int, default=None, help="smallest memory limit "
                     "(default: the largest s+o)")
    fam.add_argument("--m-max", type=int, default=None, help="largest memory limit (default: "
                     "every M below the all-at-arrival peak; larger M are trivial)")
    fam.add_argument("--prompts", choices=PROMPT_RULES, default="monotone",
                     help="prompt rule: any; equal (all prompts equal); monotone (o_i < o_j "
                     "implies s_i <= s_j)")
    fam.add_argument("--ties", choices=TIE_MODES, default="canonical",
                     help="order of requests with equal output length: canonical (sorted by "
                     "prompt, then arrival) or all distinct orders")
    run = p.add_argument_group("judging")
    run.add_argument("--policy", default=DEFAULT_POLICY, help="policy to certify")
    add_solver_options(
        run, solver={"choices": SOLVER_CHOICES, "default": "auto",
                     "help": "auto: brute force for n <= 8 (2 s), else CP-SAT"},
        time_limit={"default": 10.0, "help": "per-instance solver time limit in seconds"})
    run.add_argument("--crosscheck", choices=("counterexamples", "all"),
                     default="counterexamples", help="re-solve independently: counterexamples "
                     "only, or every instance whose optimum the solver proved")
    run.add_argument("--jobs", type=int, default=1, help="worker processes")
    out = p.add_argument_group("output")
    out.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                     help="output directory (results.jsonl, summary.json, ratio-histogram.png, "
                     "counterexamples/)")
    out.add_argument("--fresh", action="store_true",
                     help="discard earlier results in DIR (results.jsonl, summary, "
                     "counterexamples/, minimal/) instead of resuming")
    out.add_argument("--max-saved", type=int, default=None, metavar="K",
                     help="write files for at most K counterexamples (all are still listed)")
    out.add_argument("--shrink", type=int, default=0, metavar="K",
                     help="also shrink up to K counterexamples (smallest first) to minimal ones, "
                     "saved in DIR/minimal/")
    out.add_argument("--json", action="store_true", help="print one JSON object")
    out.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_certify)

    p = sub.add_parser(
        "shrink", help="reduce a counterexample to a minimal one and explain it",
        description="Apply single reduction steps (drop a request, lower M, shorten an output, "
        "shrink prompts, move arrivals earlier) while the policy stays provably suboptimal, "
        "until no step does. By default the instance stays in the strongest Theorem 2 class "
        "it starts in (all with arrivals 0: equal prompts; strict = o_i <= o_j implies "
        "s_i <= s_j; monotone = o_i < o_j implies s_i <= s_j).",
        formatter_class=_Formatter)
    p.add_argument("instance", help="instance JSON file or builtin:NAME")
    p.add_argument("--policy", default=DEFAULT_POLICY, help="policy")
    add_solver_options(
        p, solver={"choices": SOLVER_CHOICES, "default": "auto", "help": "optimum solver"},
        time_limit={"default": 10.0, "help": "per-check solver time limit in seconds"})
    p.add_argument("--keep", choices=("auto", "equal", "strict", "monotone", "none"),
                   default="auto",
                   help="class to stay in (auto: the strongest the instance is in)")
    p.add_argument("--out", metavar="DIR", help="write the minimal counterexample's files here")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_shrink)


def _config(args: argparse.Namespace) -> CertifyConfig:
    from optsched.studies.certify import CertifyConfig, check_policy

    check_policy(args.policy)
    return CertifyConfig(policy=args.policy, solver=args.solver, time_limit=args.time_limit,
                         crosscheck=getattr(args, "crosscheck", "counterexamples"))


def cmd_certify(args: argparse.Namespace) -> int:
    from optsched.studies import certify as C
    from optsched.studies import enumerate as E

    cfg = _config(args)
    if args.random is not None and args.files:
        raise OptschedError("choose one family: --random or --files, not both")
    if args.max_saved is not None and args.max_saved < 0:
        raise OptschedError("--max-saved must be >= 0")
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise OptschedError(f"--out {out_dir} exists and is not a directory")
    extra: dict[str, Any] = {}
    if args.files:
        instances, sources, skipped = E.file_family(args.files)
        tasks = C.instance_tasks(instances, sources, cfg.policy)
        desc = f"{len(instances)} instance files" + (
            f" ({skipped} other JSON files skipped)" if skipped else "")
        family = {"kind": "files", "paths": list(args.files), "files": len(instances),
                  "non_instance_json_skipped": skipped, "description": desc}
    else:
        bounds = E.Bounds(args.n_min, args.n_max, args.o_max, args.s_min, args.s_max,
                          args.a_max, args.m_min, args.m_max, args.prompts, args.ties)
        if args.random is not None:
            specs = list(E.random_family(args.random, args.seed, bounds))
            family = {"kind": "random", "count": args.random, "seed": args.seed,
                      "bounds": bounds.to_dict()}
            desc = f"{args.random} random instances (seed {args.seed}), {bounds.describe()}"
        else:
            stats = E.FamilyStats()
            specs = list(E.exhaustive(bounds, stats))
            family = {"kind": "exhaustive", "bounds": bounds.to_dict(),
                      "multisets": stats.multisets, "trivial_skipped": stats.trivial_skipped}
            desc = f"exhaustive, {bounds.describe()}"
            extra["trivial_skipped"] = stats.trivial_skipped
        family["description"] = desc
        tasks = C.spec_tasks(specs, cfg.policy, {"source": "optsched certify", "family": desc})
    if not tasks:
        raise OptschedError("the family is empty: every instance within these bounds is "
                            "trivial (M at or above the all-at-arrival peak) or filtered out")
    summary = C.run_tasks(tasks, cfg, out_dir, jobs=args.jobs, progress=not args.no_progress,
                          fresh=args.fresh, max_saved=args.max_saved, family=family)
    if args.shrink:
        summary["minimal_counterexamples"] = _shrink_many(summary, cfg, out_dir, args.shrink)
        from optsched.model.io import atomic_write_json

        atomic_write_json(out_dir / "summary.json", summary)
    if args.json:
        print_json(summary)
    else:
        print(format_summary(summary))
    return 0


def _shrink_many(summary: dict[str, Any], cfg: Any, out_dir: Path, limit: int) -> list[dict]:
    """Shrink up to ``limit`` proven counterexamples (smallest first); keep distinct results."""
    from optsched.model.instance import instance_from_dict
    from optsched.studies.certify import write_counterexample
    from optsched.studies.enumerate import requests_of
    from optsched.studies.shrink import shrink

    cxs = sorted((c for c in summary["counterexamples"] if c["optimum_proven"]),
                 key=lambda c: (c["n"], c["memory_limit"], c["key"]))[:limit]
    seen: dict[str, dict[str, Any]] = {}
    for c in cxs:
        res = shrink(instance_from_dict(c["instance"]), cfg)
        # same M and same (a, s, o) sequence = same counterexample, whatever the ids
        key = repr((res.minimal.memory_limit, requests_of(res.minimal)))
        if key in seen:
            seen[key]["shrunk_from"].append(c["key"])
            continue
        entry = res.to_dict()
        entry["shrunk_from"] = [c["key"]]
        name = f"n{res.minimal.n}-M{res.minimal.memory_limit}-" \
            f"{res.minimal.content_hash()[7:17]}"
        assert res.outcome.artifacts is not None  # a shrunk counterexample has its files
        entry["files"] = write_counterexample(out_dir / "minimal" / name,
                                              res.outcome.artifacts, plot=True)
        seen[key] = entry
    return list(seen.values())


def format_summary(s: dict[str, Any]) -> str:
    """The people-readable report of a certify run."""
    def r4(x: float | None) -> str:
        return "-" if x is None else f"{x:.4f}"

    fam = s["family"]
    lines = [f"policy      {s['policy']}",
             f"family      {fam.get('description', fam.get('kind'))}"]
    if s.get("trivial_skipped"):
        lines.append(f"            (+{s['trivial_skipped']} trivial instances with M >= the "
                     "all-at-arrival peak skipped: optimal by argument)")
    lines += [
        f"instances   {s['instances']} ({s['computed']} computed, {s['reused']} reused from "
        f"an earlier run) in {s['wall_seconds']:.1f} s",
        f"optimal     {s['policy_optimal']} proven optimal for the policy",
        f"suboptimal  {s['policy_suboptimal']} proven counterexamples",
        f"unproven    {s['unproven']} (optimum not proven within the time limit)",
        f"ratio       mean {r4(s['ratio']['mean'])}, median {r4(s['ratio']['median'])}, max "
        f"{r4(s['ratio']['max'])} over proven instances"
        + ("" if s["unproven"] == 0 else f"; max upper end incl. unproven "
           f"{r4(s['max_ratio_upper'])}"),
    ]
    if s["policy_invalid"]:
        lines.append(f"FAILED      {s['policy_invalid']} policy runs failed (invalid schedule or "
                     "no progress; see 'violations' in results.jsonl), not counted above")
    cc = s["crosscheck"]
    if cc["checked"]:
        lines.append(f"crosscheck  {cc['checked']} checked: certificates ok "
                     f"{cc['certificates_ok']}, independent re-solve agrees "
                     f"{cc['resolve_agrees']}, contradicts "
                     f"{cc['resolve_contradicts']}, unconfirmed {cc['resolve_unconfirmed']}")
    lines.append("")
    rows = [[g["n"], g["instances"], g["policy_optimal"], g["policy_suboptimal"], g["unproven"],
             r4(g["mean_ratio"]), r4(g["max_ratio"])] for g in s["by_n"]]
    lines.append(table(rows, ["n", "instances", "optimal", "suboptimal", "unproven",
                              "mean ratio", "max ratio"]))
    if len(s["by_class"]) > 1:
        lines.append("")
        rows = [[name, g["instances"], g["policy_optimal"], g["policy_suboptimal"],
                 g["unproven"], r4(g["max_ratio"])] for name, g in s["by_class"].items()]
        lines.append(table(rows, ["class", "instances", "optimal", "suboptimal", "unproven",
                                  "max ratio"]))
    cxs = s["counterexamples"]
    if cxs:
        lines.append("")
        worst = sorted(cxs, key=lambda c: (-(c["ratio"] or 0), c["n"]))[:10]
        lines.append(f"counterexamples: {len(cxs)}; worst {len(worst)}:")
        rows = [[c["n"], c["memory_limit"], " ".join(f"({a},{sp},{o})" for a, sp, o in
                                                     c["requests"]),
                 c["policy_objective"], c["optimal_objective"], r4(c["ratio"]),
                 (c["files"] or {}).get("instance", "(not saved)")] for c in worst]
        lines.append(table(rows, ["n", "M", "requests (a,s,o)", "policy", "optimum", "ratio",
                                  "file"]))
    mins = s.get("minimal_counterexamples")
    if mins:
        lines.append("")
        lines.append(f"minimal counterexamples: {len(mins)} distinct")
        for m in mins:
            lines.append(f"  {m['files']['instance']}  ({len(m['steps'])} steps from "
                         f"{len(m['shrunk_from'])} counterexample(s); "
                         + ("proven minimal" if m["proven_minimal"] else
                            f"{m['undecided_steps']} steps undecided") + ")")
        lines.append("")
        lines.append(mins[0]["explanation"].rstrip())
    lines.append("")
    lines.append(f"summary     {Path(s['results_file']).parent / 'summary.json'}")
    if s.get("histogram"):
        lines.append(f"histogram   {s['histogram']}")
    return "\n".join(lines)


def cmd_shrink(args: argparse.Namespace) -> int:
    from optsched.studies.certify import write_counterexample
    from optsched.studies.shrink import shrink

    cfg = _config(args)
    inst = resolve_instance(args.instance)
    res = shrink(inst, cfg, keep=args.keep)
    out = res.to_dict()
    if args.out:
        assert res.outcome.artifacts is not None  # a shrunk counterexample has its files
        out["files"] = write_counterexample(Path(args.out), res.outcome.artifacts, plot=True)
    if args.json:
        print_json(out)
        return 0
    print(f"shrunk {inst.n} -> {res.minimal.n} requests in {len(res.steps)} steps "
          f"({res.checks} checks), staying in class {res.keep!r}")
    for step in res.steps:
        print(f"  - {step}")
    print("minimal: no single reduction step keeps a counterexample" if res.proven_minimal
          else f"NOT proven minimal: {res.undecided} steps could not be decided "
          "(optimum unproven)")
    print()
    sys.stdout.write(out["explanation"])
    if args.out:
        print(f"\nfiles written to {args.out}")
    return 0
