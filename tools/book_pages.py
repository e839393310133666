"""Sphinx extension for the book's landing and status pages: what they say comes from the build.

Registered in ``_config.yml`` (``sphinx.local_extensions``). Two directives:

``book-contents``
    The book's parts and chapters, read from the table of contents (``_toc.yml``), with links.
    The landing page uses it, so it lists the chapters that exist and never one that does not.
``exec-status``
    One row per executed chapter, in book order (the order of ``_toc.yml``): when it was last
    executed, how (``cache``: the time recorded when the execution cache was filled), how long
    it took and whether it succeeded; then a sentence that compares the times with the book's
    budget (:data:`BUDGET`), computed from the same numbers.

The pure parts (:func:`toc_parts`, :func:`book_order`, :func:`summarise`) are tested in
``tests/test_book_pages.py``; the Sphinx glue reads myst-nb's execution records
(``NbMetadataCollector``) after every document has been read, as ``nb-exec-table`` does.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from docutils import nodes

__all__ = ["BUDGET", "Budget", "ChapterTime", "book_order", "summarise", "toc_parts"]


@dataclass(frozen=True)
class Budget:
    """Execution-time budget of the book on the reference machine (2 CPU cores, no GPU).

    Attributes
    ----------
    book_s : float
        Limit for the whole book, in seconds.
    chapter_s : float
        Limit for any one chapter, in seconds.
    target_s : float
        What each chapter aims for on an idle machine, in seconds.
    """

    book_s: float = 360.0
    chapter_s: float = 40.0
    target_s: float = 25.0


BUDGET = Budget()


@dataclass(frozen=True)
class ChapterTime:
    """One chapter's execution record: ``runtime_s`` is ``None`` when it was not recorded."""

    docname: str
    title: str
    runtime_s: float | None
    succeeded: bool


def _strip_suffix(docname: str, suffixes: Iterable[str]) -> str:
    for suffix in suffixes:
        if suffix and docname.endswith(suffix):
            return docname[: -len(suffix)]
    return docname


def toc_parts(site_map: Any, suffixes: Iterable[str] = (".md", ".ipynb")) -> list:
    """The root document's parts as ``[(caption, [docname, ...]), ...]``, in toc order.

    Parameters
    ----------
    site_map : sphinx_external_toc.api.SiteMap
        The parsed ``_toc.yml`` (``env.external_site_map`` in a Jupyter Book build).
    suffixes : iterable of str
        File suffixes to strip from the docnames.
    """
    suffixes = tuple(suffixes)
    return [
        (tree.caption, [_strip_suffix(f, suffixes) for f in tree.files()])
        for tree in site_map.root.subtrees
    ]


def book_order(site_map: Any, suffixes: Iterable[str] = (".md", ".ipynb")) -> list[str]:
    """Every document of the toc in reading order: the root, then depth first."""
    suffixes = tuple(suffixes)
    order: list[str] = []

    def visit(docname: str) -> None:
        name = _strip_suffix(docname, suffixes)
        if name in order:
            return
        order.append(name)
        item = site_map.get(docname) or site_map.get(name)
        for child in [] if item is None else item.child_files():
            visit(child)

    visit(site_map.root.docname)
    return order


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def _names(chapters: Sequence[ChapterTime]) -> str:
    titles = [f"“{c.title}”" for c in chapters]
    return titles[0] if len(titles) == 1 else ", ".join(titles[:-1]) + " and " + titles[-1]


def summarise(chapters: Sequence[ChapterTime], budget: Budget = BUDGET) -> str:
    """One paragraph comparing the chapters' execution times with ``budget``.

    Every number and every verdict in it is computed from ``chapters``.

    Parameters
    ----------
    chapters : sequence of ChapterTime
        The executed chapters, in book order.
    budget : Budget
        The limits to compare with.

    Returns
    -------
    str
        Plain text, for a paragraph of the status page.
    """
    if not chapters:
        return "No chapter has been executed in this build."
    timed = [c for c in chapters if c.runtime_s is not None]
    failed = [c for c in chapters if not c.succeeded]
    total = sum(c.runtime_s for c in timed)
    parts = []
    if timed:
        slowest = max(timed, key=lambda c: c.runtime_s)
        within = total <= budget.book_s and slowest.runtime_s <= budget.chapter_s
        parts.append(
            f"The {len(timed)} executed chapters took {_duration(total)} in total "
            f"(limit {_duration(budget.book_s)}); the slowest, “{slowest.title}”, took "
            f"{_duration(slowest.runtime_s)} (limit {_duration(budget.chapter_s)} per chapter)."
        )
        over_limit = [c for c in timed if c.runtime_s > budget.chapter_s]
        over_target = [c for c in timed if budget.target_s < c.runtime_s <= budget.chapter_s]
        if within:
            parts.append("The book is within its execution budget.")
        else:
            reasons = []
            if total > budget.book_s:
                reasons.append(f"the total is over {_duration(budget.book_s)}")
            if over_limit:
                reasons.append(
                    f"{_names(over_limit)} {'is' if len(over_limit) == 1 else 'are'} over "
                    f"{_duration(budget.chapter_s)}"
                )
            parts.append("The book is over its execution budget: " + " and ".join(reasons) + ".")
        if over_target:
            parts.append(
                f"Over the {_duration(budget.target_s)} target but within the limit: "
                f"{_names(over_target)}."
            )
        else:
            parts.append(
                f"No chapter is between the {_duration(budget.target_s)} target and the limit."
            )
    untimed = [c for c in chapters if c.runtime_s is None]
    if untimed:
        parts.append(f"No time was recorded for {_names(untimed)}.")
    if failed:
        parts.append(f"Execution failed for {_names(failed)}.")
    return " ".join(parts)


# --- Sphinx glue ---------------------------------------------------------------------------------


class BookContentsNode(nodes.General, nodes.Element):
    """Placeholder for the list of parts and chapters, filled in once all titles are known."""


class ExecStatusNode(nodes.General, nodes.Element):
    """Placeholder for the execution table and its summary."""


def _directive(node_class: type[nodes.Element]):
    from sphinx.util.docutils import SphinxDirective

    class _Placeholder(SphinxDirective):
        has_content = False

        def run(self) -> list[nodes.Node]:
            docs = getattr(self.env, "book_pages_docs", set())
            docs.add(self.env.docname)
            self.env.book_pages_docs = docs
            return [node_class()]

    return _Placeholder


def _doc_link(parent: str, docname: str, title: str) -> nodes.Node:
    from sphinx.addnodes import pending_xref

    link = pending_xref(
        refdoc=parent,
        reftarget=posixpath.relpath(docname, posixpath.dirname(parent)),
        reftype="doc",
        refdomain="std",
        refexplicit=True,
        refwarn=True,
        classes=["xref", "doc"],
    )
    link += nodes.inline(text=title)
    return link


def _title(env: Any, docname: str) -> str:
    title = env.titles.get(docname)
    return title.astext() if title is not None else docname


def _contents(env: Any, parent: str) -> list[nodes.Node]:
    suffixes = tuple(env.config.source_suffix)
    out: list[nodes.Node] = []
    for caption, docnames in toc_parts(env.external_site_map, suffixes):
        items = nodes.bullet_list()
        for docname in docnames:
            paragraph = nodes.paragraph()
            paragraph += _doc_link(parent, docname, _title(env, docname))
            items += nodes.list_item("", paragraph)
        if caption:
            out.append(nodes.rubric(text=caption))
        out.append(items)
    return out


def _cell(content: nodes.Node | str) -> nodes.entry:
    paragraph = nodes.paragraph()
    paragraph += nodes.Text(content) if isinstance(content, str) else content
    return nodes.entry("", paragraph)


def _exec_status(env: Any, parent: str) -> list[nodes.Node]:
    from myst_nb.sphinx_ import NbMetadataCollector

    records = NbMetadataCollector.get_doc_data(env)
    order = book_order(env.external_site_map, tuple(env.config.source_suffix))
    header = ["Chapter", "Executed (UTC)", "Method", "Time (s)", "Status"]
    table = nodes.table(classes=["colwidths-auto", "exec-status"])
    tgroup = nodes.tgroup(cols=len(header))
    table += tgroup
    for _ in header:
        tgroup += nodes.colspec(colwidth=1)
    thead = nodes.thead()
    tgroup += thead
    row = nodes.row()
    thead += row
    for name in header:
        row += _cell(name)
    tbody = nodes.tbody()
    tgroup += tbody
    chapters = []
    for docname in order:
        data = records.get(docname, {}).get("exec_data")
        if not data:
            continue
        title = _title(env, docname)
        runtime = data.get("runtime")
        chapters.append(ChapterTime(docname, title, runtime, data.get("succeeded") is True))
        mtime = data.get("mtime")
        row = nodes.row()
        tbody += row
        row += _cell(_doc_link(parent, docname, title))
        executed = datetime.fromtimestamp(mtime, UTC).strftime("%Y-%m-%d %H:%M") if mtime else "-"
        status = "ok" if data.get("succeeded") is True else f"failed: {data.get('error') or ''}"
        row += _cell(executed)
        row += _cell(str(data.get("method", "-")))
        row += _cell("-" if runtime is None else f"{runtime:.1f}")
        row += _cell(status)
    return [table, nodes.paragraph(text=summarise(chapters))]


def _post_transform_class():
    from sphinx.transforms.post_transforms import SphinxPostTransform

    class BookPagesPostTransform(SphinxPostTransform):
        """Replace the placeholders once every document has been read (and executed)."""

        default_priority = 8  # before the reference resolvers (9 and 10) resolve the links

        def run(self, **kwargs: Any) -> None:
            docname = self.env.docname
            for node in list(self.document.findall(BookContentsNode)):
                node.replace_self(_contents(self.env, docname))
            for node in list(self.document.findall(ExecStatusNode)):
                node.replace_self(_exec_status(self.env, docname))

    return BookPagesPostTransform


def _always_rewrite(app: Any, env: Any) -> list[str]:
    """Pages with these directives depend on every other page: write them on every build."""
    return sorted(getattr(env, "book_pages_docs", set()))


def _purge(app: Any, env: Any, docname: str) -> None:
    getattr(env, "book_pages_docs", set()).discard(docname)


def _merge(app: Any, env: Any, docnames: Iterable[str], other: Any) -> None:
    docs = getattr(env, "book_pages_docs", set())
    docs |= getattr(other, "book_pages_docs", set())
    env.book_pages_docs = docs


def setup(app: Any) -> dict[str, Any]:
    """Register the directives, their post-transform and the rewrite hook."""
    app.add_node(BookContentsNode)
    app.add_node(ExecStatusNode)
    app.add_directive("book-contents", _directive(BookContentsNode))
    app.add_directive("exec-status", _directive(ExecStatusNode))
    app.add_post_transform(_post_transform_class())
    app.connect("env-updated", _always_rewrite)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
