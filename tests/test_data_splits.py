"""Tests of the book-wide train / validation / test split."""

import numpy as np
import pandas as pd
import pytest

from anomaly_tutorial.data import GeneratorConfig, book_split, default_dataset
from anomaly_tutorial.data.splits import DAY_MS, BookSplit


def test_default_split_is_8_2_4_whole_days():
    split = book_split()
    assert split.days == {"train": 8.0, "validation": 2.0, "test": 4.0}
    assert split.start_ms == pd.Timestamp("2026-03-02T00:00:00Z").value // 1_000_000
    assert (split.train_end_ms - split.start_ms) % DAY_MS == 0


def test_every_event_and_metric_point_lands_in_exactly_one_period_in_order():
    ds = default_dataset()
    split = book_split(ds.config)
    for frame in (ds.events, ds.metrics):
        parts = split.split(frame)
        assert sum(len(p) for p in parts) == len(frame)
        train, validation, test = parts
        assert train["time"].max() < validation["time"].min()
        assert validation["time"].max() < test["time"].min()
        assert test["time"].max() < split.end_ms


def test_short_periods_use_exact_fractions():
    split = book_split(GeneratorConfig(n_events=1_000, days=3))
    assert split.days["train"] == pytest.approx(3 * 8 / 14)
    assert split.days["test"] == pytest.approx(3 * 4 / 14)


def test_times_outside_the_period_are_refused_with_position():
    split = book_split()
    times = np.array([split.start_ms, split.end_ms + 1])
    with pytest.raises(ValueError, match=r"outside the split's period.*position 1"):
        split.period_of(times)
    with pytest.raises(ValueError, match="missing or outside"):
        split.period_of(np.array([np.nan]))


def test_bad_arguments():
    with pytest.raises(ValueError, match="must increase"):
        BookSplit(0, 5, 5, 10)
    with pytest.raises(TypeError, match="GeneratorConfig"):
        book_split("default")
    with pytest.raises(ValueError, match="column 'timestamp' is missing"):
        book_split().split(pd.DataFrame({"time": [1]}), time_column="timestamp")
