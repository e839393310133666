"""Check that the built book loads MathJax from its own copy and no script from the network.

Usage: ``python tools/check_offline_math.py [_build/html]`` (``make math-check`` runs it after
every book build). Exits 1, listing each problem, when

- the local MathJax (``_static/mathjax/tex-chtml.js``, copied by the ``sphinx-mathjax-offline``
  extension) or its CHTML fonts are missing from the build;
- a page loads a script from another host (``http://``, ``https://`` or ``//``): a CDN, which
  an offline reader cannot reach;
- a page with math does not load the local MathJax, or loads it from a path that does not exist;
- no page has math at all (the check would then prove nothing).

It reads only the HTML files; ``tools/check_math_in_browser.py`` renders the pages.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

MATHJAX = Path("_static") / "mathjax" / "tex-chtml.js"
FONTS = Path("_static") / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2"
REMOTE = ("http://", "https://", "//")


@dataclass
class PageAssets:
    """What one HTML page loads and whether it has math."""

    scripts: list[str] = field(default_factory=list)
    math_nodes: int = 0


class _AssetParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.assets = PageAssets()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and values.get("src"):
            self.assets.scripts.append(values["src"] or "")
        classes = (values.get("class") or "").split()
        if "math" in classes and tag in {"span", "div"}:
            self.assets.math_nodes += 1


def page_assets(html: str) -> PageAssets:
    """The scripts a page loads (``src`` of ``<script>``) and its number of math nodes."""
    parser = _AssetParser()
    parser.feed(html)
    return parser.assets


def check_build(html_dir: Path) -> list[str]:
    """Problems found in the built HTML under ``html_dir``; empty when the build is offline-safe."""
    if not html_dir.is_dir():
        return [f"{html_dir}: no such directory (build the book first: make book)"]
    problems = []
    if not (html_dir / MATHJAX).is_file():
        problems.append(f"{html_dir / MATHJAX}: the local MathJax is missing from the build")
    if not any((html_dir / FONTS).glob("*.woff")):
        problems.append(f"{html_dir / FONTS}: the MathJax fonts are missing from the build")
    pages_with_math = 0
    for page in sorted(html_dir.rglob("*.html")):
        if MATHJAX.parent in page.relative_to(html_dir).parents:
            continue  # MathJax's own files
        assets = page_assets(page.read_text(encoding="utf-8", errors="replace"))
        name = page.relative_to(html_dir)
        for src in assets.scripts:
            if src.startswith(REMOTE):
                problems.append(f"{name}: loads a script from the network: {src}")
        if not assets.math_nodes:
            continue
        pages_with_math += 1
        local = [s for s in assets.scripts if s.split("?")[0].endswith(MATHJAX.as_posix())]
        if not local:
            problems.append(f"{name}: {assets.math_nodes} math nodes but no local MathJax loaded")
        for src in local:
            target = (page.parent / src.split("?")[0]).resolve()
            if not target.is_file():
                problems.append(f"{name}: loads MathJax from {src}, which does not exist")
    if pages_with_math == 0:
        problems.append(f"{html_dir}: no page has math, so nothing shows that math renders")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Command line: print the problems and return 1, or a one-line summary and 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html_dir", nargs="?", default="_build/html", type=Path)
    args = parser.parse_args(argv)
    problems = check_build(args.html_dir)
    if problems:
        print("Offline math check failed:", *problems, sep="\n  ")
        return 1
    print(f"Offline math check: {args.html_dir} loads MathJax from {MATHJAX} and no remote script.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
