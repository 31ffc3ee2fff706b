"""The docs site: every nav page exists, the CLI reference covers every command, strict build."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _hooks():
    spec = importlib.util.spec_from_file_location("optsched_docs_hooks",
                                                  ROOT / "docs" / "hooks" / "optsched_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _nav_pages() -> list[str]:
    text = (ROOT / "mkdocs.yml").read_text()
    nav = text[text.index("\nnav:"):]
    return re.findall(r":\s*([\w./-]+\.md)\s*$", nav, flags=re.MULTILINE)


def test_every_nav_page_exists():
    """Each page named in mkdocs.yml's nav is a file under docs/ (no dangling entries)."""
    pages = _nav_pages()
    assert "index.md" in pages and "cli.md" in pages and "api.md" in pages
    missing = [p for p in pages if not (ROOT / "docs" / p).is_file()]
    assert not missing, f"nav names missing pages: {missing}"


def test_cli_reference_covers_every_command():
    """The generated CLI reference has a section and the help text of every (sub)command."""
    from optsched.cli import build_parser

    hooks = _hooks()
    assert hooks.CLI_MARKER in (ROOT / "docs" / "cli.md").read_text()
    ref = hooks.cli_reference()
    commands = hooks.iter_commands(build_parser())
    assert len(commands) > 5
    names = {" ".join(path) for path, _ in commands}
    for must in ("optsched solve", "optsched reproduce", "optsched plot gantt",
                 "optsched plot ratios", "optsched plot cactus"):
        assert must in names
    for path, parser in commands:
        assert f"`{' '.join(path)}`" in ref
        assert f"usage: {parser.prog}" in ref


def test_models_inclusion_demotes_headings_outside_code(tmp_path):
    """models/*.md are included with headings one level down; code blocks and URLs untouched."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "README.md").write_text("# index, not included\n")
    (tmp_path / "models" / "time_indexed.md").write_text(
        "# Base\n\nSee [code](../optsched/x.py) and [web](https://example.org).\n\n"
        "```python\n# a comment\n[a](b)\n```\n## Part\n")
    (tmp_path / "models" / "another.md").write_text("# Another\n")
    out = _hooks().models_markdown(tmp_path)
    assert out.index("## Base") < out.index("## Another")  # time_indexed first
    assert "index, not included" not in out
    assert "### Part" in out and "\n# a comment\n[a](b)\n" in out
    assert "code (`../optsched/x.py`)" in out and "[web](https://example.org)" in out


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path):
    """`mkdocs build --strict` succeeds (skipped when the docs extra is not installed)."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    exe = shutil.which("mkdocs", path=str(Path(sys.executable).parent)) or shutil.which("mkdocs")
    if exe is None:
        pytest.skip("mkdocs executable not found")
    site = tmp_path / "site"
    proc = subprocess.run([exe, "build", "--strict", "--site-dir", str(site)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    html = (site / "cli" / "index.html").read_text()
    assert "optsched plot gantt" in html and "optsched reproduce" in html
    assert (site / "api" / "index.html").is_file()
