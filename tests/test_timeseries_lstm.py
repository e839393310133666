"""Tests of the LSTM autoencoder detector (anomaly_tutorial.timeseries.lstm_autoencoder)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from anomaly_tutorial.timeseries import (
    LSTMAutoencoder,
    LSTMAutoencoderDetector,
    series_windows,
    train_lstm_autoencoder,
)

PARAMS = {"window": 16, "hidden_size": 8, "epochs": 12, "stride": 2, "lr": 2e-2, "seed": 0}


@pytest.fixture(scope="module")
def periodic() -> pd.Series:
    """A noisy sine with period 24 points, 1-minute spacing."""
    rng = np.random.default_rng(0)
    t = np.arange(900)
    x = np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.05, t.size)
    return pd.Series(x, index=pd.date_range("2024-01-01", periods=t.size, freq="1min"), name="y")


@pytest.fixture(scope="module")
def fitted(periodic: pd.Series) -> LSTMAutoencoderDetector:
    return LSTMAutoencoderDetector(**PARAMS).fit(periodic.iloc[:600])


def test_series_windows_shape_and_order() -> None:
    x = np.arange(20, dtype=float).reshape(10, 2)
    w = series_windows(x, 4, stride=3)
    assert w.shape == (3, 4, 2)
    np.testing.assert_array_equal(w[1, :, 0], [6, 8, 10, 12])  # rows 3..6, ending at row 6
    with pytest.raises(ValueError, match="fewer than window"):
        series_windows(x, 11)


def test_model_reconstructs_shape() -> None:
    torch.manual_seed(0)
    model = LSTMAutoencoder(n_features=3, hidden_size=5)
    x = torch.randn(4, 7, 3)
    assert model(x).shape == x.shape


def test_training_loss_decreases_and_early_stopping_keeps_best(fitted) -> None:
    result = fitted.training_
    assert result.train_loss[-1] < 0.5 * result.train_loss[0]
    assert result.val_loss[result.best_epoch] == min(result.val_loss)


def test_kept_weights_are_those_of_the_best_epoch() -> None:
    rng = np.random.default_rng(3)
    t = np.arange(700)
    x = (np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.05, t.size))[:, None]
    windows = series_windows(x, 16, stride=2)
    result = train_lstm_autoencoder(windows, hidden_size=8, epochs=8, lr=5e-2, patience=2)
    n = windows.shape[0]
    val = torch.from_numpy(windows[n - max(1, round(n * 0.2)) :])
    with torch.no_grad():
        again = float(torch.nn.functional.mse_loss(result.model(val), val))
    # the returned model reproduces the best validation loss, not the last epoch's
    assert again == pytest.approx(result.val_loss[result.best_epoch], rel=1e-6)
    ran = len(result.val_loss)
    assert ran == 8 or ran == result.best_epoch + 1 + 2  # stopped by max epochs or patience


def test_training_leaves_the_global_rng_alone() -> None:
    windows = np.random.default_rng(0).normal(size=(80, 8, 1)).astype(np.float32)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train_lstm_autoencoder(windows, hidden_size=4, epochs=2)
    np.testing.assert_array_equal(torch.rand(3), expected)


def test_early_stopping_stops_on_a_plateau() -> None:
    rng = np.random.default_rng(1)
    windows = rng.normal(size=(200, 8, 1)).astype(np.float32)  # pure noise: nothing to learn
    result = train_lstm_autoencoder(windows, hidden_size=4, epochs=50, lr=1e-2, patience=2)
    assert len(result.val_loss) < 50
    assert len(result.val_loss) == result.best_epoch + 1 + 2


def test_anomalous_window_scores_higher(fitted, periodic: pd.Series) -> None:
    test = periodic.iloc[600:].copy()
    test.iloc[150] += 3.0
    scores = fitted.score_samples(test)
    normal = np.r_[scores[:140], scores[170:]]
    assert scores[150] > 5 * np.quantile(normal, 0.99)
    assert int(np.argmax(scores)) == 150
    assert fitted.predict(test)[150] == 1
    window_scores = (
        LSTMAutoencoderDetector(**PARAMS, score_on="window")
        .fit(periodic.iloc[:600])
        .score_samples(test)
    )
    assert window_scores[150:166].min() > np.quantile(
        np.r_[window_scores[:140], window_scores[180:]], 0.99
    )


def test_threshold_from_training_reconstruction_errors(fitted, periodic: pd.Series) -> None:
    train_scores = fitted.score_samples(periodic.iloc[:600])
    assert fitted.threshold_ == pytest.approx(np.quantile(train_scores, 0.99))
    assert fitted.predict(periodic.iloc[600:]).mean() < 0.05


def test_deterministic_on_cpu(fitted, periodic: pd.Series) -> None:
    again = LSTMAutoencoderDetector(**PARAMS).fit(periodic.iloc[:600])
    np.testing.assert_array_equal(
        fitted.score_samples(periodic.iloc[600:]), again.score_samples(periodic.iloc[600:])
    )
    assert fitted.training_.train_loss == again.training_.train_loss
    other = LSTMAutoencoderDetector(**{**PARAMS, "seed": 1}).fit(periodic.iloc[:600])
    assert other.training_.train_loss != fitted.training_.train_loss


def test_causal_scores(fitted, periodic: pd.Series) -> None:
    test = periodic.iloc[600:]
    changed = test.copy()
    changed.iloc[200:] += 5.0
    a, b = fitted.score_samples(test), fitted.score_samples(changed)
    np.testing.assert_array_equal(a[:200], b[:200])
    assert not np.allclose(a[200:], b[200:])
    whole = fitted.score_samples(periodic)[600:]
    np.testing.assert_allclose(a, whole, rtol=1e-5, atol=1e-7)


def test_errors(periodic: pd.Series) -> None:
    with pytest.raises(ValueError, match=r"40 points.*4 x window=16"):
        LSTMAutoencoderDetector(**PARAMS).fit(periodic.iloc[:40])
    with pytest.raises(ValueError, match="score_on"):
        LSTMAutoencoderDetector(**{**PARAMS, "score_on": "middle"}).fit(periodic.iloc[:300])
    with pytest.raises(ValueError, match="val_fraction"):
        train_lstm_autoencoder(np.zeros((50, 4, 1), dtype=np.float32), val_fraction=0.7)


def test_multivariate(periodic: pd.Series) -> None:
    frame = pd.DataFrame({"a": periodic, "b": -periodic.to_numpy() * 2})
    det = LSTMAutoencoderDetector(**{**PARAMS, "epochs": 3}).fit(frame.iloc[:600])
    feats = det.score_features(frame.iloc[600:])
    assert list(feats.columns) == ["a", "b"]
    np.testing.assert_allclose(det.score_samples(frame.iloc[600:]), feats.mean(axis=1), rtol=1e-6)
