"""Small helpers for the book's notebooks.

:func:`glue` wraps :func:`myst_nb.glue` so that numbers computed with numpy or pandas can be
used in the text with a format spec (``{glue:text}`name:.3f```). myst-nb formats a glued value
from its ``text/plain`` representation, and since numpy 2 that reads ``np.float64(0.79)``,
which it cannot format; plain Python numbers format fine.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def plain(value: Any) -> Any:
    """Return ``value`` with a numpy scalar turned into the equivalent Python scalar.

    Parameters
    ----------
    value
        Any object; only numpy scalars (``np.float64``, ``np.int64``, ``np.bool_``, ...) are
        changed.

    Returns
    -------
    object
        ``value.item()`` for a numpy scalar, else ``value`` itself.
    """
    if isinstance(value, np.generic):
        return value.item()
    return value


def glue(name: str, variable: Any, display: bool = True) -> None:
    """Glue ``variable`` under ``name`` for use in the text, as :func:`myst_nb.glue` does.

    Parameters
    ----------
    name
        Key used in ``{glue:text}`` / ``{glue:figure}`` roles and directives.
    variable
        The value; numpy scalars are stored as plain Python numbers (see :func:`plain`).
    display
        Whether to also display the value in the cell's output.
    """
    from myst_nb import glue as myst_glue

    myst_glue(name, plain(variable), display=display)
