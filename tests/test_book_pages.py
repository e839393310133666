"""tools/book_pages.py: the landing page's contents and the status verdict come from the build."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
pytest.importorskip("docutils")
pytest.importorskip("sphinx_external_toc")

import book_pages  # noqa: E402
from book_pages import Budget, ChapterTime, book_order, summarise, toc_parts  # noqa: E402


def _site_map():
    from sphinx_external_toc.parsing import parse_toc_yaml

    return parse_toc_yaml(ROOT / "_toc.yml")


def _toc_yaml_parts() -> list[tuple[str, list[str]]]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [(part["caption"], [c["file"] for c in part["chapters"]]) for part in toc["parts"]]


def test_contents_are_the_parts_and_chapters_of_the_toc_in_order():
    assert toc_parts(_site_map()) == _toc_yaml_parts()


def test_book_order_is_the_root_then_every_chapter_in_toc_order():
    order = book_order(_site_map())
    expected = [yaml.safe_load((ROOT / "_toc.yml").read_text())["root"]]
    expected += [f for _, files in _toc_yaml_parts() for f in files]
    assert order == expected
    assert len(set(order)) == len(order)


def _chapters(*times: float | None) -> list[ChapterTime]:
    return [ChapterTime(f"book/c{i}", f"Chapter {i}", t, True) for i, t in enumerate(times)]


BUDGET = Budget(book_s=100.0, chapter_s=40.0, target_s=25.0)


def test_summary_within_budget_states_the_total_and_the_slowest():
    text = summarise(_chapters(10.0, 20.0, 12.5), BUDGET)
    assert "The 3 executed chapters took 42.5 s in total (limit 1 min 40 s)" in text
    assert "the slowest, “Chapter 1”, took 20.0 s (limit 40.0 s per chapter)" in text
    assert "within its execution budget" in text and "over its" not in text
    assert "No chapter is between the 25.0 s target and the limit." in text


def test_summary_names_a_chapter_over_the_limit_and_one_over_the_target():
    text = summarise(_chapters(41.0, 30.0, 5.0), BUDGET)
    assert "over its execution budget: “Chapter 0” is over 40.0 s." in text
    assert "Over the 25.0 s target but within the limit: “Chapter 1”." in text


def test_summary_flags_a_total_over_the_book_limit_even_when_every_chapter_is_fast():
    text = summarise(_chapters(*[39.0] * 3), BUDGET)
    assert "the total is over 1 min 40 s" in text
    assert "“Chapter 0”, “Chapter 1” and “Chapter 2”" in text  # all over the target


def test_summary_reports_failures_and_missing_times():
    chapters = [*_chapters(5.0, None), ChapterTime("book/x", "Broken", 3.0, False)]
    text = summarise(chapters, BUDGET)
    assert "No time was recorded for “Chapter 1”." in text
    assert "Execution failed for “Broken”." in text
    assert summarise([], BUDGET) == "No chapter has been executed in this build."


def test_the_pages_use_the_directives_and_the_config_registers_the_extension():
    assert "```{book-contents}" in (ROOT / "book" / "intro.md").read_text()
    status = (ROOT / "book" / "status.md").read_text()
    assert "```{exec-status}" in status and "nb-exec-table" not in status
    sphinx = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]
    assert sphinx["local_extensions"] == {"book_pages": "tools/"}
    assert book_pages.BUDGET == Budget(book_s=360.0, chapter_s=40.0, target_s=25.0)


# sphinx-external-toc scans every live object for an old collector (gc.get_objects), and touching
# torch's deprecated ``reduce_op`` alias on the way warns; harmless, and not ours.
@pytest.mark.filterwarnings("ignore:`torch.distributed.reduce_op` is deprecated:FutureWarning")
def test_a_sphinx_build_lists_the_toc_and_summarises_execution(tmp_path):
    """The directives in a real (tiny) Sphinx build: links in toc order, no executed chapter."""
    from sphinx.application import Sphinx

    src = tmp_path / "src"
    (src / "book").mkdir(parents=True)
    (src / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n"
        "  - caption: Second part first\n    chapters:\n      - file: book/zeta\n"
        "  - caption: Then\n    chapters:\n      - file: book/alpha\n      - file: book/status\n"
    )
    (src / "book" / "intro.md").write_text("# Intro\n\n```{book-contents}\n```\n")
    (src / "book" / "zeta.md").write_text("# Zeta chapter\n\nText.\n")
    (src / "book" / "alpha.md").write_text("# Alpha chapter\n\nText.\n")
    (src / "book" / "status.md").write_text("# Status\n\n```{exec-status}\n```\n")
    (src / "conf.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT / 'tools')!r})\n"
        "extensions = ['myst_nb', 'sphinx_external_toc', 'book_pages']\n"
        "external_toc_path = '_toc.yml'\nexternal_toc_exclude_missing = False\n"
        "nb_execution_mode = 'off'\n"
    )
    out = tmp_path / "html"
    app = Sphinx(
        str(src), str(src), str(out), str(tmp_path / "doctrees"), "html",
        status=None, warning=None, freshenv=True,
    )
    app.build()
    assert app.statuscode == 0
    intro = (out / "book" / "intro.html").read_text()
    intro = intro[intro.index("<h1>") :]  # the page body, not the head's next/prev links
    assert intro.index("Second part first") < intro.index("Zeta chapter") < intro.index("Then")
    assert intro.index("Then") < intro.index("Alpha chapter") < intro.index(">Status<")
    assert 'href="zeta.html"' in intro and 'href="alpha.html"' in intro
    status = (out / "book" / "status.html").read_text()
    assert "No chapter has been executed in this build." in status
