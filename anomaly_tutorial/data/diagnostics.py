"""How hard is each anomaly type? Best single-field separability of its events."""

from __future__ import annotations

import numpy as np
import pandas as pd

from anomaly_tutorial import ocsf

#: Identifier-like fields that carry no signal on their own, and the free-text log line
#: (nearly every message is unique; mine its templates first, see the log chapter).
SKIP_FIELDS = ("event_id", "time", "trace.uid", "message")


def _auc(pos: np.ndarray, neg_sorted: np.ndarray) -> float:
    """ROC-AUC of scores ``pos`` against sorted negative scores (ties count one half)."""
    less = np.searchsorted(neg_sorted, pos, side="left")
    less_eq = np.searchsorted(neg_sorted, pos, side="right")
    return float(np.mean(less + 0.5 * (less_eq - less)) / len(neg_sorted))


def _field_scores(values: pd.Series, reference: pd.Series | None) -> tuple[np.ndarray, bool]:
    """Score of every row and whether both directions should be tried (numeric)."""
    dtype = str(values.dtype)
    if reference is None:
        reference = values
    if dtype in ("int64", "float64", "Int64"):
        ref = pd.to_numeric(reference, errors="coerce").astype("float64")
        fill = float(ref.median()) if ref.notna().any() else 0.0
        return pd.to_numeric(values).astype("float64").fillna(fill).to_numpy(), True
    if reference is values:
        codes, _ = pd.factorize(values, use_na_sentinel=False)
        f = np.bincount(codes)[codes] / len(codes)
    else:
        keys = values.astype("string").fillna("<NA>")
        freq = reference.astype("string").fillna("<NA>").value_counts(normalize=True)
        f = keys.map(freq).astype("float64").fillna(0.0).to_numpy()
    return -np.log(np.maximum(f, 1e-12)), False


def single_field_separability(
    events: pd.DataFrame, reference: pd.DataFrame | None = None, same_class: bool = True
) -> pd.DataFrame:
    """Best ROC-AUC that any single raw field reaches at separating each type from normal events.

    Numeric fields are scored by their value in both directions; categorical fields by the
    rarity ``-log(frequency)`` of the value in ``reference`` (the training data; default: the
    events themselves). Identifier-like fields (``event_id``, ``time``, ``trace.uid``) are
    skipped, and so is the free-text ``message``.

    Parameters
    ----------
    events
        Flat events with the label columns.
    reference
        Frame whose value frequencies define rarity and whose medians fill missing numbers.
    same_class
        Compare each type with the normal events of the event classes its events belong to
        (default), so that merely being, say, an Authentication event is no evidence. With
        ``False`` every normal event is a negative.

    Returns
    -------
    DataFrame
        One row per anomaly type with ``n_events``, ``best_field``, ``best_auc`` and
        ``direction`` (``"high"``, ``"low"`` or ``"rare"``), sorted by ``best_auc``.
    """
    missing = [c for c in ("is_anomaly", "anomaly_type") if c not in events.columns]
    if missing:
        raise ValueError(f"events: label column(s) {missing} are missing")
    is_anom = events["is_anomaly"].to_numpy(dtype=bool)
    a_type = events["anomaly_type"].astype("string").to_numpy(dtype=object)
    if is_anom.all() or not is_anom.any():
        raise ValueError("events: need both normal and anomalous events")
    types = sorted(set(a_type[is_anom]))
    cls = (
        events["class_uid"].to_numpy()
        if "class_uid" in events.columns
        else np.zeros(len(events), dtype=np.int64)
    )
    type_mask = {t: a_type == t for t in types}
    classes = {t: tuple(sorted(set(cls[type_mask[t]].tolist()))) for t in types}
    neg_mask = {
        key: ~is_anom & (np.isin(cls, key) if key else True)
        for key in {classes[t] if same_class else () for t in types}
    }
    fields = [c for c in events.columns if c not in SKIP_FIELDS and c not in ocsf.LABEL_COLUMNS]
    best: dict[str, tuple[float, str, str]] = {t: (0.0, "", "") for t in types}
    for col in fields:
        if reference is not None and col not in reference.columns:
            continue
        scores, numeric = _field_scores(events[col], None if reference is None else reference[col])
        negs = {}
        for t in types:
            pos = scores[type_mask[t]]
            key = classes[t] if same_class else ()
            if key not in negs:
                negs[key] = np.sort(scores[neg_mask[key]])
            auc = _auc(pos, negs[key])
            cands = [(auc, "high" if numeric else "rare")]
            if numeric:
                cands.append((1.0 - auc, "low"))
            for value, direction in cands:
                if value > best[t][0]:
                    best[t] = (value, col, direction)
    rows = [
        (t, int((a_type == t).sum()), best[t][1], round(best[t][0], 4), best[t][2]) for t in types
    ]
    out = pd.DataFrame(
        rows, columns=["anomaly_type", "n_events", "best_field", "best_auc", "direction"]
    )
    return out.sort_values("best_auc", ignore_index=True)
