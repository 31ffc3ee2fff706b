"""MkDocs hooks: the parts of the docs site that are generated, so they cannot go stale.

* ``<!-- optsched:cli-reference -->`` in a page becomes the ``--help`` text of every ``optsched``
  command and subcommand, rendered from the argparse parser itself.
* ``<!-- optsched:models -->`` becomes the model write-ups under ``models/`` (one section each,
  the folder's README excepted),
  with their headings moved one level down and links that only work in the repository turned
  into plain text.
* Math (``$...$`` and ``$$...$$``, kept intact by ``pymdownx.arithmatex``) becomes MathML at build
  time with ``latex2mathml``: the site needs no math JavaScript and no CDN, and browsers render
  MathML natively (Chromium since version 109, Firefox and Safari long before). A formula the
  converter cannot read fails the build, naming the page.
"""

from __future__ import annotations

import argparse
import html
import os
import re
from pathlib import Path
from typing import Any

CLI_MARKER = "<!-- optsched:cli-reference -->"
MODELS_MARKER = "<!-- optsched:models -->"
#: Help texts are wrapped at this width so the page does not depend on the build terminal.
HELP_WIDTH = 80
#: models/ pages in reading order; any other models/*.md follow alphabetically.
MODELS_FIRST = ("time_indexed.md",)


def iter_commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ("optsched",)
                  ) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every (command path, parser) pair below ``parser``, depth first, in help order."""
    out = [(prefix, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out += iter_commands(sub, prefix + (name,))
    return out


def cli_reference() -> str:
    """Markdown with the ``--help`` of every command (top level first)."""
    from optsched.cli import build_parser

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(HELP_WIDTH)
    try:
        parts = []
        for path, parser in iter_commands(build_parser()):
            level = "#" * min(len(path) + 1, 4)
            parts.append(f"{level} `{' '.join(path)}`\n\n```text\n{parser.format_help().rstrip()}"
                         "\n```\n")
        return "\n".join(parts)
    finally:
        if saved is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved


_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)")


def _unlink(match: re.Match[str]) -> str:
    text, target = match.group(1), match.group(2)
    if re.match(r"^[a-z]+://|^#|^mailto:", target):
        return match.group(0)
    return text if text.startswith("`") else f"{text} (`{target}`)"


def _adapt(text: str) -> str:
    """Demote headings and unlink repository-relative links, leaving code blocks alone."""
    out, fence = [], None
    for line in text.splitlines():
        m = re.match(r"^\s*(```+|~~~+)", line)
        if m:
            mark = m.group(1)[0] * 3
            fence = None if fence == mark else (fence or mark)
        elif fence is None:
            line = re.sub(r"^(#{1,5}) ", r"#\1 ", line)
            line = _LINK.sub(_unlink, line)
        out.append(line)
    return "\n".join(out).rstrip()


def models_markdown(root: Path) -> str:
    """The models/*.md pages, headings demoted by one level, repository-only links unlinked."""
    folder = root / "models"
    files = [p for p in sorted(folder.glob("*.md")) if p.name != "README.md"] \
        if folder.is_dir() else []
    files.sort(key=lambda p: (p.name not in MODELS_FIRST,
                              MODELS_FIRST.index(p.name) if p.name in MODELS_FIRST else 0, p.name))
    if not files:
        return "*No model write-ups have been added under `models/` yet.*\n"
    parts = []
    for f in files:
        text = _adapt(f.read_text(encoding="utf-8"))
        parts.append(f"<!-- from models/{f.name} -->\n\n{text}\n\n"
                     f"*Source: `models/{f.name}` in the repository.*\n")
    return "\n\n".join(parts)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any, **kwargs: Any) -> str:
    """Expand the markers (MkDocs calls this for every page)."""
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    if MODELS_MARKER in markdown:
        root = Path(config["config_file_path"]).resolve().parent
        markdown = markdown.replace(MODELS_MARKER, models_markdown(root))
    return markdown


#: What pymdownx.arithmatex (generic mode) leaves for a formula: a span (inline, ``\(...\)``) or a
#: div (display, ``\[...\]``) of class "arithmatex" holding the HTML-escaped LaTeX.
_MATH = re.compile(r'<(span|div) class="arithmatex">\s*\\([(\[])(.*?)\\[)\]]\s*</\1>', re.DOTALL)


def latex_to_mathml(html_text: str, where: str = "page") -> str:
    """Every arithmatex formula of ``html_text`` as MathML (display formulas in a block)."""
    from latex2mathml.converter import convert

    def one(match: re.Match[str]) -> str:
        tag, opener, source = match.group(1), match.group(2), html.unescape(match.group(3))
        display = "block" if opener == "[" else "inline"
        try:
            mathml = convert(source.strip(), display=display)
        except Exception as exc:  # the converter raises several types; name the formula
            raise ValueError(f"{where}: cannot convert the formula {source.strip()!r} to "
                             f"MathML: {exc!r}") from exc
        # Text (\text, \texttt) is copied verbatim, escapes included: unescape \_ and the like.
        mathml = re.sub(r"(<mtext[^>]*>)([^<]*)(</mtext>)", lambda m: m.group(1) + re.sub(
            r"\\([_%&#${}])", r"\1", m.group(2)) + m.group(3), mathml)
        # Commands the converter does not know come through as text ("\foo"): refuse any
        # backslash left in the output, it would show as LaTeX source on the page.
        if leftover := re.findall(r">([^<]*\\[^<]*)<", mathml):
            raise ValueError(f"{where}: the formula {source.strip()!r} leaves "
                             f"{', '.join(leftover)} as text (unknown to latex2mathml)")
        return f'<{tag} class="arithmatex">{mathml}</{tag}>'

    return _MATH.sub(one, html_text)


def on_page_content(html_text: str, page: Any, config: Any, files: Any, **kwargs: Any) -> str:
    """Turn the page's formulas into MathML (MkDocs calls this with each page's HTML)."""
    return latex_to_mathml(html_text, where=page.file.src_uri)
