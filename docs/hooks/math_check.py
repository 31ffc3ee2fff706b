"""Check in a real (headless) Chromium that the built site's formulas render as math.

Usage: ``python docs/hooks/math_check.py SITE_DIR [PAGE ...]`` (pages relative to the site, by
default ``formulations/index.html``). For each page it writes a copy with a small script at the
end of the body, loads the copy in headless Chromium and reads back what the script measured
from the dumped DOM:

* how many ``<math>`` elements there are and how many have a laid-out box;
* how many subscripts (``<msub>``) the browser actually lowered below their base: that only
  happens when the browser lays MathML out as math, so it tells rendered math from markup that a
  browser shows as plain text;
* any ``$...$``, ``\\(`` or ``\\[`` left in the visible text outside code (LaTeX not converted).

Exit 0 when every page has math, all of it laid out, most subscripts lowered and no LaTeX
source; 1 with one line per problem otherwise; 2 when no Chromium is installed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DEFAULT_PAGES = ("formulations/index.html",)
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
MARK = "math-check-result"

PROBE = """
<script>
(() => {
  const maths = [...document.querySelectorAll("math")];
  const boxed = maths.filter(m => m.getBoundingClientRect().height > 0).length;
  let lowered = 0;
  const subs = [...document.querySelectorAll("msub")];
  for (const s of subs) {
    const [base, sub] = s.children;
    if (base && sub && sub.getBoundingClientRect().bottom
        > base.getBoundingClientRect().bottom + 0.5) lowered++;
  }
  const raw = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement.closest("pre, code, script, style, math")) continue;
    const hit = node.textContent.match(/\\$[^$\\n]+\\$|\\\\\\(|\\\\\\[/);
    if (hit) raw.push(hit[0].slice(0, 40));
  }
  const out = document.createElement("pre");
  out.id = "@MARK@";
  out.textContent = JSON.stringify({math: maths.length, boxed, msub: subs.length, lowered, raw});
  document.body.appendChild(out);
})();
</script>
""".replace("@MARK@", MARK)


def find_browser() -> str | None:
    """The path of an installed Chromium (or Chrome), or None."""
    for name in BROWSERS:
        if path := shutil.which(name):
            return path
    return None


def measure(browser: str, page: Path) -> dict[str, object]:
    """Load a probed copy of ``page`` (next to it, so its assets resolve) and return what the
    probe measured."""
    probe = page.with_name(f".math-check-{page.name}")
    text = page.read_text(encoding="utf-8")
    probe.write_text(text.replace("</body>", PROBE + "</body>", 1), encoding="utf-8")
    try:
        with tempfile.TemporaryDirectory() as profile:
            proc = subprocess.run(
                [browser, "--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                 "--virtual-time-budget=5000", "--dump-dom", probe.resolve().as_uri()],
                capture_output=True, text=True, timeout=120)
    finally:
        probe.unlink(missing_ok=True)
    found = re.search(rf'<pre id="{MARK}">(.*?)</pre>', proc.stdout, re.DOTALL)
    if not found:
        raise RuntimeError(f"{page}: the browser returned no probe result (exit "
                           f"{proc.returncode}): {proc.stderr.strip()[-500:]}")
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def problems(result: dict[str, object], page: str) -> list[str]:
    """What is wrong with one page's measurement (empty when its math renders)."""
    out = []
    math, boxed = int(result["math"]), int(result["boxed"])  # type: ignore[call-overload]
    msub, lowered = int(result["msub"]), int(result["lowered"])  # type: ignore[call-overload]
    if math == 0:
        out.append(f"{page}: no <math> element (formulas not converted?)")
    if boxed < math:
        out.append(f"{page}: {math - boxed} of {math} formulas have no box on the page")
    if msub and lowered < 0.9 * msub:
        out.append(f"{page}: only {lowered} of {msub} subscripts are set below their base: the "
                   "browser does not lay the MathML out as math")
    if result["raw"]:
        out.append(f"{page}: LaTeX source left in the text: {result['raw']}")
    return out


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.splitlines()[2])
        return 2
    site, pages = Path(argv[0]), argv[1:] or list(DEFAULT_PAGES)
    browser = find_browser()
    if browser is None:
        print("math check: no Chromium found (install the 'chromium' package)")
        return 2
    failures = []
    for page in pages:
        result = measure(browser, site / page)
        print(f"math check: {page}: {result['math']} formulas, {result['boxed']} laid out, "
              f"{result['lowered']} of {result['msub']} subscripts lowered, "
              f"{len(result['raw'])} LaTeX leftovers")  # type: ignore[arg-type]
        failures += problems(result, page)
    for line in failures:
        print("math check FAILED:", line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
