"""Let nbval execute the book's MyST-markdown chapters directly.

nbval collects ``.ipynb`` files only. The chapters are jupytext MyST notebooks (``.md``), so
this hook collects every ``book/**/*.md`` file that carries a jupytext header as a notebook
and makes nbval read it through jupytext instead of nbformat. No ``.ipynb`` copy is written.
"""

from __future__ import annotations

import os
from pathlib import Path

import jupytext
import nbformat
import pytest
from hypothesis import settings

collect_ignore_glob = ["_build/*", ".venv/*", ".jupyter_cache/*"]

# Property tests are deterministic by default: the same examples on every run, so a CI run
# cannot fail by chance. HYPOTHESIS_PROFILE=explore draws new examples (and keeps the ones that
# failed in the local example database) when hunting for bugs.
settings.register_profile("deterministic", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


class _JupytextAwareNbformat:
    """Stand-in for the ``nbformat`` module inside nbval that also reads MyST notebooks."""

    def __getattr__(self, name: str):
        return getattr(nbformat, name)

    @staticmethod
    def read(path: str, as_version: int = 4):
        if str(path).endswith(".md"):
            return jupytext.read(path, fmt="md:myst")
        return nbformat.read(path, as_version=as_version)


def _is_myst_notebook(path: Path) -> bool:
    try:
        head = path.read_text(encoding="utf-8")[:600]
    except OSError:
        return False
    return head.startswith("---") and "jupytext:" in head and "format_name: myst" in head


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    opt = parent.config.option
    if not (getattr(opt, "nbval", False) or getattr(opt, "nbval_lax", False)):
        return None
    if file_path.suffix != ".md" or "_build" in file_path.parts:
        return None
    if not _is_myst_notebook(file_path):
        return None
    import nbval.plugin as nbval_plugin

    nbval_plugin.nbformat = _JupytextAwareNbformat()
    return nbval_plugin.IPyNbFile.from_parent(parent, path=file_path)
