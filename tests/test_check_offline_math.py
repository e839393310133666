"""tools/check_offline_math.py and check_math_in_browser.py: math renders without a network."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import check_math_in_browser  # noqa: E402
from check_offline_math import FONTS, MATHJAX, check_build, main, page_assets  # noqa: E402

MATH_PAGE = (
    '<html><head><script src="../_static/doctools.js"></script>'
    '<script defer="defer" src="../_static/mathjax/tex-chtml.js"></script></head><body>'
    '<p>Inline <span class="math notranslate nohighlight">\\(h_{l+1} = h_l + F_l(h_l)\\)</span></p>'
    '<div class="math notranslate nohighlight">\\[\\sum_j e^{s_j/\\tau}\\]</div></body></html>'
)


def _mathjax_package() -> Path:
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or spec.origin is None:
        pytest.skip("sphinx-mathjax-offline is not installed")
    return Path(spec.origin).parent / "static" / "mathjax"


def _build(tmp_path: Path, page: str = MATH_PAGE, with_mathjax: bool = True) -> Path:
    html = tmp_path / "html"
    (html / "book").mkdir(parents=True)
    (html / "book" / "chapter.html").write_text(page)
    (html / "index.html").write_text("<html><body>No math here.</body></html>")
    if with_mathjax:
        (html / MATHJAX).parent.mkdir(parents=True)
        (html / MATHJAX).write_text("/* MathJax */")
        (html / FONTS).mkdir(parents=True)
        (html / FONTS / "MathJax_Main-Regular.woff").write_bytes(b"woff")
    return html


def test_page_assets_finds_scripts_and_math_nodes():
    assets = page_assets(MATH_PAGE)
    assert assets.scripts == ["../_static/doctools.js", "../_static/mathjax/tex-chtml.js"]
    assert assets.math_nodes == 2


def test_a_build_that_loads_the_local_mathjax_passes(tmp_path, capsys):
    html = _build(tmp_path)
    assert check_build(html) == []
    assert main([str(html)]) == 0
    assert "loads MathJax from _static/mathjax/tex-chtml.js" in capsys.readouterr().out


def test_a_cdn_script_fails(tmp_path):
    cdn = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"
    html = _build(tmp_path, MATH_PAGE.replace("../_static/mathjax/tex-chtml.js", cdn))
    problems = check_build(html)
    assert any("book/chapter.html: loads a script from the network: " + cdn in p for p in problems)
    assert any("no local MathJax loaded" in p for p in problems)
    assert main([str(html)]) == 1


def test_protocol_relative_scripts_count_as_remote(tmp_path):
    page = MATH_PAGE.replace("../_static/doctools.js", "//unpkg.com/thebe.js")
    assert any("//unpkg.com/thebe.js" in p for p in check_build(_build(tmp_path, page)))


def test_a_build_without_the_mathjax_files_fails(tmp_path):
    problems = check_build(_build(tmp_path, with_mathjax=False))
    assert any("the local MathJax is missing" in p for p in problems)
    assert any("the MathJax fonts are missing" in p for p in problems)
    assert any("which does not exist" in p for p in problems)


def test_a_build_without_math_proves_nothing_and_fails(tmp_path):
    problems = check_build(_build(tmp_path, page="<html><body>text</body></html>"))
    html = tmp_path / "html"
    assert problems == [f"{html}: no page has math, so nothing shows that math renders"]
    assert "no such directory" in check_build(tmp_path / "missing")[0]


def test_the_config_serves_the_packaged_mathjax_and_the_package_ships_it():
    sphinx = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]
    assert "sphinx-mathjax-offline" in sphinx["extra_extensions"]
    path = sphinx["config"]["mathjax_path"]
    assert not path.startswith(("http", "//")), f"mathjax_path is remote: {path}"
    assert Path("_static") / path == MATHJAX
    shipped = _mathjax_package()
    assert (shipped.parent / path).is_file()
    assert any((shipped / FONTS.relative_to("_static/mathjax")).glob("*.woff"))


def test_typeset_counts_reads_mathjax_output():
    dom = "<mjx-container class='MathJax'></mjx-container><mjx-container><mjx-merror>"
    assert check_math_in_browser.typeset_counts(dom) == (2, 1)
    assert check_math_in_browser.typeset_counts(MATH_PAGE) == (0, 0)


@pytest.mark.skipif(check_math_in_browser.find_browser() is None, reason="no chromium")
def test_math_typesets_in_headless_chromium_with_the_network_off(tmp_path, capsys):
    html = _build(tmp_path, with_mathjax=False)
    shutil.copytree(_mathjax_package(), html / "_static" / "mathjax")
    out = tmp_path / "shot.png"
    status = check_math_in_browser.main(
        [str(html), "--screenshot", "book/chapter.html", "--out", str(out)]
    )
    text = capsys.readouterr().out
    assert status == 0, text
    assert "all math on 1 page(s) typeset with the network off" in text
    assert out.stat().st_size > 1000
    # A page whose MathJax is missing does not typeset, and the check says so.
    (html / MATHJAX).unlink()
    assert check_math_in_browser.main([str(html), "--page", "book/chapter.html"]) == 1
