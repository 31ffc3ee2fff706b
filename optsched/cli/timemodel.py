"""Commands ``time-model fit`` (derive the presets from Vidur profiles) and ``time-model list``."""

from __future__ import annotations

import argparse

from optsched.cli.common import check_output_path, print_json
from optsched.studies.formatting import table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("time-model", help="batch-time models: list the presets, refit them",
                       description="Batch-time models turn engine rounds into seconds (see "
                       "models/batch-time.md). 'unit' (one unit per round) is the default "
                       "everywhere.")
    tm = p.add_subparsers(dest="tm_kind", metavar="KIND")
    tm.required = True
    q = tm.add_parser("list", help="the shipped presets with their fit residuals")
    q.add_argument("--json", action="store_true", help="print the shipped fit as JSON")
    q.set_defaults(func=cmd_list)
    q = tm.add_parser("fit", help="fit the presets from Vidur operator profiles",
                      description="Fit every preset from the *_mlp.csv profiles and the "
                      "LICENSE in PROFILE_DIR; write the derived data file (and LICENSE-vidur "
                      "beside it). Nothing is written if a file is missing or malformed.")
    q.add_argument("profile_dir", metavar="PROFILE_DIR")
    q.add_argument("-o", "--output", required=True, metavar="FILE.json")
    q.set_defaults(func=cmd_fit)


def _rows(fit: dict) -> list[list[object]]:
    out = []
    for name, e in fit["presets"].items():
        ho = e["residuals"]["held_out"]
        out.append([name, e["tensor_parallel"], f"{e['linear_ms'][0]:.1f}",
                    f"{e['linear_ms'][-1]:.0f}", e["kv_bytes_per_token"],
                    f"{e['kv_seconds_per_token'] * 1e9:.1f}", f"{ho['mean_rel_error']:.1%}",
                    f"{ho['p90_rel_error']:.1%}", f"{ho['max_rel_error']:.1%}"])
    return out


HEADER = ["preset", "TP", "1 token (ms)", "4096 tokens (ms)", "KV bytes/token",
          "KV ns/token", "held-out mean err", "p90", "max"]


def cmd_list(args: argparse.Namespace) -> int:
    from optsched.policies.timemodel import shipped_fit

    fit = shipped_fit()
    if args.json:
        print_json({k: v for k, v in fit.items() if k != "license"})
    else:
        print(table(_rows(fit), HEADER))
        print("\nalso: unit (default; one unit per round), fixed:SECONDS and "
              "jaillet2025-linear (the batch-time formula of the authors' published "
              "simulators for arXiv 2502.07115; docs/time-model.md)")
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    from optsched.policies.timemodel import write_fit

    check_output_path(args.output, "output")
    fit = write_fit(args.profile_dir, args.output)
    print(table(_rows(fit), HEADER))
    print(f"\nwritten {args.output}")
    return 0
