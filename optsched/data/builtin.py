"""Instance references: a path to an instance JSON file, or ``builtin:NAME`` for an instance
shipped inside the package. Here, next to the shipped files, because every layer above (the
studies, the command line, the docs' examples) resolves references the same way."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from optsched.errors import OptschedError
from optsched.model.instance import Instance, instance_from_dict, load_instance

BUILTIN_PREFIX = "builtin:"


def builtin_names() -> list[str]:
    """Names of the instances shipped inside the package."""
    root = resources.files("optsched") / "data"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".json"))


def resolve_instance(ref: str) -> Instance:
    """Load ``ref``: a path to an instance JSON file, or ``builtin:NAME``."""
    if ref.startswith(BUILTIN_PREFIX):
        name = ref[len(BUILTIN_PREFIX):]
        if name not in builtin_names():
            raise OptschedError(f"unknown built-in instance {name!r}; available: "
                                f"{', '.join(builtin_names())}")
        text = (resources.files("optsched") / "data" / f"{name}.json").read_text()
        return instance_from_dict(json.loads(text))
    return load_instance(Path(ref))
