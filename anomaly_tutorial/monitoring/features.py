"""Per-column feature drift: is this window's data distributed like the reference period's?

:func:`psi` is the population stability index of one numeric or categorical column;
:class:`FeatureDriftMonitor` learns the reference distribution of several columns of a frame
(usually the training period) and :meth:`~FeatureDriftMonitor.report` compares a current window
with it, one row per column:

* every column: ``psi``, ``missing_rate`` and ``reference_missing_rate`` (a missing value is
  information, not noise: a field that stops arriving is the first sign of a broken pipeline),
  and ``missing_change``, the largest change of the missing rate within one event class;
* numeric columns: the two-sample Kolmogorov-Smirnov statistic and p-value
  (:func:`scipy.stats.ks_2samp`) and the Wasserstein-1 distance
  (:func:`scipy.stats.wasserstein_distance`) divided by the reference IQR, so that columns in
  milliseconds and in bytes share a scale, all on the non-missing values;
* categorical columns: the chi-square test of the reference and current category counts
  (:func:`scipy.stats.chi2_contingency`, categories = reference values + one "unseen" bin) and
  the ``unseen_rate``, the share of current non-missing values never seen in the reference.

:func:`drift_by_window` applies a monitor to consecutive windows (days, by default) and
:func:`event_view` builds the frame of raw event fields that the book monitors.

Public objects: :func:`psi`, :data:`PSI_EPSILON`, :class:`FeatureDriftMonitor`,
:func:`drift_by_window`, :func:`event_view`, :data:`EVENT_COLUMNS`, :data:`REPORT_COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "EVENT_COLUMNS",
    "PSI_EPSILON",
    "REPORT_COLUMNS",
    "FeatureDriftMonitor",
    "drift_by_window",
    "event_view",
    "psi",
]

#: Proportions are floored at this value before the logarithm of :func:`psi`, so that a bin
#: empty on one side gives a large but finite term (``(q - p) * ln(q / p)`` with ``p = 1e-4``).
PSI_EPSILON = 1e-4
DAY_MS = 86_400_000
MISSING = "<missing>"
UNSEEN = "<unseen>"

#: Columns of :meth:`FeatureDriftMonitor.report`.
REPORT_COLUMNS = (
    "column",
    "kind",
    "n_current",
    "psi",
    "missing_rate",
    "reference_missing_rate",
    "ks_statistic",
    "ks_p_value",
    "wasserstein_iqr",
    "chi2_statistic",
    "chi2_p_value",
    "unseen_rate",
    "missing_change",
)

#: Raw event fields the book monitors: numeric, then categorical (``url_template`` is the URL
#: path with identifiers replaced, see :func:`event_view`).
EVENT_COLUMNS = {
    "duration": "numeric",
    "traffic.bytes_in": "numeric",
    "traffic.bytes_out": "numeric",
    "class_name": "categorical",
    "status_id": "categorical",
    "dst_endpoint.svc_name": "categorical",
    "url_template": "categorical",
    "http_response.code": "categorical",
    "http_request.user_agent": "categorical",
    "src_endpoint.location.country": "categorical",
}


def event_view(events: pd.DataFrame) -> pd.DataFrame:
    """The monitored fields of flat OCSF events (:data:`EVENT_COLUMNS`) plus ``time``.

    ``url_template`` is ``http_request.url.path`` with identifiers replaced by ``{id}``
    (:func:`~anomaly_tutorial.features.url_path_template`). A field absent from ``events`` is
    missing for every event.
    """
    from anomaly_tutorial.features.pipeline import url_path_template

    if "time" not in events.columns:
        raise ValueError("events: column 'time' is missing")
    out = pd.DataFrame({"time": events["time"].to_numpy()}, index=events.index)
    for column, kind in EVENT_COLUMNS.items():
        source = "http_request.url.path" if column == "url_template" else column
        if source not in events.columns:
            out[column] = np.nan if kind == "numeric" else None
            continue
        values = events[source]
        if column == "url_template":
            codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
            table = np.array([*(url_path_template(u) for u in uniques), None], dtype=object)
            out[column] = table[codes]
        elif kind == "numeric":
            out[column] = values.astype("float64").to_numpy()
        else:
            out[column] = values.astype(object).where(values.notna(), None).to_numpy()
    return out


def _numeric(values: Any, name: str) -> np.ndarray:
    x = np.asarray(values, dtype="float64").ravel()
    if x.size == 0:
        raise ValueError(f"{name}: empty; a drift statistic needs at least one value")
    bad = ~np.isfinite(x)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name}: {int(bad.sum())} values are NaN or infinite (first at position {i}: "
            f"{x[i]!r}); drop or impute them first, or use FeatureDriftMonitor, which counts "
            "missing values as their own bin"
        )
    return x


def _quantile_edges(reference: np.ndarray, n_bins: int) -> np.ndarray:
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, n_bins + 1)[1:-1]))
    return edges


def _psi_from_counts(reference: np.ndarray, current: np.ndarray, epsilon: float) -> float:
    p = np.maximum(reference / reference.sum(), epsilon)
    q = np.maximum(current / current.sum(), epsilon)
    return float(np.sum((q - p) * np.log(q / p)))


def psi(
    reference: Any,
    current: Any,
    *,
    kind: str = "numeric",
    n_bins: int = 10,
    epsilon: float = PSI_EPSILON,
) -> float:
    """Population stability index of ``current`` against ``reference``.

    ``PSI = sum_b (q_b - p_b) ln(q_b / p_b)`` over bins ``b``, with ``p`` the reference and
    ``q`` the current proportions, each floored at ``epsilon``. Numeric bins are the deciles
    (``n_bins`` quantile bins) of the reference, so every reference bin holds about the same
    share and the index does not depend on the column's units; categorical bins are the
    reference values plus one bin for values the reference never had.

    The usual reading (credit scoring, where the index comes from; Yurdakul 2018): below 0.1
    no significant change, 0.1-0.25 moderate, above 0.25 a significant shift. Those cut-offs
    ignore the sample size: a small window has a larger PSI under no change at all, which is
    why the book calibrates its thresholds on pre-production windows of the same size.

    Raises
    ------
    ValueError
        If either side is empty, a numeric value is NaN or infinite, ``kind`` is unknown or
        ``n_bins`` is below 2.
    """
    if kind not in ("numeric", "categorical"):
        raise ValueError(f"kind: must be 'numeric' or 'categorical', got {kind!r}")
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 2:
        raise ValueError(f"n_bins: must be an integer >= 2, got {n_bins!r}")
    if kind == "numeric":
        ref, cur = _numeric(reference, "reference"), _numeric(current, "current")
        edges = _quantile_edges(ref, n_bins)
        r = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=edges.size + 1)
        c = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=edges.size + 1)
        return _psi_from_counts(r.astype(float), c.astype(float), epsilon)
    ref = pd.Series(np.asarray(reference, dtype=object).ravel())
    cur = pd.Series(np.asarray(current, dtype=object).ravel())
    for name, s in (("reference", ref), ("current", cur)):
        if s.empty:
            raise ValueError(f"{name}: empty; a drift statistic needs at least one value")
    ref_counts = ref.value_counts(dropna=False)
    cur_counts = cur.value_counts(dropna=False).reindex(ref_counts.index, fill_value=0)
    unseen = len(cur) - cur_counts.sum()
    return _psi_from_counts(
        np.r_[ref_counts.to_numpy(float), 0.0], np.r_[cur_counts.to_numpy(float), unseen], epsilon
    )


class FeatureDriftMonitor(BaseEstimator):
    """Reference distributions of several columns, and the drift of a window against them.

    Parameters
    ----------
    columns : dict[str, str] or None
        ``{column: "numeric" | "categorical"}``; ``None`` means :data:`EVENT_COLUMNS`.
    n_bins : int, default 10
        Quantile bins of numeric columns for the PSI.
    max_reference : int, default 5000
        At most this many reference rows are kept for the KS test and the Wasserstein distance
        (an evenly spaced subsample, deterministic); the PSI bins use every row.
    segment : str or None, default "class_name"
        Column whose values split the rows into segments for ``missing_change``: the largest
        change of a column's missing rate within one segment (with at least ``min_segment``
        rows in both periods). Fields that apply to one event class only (``duration`` of an
        HTTP request) are missing for the others, so the overall missing rate moves with the
        class mix; within a class it moves only when the field breaks. ``None``: overall.
    min_segment : int, default 30

    Attributes
    ----------
    columns_ : dict[str, str]
    edges_ : dict[str, numpy.ndarray]
        Inner quantile edges of each numeric column.
    reference_counts_ : dict[str, numpy.ndarray]
        Reference counts per bin (numeric: quantile bins then missing; categorical: each
        reference value, then unseen, then missing).
    categories_ : dict[str, pandas.Index]
        Reference values of each categorical column.
    reference_values_ : dict[str, numpy.ndarray]
        Non-missing reference values of each numeric column (subsampled).
    reference_iqr_ : dict[str, float]
        Interquartile range of each numeric column (1 when it is 0).
    reference_missing_rate_ : dict[str, float]
    segment_missing_rate_ : dict[str, pandas.Series]
        Per column, the reference missing rate of each segment with enough rows.
    segments_ : pandas.Index
        The segment values of the reference (when ``segment`` is set).
    n_reference_ : int

    Notes
    -----
    Missing values get their own PSI bin and their own rates, so a field that stops arriving
    shows as drift instead of being dropped; the KS and Wasserstein statistics use the
    non-missing values only (NaN when a side has none). With thousands of events per window the
    tests reject for differences too small to matter (a weekday against a reference that holds
    weekends): read the p-values as "is there any difference", the PSI and the Wasserstein
    distance as "how large is it". Evidently's data-drift preset and NannyML's univariate
    drift report compute the same families of statistics, with their own default thresholds.
    """

    def __init__(
        self,
        columns: dict[str, str] | None = None,
        n_bins: int = 10,
        max_reference: int = 5_000,
        segment: str | None = "class_name",
        min_segment: int = 30,
    ) -> None:
        self.columns = columns
        self.n_bins = n_bins
        self.max_reference = max_reference
        self.segment = segment
        self.min_segment = min_segment

    def _check_frame(self, frame: Any, name: str, columns: Sequence[str]) -> pd.DataFrame:
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"{name}: expected a pandas DataFrame, got {type(frame).__name__}")
        if len(frame) == 0:
            raise ValueError(f"{name}: the window is empty (0 rows); there is nothing to compare")
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(
                f"{name}: columns {missing} are missing (monitored: {list(columns)}); "
                "an absent field must be passed as a column of missing values"
            )
        return frame

    def fit(self, reference: pd.DataFrame, y: Any = None) -> FeatureDriftMonitor:
        """Learn the reference distribution of each column.

        Raises
        ------
        ValueError
            If the frame is empty, lacks a monitored column, a column kind is unknown, a
            numeric column holds infinite values or has no value at all, or a parameter is
            invalid.
        """
        columns = dict(self.columns) if self.columns is not None else dict(EVENT_COLUMNS)
        if not columns:
            raise ValueError("columns: empty; name at least one column to monitor")
        for column, kind in columns.items():
            if kind not in ("numeric", "categorical"):
                raise ValueError(
                    f"columns[{column!r}]: kind must be 'numeric' or 'categorical', got {kind!r}"
                )
        if isinstance(self.n_bins, bool) or not isinstance(self.n_bins, int) or self.n_bins < 2:
            raise ValueError(f"n_bins: must be an integer >= 2, got {self.n_bins!r}")
        if not isinstance(self.max_reference, int) or self.max_reference < 100:
            raise ValueError(f"max_reference: must be an integer >= 100, got {self.max_reference}")
        needed = list(columns) + ([self.segment] if self.segment is not None else [])
        frame = self._check_frame(reference, "reference", needed)
        self.columns_ = columns
        self.segment_missing_rate_ = {}
        if self.segment is not None:
            codes, names = pd.factorize(frame[self.segment].astype(object), use_na_sentinel=False)
            sizes = np.bincount(codes, minlength=len(names))
            large = sizes >= self.min_segment
            self.segments_ = pd.Index(names)
            for column in columns:
                missing = np.bincount(
                    codes, weights=frame[column].isna().to_numpy(), minlength=len(names)
                )
                rates = pd.Series(missing / np.maximum(sizes, 1), index=self.segments_)
                self.segment_missing_rate_[column] = rates[large]
        self.n_reference_ = len(frame)
        self.edges_, self.reference_counts_, self.categories_ = {}, {}, {}
        self.reference_values_, self.reference_iqr_, self.reference_missing_rate_ = {}, {}, {}
        for column, kind in columns.items():
            values = frame[column]
            missing = values.isna().to_numpy()
            self.reference_missing_rate_[column] = float(missing.mean())
            if kind == "numeric":
                x = self._finite(values[~missing], "reference", column)
                if x.size == 0:
                    raise ValueError(
                        f"reference: numeric column {column!r} has no value; a reference "
                        "needs values to compare against"
                    )
                edges = _quantile_edges(x, self.n_bins)
                self.edges_[column] = edges
                counts = np.bincount(
                    np.searchsorted(edges, x, side="right"), minlength=edges.size + 1
                )
                self.reference_counts_[column] = np.r_[counts, missing.sum()].astype(float)
                step = max(1, int(np.ceil(x.size / self.max_reference)))
                self.reference_values_[column] = np.sort(x)[::step]
                q1, q3 = np.quantile(x, [0.25, 0.75])
                self.reference_iqr_[column] = float(q3 - q1) if q3 > q1 else 1.0
            else:
                counts = values[~missing].astype(object).value_counts()
                self.categories_[column] = counts.index
                self.reference_counts_[column] = np.r_[counts.to_numpy(float), 0.0, missing.sum()]
        return self

    @staticmethod
    def _finite(values: pd.Series, name: str, column: str) -> np.ndarray:
        x = np.asarray(values, dtype="float64")
        bad = ~np.isfinite(x)
        if bad.any():
            row = values.index[int(np.flatnonzero(bad)[0])]
            raise ValueError(
                f"{name}: column {column!r} holds {int(bad.sum())} infinite values "
                f"(first at row {row!r}); missing values are fine, infinite ones are not"
            )
        return x

    def report(self, current: pd.DataFrame) -> pd.DataFrame:
        """Drift of ``current`` against the reference, one row per column (:data:`REPORT_COLUMNS`).

        Raises
        ------
        ValueError
            If ``current`` is empty, lacks a monitored column, or a numeric column holds
            infinite values.
        """
        check_is_fitted(self, "columns_")
        needed = list(self.columns_) + ([self.segment] if self.segment is not None else [])
        frame = self._check_frame(current, "current", needed)
        if self.segment is not None:
            codes, names = pd.factorize(frame[self.segment].astype(object), use_na_sentinel=False)
            sizes = np.bincount(codes, minlength=len(names))
            segment_index = pd.Index(names)
        rows = []
        for column, kind in self.columns_.items():
            values = frame[column]
            missing = values.isna().to_numpy()
            row: dict[str, Any] = dict.fromkeys(REPORT_COLUMNS, np.nan)
            row.update(
                column=column,
                kind=kind,
                n_current=len(values),
                missing_rate=float(missing.mean()),
                reference_missing_rate=self.reference_missing_rate_[column],
            )
            ref_counts = self.reference_counts_[column]
            if kind == "numeric":
                x = self._finite(values[~missing], "current", column)
                edges = self.edges_[column]
                counts = np.bincount(
                    np.searchsorted(edges, x, side="right"), minlength=edges.size + 1
                )
                counts = np.r_[counts, missing.sum()].astype(float)
                if x.size:
                    ks = stats.ks_2samp(self.reference_values_[column], x)
                    row.update(
                        ks_statistic=float(ks.statistic),
                        ks_p_value=float(ks.pvalue),
                        wasserstein_iqr=float(
                            stats.wasserstein_distance(self.reference_values_[column], x)
                            / self.reference_iqr_[column]
                        ),
                    )
            else:
                observed = values[~missing].astype(object)
                known = observed.isin(self.categories_[column])
                per_value = (
                    observed[known].value_counts().reindex(self.categories_[column], fill_value=0)
                )
                unseen = int((~known).sum())
                counts = np.r_[per_value.to_numpy(float), unseen, missing.sum()]
                row["unseen_rate"] = unseen / len(observed) if len(observed) else 0.0
                table = np.vstack([ref_counts[:-1], counts[:-1]])
                table = table[:, table.sum(axis=0) > 0]
                if table.shape[1] >= 2 and table[1].sum() > 0:
                    chi2 = stats.chi2_contingency(table, correction=False)
                    row.update(
                        chi2_statistic=float(chi2.statistic), chi2_p_value=float(chi2.pvalue)
                    )
            row["psi"] = _psi_from_counts(ref_counts, counts, PSI_EPSILON)
            if self.segment is None:
                row["missing_change"] = abs(row["missing_rate"] - row["reference_missing_rate"])
            else:
                reference_rates = self.segment_missing_rate_[column]
                counts_missing = np.bincount(codes, weights=missing, minlength=len(names))
                rates = pd.Series(counts_missing / np.maximum(sizes, 1), index=segment_index)
                rates = rates[sizes >= self.min_segment]
                shared = reference_rates.index.intersection(rates.index)
                change = (rates[shared] - reference_rates[shared]).abs()
                row["missing_change"] = float(change.max()) if len(change) else 0.0
            rows.append(row)
        return pd.DataFrame(rows, columns=list(REPORT_COLUMNS))


def drift_by_window(
    monitor: FeatureDriftMonitor,
    frame: pd.DataFrame,
    *,
    start_ms: int,
    end_ms: int,
    window_ms: int = DAY_MS,
    step_ms: int | None = None,
    time_column: str = "time",
) -> pd.DataFrame:
    """:meth:`FeatureDriftMonitor.report` for each window ``[s, s + window_ms)``, with ``s``
    from ``start_ms`` in steps of ``step_ms`` (default ``window_ms``: consecutive windows; a
    week every day with ``window_ms=7 * DAY_MS, step_ms=DAY_MS``) while ``s + window_ms <=
    end_ms``.

    Returns the reports stacked, with a ``window_start`` column (epoch ms) in front. A window
    without rows is an error (an empty day is itself an alarm, to be raised by whoever feeds
    the monitor, not a report of "no drift").
    """
    if time_column not in frame.columns:
        raise ValueError(f"frame: column {time_column!r} is missing")
    step_ms = window_ms if step_ms is None else step_ms
    if not (window_ms > 0 and step_ms > 0 and start_ms + window_ms <= end_ms):
        raise ValueError(
            "windows: need window_ms > 0, step_ms > 0 and start_ms + window_ms <= end_ms, got "
            f"start_ms={start_ms}, end_ms={end_ms}, window_ms={window_ms}, step_ms={step_ms}"
        )
    t = frame[time_column].to_numpy()
    reports = []
    for begin in range(int(start_ms), int(end_ms) - int(window_ms) + 1, int(step_ms)):
        part = frame[(t >= begin) & (t < begin + window_ms)]
        if len(part) == 0:
            raise ValueError(f"the window starting at {begin} ms has no rows")
        report = monitor.report(part)
        report.insert(0, "window_start", begin)
        reports.append(report)
    return pd.concat(reports, ignore_index=True)
