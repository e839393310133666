"""Render the built book in headless Chromium with the network off and check that math typesets.

Usage::

    python tools/check_math_in_browser.py [_build/html] [--screenshot book/tabular_resnet.html]

For every page with math (or the pages named with ``--page``) Chromium loads the page from disk
with no network: inside ``unshare -n`` (a network namespace with no interface) when that is
allowed, and always with every host name unresolvable and a proxy on a dead local port. After
MathJax has run, the page's DOM must hold one typeset ``mjx-container`` per math node and no
MathJax error (``mjx-merror``, e.g. an undefined macro).

A negative control shows that the network really is off for the browser: a copy of one page
that loads MathJax from its CDN must *not* typeset.

``--screenshot`` also saves a PNG of a page (default: ``_build/offline-math/<page>.png``) to look
at. Without Chromium (``chromium``, ``chromium-browser``, ``google-chrome`` or ``$CHROMIUM``) the
check prints why and exits 0: CI does not need a browser, a machine that has one runs it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_offline_math import MATHJAX, page_assets

CDN_MATHJAX = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
NO_NETWORK_FLAGS = (
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",
    "--disable-background-networking",
)


def find_browser() -> str | None:
    """Path of a Chromium binary, or ``None``."""
    if os.environ.get("CHROMIUM"):
        return shutil.which(os.environ["CHROMIUM"])
    for name in BROWSERS:
        if path := shutil.which(name):
            return path
    return None


def _isolation() -> list[str]:
    """``["unshare", "-n"]`` when this process may create a network namespace, else ``[]``."""
    unshare = shutil.which("unshare")
    if not unshare:
        return []
    probe = subprocess.run([unshare, "-n", "true"], capture_output=True, check=False)
    return [unshare, "-n"] if probe.returncode == 0 else []


def _browser_command(browser: str, profile: Path, *args: str) -> list[str]:
    return [
        *_isolation(),
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--allow-file-access-from-files",
        f"--user-data-dir={profile}",
        *NO_NETWORK_FLAGS,
        "--virtual-time-budget=20000",
        *args,
    ]


def rendered_dom(browser: str, url: str, timeout_s: float = 90.0) -> str:
    """The page's DOM after its scripts have run, from ``chromium --dump-dom``."""
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            _browser_command(browser, Path(profile), "--dump-dom", url),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    if done.returncode != 0 or "<html" not in done.stdout:
        raise RuntimeError(f"chromium failed on {url}: {done.stderr[-2000:]}")
    return done.stdout


def screenshot(browser: str, url: str, out: Path, timeout_s: float = 90.0) -> Path:
    """Save a PNG of ``url`` (1280 x 1800 pixels) to ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            _browser_command(
                browser, Path(profile), f"--screenshot={out}", "--window-size=1280,1800", url
            ),
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    if not out.is_file():
        raise RuntimeError(f"chromium wrote no screenshot of {url}")
    return out


def typeset_counts(dom: str) -> tuple[int, int]:
    """(number of typeset ``mjx-container`` elements, number of MathJax errors) in a DOM."""
    return len(re.findall(r"<mjx-container\b", dom)), len(re.findall(r"<mjx-merror\b", dom))


def check_page(browser: str, page: Path) -> str | None:
    """A problem with ``page`` once rendered offline, or ``None`` when all its math typeset."""
    expected = page_assets(page.read_text(encoding="utf-8")).math_nodes
    typeset, errors = typeset_counts(rendered_dom(browser, page.resolve().as_uri()))
    if typeset < expected:
        return f"{page}: {typeset} of {expected} math nodes typeset offline"
    if errors:
        return f"{page}: MathJax reports {errors} error(s) (mjx-merror)"
    return None


def control_is_offline(browser: str, page: Path) -> bool:
    """Whether a copy of ``page`` that loads MathJax from the CDN fails to typeset (it must)."""
    html = page.read_text(encoding="utf-8")
    local = [s for s in page_assets(html).scripts if s.endswith(MATHJAX.as_posix())]
    if not local:
        raise RuntimeError(f"{page} loads no local MathJax to swap for the CDN one")
    control = page.with_name(f"_cdn_control_{page.name}")
    control.write_text(html.replace(local[0], CDN_MATHJAX), encoding="utf-8")
    try:
        typeset, _ = typeset_counts(rendered_dom(browser, control.resolve().as_uri()))
    finally:
        control.unlink()
    return typeset == 0


def main(argv: list[str] | None = None) -> int:
    """Command line; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html_dir", nargs="?", default="_build/html", type=Path)
    parser.add_argument("--page", action="append", help="page to check, relative to html_dir")
    parser.add_argument("--screenshot", help="page (relative to html_dir, #anchor allowed)")
    parser.add_argument("--out", type=Path, help="PNG path for --screenshot")
    args = parser.parse_args(argv)

    browser = find_browser()
    if browser is None:
        print("Browser math check skipped: no chromium (apt-get install chromium to run it).")
        return 0
    html_dir: Path = args.html_dir
    if args.page:
        pages = [html_dir / p for p in args.page]
    else:
        pages = [
            p
            for p in sorted(html_dir.rglob("*.html"))
            if MATHJAX.parent not in p.relative_to(html_dir).parents
            and page_assets(p.read_text(encoding="utf-8", errors="replace")).math_nodes
        ]
    if not pages:
        print(f"Browser math check failed: no page with math under {html_dir}")
        return 1
    mode = "unshare -n" if _isolation() else "unresolvable hosts and a dead proxy"
    if not control_is_offline(browser, pages[0]):
        print(f"Browser math check failed: the CDN control of {pages[0]} typeset, so the network "
              f"was reachable ({mode}); the check would prove nothing.")
        return 1
    problems = [p for p in (check_page(browser, page) for page in pages) if p]
    if args.screenshot:
        name, _, anchor = args.screenshot.partition("#")
        out = args.out or Path("_build/offline-math") / (Path(name).stem + ".png")
        url = (html_dir / name).resolve().as_uri() + (f"#{anchor}" if anchor else "")
        print(f"Screenshot of {args.screenshot} offline: {screenshot(browser, url, out)}")
    if problems:
        print("Browser math check failed:", *problems, sep="\n  ")
        return 1
    print(
        f"Browser math check: all math on {len(pages)} page(s) typeset with the network off "
        f"({mode}); a CDN-loading control page did not."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
