"""Regenerate the batch-time presets shipped in optsched/data/timemodel/ from the Vidur profiles.

Run from the repository root (PROFILE_DIR holds the four ``*_mlp.csv`` files and Vidur's LICENSE)::

    python scripts/fit_time_model.py PROFILE_DIR

It is the same as ``optsched time-model fit PROFILE_DIR -o optsched/data/timemodel/vidur-fit.json``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from optsched.cli import main

OUT = Path(__file__).resolve().parents[1] / "optsched" / "data" / "timemodel" / "vidur-fit.json"

if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python scripts/fit_time_model.py PROFILE_DIR", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(["time-model", "fit", sys.argv[1], "-o", str(OUT)]))
