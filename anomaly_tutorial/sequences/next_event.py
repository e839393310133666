"""DeepLog-style next-event detection with an LSTM (Du et al., 2017).

DeepLog treats a log session as a sentence of event (template) ids. An LSTM (Hochreiter and
Schmidhuber, 1997) reads the ``window`` events before each position and outputs a probability
for every event id; trained with cross-entropy on normal sessions only, it learns which events
may come next. At test time a position is *anomalous* when the event that actually came next is
not among the ``top_k`` most probable predictions, and a session is anomalous when any of its
positions is (DeepLog's rule, with ``window = h = 10`` and ``top_k = g = 9`` on HDFS).

What this implementation adds for speed and robustness:

* training uses each distinct ``(window, next event)`` pair once, weighted by how often it
  occurs, which is the same loss as training on every window but many times cheaper on logs,
  where a few session shapes repeat thousands of times;
* scoring removes duplicate sessions, then duplicate windows, runs the network once per
  distinct window in large batches and maps the results back;
* ids are arbitrary integers; an id never seen in training is its own "unknown" index, and a
  position whose true event is unknown is always a miss (the network cannot have predicted it);
* positions with fewer than ``window`` predecessors are left-padded with a dedicated padding
  index, so every event of every session, even a one-event session, is checked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted
from torch import nn

from anomaly_tutorial.sequences.windows import (
    N_RESERVED,
    Vocabulary,
    row_keys,
    sliding_windows,
    unique_sequences,
)

__all__ = ["SURPRISE_CAP", "NextEventDetector", "NextEventLSTM", "train_next_event_model"]

#: Largest surprise (``-log p`` in nats) reported for one position; unseen events get it.
SURPRISE_CAP = 50.0

_SCORINGS = ("misses", "miss_fraction", "max_surprise", "mean_surprise", "sum_surprise")


class NextEventLSTM(nn.Module):
    """Embedding, stacked LSTM and a linear layer: window of indices -> next-event logits.

    Parameters
    ----------
    n_tokens
        Size of the input vocabulary (padding and unknown indices included).
    n_outputs
        Number of events that can be predicted.
    embedding_dim, hidden_size, num_layers
        Sizes of the embedding, the LSTM state and the number of stacked LSTM layers.
    """

    def __init__(
        self, n_tokens: int, n_outputs: int, embedding_dim: int, hidden_size: int, num_layers: int
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(n_tokens, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, n_outputs)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """Return ``(batch, n_outputs)`` logits for a ``(batch, window)`` tensor of indices."""
        out, _ = self.lstm(self.embedding(windows))
        return self.head(out[:, -1, :])


def train_next_event_model(
    model: nn.Module,
    windows: np.ndarray,
    pair_context: np.ndarray,
    pair_target: np.ndarray,
    pair_weight: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    device: str = "cpu",
) -> list[float]:
    """Train ``model`` with count-weighted cross-entropy and return the mean loss per epoch.

    The training data are given as distinct windows and the (window, next event, count) pairs
    observed after them, so that each distinct window goes through the network once per epoch
    however many continuations and repetitions it has. The loss of an epoch equals the mean
    cross-entropy over every training position.

    Parameters
    ----------
    model
        Module mapping a ``(batch, window)`` index tensor to ``(batch, n_outputs)`` logits.
    windows
        ``(n_windows, window)`` distinct input windows.
    pair_context, pair_target, pair_weight
        For each distinct (window, next event) pair: the row of ``windows``, the output index
        of the next event and the number of times the pair occurred. Sorted by
        ``pair_context``.
    epochs, batch_size, lr
        Passes over the distinct windows, windows per step, and the Adam learning rate.
    seed
        Seed of the shuffling (the weights' initialisation is seeded by the caller).
    device
        Torch device.

    Returns
    -------
    list of float
        Mean cross-entropy of each epoch (nats per training position).
    """
    if np.any(np.diff(pair_context) < 0):
        raise ValueError("pair_context must be sorted (ascending)")
    rng = np.random.default_rng(seed)
    n_windows = windows.shape[0]
    indptr = np.searchsorted(pair_context, np.arange(n_windows + 1))
    x_all = torch.as_tensor(windows, dtype=torch.long, device=device)
    y_all = torch.as_tensor(pair_target, dtype=torch.long, device=device)
    w_all = torch.as_tensor(pair_weight, dtype=torch.float32, device=device)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    history: list[float] = []
    model.train()
    for _ in range(epochs):
        order = rng.permutation(n_windows)
        total, total_w = 0.0, 0.0
        for start in range(0, n_windows, batch_size):
            batch = order[start : start + batch_size]
            counts = indptr[batch + 1] - indptr[batch]
            row = np.repeat(np.arange(batch.size), counts)
            pair = np.repeat(indptr[batch], counts) + (
                np.arange(row.size) - np.repeat(np.cumsum(counts) - counts, counts)
            )
            log_p = torch.log_softmax(model(x_all[torch.as_tensor(batch, device=device)]), dim=1)
            pair_t = torch.as_tensor(pair, device=device)
            w = w_all[pair_t]
            nll = -log_p[torch.as_tensor(row, device=device), y_all[pair_t]]
            weighted = (nll * w).sum()
            loss = weighted / w.sum()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(weighted.detach())
            total_w += float(w.sum())
        history.append(total / total_w)
    model.eval()
    return history


class NextEventDetector(BaseEstimator):
    """DeepLog next-event anomaly detector for sessions of integer event ids.

    Parameters
    ----------
    window : int, default 10
        Number of preceding events the network sees (DeepLog's ``h``).
    top_k : int, default 9
        A position is normal when its true event is among the ``top_k`` most probable
        predictions (DeepLog's ``g``).
    embedding_dim : int, default 16
        Size of the learned embedding of each event index.
    hidden_size : int, default 64
        LSTM state size (DeepLog: 64).
    num_layers : int, default 2
        Stacked LSTM layers (DeepLog: 2).
    epochs : int, default 15
        Passes over the distinct training windows.
    batch_size : int, default 256
        Distinct windows per optimisation step.
    lr : float, default 5e-3
        Adam learning rate.
    end_event : bool, default False
        Also predict an end-of-session event after each session's last event, so that sessions
        that stop early (missing steps) are noticed. DeepLog has no such event; off by default.
    scoring : {"misses", "miss_fraction", "max_surprise", "mean_surprise", "sum_surprise"}, \
default "misses"
        What :meth:`score_samples` returns per session: the number of positions whose true event
        is outside the top-k; that number divided by the session's positions; or the largest /
        mean / total surprise ``-log p(true event)`` over its positions (in nats, each capped at
        :data:`SURPRISE_CAP`, which unseen events get). The total is the session's negative
        log-likelihood under the model; it grows with length and adds up several moderately
        surprising steps. :meth:`predict` always applies DeepLog's rule, whatever the scoring.
    inference_batch_size : int, default 8192
        Distinct windows per forward pass when scoring.
    seed : int, default 0
        Seed of the weight initialisation and of the shuffling.
    device : str, default "cpu"
        Torch device.

    Attributes
    ----------
    vocabulary_ : Vocabulary
        Known ids (``vocabulary_.classes``) and their indices.
    model_ : NextEventLSTM
        The trained network.
    loss_history_ : list of float
        Training loss per epoch.
    n_train_positions_ : int
        Positions (windows) in the training sessions.
    n_train_pairs_ : int
        Distinct (window, next event) pairs in the training sessions.
    n_train_windows_ : int
        Distinct windows, the rows the network sees once per epoch.
    """

    def __init__(
        self,
        window: int = 10,
        top_k: int = 9,
        *,
        embedding_dim: int = 16,
        hidden_size: int = 64,
        num_layers: int = 2,
        epochs: int = 15,
        batch_size: int = 256,
        lr: float = 5e-3,
        end_event: bool = False,
        scoring: Literal[
            "misses", "miss_fraction", "max_surprise", "mean_surprise", "sum_surprise"
        ] = "misses",
        inference_batch_size: int = 8192,
        seed: int = 0,
        device: str = "cpu",
    ) -> None:
        self.window = window
        self.top_k = top_k
        self.embedding_dim = embedding_dim
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.end_event = end_event
        self.scoring = scoring
        self.inference_batch_size = inference_batch_size
        self.seed = seed
        self.device = device

    # --- validation ---------------------------------------------------------------------------
    def _check_params(self) -> None:
        for name in (
            "window",
            "top_k",
            "embedding_dim",
            "hidden_size",
            "num_layers",
            "epochs",
            "batch_size",
            "inference_batch_size",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"parameter {name!r} must be a positive integer, got {value!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"parameter 'lr' must be a positive number, got {self.lr!r}")
        if self.scoring not in _SCORINGS:
            raise ValueError(
                f"parameter 'scoring' must be one of {_SCORINGS}, got {self.scoring!r}"
            )

    @property
    def _end_index(self) -> int | None:
        return len(self.vocabulary_) if self.end_event else None

    def _output_index(self, index: np.ndarray) -> np.ndarray:
        """Vocabulary index -> output unit (known events and the end event; -1 for unknown)."""
        return np.where(index >= N_RESERVED, index - N_RESERVED, -1)

    # --- fitting --------------------------------------------------------------------------------
    def fit(self, sequences: Sequence[Sequence[int]], y: None = None) -> NextEventDetector:
        """Learn which events follow which windows in (normal) training sessions.

        Parameters
        ----------
        sequences
            Training sessions, each a list of integer event ids.
        y
            Ignored; present for scikit-learn compatibility.

        Returns
        -------
        NextEventDetector
            The fitted detector.
        """
        self._check_params()
        uniques, inverse = unique_sequences(sequences, name="sequences")
        if not any(len(s) for s in uniques):
            raise ValueError("sequences: need at least one non-empty training session")
        self.vocabulary_ = Vocabulary(np.concatenate(uniques))
        encoded = [self.vocabulary_.encode(s) for s in uniques]
        windows, targets, owner = sliding_windows(encoded, self.window, end_index=self._end_index)
        session_counts = np.bincount(inverse, minlength=len(uniques))
        weights = session_counts[owner]
        pairs = np.column_stack([windows, targets])
        _, first, inv = np.unique(row_keys(pairs), return_index=True, return_inverse=True)
        pair_weights = np.bincount(inv.ravel(), weights=weights)
        _, ctx_first, ctx_inv = np.unique(
            row_keys(windows[first]), return_index=True, return_inverse=True
        )
        ctx_inv = ctx_inv.ravel()
        by_ctx = np.argsort(ctx_inv, kind="stable")
        self.n_train_positions_ = int(weights.sum())
        self.n_train_pairs_ = int(first.size)
        self.n_train_windows_ = int(ctx_first.size)
        n_outputs = self.vocabulary_.classes.size + (1 if self.end_event else 0)
        torch.manual_seed(self.seed)
        self.model_ = NextEventLSTM(
            len(self.vocabulary_) + (1 if self.end_event else 0),
            n_outputs,
            self.embedding_dim,
            self.hidden_size,
            self.num_layers,
        ).to(self.device)
        self.loss_history_ = train_next_event_model(
            self.model_,
            windows[first][ctx_first],
            ctx_inv[by_ctx],
            self._output_index(targets[first][by_ctx]),
            pair_weights[by_ctx],
            epochs=int(self.epochs),
            batch_size=int(self.batch_size),
            lr=float(self.lr),
            seed=self.seed,
            device=self.device,
        )
        return self

    # --- scoring --------------------------------------------------------------------------------
    def position_results(
        self, sequences: Sequence[Sequence[int]]
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Return, per session, the rank and the surprise of the true event at every position.

        The rank is the number of events the network found more probable than the true one
        (0 = its best guess); a position is a DeepLog miss when ``rank >= top_k``. Unknown
        events get the rank of the number of outputs and the surprise :data:`SURPRISE_CAP`.
        With ``end_event=True`` each session has one more position, the end of the session.

        Parameters
        ----------
        sequences
            Sessions of integer event ids.

        Returns
        -------
        ranks, surprises : list of numpy.ndarray
            One array per session, one entry per position.
        """
        check_is_fitted(self, "model_")
        uniques, inverse = unique_sequences(sequences, name="sequences")
        owner, ranks, surprises = self._unique_position_results(uniques)
        bounds = np.searchsorted(owner, np.arange(len(uniques) + 1))
        rank_parts = [ranks[bounds[i] : bounds[i + 1]] for i in range(len(uniques))]
        surprise_parts = [surprises[bounds[i] : bounds[i + 1]] for i in range(len(uniques))]
        return [rank_parts[j] for j in inverse], [surprise_parts[j] for j in inverse]

    def _unique_position_results(
        self, uniques: list[np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        encoded = [self.vocabulary_.encode(s) for s in uniques]
        windows, targets, owner = sliding_windows(encoded, self.window, end_index=self._end_index)
        out_target = self._output_index(targets)
        n_outputs = self.model_.head.out_features
        ranks = np.full(targets.size, n_outputs, dtype=np.int64)
        surprises = np.full(targets.size, SURPRISE_CAP, dtype=np.float64)
        if targets.size == 0:
            return owner, ranks, surprises
        # distinct windows, and the positions sorted by window so each batch is one slice
        _, ctx_first, ctx_inv = np.unique(row_keys(windows), return_index=True, return_inverse=True)
        ctx_inv = ctx_inv.ravel()
        order = np.argsort(ctx_inv, kind="stable")
        sorted_ctx = ctx_inv[order]
        ctx_windows = torch.as_tensor(windows[ctx_first], dtype=torch.long)
        n_ctx = ctx_first.size
        step = int(self.inference_batch_size)
        with torch.inference_mode():
            for start in range(0, n_ctx, step):
                stop = min(start + step, n_ctx)
                logits = self.model_(ctx_windows[start:stop].to(self.device))
                log_p = torch.log_softmax(logits.double(), dim=1).cpu().numpy()
                lo, hi = np.searchsorted(sorted_ctx, [start, stop])
                pos = order[lo:hi]
                known = out_target[pos] >= 0
                pos = pos[known]
                rows = ctx_inv[pos] - start
                cols = out_target[pos]
                true_lp = log_p[rows, cols]
                ranks[pos] = (log_p[rows] > true_lp[:, None]).sum(axis=1)
                surprises[pos] = np.minimum(-true_lp, SURPRISE_CAP)
        return owner, ranks, surprises

    def _session_stats(self, sequences: Sequence[Sequence[int]]) -> dict[str, np.ndarray]:
        check_is_fitted(self, "model_")
        uniques, inverse = unique_sequences(sequences, name="sequences")
        owner, ranks, surprises = self._unique_position_results(uniques)
        n_u = len(uniques)
        misses = np.bincount(owner, weights=(ranks >= self.top_k), minlength=n_u)
        positions = np.bincount(owner, minlength=n_u).astype(np.float64)
        max_s = np.zeros(n_u)
        np.maximum.at(max_s, owner, surprises)
        sum_s = np.bincount(owner, weights=surprises, minlength=n_u)
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(positions > 0, misses / np.maximum(positions, 1), 0.0)
            mean_s = np.where(positions > 0, sum_s / np.maximum(positions, 1), 0.0)
        stats = {
            "misses": misses,
            "miss_fraction": frac,
            "max_surprise": max_s,
            "mean_surprise": mean_s,
            "sum_surprise": sum_s,
        }
        return {k: v[inverse] for k, v in stats.items()}

    def score_samples(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        """Return one anomaly score per session (higher = more anomalous), per ``scoring``.

        An empty session has no position and scores 0 (unless ``end_event=True``).

        Parameters
        ----------
        sequences
            Sessions of integer event ids.

        Returns
        -------
        numpy.ndarray
            ``(n_sessions,)`` float scores.
        """
        return self._session_stats(sequences)[self.scoring].astype(np.float64)

    def predict(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        """Return 1 for sessions with any position whose true event is outside the top-k, else 0.

        Parameters
        ----------
        sequences
            Sessions of integer event ids.

        Returns
        -------
        numpy.ndarray
            ``(n_sessions,)`` int64 labels, 1 = anomalous (DeepLog's rule).
        """
        return (self._session_stats(sequences)["misses"] > 0).astype(np.int64)
