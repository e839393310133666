"""A next-event model over event types *and* event features (LSTM or small Transformer).

DeepLog (Du et al., 2017) models the sequence of event types and, separately, the parameter
values of each type. :class:`EventSequenceModel` does both at once: from the ``window``
previous events of a session (each an embedded type plus a vector of standardised numeric
features such as bytes, duration, failure flag, hour of day and time since the previous event)
a small network predicts the next event's type (a distribution) and its features (a point
estimate). An event's *surprise* is the cross-entropy of its true type plus the weighted
squared error of its features; a session's score aggregates the surprises of its events.

The encoder is an LSTM (Hochreiter and Schmidhuber, 1997) or a small Transformer encoder
(Vaswani et al., 2017) with learned positions over the window. Multi-step incidents (failed
logins, a success, admin calls, a large download) are several moderately surprising events in
a row, so the default session score is the *sum* of its events' surprises (the session's
negative log-likelihood under the model) rather than the single largest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted
from torch import nn

from anomaly_tutorial.models.loop import deterministic_training, fit_module
from anomaly_tutorial.sequences.next_event import SURPRISE_CAP
from anomaly_tutorial.sequences.sessions import EventSessions
from anomaly_tutorial.sequences.windows import (
    N_RESERVED,
    Vocabulary,
    padded_positions,
    sliding_windows,
    unique_sequences,
)

__all__ = [
    "SESSION_FEATURE_NAMES",
    "EventSequenceModel",
    "SequenceNet",
    "session_features",
]

#: Names of the columns of :func:`session_features`.
SESSION_FEATURE_NAMES: tuple[str, ...] = (
    "log_bytes_out",
    "log_bytes_in",
    "log_duration_ms",
    "is_failure",
    "hour_sin",
    "hour_cos",
    "log_gap_s",
)


def _numeric(events: pd.DataFrame, column: str) -> np.ndarray:
    if column not in events.columns:
        return np.zeros(len(events))
    return pd.to_numeric(events[column], errors="coerce").astype("float64").fillna(0.0).to_numpy()


def session_features(events: pd.DataFrame, sessions: EventSessions) -> list[np.ndarray]:
    """Return a ``(n_events, 7)`` float32 feature matrix per session (see names below).

    Features (:data:`SESSION_FEATURE_NAMES`): ``log1p`` of ``traffic.bytes_out``,
    ``traffic.bytes_in`` and ``duration`` (missing = 0), ``status_id == 2`` (failure), the hour
    of day on the unit circle, and ``log1p`` of the seconds since the session's previous event
    (0 for its first event).

    Parameters
    ----------
    events
        The flat frame the sessions were built from (same rows, same order).
    sessions
        Output of :func:`~anomaly_tutorial.sequences.sessions.build_sessions` on ``events``.
    """
    if "time" not in events.columns:
        raise ValueError("events lacks column 'time'")
    time = events["time"].to_numpy(dtype=np.int64)
    hour = (time // 1000 % 86_400) / 3600.0
    status = _numeric(events, "status_id")
    per_event = np.column_stack(
        [
            np.log1p(np.maximum(_numeric(events, "traffic.bytes_out"), 0)),
            np.log1p(np.maximum(_numeric(events, "traffic.bytes_in"), 0)),
            np.log1p(np.maximum(_numeric(events, "duration"), 0)),
            (status == 2).astype(float),
            np.sin(2 * math.pi * hour / 24),
            np.cos(2 * math.pi * hour / 24),
        ]
    )
    out = []
    for rows in sessions.rows:
        t = time[rows]
        gap = np.log1p(np.diff(t, prepend=t[:1]) / 1000.0) if len(t) else np.zeros(0)
        out.append(np.column_stack([per_event[rows], gap]).astype(np.float32))
    return out


class SequenceNet(nn.Module):
    """Window of (type, features) -> next type logits and next features.

    Parameters
    ----------
    n_tokens, n_outputs
        Input vocabulary size (reserved indices included) and number of predictable types.
    n_features
        Numeric features per event.
    d_model
        Width of the event representation and of the encoder.
    num_layers
        Encoder layers.
    arch
        ``"lstm"`` or ``"transformer"``.
    window
        Window length (for the Transformer's learned positions).
    n_heads
        Attention heads of the Transformer.
    """

    def __init__(
        self,
        n_tokens: int,
        n_outputs: int,
        n_features: int,
        d_model: int,
        num_layers: int,
        arch: str,
        window: int,
        n_heads: int = 4,
    ) -> None:
        super().__init__()
        self.arch = arch
        self.embedding = nn.Embedding(n_tokens, d_model)
        self.feature_proj = nn.Linear(n_features, d_model)
        if arch == "lstm":
            self.encoder: nn.Module = nn.LSTM(d_model, d_model, num_layers, batch_first=True)
        else:
            self.positions = nn.Parameter(torch.zeros(1, window, d_model))
            layer = nn.TransformerEncoderLayer(
                d_model, n_heads, dim_feedforward=2 * d_model, dropout=0.0, batch_first=True
            )
            self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.type_head = nn.Linear(d_model, n_outputs)
        self.feature_head = nn.Linear(d_model, n_features)

    def forward(
        self, types: torch.Tensor, feats: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return type logits ``(B, n_outputs)`` and predicted features ``(B, n_features)``."""
        x = self.embedding(types) + self.feature_proj(feats)
        if self.arch == "lstm":
            out, _ = self.encoder(x)
        else:
            out = self.encoder(x + self.positions)
        last = out[:, -1, :]
        return self.type_head(last), self.feature_head(last)


class EventSequenceModel(BaseEstimator):
    """Session anomaly scores from a next-event model over event types and features.

    Parameters
    ----------
    window : int, default 8
        Previous events the network sees.
    arch : {"lstm", "transformer"}, default "lstm"
        Encoder.
    d_model : int, default 32
        Width of the event representation.
    num_layers : int, default 1
        Encoder layers.
    feature_weight : float, default 1.0
        Weight of the feature error (mean squared standardised error, halved) in the surprise.
    aggregate : {"sum", "top_mean", "max", "mean"}, default "sum"
        Session score: the sum of its event surprises, the mean of the ``top_n`` largest, the
        largest, or the mean over all events. The sum grows with a session's length and adds
        up several moderately surprising steps; the others ignore length.
    top_n : int, default 3
        See ``aggregate``.
    epochs, batch_size, lr
        Training passes, windows per step, Adam learning rate.
    max_train_windows : int, default 40000
        Training windows are subsampled (seeded) to at most this many.
    seed : int, default 0
        Seed of initialisation, subsampling and shuffling.
    device : str, default "cpu"
        Torch device.

    Attributes
    ----------
    vocabulary_ : Vocabulary
        Known type ids.
    feature_mean_, feature_scale_ : numpy.ndarray
        Standardisation of the features, fitted on the training sessions.
    net_ : SequenceNet
        Trained network.
    history_ : TrainingHistory
        What the package's training loop (:func:`~anomaly_tutorial.models.loop.fit_module`)
        did: losses per epoch.
    loss_history_ : list of float
        Mean training loss per epoch (``history_.train_loss``).
    """

    def __init__(
        self,
        window: int = 8,
        *,
        arch: Literal["lstm", "transformer"] = "lstm",
        d_model: int = 32,
        num_layers: int = 1,
        feature_weight: float = 1.0,
        aggregate: Literal["sum", "top_mean", "max", "mean"] = "sum",
        top_n: int = 3,
        epochs: int = 6,
        batch_size: int = 256,
        lr: float = 3e-3,
        max_train_windows: int = 40_000,
        seed: int = 0,
        device: str = "cpu",
    ) -> None:
        self.window = window
        self.arch = arch
        self.d_model = d_model
        self.num_layers = num_layers
        self.feature_weight = feature_weight
        self.aggregate = aggregate
        self.top_n = top_n
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.max_train_windows = max_train_windows
        self.seed = seed
        self.device = device

    def _check_params(self) -> None:
        for name in (
            "window",
            "d_model",
            "num_layers",
            "top_n",
            "epochs",
            "batch_size",
            "max_train_windows",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"parameter {name!r} must be a positive integer, got {value!r}")
        if self.arch not in ("lstm", "transformer"):
            raise ValueError(f"parameter 'arch' must be 'lstm' or 'transformer', got {self.arch!r}")
        if self.arch == "transformer" and self.d_model % 4:
            raise ValueError(
                f"parameter 'd_model' must be a multiple of 4 heads, got {self.d_model}"
            )
        if self.aggregate not in ("sum", "top_mean", "max", "mean"):
            raise ValueError(
                "parameter 'aggregate' must be 'sum', 'top_mean', 'max' or 'mean', "
                f"got {self.aggregate!r}"
            )
        for name in ("feature_weight", "lr"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"parameter {name!r} must be a non-negative number, got {value!r}")

    def _arrays(
        self, sequences: Sequence[Sequence[int]], features: Sequence[np.ndarray], name: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Windows of type indices and of features, targets, target features and owners."""
        uniques, inverse = unique_sequences(sequences, name=name)
        if len(features) != len(sequences):
            raise ValueError(
                f"features: need one matrix per session, got {len(features)} for "
                f"{len(sequences)} sessions"
            )
        seqs = [uniques[j] for j in inverse]
        mats = []
        n_feat = None
        for i, (seq, mat) in enumerate(zip(seqs, features, strict=True)):
            arr = np.asarray(mat, dtype=np.float64)
            if arr.ndim != 2 or arr.shape[0] != len(seq):
                raise ValueError(
                    f"features[{i}] must have shape ({len(seq)}, n_features), got {arr.shape}"
                )
            if n_feat is None:
                n_feat = arr.shape[1]
            elif arr.shape[1] != n_feat:
                raise ValueError(f"features[{i}] has {arr.shape[1]} columns, expected {n_feat}")
            if not np.isfinite(arr).all():
                raise ValueError(f"features[{i}] holds NaN or infinite values")
            mats.append(arr)
        if hasattr(self, "feature_mean_") and n_feat is not None and n_feat != self.n_features_:
            raise ValueError(
                f"features have {n_feat} columns, the model was fitted on {self.n_features_}"
            )
        n_feat = n_feat if n_feat is not None else getattr(self, "n_features_", 0)
        encoded = [self.vocabulary_.encode(s) for s in seqs]
        windows, targets, owner = sliding_windows(encoded, int(self.window))
        lengths = np.array([len(s) for s in seqs], dtype=np.int64)
        flat_size, positions, _ = padded_positions(lengths, int(self.window))
        flat = np.zeros((flat_size, n_feat), dtype=np.float32)
        if positions.size:
            stacked = (np.concatenate(mats) - self.feature_mean_) / self.feature_scale_
            flat[positions] = stacked
        offsets = np.arange(-int(self.window), 0)
        feat_windows = flat[positions[:, None] + offsets[None, :]] if positions.size else flat[:0]
        target_feats = flat[positions] if positions.size else flat[:0]
        return windows, feat_windows, targets, target_feats, owner

    def fit(
        self, sequences: Sequence[Sequence[int]], features: Sequence[np.ndarray], y: None = None
    ) -> EventSequenceModel:
        """Train on (mostly normal) sessions: type ids and one feature matrix per session."""
        self._check_params()
        uniques, _ = unique_sequences(sequences, name="sequences")
        if not any(len(s) for s in uniques):
            raise ValueError("sequences: need at least one non-empty training session")
        self.vocabulary_ = Vocabulary(np.concatenate(uniques))
        mats = [np.asarray(m, dtype=np.float64) for m in features]
        stacked = np.concatenate([m for m in mats if m.ndim == 2 and m.shape[0]]) if mats else None
        if stacked is None or stacked.ndim != 2:
            raise ValueError("features: need one (n_events, n_features) matrix per session")
        self.n_features_ = int(stacked.shape[1])
        self.feature_mean_ = stacked.mean(axis=0)
        scale = stacked.std(axis=0)
        self.feature_scale_ = np.where(scale > 1e-9, scale, 1.0)
        windows, feat_windows, targets, target_feats, _ = self._arrays(
            sequences, features, "sequences"
        )
        rng = np.random.default_rng(self.seed)
        n = targets.size
        if n > self.max_train_windows:
            keep = np.sort(rng.choice(n, size=int(self.max_train_windows), replace=False))
            windows, feat_windows = windows[keep], feat_windows[keep]
            targets, target_feats = targets[keep], target_feats[keep]
            n = targets.size
        with deterministic_training(int(self.seed)):
            self.net_ = SequenceNet(
                len(self.vocabulary_),
                self.vocabulary_.classes.size,
                self.n_features_,
                int(self.d_model),
                int(self.num_layers),
                self.arch,
                int(self.window),
            ).to(self.device)
        dev = self.device
        x_t = torch.as_tensor(windows, dtype=torch.long, device=dev)
        x_f = torch.as_tensor(feat_windows, dtype=torch.float32, device=dev)
        y_t = torch.as_tensor(targets - N_RESERVED, dtype=torch.long, device=dev)
        y_f = torch.as_tensor(target_feats, dtype=torch.float32, device=dev)
        step = int(self.batch_size)
        feature_weight = float(self.feature_weight)

        def batches(generator: torch.Generator):
            order = torch.randperm(n, generator=generator).to(dev)
            for start in range(0, n, step):
                yield order[start : start + step]

        def loss(net: nn.Module, idx: torch.Tensor) -> torch.Tensor:
            logits, pred = net(x_t[idx], x_f[idx])
            ce = nn.functional.cross_entropy(logits, y_t[idx])
            mse = ((pred - y_f[idx]) ** 2).mean()
            return ce + feature_weight * 0.5 * mse

        self.history_ = fit_module(
            self.net_,
            batches,
            loss,
            max_epochs=int(self.epochs),
            seed=int(self.seed),
            lr=float(self.lr),
            description="event sequence model",
        )
        self.loss_history_ = self.history_.train_loss
        return self

    def event_surprises(
        self, sequences: Sequence[Sequence[int]], features: Sequence[np.ndarray]
    ) -> list[np.ndarray]:
        """Return the surprise of every event of every session (nats, type part capped).

        An event whose type was never seen in training gets :data:`SURPRISE_CAP` for its type
        part.
        """
        check_is_fitted(self, "net_")
        windows, feat_windows, targets, target_feats, owner = self._arrays(
            sequences, features, "sequences"
        )
        surprise = np.zeros(targets.size)
        step = 8192
        with torch.inference_mode():
            for start in range(0, targets.size, step):
                sl = slice(start, start + step)
                logits, pred = self.net_(
                    torch.as_tensor(windows[sl], dtype=torch.long, device=self.device),
                    torch.as_tensor(feat_windows[sl], dtype=torch.float32, device=self.device),
                )
                log_p = torch.log_softmax(logits.double(), dim=1).cpu().numpy()
                tgt = targets[sl] - N_RESERVED
                known = tgt >= 0
                type_part = np.full(tgt.size, SURPRISE_CAP)
                type_part[known] = np.minimum(
                    -log_p[np.flatnonzero(known), tgt[known]], SURPRISE_CAP
                )
                err = ((pred.cpu().numpy() - target_feats[sl]) ** 2).mean(axis=1)
                surprise[sl] = type_part + float(self.feature_weight) * 0.5 * err
        bounds = np.searchsorted(owner, np.arange(len(sequences) + 1))
        return [surprise[bounds[i] : bounds[i + 1]] for i in range(len(sequences))]

    def score_samples(
        self, sequences: Sequence[Sequence[int]], features: Sequence[np.ndarray]
    ) -> np.ndarray:
        """Return one score per session (higher = more anomalous); 0 for an empty session."""
        scores = []
        for s in self.event_surprises(sequences, features):
            if s.size == 0:
                scores.append(0.0)
            elif self.aggregate == "sum":
                scores.append(float(s.sum()))
            elif self.aggregate == "max":
                scores.append(float(s.max()))
            elif self.aggregate == "mean":
                scores.append(float(s.mean()))
            else:
                scores.append(float(np.sort(s)[-int(self.top_n) :].mean()))
        return np.asarray(scores, dtype=np.float64)
