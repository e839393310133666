"""Validation for session detectors when the training data hold normal sessions only.

A log benchmark such as OpenStack gives a few normal training sessions and labelled test
files; choosing a detector (or a threshold) on the test files would report a tuned number. This
module carves validation data out of the training sessions instead:

* :func:`corrupt_session` / :data:`CORRUPTIONS` make an anomalous copy of a normal session in
  one of the ways real sessions go wrong: it stops early (``truncate``), loses an event
  (``drop``), repeats one (``repeat``), has two events swapped (``swap``) or gains an event
  never seen (``unseen``);
* :func:`cross_validate_detectors` splits the training sessions into folds, fits each detector
  on all folds but one, and measures on the held-out fold its false-positive rate (held-out
  normal sessions) and its true-positive rate on corrupted copies of them, per corruption;
* :func:`detection_rates` measures fitted detectors on labelled sessions (TPR, FPR, F1 and
  the share flagged per anomaly kind).

The corruptions are a stand-in for anomalies nobody labelled, not a measurement of real ones:
they tell which detector *can* see which kind of fault and what it costs in false positives on
sessions it has not seen, which is the evidence available before the test period.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone

from anomaly_tutorial.sequences.windows import unique_sequences

__all__ = ["CORRUPTIONS", "corrupt_session", "cross_validate_detectors", "detection_rates"]

#: The ways :func:`corrupt_session` changes a session.
CORRUPTIONS: tuple[str, ...] = ("truncate", "drop", "repeat", "swap", "unseen")


def corrupt_session(
    session: Sequence[int], kind: str, rng: np.random.Generator, unseen_id: int
) -> list[int]:
    """Return an anomalous copy of ``session`` (see :data:`CORRUPTIONS`).

    Parameters
    ----------
    session
        A normal session of at least two events.
    kind
        One of :data:`CORRUPTIONS`: ``truncate`` keeps a random prefix of 1 to ``len - 1``
        events; ``drop`` removes one event after the first; ``repeat`` doubles one event;
        ``swap`` exchanges two neighbouring events that differ (``drop`` when all are equal);
        ``unseen`` inserts ``unseen_id`` at a random position.
    rng
        Random generator.
    unseen_id
        An id that no training session holds.
    """
    s = [int(v) for v in session]
    if len(s) < 2:
        raise ValueError(f"session: need at least two events to corrupt, got {s}")
    if kind == "truncate":
        return s[: int(rng.integers(1, len(s)))]
    if kind == "drop":
        i = int(rng.integers(1, len(s)))
        return s[:i] + s[i + 1 :]
    if kind == "repeat":
        i = int(rng.integers(0, len(s)))
        return s[: i + 1] + s[i:]
    if kind == "swap":
        candidates = [i for i in range(len(s) - 1) if s[i] != s[i + 1]]
        if not candidates:
            return corrupt_session(s, "drop", rng, unseen_id)
        i = candidates[int(rng.integers(0, len(candidates)))]
        s[i], s[i + 1] = s[i + 1], s[i]
        return s
    if kind == "unseen":
        i = int(rng.integers(0, len(s) + 1))
        return [*s[:i], unseen_id, *s[i:]]
    raise ValueError(f"kind must be one of {CORRUPTIONS}, got {kind!r}")


def cross_validate_detectors(
    detectors: Mapping[str, object],
    sessions: Sequence[Sequence[int]],
    *,
    n_folds: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """Fold-wise validation of session detectors on normal sessions and corrupted copies.

    Parameters
    ----------
    detectors
        Name -> unfitted detector with ``fit`` / ``predict`` on sessions (cloned per fold).
    sessions
        Normal training sessions (at least ``n_folds``).
    n_folds
        Folds; each session is held out once.
    seed
        Seed of the fold assignment and of the corruptions.

    Returns
    -------
    pandas.DataFrame
        One row per detector: ``FPR`` (held-out normal sessions flagged), ``TPR`` (corrupted
        copies flagged, all kinds), one column per corruption kind, and ``F1`` on the pooled
        held-out normal and corrupted sessions (one corrupted copy of each kind per normal
        one, so the corrupted share is ``len(CORRUPTIONS) / (1 + len(CORRUPTIONS))``).
    """
    uniques, inverse = unique_sequences(sessions, name="sessions")
    if isinstance(n_folds, bool) or not isinstance(n_folds, int) or n_folds < 2:
        raise ValueError(f"n_folds must be an integer >= 2, got {n_folds!r}")
    if inverse.size < n_folds:
        raise ValueError(f"sessions: need at least n_folds={n_folds} sessions, got {inverse.size}")
    seqs = [uniques[j].tolist() for j in inverse]
    rng = np.random.default_rng(seed)
    fold = rng.permutation(inverse.size) % n_folds
    all_ids = np.concatenate([u for u in uniques if u.size])
    unseen_id = int(all_ids.max()) + 1
    rows: dict[str, dict[str, list[int]]] = {
        name: {"normal": [], **{k: [] for k in CORRUPTIONS}} for name in detectors
    }
    for f in range(n_folds):
        train = [s for s, g in zip(seqs, fold, strict=True) if g != f]
        held = [s for s, g in zip(seqs, fold, strict=True) if g == f and len(s) >= 2]
        corrupted = {k: [corrupt_session(s, k, rng, unseen_id) for s in held] for k in CORRUPTIONS}
        for name, det in detectors.items():
            fitted = clone(det).fit(train)
            rows[name]["normal"].extend(fitted.predict(held).tolist())
            for k in CORRUPTIONS:
                rows[name][k].extend(fitted.predict(corrupted[k]).tolist())
    out = []
    for name, r in rows.items():
        fp = int(np.sum(r["normal"]))
        tp = int(sum(np.sum(r[k]) for k in CORRUPTIONS))
        n_pos = sum(len(r[k]) for k in CORRUPTIONS)
        fn = n_pos - tp
        out.append(
            {
                "detector": name,
                "FPR": fp / max(len(r["normal"]), 1),
                "TPR": tp / max(n_pos, 1),
                **{k: float(np.mean(r[k])) for k in CORRUPTIONS},
                "F1": tp / (tp + 0.5 * (fp + fn)) if tp + fp + fn else 0.0,
            }
        )
    return pd.DataFrame(out).set_index("detector")


def detection_rates(
    detectors: Mapping[str, object],
    train: Sequence[Sequence[int]],
    test: Sequence[Sequence[int]],
    labels: Sequence[int] | np.ndarray,
    kinds: Sequence[str] | np.ndarray | None = None,
    predictions: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Fit each detector on ``train`` and measure its predictions on labelled ``test`` sessions.

    Parameters
    ----------
    detectors
        Name -> unfitted session detector (cloned).
    train, test
        Sessions.
    labels
        1 = anomalous, one per test session.
    kinds
        Optional anomaly kind per test session (``"normal"`` for normal ones): adds the share
        flagged per kind.
    predictions
        Optional name -> 0/1 predictions already made on ``test`` (a fitted model's rule at
        several settings, say); measured the same way, first, with ``seconds`` missing.

    Returns
    -------
    pandas.DataFrame
        One row per detector: ``TPR``, ``FPR``, ``F1``, the share flagged per kind, ``seconds``
        (fit and predict).
    """
    y = np.asarray(labels, dtype=np.int64)
    if y.shape != (len(test),):
        raise ValueError(f"labels: need one label per test session, got shape {y.shape}")
    kind_arr = None if kinds is None else np.asarray(kinds, dtype=object)
    rows = []
    made = {name: np.asarray(p) for name, p in (predictions or {}).items()}
    for name, p in made.items():
        if p.shape != y.shape:
            raise ValueError(f"predictions[{name!r}]: need one per test session, got {p.shape}")
    runs = [(name, None, p) for name, p in made.items()]
    runs += [(name, det, None) for name, det in detectors.items()]
    for name, det, pred in runs:
        seconds = np.nan
        if pred is None:
            start = time.perf_counter()
            pred = clone(det).fit(train).predict(test)
            seconds = time.perf_counter() - start
        tp, fp = int(pred[y == 1].sum()), int(pred[y == 0].sum())
        fn = int((y == 1).sum()) - tp
        row = {
            "detector": name,
            "TPR": tp / max(int((y == 1).sum()), 1),
            "FPR": fp / max(int((y == 0).sum()), 1),
            "F1": tp / (tp + 0.5 * (fp + fn)) if tp + fp + fn else 0.0,
        }
        if kind_arr is not None:
            for kind in sorted(set(kind_arr[y == 1].tolist())):
                row[kind] = float(pred[kind_arr == kind].mean())
        row["seconds"] = seconds
        rows.append(row)
    return pd.DataFrame(rows).set_index("detector")
