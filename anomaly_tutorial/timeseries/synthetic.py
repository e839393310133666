"""Controlled experiments: a seasonal synthetic metric and injected anomalies with ground truth.

:func:`make_seasonal_series` draws a metric with a daily cycle, a weekly modulation and
autocorrelated noise; :func:`inject_anomalies` adds spikes, dips and level shifts at random,
non-overlapping places and returns the ground-truth segments; :func:`segments_to_labels` turns
the segments into per-point labels usable by :mod:`anomaly_tutorial.evaluate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from anomaly_tutorial.stats import mad_scale
from anomaly_tutorial.timeseries._input import as_series_frame

__all__ = [
    "ANOMALY_KINDS",
    "ControlledExperiment",
    "controlled_experiment",
    "inject_anomalies",
    "make_seasonal_series",
    "segments_to_labels",
]

ANOMALY_KINDS = ("spike", "dip", "level_shift")


def make_seasonal_series(
    n_points: int = 4032,
    *,
    freq: str = "5min",
    start: str = "2024-01-01",
    level: float = 100.0,
    daily_amplitude: float = 20.0,
    weekend_factor: float = 0.6,
    noise_sd: float = 3.0,
    ar: float = 0.5,
    seed: int = 0,
    name: str = "value",
) -> pd.Series:
    """A synthetic load-like metric with daily and weekly seasonality.

    ``x[t] = level + amplitude(t) * sin(2 pi (hour - 6) / 24) + e[t]`` with the daily amplitude
    reduced to ``weekend_factor`` on Saturdays and Sundays, and AR(1) noise
    ``e[t] = ar * e[t-1] + N(0, noise_sd^2 (1 - ar^2))`` (marginal sd = ``noise_sd``).

    Parameters
    ----------
    n_points : int, default 4032 (two weeks of 5-minute points)
    freq : str, default "5min"
    start : str, default "2024-01-01" (a Monday)
    level, daily_amplitude, weekend_factor, noise_sd, ar : float
    seed : int
    name : str

    Returns
    -------
    pandas.Series
        Indexed by a UTC DatetimeIndex.
    """
    if n_points < 2:
        raise ValueError(f"n_points must be >= 2, got {n_points}")
    if not -1 < ar < 1:
        raise ValueError(f"ar must be in (-1, 1), got {ar}")
    if noise_sd < 0:
        raise ValueError(f"noise_sd must be >= 0, got {noise_sd}")
    rng = np.random.default_rng(seed)
    index = pd.date_range(start, periods=n_points, freq=freq, tz="UTC", name="time")
    hours = index.hour.to_numpy() + index.minute.to_numpy() / 60.0
    weekend = index.day_of_week.to_numpy() >= 5
    amplitude = np.where(weekend, daily_amplitude * weekend_factor, daily_amplitude)
    seasonal = amplitude * np.sin(2 * np.pi * (hours - 6.0) / 24.0)
    innovations = rng.normal(0.0, noise_sd * np.sqrt(1 - ar**2), n_points)
    noise = np.empty(n_points)
    noise[0] = rng.normal(0.0, noise_sd)
    for t in range(1, n_points):
        noise[t] = ar * noise[t - 1] + innovations[t]
    return pd.Series(level + seasonal + noise, index=index, name=name)


def _noise_scale(values: np.ndarray) -> float:
    """Robust noise level from first differences (insensitive to the smooth seasonal part)."""
    diffs = np.diff(values)
    scale = float(mad_scale(diffs)) / np.sqrt(2.0)
    return scale if scale > 0 else float(np.std(values)) or 1.0


def inject_anomalies(
    series: pd.Series,
    kinds: Sequence[str] = ANOMALY_KINDS,
    *,
    n_per_kind: int = 3,
    spike_size: float = 8.0,
    shift_size: float = 3.0,
    shift_length: int = 48,
    start_fraction: float = 0.0,
    min_gap: int = 24,
    seed: int = 0,
) -> tuple[pd.Series, pd.DataFrame]:
    """Inject spikes, dips and level shifts into a copy of ``series``.

    Sizes are in units of the series' noise level, estimated robustly from first differences.
    A ``spike`` adds ``+spike_size`` at one point, a ``dip`` adds ``-spike_size`` at one point,
    a ``level_shift`` adds ``+-shift_size`` (random sign) to ``shift_length`` consecutive points.
    Segments never overlap and are at least ``min_gap`` points apart.

    Parameters
    ----------
    series : pandas.Series
        A metric indexed by time (DatetimeIndex or int epoch ms), without NaN.
    kinds : sequence of {"spike", "dip", "level_shift"}
    n_per_kind : int, default 3
    spike_size, shift_size : float
    shift_length : int
    start_fraction : float, default 0.0
        Inject only after this fraction of the series (e.g. 0.5 keeps the first half clean for
        training).
    min_gap : int
    seed : int

    Returns
    -------
    (modified, segments) : tuple of pandas.Series and pandas.DataFrame
        ``segments`` has one row per anomaly: ``segment_id`` ("seg-000", ...), ``kind``,
        ``start``, ``end`` (index labels, inclusive), ``start_pos``, ``end_pos`` (positions),
        ``offset`` (the value added), sorted by start.
    """
    if not isinstance(series, pd.Series):
        raise TypeError(f"series must be a pandas Series, got {type(series).__name__}")
    frame = as_series_frame(series, "series")
    unknown = sorted(set(kinds) - set(ANOMALY_KINDS))
    if unknown or len(kinds) == 0:
        raise ValueError(f"kinds: unknown kind(s) {unknown} (choose from {list(ANOMALY_KINDS)})")
    if n_per_kind < 1 or shift_length < 1 or min_gap < 0:
        raise ValueError("n_per_kind and shift_length must be >= 1 and min_gap >= 0")
    if not 0 <= start_fraction < 1:
        raise ValueError(f"start_fraction must be in [0, 1), got {start_fraction}")
    rng = np.random.default_rng(seed)
    values = frame.values[:, 0].copy()
    n = values.size
    scale = _noise_scale(values)
    plan = [kind for kind in kinds for _ in range(n_per_kind)]
    rng.shuffle(plan)
    lo = int(np.ceil(start_fraction * n))
    taken = np.zeros(n, dtype=bool)
    rows = []
    for kind in plan:
        length = shift_length if kind == "level_shift" else 1
        free = []
        for s in range(lo, n - length + 1):
            a, b = max(0, s - min_gap), min(n, s + length + min_gap)
            if not taken[a:b].any():
                free.append(s)
        if not free:
            raise ValueError(
                f"not enough room for {len(plan)} anomalies in {n - lo} points with "
                f"shift_length={shift_length} and min_gap={min_gap}; lower n_per_kind or min_gap"
            )
        s = int(rng.choice(free))
        e = s + length - 1
        taken[s : e + 1] = True
        if kind == "spike":
            offset = spike_size * scale
        elif kind == "dip":
            offset = -spike_size * scale
        else:
            offset = float(rng.choice([-1.0, 1.0])) * shift_size * scale
        values[s : e + 1] += offset
        rows.append({"kind": kind, "start_pos": s, "end_pos": e, "offset": offset})
    segments = pd.DataFrame(rows).sort_values("start_pos", kind="stable").reset_index(drop=True)
    segments.insert(0, "segment_id", [f"seg-{i:03d}" for i in range(len(segments))])
    segments.insert(2, "start", series.index[segments["start_pos"].to_numpy()])
    segments.insert(3, "end", series.index[segments["end_pos"].to_numpy()])
    modified = pd.Series(values, index=series.index, name=series.name)
    return modified, segments


def segments_to_labels(index: pd.Index, segments: pd.DataFrame) -> pd.DataFrame:
    """Per-point labels from ground-truth segments.

    Parameters
    ----------
    index : pandas.Index
        The series' index.
    segments : pandas.DataFrame
        As returned by :func:`inject_anomalies` (``segment_id``, ``kind``, ``start_pos``,
        ``end_pos``).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``index``, columns ``is_anomaly`` (int 0/1), ``anomaly_type`` ("normal" or
        the kind) and ``incident_id`` (the segment id, <NA> outside anomalies).
    """
    n = len(index)
    is_anomaly = np.zeros(n, dtype=np.int64)
    kind = np.full(n, "normal", dtype=object)
    incident = np.full(n, None, dtype=object)
    for row in segments.itertuples(index=False):
        if not 0 <= row.start_pos <= row.end_pos < n:
            raise ValueError(f"segment {row.segment_id}: positions outside the index of {n} points")
        sl = slice(row.start_pos, row.end_pos + 1)
        is_anomaly[sl] = 1
        kind[sl] = row.kind
        incident[sl] = row.segment_id
    return pd.DataFrame(
        {
            "is_anomaly": is_anomaly,
            "anomaly_type": pd.array(kind, dtype="string"),
            "incident_id": pd.array(incident, dtype="string"),
        },
        index=index,
    )


@dataclass(frozen=True)
class ControlledExperiment:
    """A clean training stretch and a test stretch with injected anomalies.

    Attributes
    ----------
    clean : pandas.Series
        The whole series before injection.
    series : pandas.Series
        The whole series after injection (anomalies in the test part only).
    train, test : pandas.Series
        ``series`` split at ``split``.
    labels : pandas.DataFrame
        Per-point labels of ``series`` (see :func:`segments_to_labels`).
    test_labels : pandas.DataFrame
        ``labels`` restricted to the test stretch.
    segments : pandas.DataFrame
        Ground truth from :func:`inject_anomalies`.
    split : int
        Position of the first test point.
    """

    clean: pd.Series
    series: pd.Series
    train: pd.Series
    test: pd.Series
    labels: pd.DataFrame
    test_labels: pd.DataFrame
    segments: pd.DataFrame
    split: int


def controlled_experiment(
    n_points: int = 4032,
    *,
    train_fraction: float = 0.5,
    n_per_kind: int = 4,
    seed: int = 0,
) -> ControlledExperiment:
    """The book's controlled experiment: a seasonal metric with spikes, dips and level shifts.

    Two weeks of 5-minute points from :func:`make_seasonal_series` (``seed``); the first
    ``train_fraction`` is kept clean for training, and ``n_per_kind`` anomalies of each kind are
    injected into the rest with :func:`inject_anomalies` (``seed + 1``).

    Parameters
    ----------
    n_points : int, default 4032
    train_fraction : float, default 0.5
    n_per_kind : int, default 4
    seed : int, default 0

    Returns
    -------
    ControlledExperiment
    """
    if not 0.1 <= train_fraction <= 0.9:
        raise ValueError(f"train_fraction must be in [0.1, 0.9], got {train_fraction}")
    clean = make_seasonal_series(n_points, seed=seed, name="load")
    split = round(train_fraction * n_points)
    series, segments = inject_anomalies(
        clean, n_per_kind=n_per_kind, start_fraction=(split + 1) / n_points, seed=seed + 1
    )
    labels = segments_to_labels(series.index, segments)
    return ControlledExperiment(
        clean=clean,
        series=series,
        train=series.iloc[:split],
        test=series.iloc[split:],
        labels=labels,
        test_labels=labels.iloc[split:],
        segments=segments,
        split=split,
    )
