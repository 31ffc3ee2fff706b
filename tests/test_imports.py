"""The package's import graph. The layers (which package may import which) are a contract
declared in pyproject.toml ([tool.importlinter]) and checked by ``lint-imports``; the tests
below run the tool, show that it catches an upward import, and keep the one check the layers
contract does not make: no module imports itself back through others, even inside one layer."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "optsched"


def _lint_imports(cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    """Run the ``lint-imports`` of this environment (a test extra) on the contracts of the
    pyproject.toml in ``cwd``, importing the package found under ``pythonpath``."""
    exe = Path(sys.executable).with_name("lint-imports")
    assert exe.exists(), "lint-imports is missing: install the test extras (pip install -e .[test])"
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run([str(exe), "--no-cache"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_layers_contract_is_kept():
    """The package keeps every contract of pyproject.toml (the layers, plots' forbidden list)."""
    out = _lint_imports(ROOT, ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "optsched layers" in out.stdout
    assert " 0 broken" in out.stdout


def test_layers_contract_catches_an_upward_import(tmp_path):
    """A copy of the package with one function-level import that runs upwards (an instance
    source reaching into the studies) breaks the layers contract, and the report names it."""
    shutil.copytree(PACKAGE, tmp_path / "optsched",
                    ignore=shutil.ignore_patterns("__pycache__", "*.json", "traces", "timemodel"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    gen = tmp_path / "optsched" / "data" / "generators.py"
    gen.write_text(gen.read_text() + "\n\ndef _upward() -> None:\n"
                   "    from optsched.studies.dataset import build  # noqa: F401\n")
    out = _lint_imports(tmp_path, tmp_path)
    assert out.returncode != 0
    assert "BROKEN" in out.stdout
    assert "optsched.data.generators" in out.stdout


def _modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under ``root`` (packages by __init__)."""
    out = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package modules it names in any import statement, wherever it stands
    (top level, inside a function, or under ``if TYPE_CHECKING``: a type-only import still ties
    the two modules together). The implicit import of a module's parent packages is left out:
    every submodule has it, and a package's ``__init__`` re-exporting its submodules is not a
    cycle."""
    mods = _modules(root)
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([node.module] if node.module else []))
                # "from pkg import mod" names the submodule, "from mod import x" the module
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            deps.update(t for t in targets if t in mods and t != name)
        graph[name] = deps
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_package_has_no_import_cycle():
    """No module of optsched reaches itself through the imports of others (static, with ast)."""
    graph = import_graph()
    assert "optsched.exact.solve" in graph
    assert len(graph) > 30
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_cycle_finder_sees_relative_function_level_and_type_only_imports(tmp_path):
    """The graph reader catches a cycle made of a relative import, a function-level import and an
    import under TYPE_CHECKING, and no cycle once one of them is gone."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from pkg.a import f\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\n\ndef f():\n    return b\n")
    (pkg / "sub" / "b.py").write_text("def g():\n    from pkg.sub.c import h\n    return h\n")
    (pkg / "sub" / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..a import f\n")
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {"pkg.sub", "pkg.sub.b"}
    assert find_cycle(graph) == ["pkg.a", "pkg.sub.b", "pkg.sub.c", "pkg.a"]
    (pkg / "sub" / "c.py").write_text("h = 1\n")
    assert find_cycle(import_graph(pkg)) is None
