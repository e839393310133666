"""Text features of log windows: template counts, TF-IDF and template rarity.

Once every line has a template id (:class:`~anomaly_tutorial.logs.templates.TemplateMiner`),
a window is described like a document whose words are templates (He et al., 2016):

* :func:`template_count_matrix` counts each training template per window, plus one column for
  templates never seen in training (``tpl_unseen``);
* :class:`TemplateTfidf` reweights those counts by inverse document frequency learnt on the
  training windows (rare templates weigh more);
* :class:`TemplateRarity` scores each line by ``-log`` of its template's smoothed training
  frequency; :func:`window_rarity` summarises that per window (max, mean, number of unseen).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfTransformer

from anomaly_tutorial.logs.templates import UNSEEN_TEMPLATE
from anomaly_tutorial.logs.windows import Windows, aggregate_per_window


def _template_ids(template_ids: Sequence[int] | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(template_ids)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integer template ids, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def template_count_matrix(
    template_ids: Sequence[int] | np.ndarray,
    windows: Windows,
    vocabulary: Sequence[int],
) -> pd.DataFrame:
    """Count template occurrences per window.

    Parameters
    ----------
    template_ids : 1-D int array
        Template id of every windowed event (same order as the frame given to ``make_windows``).
    windows : Windows
    vocabulary : sequence of int
        Template ids that get their own column ``tpl_<id>`` (normally the templates mined on
        the training period). Any other id, including :data:`UNSEEN_TEMPLATE`, is counted in
        ``tpl_unseen``.

    Returns
    -------
    DataFrame
        Indexed by window id, int64 counts, columns ``tpl_<id>`` in vocabulary order then
        ``tpl_unseen``.
    """
    ids = _template_ids(template_ids, "template_ids")
    if ids.size != windows.n_events:
        raise ValueError(
            f"template_ids has {ids.size} values but the windows hold {windows.n_events} events"
        )
    vocab = [int(v) for v in vocabulary]
    if len(set(vocab)) != len(vocab):
        raise ValueError("vocabulary has duplicate template ids")
    if UNSEEN_TEMPLATE in vocab:
        raise ValueError(f"vocabulary must not contain the unseen id {UNSEEN_TEMPLATE}")
    col_of = {v: j for j, v in enumerate(vocab)}
    m = windows.membership
    ev_ids = ids[m["row"].to_numpy()]
    cols = np.fromiter((col_of.get(int(t), len(vocab)) for t in ev_ids), np.int64, ev_ids.size)
    row_pos = windows.ids.get_indexer(m["window_id"].to_numpy())
    counts = np.zeros((len(windows.ids), len(vocab) + 1), dtype=np.int64)
    np.add.at(counts, (row_pos, cols), 1)
    columns = [f"tpl_{v}" for v in vocab] + ["tpl_unseen"]
    return pd.DataFrame(counts, index=windows.ids, columns=columns)


class TemplateTfidf(TransformerMixin, BaseEstimator):
    """TF-IDF of template counts, with the IDF learnt on training windows.

    Parameters
    ----------
    sublinear_tf : bool, default True
        Use ``1 + log(tf)`` instead of raw counts.
    norm : {"l2", "l1", None}, default "l2"
        Row normalisation; empty windows stay all-zero.

    Attributes
    ----------
    columns_ : list of str
        Count columns seen in ``fit``; ``transform`` requires the same columns.
    idf_ : ndarray
        Inverse document frequency per column (smoothed, as in scikit-learn).
    """

    def __init__(self, sublinear_tf: bool = True, norm: str | None = "l2") -> None:
        self.sublinear_tf = sublinear_tf
        self.norm = norm

    def fit(self, counts: pd.DataFrame, y: object = None) -> TemplateTfidf:
        """Learn the IDF from a window x template count frame."""
        counts = self._check(counts, fitting=True)
        self._tfidf = TfidfTransformer(
            norm=self.norm, use_idf=True, smooth_idf=True, sublinear_tf=self.sublinear_tf
        ).fit(counts.to_numpy(dtype=np.float64))
        self.columns_ = list(counts.columns)
        self.idf_ = self._tfidf.idf_
        return self

    def transform(self, counts: pd.DataFrame) -> pd.DataFrame:
        """TF-IDF frame with columns ``tfidf_<template column>``, same index as ``counts``."""
        if not hasattr(self, "columns_"):
            raise RuntimeError("TemplateTfidf is not fitted: call fit(train_counts) first")
        counts = self._check(counts, fitting=False)
        values = self._tfidf.transform(counts.to_numpy(dtype=np.float64)).toarray()
        cols = [f"tfidf_{c.removeprefix('tpl_')}" for c in counts.columns]
        return pd.DataFrame(values, index=counts.index, columns=cols)

    def _check(self, counts: pd.DataFrame, fitting: bool) -> pd.DataFrame:
        if not isinstance(counts, pd.DataFrame):
            raise TypeError(
                "counts must be a DataFrame from template_count_matrix, got "
                f"{type(counts).__name__}"
            )
        if not fitting and list(counts.columns) != self.columns_:
            raise ValueError(
                "counts columns differ from those seen in fit: build every period's counts with "
                "the same vocabulary"
            )
        if (counts.to_numpy() < 0).any():
            raise ValueError("counts must be non-negative")
        return counts


class TemplateRarity(BaseEstimator):
    """Rarity of a line's template: ``-log`` of its smoothed training frequency.

    ``score(t) = -log((count_t + alpha) / (n + alpha * (K + 1)))`` where ``n`` is the number of
    training lines, ``K`` the number of training templates and the extra slot stands for all
    unseen templates (count 0). Higher = rarer; unseen templates get the highest score.

    Parameters
    ----------
    alpha : float, default 1.0
        Additive (Laplace) smoothing; must be positive so unseen templates get a finite score.
    """

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def fit(self, template_ids: Sequence[int] | np.ndarray, y: object = None) -> TemplateRarity:
        """Count template ids of the training lines (unseen ids are not counted)."""
        if not float(self.alpha) > 0:
            raise ValueError(f"alpha must be positive, got {self.alpha!r}")
        ids = _template_ids(template_ids, "template_ids")
        if ids.size == 0:
            raise ValueError("template_ids is empty: need training lines to count")
        ids = ids[ids != UNSEEN_TEMPLATE]
        values, counts = np.unique(ids, return_counts=True)
        self.counts_ = dict(zip(values.tolist(), counts.tolist(), strict=True))
        self.n_lines_ = int(counts.sum())
        denom = self.n_lines_ + self.alpha * (len(values) + 1)
        self.unseen_score_ = float(-np.log(self.alpha / denom))
        self.scores_ = {
            int(v): float(-np.log((c + self.alpha) / denom)) for v, c in self.counts_.items()
        }
        return self

    def score_samples(self, template_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Rarity score of each line's template (float64, higher = rarer)."""
        if not hasattr(self, "scores_"):
            raise RuntimeError("TemplateRarity is not fitted: call fit(train_template_ids) first")
        ids = _template_ids(template_ids, "template_ids")
        uniq, inverse = np.unique(ids, return_inverse=True)
        per = np.array([self.scores_.get(int(u), self.unseen_score_) for u in uniq], np.float64)
        return per[inverse] if ids.size else np.empty(0, dtype=np.float64)


def window_rarity(
    rarity: TemplateRarity, template_ids: Sequence[int] | np.ndarray, windows: Windows
) -> pd.DataFrame:
    """Per-window rarity summary from a fitted :class:`TemplateRarity`.

    Returns a frame indexed by window id with ``rarity_max`` and ``rarity_mean`` (of the lines'
    rarity scores) and ``n_unseen`` (lines whose template the rarity model never counted, which
    includes :data:`UNSEEN_TEMPLATE`). Empty windows get 0 for all three.
    """
    ids = _template_ids(template_ids, "template_ids")
    scores = rarity.score_samples(ids)
    unseen = ~np.isin(ids, np.fromiter(rarity.scores_, np.int64, len(rarity.scores_)))
    return pd.DataFrame(
        {
            "rarity_max": aggregate_per_window(scores, windows, "max"),
            "rarity_mean": aggregate_per_window(scores, windows, "mean"),
            "n_unseen": aggregate_per_window(
                unseen.astype(np.int64), windows, "sum", fill=0
            ).astype(np.int64),
        }
    )
