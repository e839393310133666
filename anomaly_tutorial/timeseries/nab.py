"""The scoring of the Numenta Anomaly Benchmark (NAB; Lavin and Ahmad, 2015).

NAB scores a detector on labelled *windows* rather than points, rewards early detection and
charges false positives, with the formulas of NAB's ``sweeper.py`` (version 1.x):

* **Probationary period**: the first ``min(floor(0.15 n), 0.15 x 5000)`` rows of a file of
  ``n`` rows are not scored (a detector may learn there).
* **Scaled sigmoid** ``sigma(y) = 2 / (1 + exp(5 y)) - 1`` (and ``-1`` for ``y >= 3``).
* **Inside a window** ``[L, R]`` of width ``W = R - L + 1``, a detection at row ``i`` is worth
  ``A_TP x sigma(-(R - i + 1) / W) / sigma(-1)``: ``A_TP`` at the left edge, close to 0 at the
  right. Only the window's best (earliest) detection counts; a window without detection
  costs ``-A_FN``.
* **Outside windows**, a detection is worth ``A_FP x sigma(|R_prev - i| / (W_prev - 1))`` after
  a window (a little less than ``-A_FP`` just after it, ``-A_FP`` far from it) and ``-A_FP``
  before the first window. Every such detection counts.
* **Profiles** (``A_TP, A_FP, A_FN, A_TN``): standard ``(1, 0.11, 1, 1)``, reward low FP rate
  ``(1, 0.22, 1, 1)``, reward low FN rate ``(1, 0.11, 2, 1)``. ``A_TN`` does not enter the
  score.
* **Threshold**: a point is a detection when its score is at or above a threshold, one
  threshold for all files, chosen to maximise the total raw score over all files (NAB's own
  rule: this choice uses the labels of the files reported on).
* **Normalisation**: ``100 x (raw - null) / (perfect - null)`` with ``null = -A_FN x windows``
  (a detector that never fires) and ``perfect = A_TP x windows`` (every window caught at its
  left edge, no false positive). The null detector scores 0, a perfect one 100.

Windows are given as ``(start, end)`` times and are mapped to the rows whose times lie inside
them (both ends included). A NaN score (a missing point) is never a detection.

Public objects: :data:`PROFILES`, :class:`NABProfile`, :class:`NABFile`, :class:`NABResult`,
:func:`scaled_sigmoid`, :func:`probationary_length`, :func:`row_weights`, :func:`nab_score`,
:func:`nab_scores`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "PROFILES",
    "NABFile",
    "NABProfile",
    "NABResult",
    "nab_score",
    "nab_scores",
    "probationary_length",
    "row_weights",
    "scaled_sigmoid",
]


@dataclass(frozen=True)
class NABProfile:
    """Weights of one NAB application profile (``A_TP, A_FP, A_FN, A_TN``)."""

    name: str
    tp: float
    fp: float
    fn: float
    tn: float = 1.0


PROFILES: dict[str, NABProfile] = {
    "standard": NABProfile("standard", tp=1.0, fp=0.11, fn=1.0),
    "reward_low_FP_rate": NABProfile("reward_low_FP_rate", tp=1.0, fp=0.22, fn=1.0),
    "reward_low_FN_rate": NABProfile("reward_low_FN_rate", tp=1.0, fp=0.11, fn=2.0),
}


def scaled_sigmoid(y: np.ndarray | float) -> np.ndarray | float:
    """NAB's scaled sigmoid ``2 / (1 + exp(5 y)) - 1``, and ``-1`` where ``y >= 3``."""
    y = np.asarray(y, dtype=np.float64)
    out = np.where(y >= 3.0, -1.0, 2.0 / (1.0 + np.exp(5.0 * np.minimum(y, 3.0))) - 1.0)
    return float(out) if out.ndim == 0 else out


def probationary_length(n_rows: int, fraction: float = 0.15) -> int:
    """Rows at the start of a file that NAB does not score: ``min(floor(f n), f x 5000)``."""
    if not 0 <= fraction < 1:
        raise ValueError(f"fraction must be in [0, 1), got {fraction!r}")
    return int(min(np.floor(fraction * n_rows), fraction * 5000))


@dataclass(frozen=True)
class NABFile:
    """One scored file: its row times, the detector's scores and the labelled windows.

    Attributes
    ----------
    times : array-like
        Row times in increasing order (anything comparable with the window ends: datetimes,
        epoch milliseconds).
    scores : array-like of float
        One anomaly score per row, higher = more anomalous; NaN is never a detection.
    windows : sequence of (start, end)
        Labelled anomaly windows, both ends included.
    """

    times: Sequence | np.ndarray | pd.Index
    scores: Sequence[float] | np.ndarray
    windows: Sequence[tuple] = field(default_factory=list)


def _window_positions(times: np.ndarray, windows: Sequence[tuple]) -> list[tuple[int, int]]:
    positions = []
    for k, (start, end) in enumerate(sorted(windows)):
        left = int(np.searchsorted(times, start, side="left"))
        right = int(np.searchsorted(times, end, side="right")) - 1
        if right < left:
            raise ValueError(f"windows[{k}] ({start} .. {end}) contains no row of the file")
        if positions and left <= positions[-1][1]:
            raise ValueError(f"windows[{k}] ({start} .. {end}) overlaps the previous window")
        positions.append((left, right))
    return positions


def row_weights(
    n_rows: int,
    windows: Sequence[tuple[int, int]],
    profile: NABProfile,
    probation: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """What a detection at each row is worth, and which window the row belongs to.

    Parameters
    ----------
    n_rows : int
    windows : sequence of (left, right)
        Row positions of the windows (inclusive), sorted, not overlapping.
    profile : NABProfile
    probation : int
        Rows before this position are not scored (weight NaN).

    Returns
    -------
    (weights, window_of_row) : tuple of ndarray
        ``weights[i]`` is the weighted score of a detection at row ``i`` (NaN in probation);
        ``window_of_row[i]`` is the window's index, or -1 outside windows.
    """
    max_tp = scaled_sigmoid(-1.0)
    weights = np.full(n_rows, -profile.fp)  # before the first window: -A_FP
    window_of_row = np.full(n_rows, -1, dtype=np.int64)
    rows = np.arange(n_rows)
    for k, (left, right) in enumerate(windows):
        width = right - left + 1
        inside = rows[left : right + 1]
        weights[left : right + 1] = (
            scaled_sigmoid(-(right - inside + 1) / width) * profile.tp / max_tp
        )
        window_of_row[left : right + 1] = k
        stop = windows[k + 1][0] if k + 1 < len(windows) else n_rows
        after = rows[right + 1 : stop]
        weights[right + 1 : stop] = (
            scaled_sigmoid(np.abs(right - after) / max(width - 1, 1)) * profile.fp
        )
    weights = weights.astype(np.float64)
    weights[:probation] = np.nan
    return weights, window_of_row


@dataclass(frozen=True)
class NABResult:
    """NAB score of a detector over a set of files for one profile.

    Attributes
    ----------
    profile : str
    score : float
        Normalised score: 0 = null detector, 100 = perfect.
    raw, null, perfect : float
        Raw score at the best threshold, and the raw scores of the null and perfect detectors.
    threshold : float
        The best threshold (detections: score >= threshold); ``inf`` when detecting nothing is
        best.
    per_file : pandas.DataFrame
        Per file at that threshold: ``windows``, ``detected_windows``, ``false_positives``
        and ``raw``.
    """

    profile: str
    score: float
    raw: float
    null: float
    perfect: float
    threshold: float
    per_file: pd.DataFrame


def _file_rows(
    name: str, file: NABFile, profile: NABProfile, probation_fraction: float
) -> pd.DataFrame:
    times = np.asarray(file.times)
    scores = np.asarray(file.scores, dtype=np.float64)
    if times.shape != scores.shape or times.ndim != 1:
        raise ValueError(
            f"file {name!r}: times ({times.shape}) and scores ({scores.shape}) must be 1-D arrays "
            f"of the same length"
        )
    if times.size > 1 and np.any(times[1:] < times[:-1]):
        raise ValueError(f"file {name!r}: times must be in increasing order")
    windows = _window_positions(times, file.windows)
    probation = probationary_length(times.size, probation_fraction)
    weights, window_of_row = row_weights(times.size, windows, profile, probation)
    scored = ~np.isnan(weights)
    return pd.DataFrame(
        {
            "file": name,
            "score": scores[scored],
            "weight": weights[scored],
            "window": window_of_row[scored],
        }
    )


def nab_score(
    files: Mapping[str, NABFile],
    profile: str | NABProfile = "standard",
    *,
    probation_fraction: float = 0.15,
) -> NABResult:
    """NAB score of one detector over ``files`` with one threshold optimised over all of them.

    Parameters
    ----------
    files : mapping of name to NABFile
    profile : str or NABProfile
        A key of :data:`PROFILES` or a profile.
    probation_fraction : float, default 0.15

    Returns
    -------
    NABResult
    """
    if isinstance(profile, str):
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {sorted(PROFILES)}, got {profile!r}")
        profile = PROFILES[profile]
    if not files:
        raise ValueError("files: no file to score")
    rows = pd.concat(
        [_file_rows(name, f, profile, probation_fraction) for name, f in files.items()],
        ignore_index=True,
    )
    # windows are identified per file; windows whose rows all lie in probation do not count
    rows["key"] = np.where(rows["window"] >= 0, rows["file"] + "#" + rows["window"].astype(str), "")
    n_windows = int(rows.loc[rows["window"] >= 0, "key"].nunique())
    null = -profile.fn * n_windows
    perfect = profile.tp * n_windows
    ranked = rows[~rows["score"].isna()].sort_values("score", ascending=False, kind="stable")
    in_window = ranked["window"].to_numpy() >= 0
    gain = np.where(in_window, 0.0, ranked["weight"].to_numpy())
    if in_window.any():
        inside = ranked[in_window]
        best = inside.groupby("key", sort=False)["weight"].cummax()
        before = best.groupby(inside["key"], sort=False).shift(1).fillna(-profile.fn)
        gain[in_window] = (best - before).to_numpy()
    totals = null + np.cumsum(gain)
    values = ranked["score"].to_numpy()
    last_of_level = np.r_[values[1:] != values[:-1], True] if values.size else np.array([])
    candidates = totals[last_of_level.astype(bool)] if values.size else np.array([])
    levels = values[last_of_level.astype(bool)] if values.size else np.array([])
    if candidates.size and candidates.max() > null:
        k = int(np.argmax(candidates))
        raw, threshold = float(candidates[k]), float(levels[k])
    else:
        raw, threshold = float(null), float("inf")
    detected = rows["score"].to_numpy() >= threshold
    per_file = []
    for name, part in rows.assign(detected=detected).groupby("file", sort=False):
        hits = part[part["detected"]]
        windows = part.loc[part["window"] >= 0, "key"].nunique()
        caught = hits.loc[hits["window"] >= 0].groupby("key")["weight"].max()
        false_pos = hits[hits["window"] < 0]
        per_file.append(
            {
                "file": name,
                "windows": int(windows),
                "detected_windows": int(caught.size),
                "false_positives": len(false_pos),
                "raw": float(caught.sum() - profile.fn * (windows - caught.size))
                + float(false_pos["weight"].sum()),
            }
        )
    score = 100.0 * (raw - null) / (perfect - null) if perfect > null else float("nan")
    return NABResult(
        profile=profile.name,
        score=score,
        raw=raw,
        null=null,
        perfect=perfect,
        threshold=threshold,
        per_file=pd.DataFrame(per_file).set_index("file"),
    )


def nab_scores(
    files: Mapping[str, NABFile], *, probation_fraction: float = 0.15
) -> dict[str, NABResult]:
    """:func:`nab_score` for each of the three profiles of :data:`PROFILES`."""
    return {
        name: nab_score(files, name, probation_fraction=probation_fraction) for name in PROFILES
    }
