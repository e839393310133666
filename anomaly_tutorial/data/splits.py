"""The book-wide train / validation / test split by time.

Every chapter splits the default dataset the same way, so that results can be compared across
chapters and every choice is made on data earlier than the period it is reported on:

* **train**: the first 8 of the 14 days (fit detectors, encoders and featurizers here);
* **validation**: days 9 and 10 (choose hyperparameters, thresholds and defaults here);
* **test**: the last 4 days (report once, choose nothing).

The cuts are whole UTC days counted from the dataset's start, so "alerts per day" means the
same on every period. For a dataset of another length the same fractions (8/14 and 10/14 of
the period) are rounded to whole days when the period is at least a week long, else kept as
exact fractions of the period.

Public objects: :class:`BookSplit`, :func:`book_split`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from anomaly_tutorial.data.config import GeneratorConfig

DAY_MS = 86_400_000
#: Fractions of the period at which validation and test start.
TRAIN_FRACTION = 8 / 14
VALIDATION_END_FRACTION = 10 / 14
PARTS = ("train", "validation", "test")


@dataclass(frozen=True)
class BookSplit:
    """Time boundaries of the three periods, in epoch milliseconds (UTC).

    A record with time ``t`` is in *train* when ``start_ms <= t < train_end_ms``, in
    *validation* when ``train_end_ms <= t < validation_end_ms``, and in *test* when
    ``validation_end_ms <= t < end_ms``.
    """

    start_ms: int
    train_end_ms: int
    validation_end_ms: int
    end_ms: int

    def __post_init__(self) -> None:
        if not self.start_ms < self.train_end_ms < self.validation_end_ms < self.end_ms:
            raise ValueError(
                "BookSplit: boundaries must increase strictly, got "
                f"start={self.start_ms}, train_end={self.train_end_ms}, "
                f"validation_end={self.validation_end_ms}, end={self.end_ms}"
            )

    @property
    def days(self) -> dict[str, float]:
        """Length of each period in days (for rates such as alerts per day)."""
        return {
            "train": (self.train_end_ms - self.start_ms) / DAY_MS,
            "validation": (self.validation_end_ms - self.train_end_ms) / DAY_MS,
            "test": (self.end_ms - self.validation_end_ms) / DAY_MS,
        }

    def period_of(self, times: np.ndarray | pd.Series) -> np.ndarray:
        """Name of the period (``"train"``, ``"validation"``, ``"test"``) of each time.

        Raises
        ------
        ValueError
            If a time is missing or outside ``[start_ms, end_ms)``; the message gives the
            first offending position and value.
        """
        t = np.asarray(times, dtype="float64")
        bad = ~np.isfinite(t) | (t < self.start_ms) | (t >= self.end_ms)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"time: {int(bad.sum())} values are missing or outside the split's period "
                f"[{self.start_ms}, {self.end_ms}) ms; first at position {i}: {times[i]!r}"
            )
        idx = np.searchsorted([self.train_end_ms, self.validation_end_ms], t, side="right")
        return np.asarray(PARTS, dtype=object)[idx]

    def split(
        self, frame: pd.DataFrame, time_column: str = "time"
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """Cut ``frame`` into its train, validation and test rows (copies, in time order).

        Works for events, metric points, spans or sessions alike: any frame with a time column
        in epoch milliseconds.

        Raises
        ------
        ValueError
            If ``time_column`` is missing, or a time is missing or outside the period.
        """
        if time_column not in frame.columns:
            raise ValueError(f"frame: column {time_column!r} is missing")
        ordered = frame
        if not frame[time_column].is_monotonic_increasing:
            order = np.argsort(frame[time_column].to_numpy(), kind="stable")
            ordered = frame.iloc[order]
        period = self.period_of(ordered[time_column].to_numpy())
        return tuple(ordered[period == name].copy() for name in PARTS)  # type: ignore[return-value]


def book_split(config: GeneratorConfig | None = None) -> BookSplit:
    """The book's train / validation / test periods for a generator configuration.

    Parameters
    ----------
    config
        The configuration the data was generated with; the book's default
        (``GeneratorConfig()``, 14 days) when omitted.

    Returns
    -------
    BookSplit
        For the default dataset: train = days 1-8, validation = days 9-10, test = days 11-14.

    Examples
    --------
    >>> from anomaly_tutorial.data import book_split, default_dataset  # doctest: +SKIP
    >>> train, validation, test = book_split().split(default_dataset().events)  # doctest: +SKIP
    """
    config = GeneratorConfig() if config is None else config
    if not isinstance(config, GeneratorConfig):
        raise TypeError(f"config: expected a GeneratorConfig, got {type(config).__name__}")
    start = int(pd.Timestamp(config.start).value // 1_000_000)
    length = config.days * DAY_MS
    if config.days >= 7:
        train_end = start + round(config.days * TRAIN_FRACTION) * DAY_MS
        validation_end = start + round(config.days * VALIDATION_END_FRACTION) * DAY_MS
    else:
        train_end = start + round(length * TRAIN_FRACTION)
        validation_end = start + round(length * VALIDATION_END_FRACTION)
    return BookSplit(start, train_end, validation_end, start + length)
