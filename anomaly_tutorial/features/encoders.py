"""Encoders fitted on training data: a categorical vocabulary and a robust scaler.

Codes of :class:`CategoricalVocabulary`:

* ``0`` (:data:`UNKNOWN`): a value never seen in training;
* ``1`` (:data:`RARE`): a value seen in training fewer than ``min_frequency`` times, or not
  among the ``max_categories`` most frequent training values;
* ``2`` (:data:`MISSING`): the field is absent for this event (for example ``http_response.code``
  of an Authentication event). Missing is expected and therefore distinct from unknown;
* ``3, 4, ...``: the frequent training values, most frequent first (ties by value).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "MISSING",
    "N_SPECIAL_CODES",
    "RARE",
    "UNKNOWN",
    "CategoricalVocabulary",
    "ColumnKeys",
    "RobustScaler1D",
    "column_keys",
    "numeric_column",
]

UNKNOWN = 0
RARE = 1
MISSING = 2
N_SPECIAL_CODES = 3
SPECIAL_LABELS: tuple[str, ...] = ("<unknown>", "<rare>", "<missing>")


@dataclass(frozen=True)
class ColumnKeys:
    """A column as string keys: ``codes`` index into ``uniques``; ``-1`` marks a missing value."""

    codes: np.ndarray
    uniques: list[str]

    def keys(self) -> np.ndarray:
        """Object array of the string key per row, ``None`` where missing."""
        table = np.array([*self.uniques, None], dtype=object)
        return table[self.codes]


def _rows_text(rows: np.ndarray) -> str:
    more = f" and {rows.size - 5} more" if rows.size > 5 else ""
    return ", ".join(str(r) for r in rows[:5]) + more


def numeric_column(series: pd.Series, column: str, *, allow_bool: bool = True) -> np.ndarray:
    """Convert a column to ``float64``, with NaN for missing values.

    Parameters
    ----------
    series
        The column: numbers, numeric strings (``"443"``) or missing values.
    column
        Its name, for error messages.
    allow_bool
        Whether booleans count as the numbers 0 and 1. ``False`` for fields that hold counts,
        codes or ports, where ``True`` is a data error rather than a number.

    Raises
    ------
    ValueError
        Naming the column, an offending value and its rows (positions) if some non-missing
        value is not a number, is infinite, or is a boolean when ``allow_bool`` is false.
    """
    if pd.api.types.is_bool_dtype(series.dtype):
        if not allow_bool:
            raise ValueError(
                f"column {column!r}: expected numbers, got a boolean column ({series.dtype})"
            )
        return series.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        obj = series.astype(object)
        if not allow_bool:
            is_bool = obj.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
            if is_bool.any():
                rows = np.flatnonzero(is_bool)
                raise ValueError(
                    f"column {column!r}: {rows.size} boolean values where numbers are expected, "
                    f"e.g. {obj.iloc[rows[0]]!r} (rows {_rows_text(rows)})"
                )
        converted = pd.to_numeric(obj, errors="coerce")
        bad = converted.isna().to_numpy() & ~pd.isna(obj).to_numpy()
        if bad.any():
            rows = np.flatnonzero(bad)
            shown = repr(obj.iloc[rows[0]])
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            raise ValueError(
                f"column {column!r}: {bad.sum()} non-numeric values, e.g. {shown} "
                f"(rows {_rows_text(rows)})"
            )
        values = converted.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.flatnonzero(np.isinf(values))
    if infinite.size:
        raise ValueError(
            f"column {column!r}: {infinite.size} values are not finite numbers, e.g. "
            f"{float(values[infinite[0]])!r} (rows {_rows_text(infinite)})"
        )
    return values


def _bool_key(value: object, column: str) -> str:
    if isinstance(value, (bool, np.bool_)) or value in (0, 1):
        return str(bool(value))
    text = str(value).strip().lower()
    if text in ("true", "false"):
        return text.capitalize()
    raise ValueError(f"column {column!r}: {value!r} is not a boolean")


def column_keys(series: pd.Series, column: str, kind: str) -> ColumnKeys:
    """Turn a column into canonical string keys so that frames and dicts give the same keys.

    Parameters
    ----------
    series
        The column.
    column
        Its name, for error messages.
    kind
        ``"int"`` (``443``, ``443.0`` and ``"443"`` all become ``"443"``), ``"bool"``
        (``"True"`` / ``"False"``) or ``"str"``.

    Returns
    -------
    ColumnKeys
    """
    if kind == "int":
        values = numeric_column(series, column, allow_bool=False)
        finite = values[~np.isnan(values)]
        frac = finite != np.round(finite)
        if frac.any():
            raise ValueError(f"column {column!r}: expected integers, got {finite[frac][0]!r}")
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        return ColumnKeys(np.asarray(codes, dtype=np.int64), [str(int(u)) for u in uniques])
    codes, uniques = pd.factorize(series.astype(object), use_na_sentinel=True)
    if kind == "bool":
        keys = [_bool_key(u, column) for u in uniques]
    elif kind == "str":
        keys = [str(u) for u in uniques]
    else:
        raise ValueError(f"kind must be 'int', 'bool' or 'str', got {kind!r}")
    # distinct raw values may share a key (True and 1): re-factorize the keys
    table = np.array(keys, dtype=object)
    key_codes, key_uniques = pd.factorize(table)
    codes = np.asarray(codes, dtype=np.int64)
    out = np.where(codes >= 0, key_codes[np.maximum(codes, 0)] if len(table) else -1, -1)
    return ColumnKeys(out.astype(np.int64), [str(k) for k in key_uniques])


@dataclass
class CategoricalVocabulary:
    """Vocabulary of one categorical field with unknown, rare and missing codes.

    Parameters
    ----------
    values
        Frequent training values, in code order (code ``3 + i`` for ``values[i]``).
    rare_values
        Training values that map to the rare code.
    """

    values: list[str] = field(default_factory=list)
    rare_values: list[str] = field(default_factory=list)

    @classmethod
    def fit(
        cls, keys: ColumnKeys, min_frequency: int, max_categories: int | None
    ) -> CategoricalVocabulary:
        """Learn the vocabulary from training keys."""
        counts = np.bincount(keys.codes[keys.codes >= 0], minlength=len(keys.uniques))
        order = sorted(range(len(keys.uniques)), key=lambda i: (-counts[i], keys.uniques[i]))
        frequent = [keys.uniques[i] for i in order if counts[i] >= min_frequency]
        if max_categories is not None:
            frequent = frequent[: int(max_categories)]
        kept = set(frequent)
        rare = sorted(u for u in keys.uniques if u not in kept)
        return cls(values=frequent, rare_values=rare)

    @property
    def cardinality(self) -> int:
        """Number of codes, including the unknown, rare and missing codes."""
        return N_SPECIAL_CODES + len(self.values)

    def labels(self) -> list[str]:
        """Readable label of each code."""
        return [*SPECIAL_LABELS, *self.values]

    def encode(self, keys: ColumnKeys) -> np.ndarray:
        """Return the ``int64`` code of each row."""
        frequent = pd.Index(self.values, dtype=object)
        rare = pd.Index(self.rare_values, dtype=object)
        uniques = pd.Index(keys.uniques, dtype=object)
        pos = frequent.get_indexer(uniques) if len(uniques) else np.zeros(0, dtype=np.int64)
        is_rare = rare.get_indexer(uniques) >= 0 if len(uniques) else np.zeros(0, dtype=bool)
        ucodes = np.where(pos >= 0, pos + N_SPECIAL_CODES, np.where(is_rare, RARE, UNKNOWN))
        table = np.append(ucodes, MISSING).astype(np.int64)
        return table[keys.codes]


@dataclass
class RobustScaler1D:
    """Per-column robust scaling ``(x - median) / IQR`` with missing values set to 0.

    A column whose training IQR is 0 (for example a count that is almost always 0) is scaled
    by 1 instead, i.e. only centred. Missing values become the training median, that is 0
    after scaling.
    """

    medians: list[float] = field(default_factory=list)
    scales: list[float] = field(default_factory=list)

    @classmethod
    def fit(cls, values: np.ndarray, names: Sequence[str] = ()) -> RobustScaler1D:
        """Learn medians and IQRs column by column, ignoring NaN."""
        values = np.asarray(values, dtype=np.float64)
        medians, scales = [], []
        for j in range(values.shape[1]):
            col = values[:, j]
            col = col[~np.isnan(col)]
            if col.size == 0:
                medians.append(0.0)
                scales.append(1.0)
                continue
            q1, med, q3 = np.quantile(col, [0.25, 0.5, 0.75])
            iqr = float(q3 - q1)
            medians.append(float(med))
            scales.append(iqr if iqr > 0 else 1.0)
        return cls(medians=medians, scales=scales)

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Scale columns; NaN becomes 0 (the training median)."""
        values = np.asarray(values, dtype=np.float64)
        out = (values - np.asarray(self.medians)) / np.asarray(self.scales)
        return np.where(np.isnan(out), 0.0, out)
