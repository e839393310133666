"""LSTM encoder-decoder (autoencoder) on sliding windows of metrics.

Following Malhotra et al. (2016), an LSTM (Hochreiter and Schmidhuber, 1997) encodes a window of
``window`` consecutive points into its final hidden state and a second LSTM decodes that state
back into the window. Trained on normal behaviour only, it reconstructs normal windows well and
anomalous ones badly, so the reconstruction error is the anomaly score.

Scores are causal: the score of time ``t`` comes from the window that *ends* at ``t``.
Training goes through the package's one training loop,
:func:`anomaly_tutorial.models.loop.fit_module` (seeded inside ``torch.random.fork_rng``, so the
caller's global RNG is untouched).

Public objects: :class:`LSTMAutoencoder`, :class:`LSTMAutoencoderDetector`,
:class:`TrainingResult`, :func:`series_windows`, :func:`train_lstm_autoencoder`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from anomaly_tutorial.models.loop import deterministic_training, fit_module
from anomaly_tutorial.timeseries.base import BaseSeriesDetector, floor_scale

__all__ = [
    "LSTMAutoencoder",
    "LSTMAutoencoderDetector",
    "TrainingResult",
    "series_windows",
    "train_lstm_autoencoder",
]


def series_windows(values: np.ndarray, window: int, stride: int = 1) -> np.ndarray:
    """All windows of ``window`` consecutive rows, the k-th ending at row ``window - 1 + k*stride``.

    (Not :func:`anomaly_tutorial.sequences.windows.sliding_windows`, which cuts an event stream
    into time windows; this one stacks consecutive rows of a metric matrix for the LSTM.)

    Parameters
    ----------
    values : ndarray of shape (n_points, n_features) or (n_points,)
    window : int
    stride : int

    Returns
    -------
    ndarray of shape (n_windows, window, n_features)
    """
    x = np.asarray(values, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    if window < 1 or stride < 1:
        raise ValueError(f"window and stride must be >= 1, got window={window}, stride={stride}")
    if x.shape[0] < window:
        raise ValueError(f"values: {x.shape[0]} points are fewer than window={window}")
    view = np.lib.stride_tricks.sliding_window_view(x, window, axis=0)  # (n, f, w)
    return np.ascontiguousarray(view[::stride].transpose(0, 2, 1))


class LSTMAutoencoder(nn.Module):
    """LSTM encoder-decoder that reconstructs a window from its final hidden state.

    Parameters
    ----------
    n_features : int
        Metrics per time step.
    hidden_size : int
        Size of the LSTM states (the bottleneck).
    """

    def __init__(self, n_features: int, hidden_size: int = 16) -> None:
        super().__init__()
        self.n_features = n_features
        self.hidden_size = hidden_size
        self.encoder = nn.LSTM(n_features, hidden_size, batch_first=True)
        self.decoder = nn.LSTM(hidden_size, hidden_size, batch_first=True)
        self.output = nn.Linear(hidden_size, n_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct windows.

        Parameters
        ----------
        x : Tensor of shape (batch, window, n_features)

        Returns
        -------
        Tensor of the same shape
        """
        _, (h, _) = self.encoder(x)
        code = h[-1].unsqueeze(1).expand(-1, x.shape[1], -1)
        decoded, _ = self.decoder(code)
        return self.output(decoded)


@dataclass
class TrainingResult:
    """Outcome of :func:`train_lstm_autoencoder`.

    Attributes
    ----------
    model : LSTMAutoencoder
        The weights of the epoch with the lowest validation loss.
    train_loss : list of float
        Mean training loss per epoch (mean over batches).
    val_loss : list of float
        Validation loss per epoch.
    best_epoch : int
        Index (0-based) of the epoch whose weights were kept.
    """

    model: LSTMAutoencoder
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int = 0


def train_lstm_autoencoder(
    windows: np.ndarray,
    *,
    hidden_size: int = 16,
    epochs: int = 20,
    batch_size: int = 64,
    lr: float = 1e-2,
    val_fraction: float = 0.2,
    patience: int = 3,
    seed: int = 0,
) -> TrainingResult:
    """Train an :class:`LSTMAutoencoder` with early stopping on a chronological validation slice.

    The last ``val_fraction`` of the windows (in time order) is held out for validation, after
    dropping the ``window`` windows just before it, which overlap the validation windows.
    Training (through :func:`~anomaly_tutorial.models.loop.fit_module`, AdamW without weight
    decay, mean squared error) stops after ``patience`` epochs without improvement and the best
    weights are kept. Deterministic on CPU for a given ``seed``; the global RNG is untouched.

    Parameters
    ----------
    windows : ndarray of shape (n_windows, window, n_features)
        Standardised training windows in time order.
    hidden_size, epochs, batch_size, lr, val_fraction, patience, seed
        Model size and optimisation settings (Adam, mean squared error).

    Returns
    -------
    TrainingResult
    """
    if windows.ndim != 3:
        raise ValueError(
            f"windows must have shape (n_windows, window, n_features), got {windows.shape}"
        )
    if not 0 < val_fraction < 0.5:
        raise ValueError(f"val_fraction must be in (0, 0.5), got {val_fraction!r}")
    if epochs < 1 or patience < 1 or batch_size < 1:
        raise ValueError("epochs, patience and batch_size must be >= 1")
    n, window, n_features = windows.shape
    n_val = max(1, round(n * val_fraction))
    n_train = n - n_val - window
    if n_train < 2:
        raise ValueError(
            f"windows: {n} windows of length {window} leave {n_train} for training after the "
            f"validation slice ({n_val}) and the overlap gap ({window}); use a longer training "
            f"stretch, a shorter window or a smaller stride"
        )
    train = torch.from_numpy(np.ascontiguousarray(windows[:n_train], dtype=np.float32))
    val = torch.from_numpy(np.ascontiguousarray(windows[n - n_val :], dtype=np.float32))
    with deterministic_training(seed):
        model = LSTMAutoencoder(n_features, hidden_size)
    loss_fn = nn.MSELoss()

    def batches(generator: torch.Generator):
        order = torch.randperm(n_train, generator=generator)
        for start in range(0, n_train, batch_size):
            yield train[order[start : start + batch_size]]

    history = fit_module(
        model,
        batches,
        lambda module, batch: loss_fn(module(batch), batch),
        max_epochs=epochs,
        seed=seed,
        lr=lr,
        validation_loss=lambda module: float(loss_fn(module(val), val)),
        patience=patience,
        description="LSTM autoencoder",
    )
    return TrainingResult(
        model=model,
        train_loss=history.train_loss,
        val_loss=history.val_loss,
        best_epoch=history.best_epoch - 1,
    )


class LSTMAutoencoderDetector(BaseSeriesDetector):
    """Reconstruction error of an LSTM autoencoder on the window ending at each point.

    Metrics are standardised with the training mean and std. ``score_on="last"`` scores a point
    by the squared error of its own (last) step of the window ending at it; ``"window"`` uses the
    mean squared error over the whole window (smoother, but an anomaly then raises the scores of
    the ``window - 1`` points after it). Several metrics are averaged (not maxed), because the
    model reconstructs them jointly. The first ``window - 1`` points of a stretch that does not
    follow the training data are scored with windows padded by repeating the first point.
    Rows with a missing metric are left out (the windows join the rows around a gap) and score
    NaN.

    The threshold, unless given, is the ``train_quantile`` quantile of the training
    reconstruction errors.

    Parameters
    ----------
    window : int, default 32
    hidden_size : int, default 16
    epochs : int, default 20
    batch_size : int, default 64
    lr : float, default 1e-2
    val_fraction : float, default 0.2
    patience : int, default 3
    stride : int, default 1
        Step between training windows (larger = faster training).
    score_on : {"last", "window"}, default "last"
    threshold : float or None, default None
    train_quantile : float, default 0.99
    seed : int, default 0
    """

    def __init__(
        self,
        window: int = 32,
        hidden_size: int = 16,
        epochs: int = 20,
        batch_size: int = 64,
        lr: float = 1e-2,
        val_fraction: float = 0.2,
        patience: int = 3,
        stride: int = 1,
        score_on: str = "last",
        threshold: float | None = None,
        train_quantile: float = 0.99,
        seed: int = 0,
    ) -> None:
        self.window = window
        self.hidden_size = hidden_size
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.val_fraction = val_fraction
        self.patience = patience
        self.stride = stride
        self.score_on = score_on
        self.threshold = threshold
        self.train_quantile = train_quantile
        self.seed = seed

    def _context_length(self) -> int:
        return int(self.window) - 1

    def _min_train_points(self) -> int:
        if isinstance(self.window, bool) or not isinstance(self.window, int) or self.window < 2:
            raise ValueError(f"window must be an integer >= 2, got {self.window!r}")
        if isinstance(self.stride, bool) or not isinstance(self.stride, int) or self.stride < 1:
            raise ValueError(f"stride must be an integer >= 1, got {self.stride!r}")
        return 4 * int(self.window)

    def _min_train_reason(self) -> str:
        return f"(4 x window={self.window}: training windows, an overlap gap and validation)"

    def _fit_values(self, values: np.ndarray, times: np.ndarray) -> None:
        if self.score_on not in ("last", "window"):
            raise ValueError(f"score_on must be 'last' or 'window', got {self.score_on!r}")
        present = ~np.isnan(values).any(axis=1)  # missing rows are left out of the windows
        self.mean_ = values[present].mean(axis=0)
        self.scale_ = floor_scale(values[present].std(axis=0), self.mean_)
        z = (values[present] - self.mean_) / self.scale_
        windows = series_windows(z, self.window, self.stride)
        self.training_ = train_lstm_autoencoder(
            windows,
            hidden_size=self.hidden_size,
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            val_fraction=self.val_fraction,
            patience=self.patience,
            seed=self.seed,
        )
        self.model_ = self.training_.model

    def _score_values(self, values: np.ndarray, times: np.ndarray) -> np.ndarray:
        present = ~np.isnan(values).any(axis=1)
        out = np.full(values.shape, np.nan)
        if not present.any():
            return out
        z = (values[present] - self.mean_) / self.scale_
        padded = np.vstack([np.repeat(z[:1], self.window - 1, axis=0), z])
        windows = torch.from_numpy(series_windows(padded, self.window))
        errors = []
        with torch.no_grad():
            for start in range(0, windows.shape[0], 4096):
                batch = windows[start : start + 4096]
                sq = (self.model_(batch) - batch) ** 2
                errors.append(sq[:, -1, :] if self.score_on == "last" else sq.mean(dim=1))
        out[present] = torch.cat(errors).numpy().astype(np.float64)
        return out

    def _combine(self, per_feature: np.ndarray) -> np.ndarray:
        return per_feature.mean(axis=1)  # NaN where the row was missing
