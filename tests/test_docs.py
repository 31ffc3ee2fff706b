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


def _hooks(name: str = "optsched_docs"):
    spec = importlib.util.spec_from_file_location(f"{name}_hooks",
                                                  ROOT / "docs" / "hooks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _build_site(tmp_path: Path) -> Path:
    """Build the site strictly into tmp_path/site (skips when the docs extra is missing)."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    pytest.importorskip("latex2mathml")
    exe = shutil.which("mkdocs", path=str(Path(sys.executable).parent)) or shutil.which("mkdocs")
    if exe is None:
        pytest.skip("mkdocs executable not found")
    site = tmp_path / "site"
    proc = subprocess.run([exe, "build", "--strict", "--site-dir", str(site)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return site


def _nav_pages() -> list[str]:
    text = (ROOT / "mkdocs.yml").read_text()
    nav = text[text.index("\nnav:"):]
    return re.findall(r":\s*([\w./-]+\.md)\s*$", nav, flags=re.MULTILINE)


def test_every_nav_page_exists():
    """Each page named in mkdocs.yml's nav is a file under docs/ (no dangling entries)."""
    pages = _nav_pages()
    assert "index.md" in pages
    assert "cli.md" in pages
    assert "api.md" in pages
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
    assert "### Part" in out
    assert "\n# a comment\n[a](b)\n" in out
    assert "code (`../optsched/x.py`)" in out
    assert "[web](https://example.org)" in out


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path):
    """`mkdocs build --strict` succeeds and every formula of the site is MathML, none left as
    LaTeX (skipped when the docs extra is not installed)."""
    site = _build_site(tmp_path)
    html = (site / "cli" / "index.html").read_text()
    assert "optsched plot gantt" in html
    assert "optsched reproduce" in html
    assert (site / "api" / "index.html").is_file()
    formulations = (site / "formulations" / "index.html").read_text()
    assert formulations.count("<math") > 20
    for page in site.rglob("*.html"):
        assert 'class="arithmatex">\\' not in page.read_text(), page


def test_formulas_become_mathml_and_bad_ones_name_their_page():
    """The hook turns arithmatex's inline and display LaTeX into MathML; an unreadable formula
    fails with the page named."""
    pytest.importorskip("latex2mathml")
    hooks = _hooks()
    out = hooks.latex_to_mathml('<p>cost <span class="arithmatex">\\(x_{i,t} \\le M\\)</span>'
                                '</p><div class="arithmatex">\\[\\sum_i c_i\\]</div>')
    assert "\\(" not in out
    assert "\\[" not in out
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">' in out
    assert 'display="block"' in out
    assert "<msub>" in out
    assert "&#x02211;" in out
    text = hooks.latex_to_mathml('<span class="arithmatex">\\(\\texttt{mem\\_t}\\)</span>')
    assert ">mem_t</mtext>" in text
    with pytest.raises(ValueError, match="models.md"):
        hooks.latex_to_mathml('<span class="arithmatex">\\(x^\\)</span>', "models.md")
    with pytest.raises(ValueError, match=r"model\.md.*\\\\nosuch"):
        hooks.latex_to_mathml('<span class="arithmatex">\\(\\nosuch x\\)</span>', "model.md")


@pytest.mark.slow
def test_math_renders_in_headless_chromium(tmp_path):
    """In headless Chromium the Formulations page's formulas are laid out as math (subscripts
    set below their base) and no LaTeX source is visible; skipped only without Chromium (CI
    installs it and also runs docs/hooks/math_check.py on its build)."""
    check = _hooks("math_check")
    browser = check.find_browser()
    if browser is None:
        pytest.skip("no Chromium installed")
    site = _build_site(tmp_path)
    for page in ("formulations/index.html", "benchmarks/index.html"):
        result = check.measure(browser, site / page)
        assert result["math"] >= 1, result
        assert check.problems(result, page) == [], result
