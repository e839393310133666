"""Align anomaly scores with ground-truth labels by event id.

Every metric in the book goes through :func:`align`: scores and labels are joined on their ids,
never on row position. A mismatch (an id on one side only, a duplicated id, a missing score, a
label that is not 0/1) raises :class:`IdAlignmentError` that says what is wrong and shows a few
offending ids, so evaluating labels against the wrong rows cannot happen silently.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

import numpy as np
import pandas as pd

from anomaly_tutorial.ocsf import ID_COLUMN

__all__ = ["IdAlignmentError", "align"]

#: Label columns carried along by :func:`align` when the label table has them.
EXTRA_LABEL_COLUMNS: tuple[str, ...] = ("anomaly_type", "anomaly_kind", "incident_id")

_N_EXAMPLES = 5


class IdAlignmentError(ValueError):
    """Scores and labels cannot be matched one-to-one by id."""


def _examples(ids: Iterable[Hashable], n: int = _N_EXAMPLES) -> str:
    """Format the first ``n`` ids of ``ids`` for an error message."""
    ids = list(ids)
    shown = ", ".join(repr(i) for i in ids[:n])
    return f"{shown}, ..." if len(ids) > n else shown


def _require_series(values: object, name: str) -> pd.Series:
    if isinstance(values, pd.Series):
        return values
    if isinstance(values, pd.DataFrame):
        raise TypeError(
            f"{name} must be a pandas Series indexed by id, got a DataFrame; "
            f"select one column, e.g. frame['score']"
        )
    raise TypeError(
        f"{name} must be a pandas Series indexed by id, got {type(values).__name__}; "
        f"wrap the values with their ids: pd.Series(values, index=ids)"
    )


def _check_unique(index: pd.Index, name: str) -> None:
    dup = index[index.duplicated()]
    if len(dup):
        raise IdAlignmentError(
            f"{name}: {len(dup)} duplicated id(s), e.g. {_examples(dup.unique())}; "
            f"every id must appear once"
        )


def _labels_frame(
    labels: pd.DataFrame | pd.Series, id_column: str, label_column: str
) -> pd.DataFrame:
    """Return the label table indexed by id, with ``label_column`` present."""
    if isinstance(labels, pd.Series):
        frame = labels.rename(label_column).to_frame()
    elif isinstance(labels, pd.DataFrame):
        if id_column in labels.columns:
            frame = labels.set_index(id_column)
        elif labels.index.name == id_column or not isinstance(labels.index, pd.RangeIndex):
            frame = labels
        else:
            raise IdAlignmentError(
                f"labels: no {id_column!r} column and only a default row-number index, so rows "
                f"cannot be matched to scores by id; pass id_column=... or index labels by id"
            )
        if label_column not in frame.columns:
            raise IdAlignmentError(
                f"labels: no {label_column!r} column (columns: {list(frame.columns)}); "
                f"pass label_column=..."
            )
    else:
        raise TypeError(
            f"labels must be a DataFrame with an {id_column!r} column or a Series indexed by id, "
            f"got {type(labels).__name__}"
        )
    return frame


def _binary_labels(values: pd.Series, name: str) -> np.ndarray:
    """Convert 0/1 or boolean labels to a bool array; anything else is an error."""
    missing = values.isna().to_numpy()
    if missing.any():
        raise IdAlignmentError(
            f"{name}: {int(missing.sum())} label(s) are missing (ids "
            f"{_examples(values.index[missing])}); labels must be 0/1 or True/False"
        )
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=bool)
    try:
        numeric = pd.to_numeric(values).to_numpy(dtype=float)
    except (TypeError, ValueError):
        numeric = None
    bad = np.ones(len(values), dtype=bool) if numeric is None else ~np.isin(numeric, (0.0, 1.0))
    if bad.any():
        shown = ", ".join(f"{i!r}: {v!r}" for i, v in list(values[bad].items())[:_N_EXAMPLES])
        raise IdAlignmentError(
            f"{name}: {int(bad.sum())} label(s) are not binary (0/1 or True/False), e.g. {shown}"
        )
    return numeric.astype(bool)


def _finite_scores(scores: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(scores.dtype):
        scores = scores.astype(float)
    if not pd.api.types.is_numeric_dtype(scores.dtype):
        raise TypeError(f"{name} must be numeric, got dtype {scores.dtype}")
    values = pd.to_numeric(scores).astype(float)
    bad = ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        raise IdAlignmentError(
            f"{name}: {int(bad.sum())} value(s) are NaN or infinite (ids "
            f"{_examples(values.index[bad])}); every event needs a finite score"
        )
    return values


def _sorted_if_possible(frame: pd.DataFrame) -> pd.DataFrame:
    """Sort by id so the row order never depends on the caller's order (mixed ids: keep)."""
    try:
        return frame.sort_index(kind="stable")
    except TypeError:
        return frame


def align_values(
    values: pd.Series,
    labels: pd.DataFrame | pd.Series,
    *,
    value_column: str = "score",
    name: str = "scores",
    id_column: str = ID_COLUMN,
    label_column: str = "is_anomaly",
    allow_subset: bool = False,
) -> pd.DataFrame:
    """Join per-id ``values`` to ``labels``; the engine behind :func:`align`.

    ``values`` must already be a Series; it is joined as column ``value_column`` without any
    conversion; ``name`` is how error messages call it. See :func:`align` for the rules.
    """
    label_frame = _labels_frame(labels, id_column, label_column)
    _check_unique(values.index, name)
    _check_unique(label_frame.index, "labels")

    # Positions of each value's id in the label table (-1: no label). get_indexer is a hash
    # join; Index.isin is much slower on pandas' arrow-backed string ids.
    positions = label_frame.index.get_indexer(values.index)
    in_labels = positions >= 0
    in_values = np.zeros(len(label_frame), dtype=bool)
    in_values[positions[in_labels]] = True
    problems = []
    if not in_labels.all():
        problems.append(
            f"{int((~in_labels).sum())} of {len(values)} id(s) in {name} have no label, "
            f"e.g. {_examples(values.index[~in_labels])}"
        )
    if not in_values.all() and not allow_subset:
        problems.append(
            f"{int((~in_values).sum())} of {len(label_frame)} labelled id(s) are missing from "
            f"{name}, e.g. {_examples(label_frame.index[~in_values])} (pass allow_subset=True "
            f"when the labels deliberately cover more events, e.g. the full table against a "
            f"test period)"
        )
    if problems:
        raise IdAlignmentError(
            f"{name} and labels do not describe the same ids: " + "; ".join(problems)
        )
    label_frame = label_frame.loc[in_values]
    if len(values) == 0:
        raise IdAlignmentError(f"{name} is empty: there is nothing to evaluate")

    order = np.empty(len(in_values), dtype=np.intp)
    order[positions] = np.arange(len(positions))
    out = pd.DataFrame({value_column: values.to_numpy()[order[in_values]]}, index=label_frame.index)
    out[label_column] = _binary_labels(label_frame[label_column], "labels")
    for column in EXTRA_LABEL_COLUMNS:
        if column in label_frame.columns and column not in out.columns:
            out[column] = label_frame[column].to_numpy()
    if isinstance(out.index, pd.MultiIndex):
        return _sorted_if_possible(out)
    out.index.name = id_column
    return _sorted_if_possible(out)


def align(
    scores: pd.Series,
    labels: pd.DataFrame | pd.Series,
    *,
    id_column: str = ID_COLUMN,
    label_column: str = "is_anomaly",
    allow_subset: bool = False,
) -> pd.DataFrame:
    """Match anomaly scores to labels by id.

    Parameters
    ----------
    scores : pandas.Series
        One finite score per event, indexed by event id (higher = more anomalous). A bare
        array or list is refused: positions are not ids.
    labels : pandas.DataFrame or pandas.Series
        Either a frame with an ``id_column`` column (or indexed by id) and a ``label_column``
        column, or a Series of 0/1 (or boolean) labels indexed by id. Columns
        ``anomaly_type``, ``anomaly_kind`` and ``incident_id`` are carried along when present.
    id_column : str, default "event_id"
        Name of the id column in a label frame. Ids may be any hashable values.
    label_column : str, default "is_anomaly"
        Name of the binary label column.
    allow_subset : bool, default False
        Allow labels to cover more ids than ``scores`` (score a test period against the full
        label table); the extra labels are ignored. Scores without a label are always an error.

    Returns
    -------
    pandas.DataFrame
        Indexed by id (sorted when the ids are mutually comparable), with columns ``score``
        (float64), ``is_anomaly`` (bool) and the extra label columns present in ``labels``.

    Raises
    ------
    TypeError
        ``scores`` is not a Series, or not numeric.
    IdAlignmentError
        Duplicated ids on either side, ids present on one side only, NaN/infinite scores,
        missing or non-binary labels.
    """
    scores = _finite_scores(_require_series(scores, "scores"), "scores")
    out = align_values(
        scores,
        labels,
        value_column="score",
        id_column=id_column,
        label_column=label_column,
        allow_subset=allow_subset,
    )
    if label_column != "is_anomaly":
        out = out.rename(columns={label_column: "is_anomaly"})
    return out
