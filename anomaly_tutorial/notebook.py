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


def glue_values(prefix: str, values: dict[str, Any]) -> None:
    """Glue several values for the prose at once, without displaying them.

    ``glue_values("ts", {"n-points": 9, "days": 14.0})`` glues ``ts-n-points`` and ``ts-days``.
    Replaces a wall of ``glue(..., display=False)`` lines in a chapter cell.

    Parameters
    ----------
    prefix
        Prepended to every key with a ``-`` (pass ``""`` for none).
    values
        Names and values; numpy scalars become plain Python numbers.
    """
    if not isinstance(values, dict):
        raise TypeError(f"values: expected a dict, got {type(values).__name__}")
    for key, value in values.items():
        glue(f"{prefix}-{key}" if prefix else str(key), value, display=False)


def format_table(
    frame: Any,
    formats: dict[str, str] | None = None,
    default_float: str = "{:.3f}",
) -> Any:
    """A copy of ``frame`` formatted for a page: integers as integers, floats rounded.

    Integer-valued float columns (counts that pandas turned into floats after a merge, for
    instance) print without ``.0``; other floats use ``default_float`` unless ``formats``
    names a format for that column (``{"recall": "{:.1%}"}``). Missing values print as ``-``.

    Returns
    -------
    pandas.io.formats.style.Styler
        Renders as an HTML table in the book, with the index hidden when it is a plain
        ``RangeIndex``.
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame: expected a pandas DataFrame, got {type(frame).__name__}")
    formats = dict(formats or {})
    unknown = sorted(set(formats) - set(frame.columns))
    if unknown:
        raise ValueError(f"formats: columns not in the table: {unknown}")
    spec: dict[str, Any] = {}
    for column in frame.columns:
        values = frame[column]
        if column in formats:
            spec[column] = formats[column]
        elif pd.api.types.is_bool_dtype(values):
            continue
        elif pd.api.types.is_integer_dtype(values):
            spec[column] = "{:,}"
        elif pd.api.types.is_float_dtype(values):
            finite = values.dropna()
            whole = len(finite) > 0 and bool((finite == finite.round()).all())
            spec[column] = "{:,.0f}" if whole else default_float
    styler = frame.style.format(spec, na_rep="-")
    if isinstance(frame.index, pd.RangeIndex):
        styler = styler.hide(axis="index")
    return styler


def glue_table(name: str, frame: Any, formats: dict[str, str] | None = None) -> None:
    """Glue a results table (formatted by :func:`format_table`) without showing it twice.

    Use with a ``{glue:figure}`` directive (or ``{glue}``) where the table belongs in the
    text; the cell itself displays nothing, so the table appears once.
    """
    glue(name, format_table(frame, formats), display=False)
